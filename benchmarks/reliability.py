"""Re-runs, as a user would, every way the old code lost a user's work, and prints what happens now.

Each row runs ``python -m fdl_cli ...`` (or a small ``python -c`` script where a row needs a kill,
a drifting runtime or a missing package) in a fresh temporary folder, and prints a Markdown table:
what was done, what the old code did ("before"), what happens now (the first ``fdl: error:`` line
of stderr, or measured facts showing the data was kept), the exit code and the command.

Kills are deterministic: a Keras callback (or a patched ``Agent.save`` / export step) sends
SIGKILL to its own process at a chosen point, as tests/test_reliability.py and
tests/test_export_atomic.py do.

    FDL_DATA_DIR=/work/shared/data python benchmarks/reliability.py

Needs the real MNIST files in ``$FDL_DATA_DIR/mnist``; about 10 minutes on 2 CPU cores.
A row that is not a one-line error nor preserved data is listed after the table as NOT CLEAN.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import pickle
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
MLP = ["mnist_mlp", "--limit", "5000"]  # a short MNIST run: 5,000 training images
TIMEOUT = 600


@dataclass
class Row:
    what: str
    before: str
    now: str
    exit: str
    command: str
    clean: bool


ROWS: list[Row] = []


# --- running commands ---------------------------------------------------------------------------


def fdl(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m fdl_cli ARGS`` in ``cwd``, as a user would type ``fdl ARGS`` there."""
    return subprocess.run(
        [sys.executable, "-m", "fdl_cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def py(script: str, args: list[str], cwd: Path, env: dict | None = None):
    """``python -c SCRIPT ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def shown(args: list[str], env: dict | None = None) -> str:
    """The command line a user would type for ``fdl ARGS``."""
    prefix = "".join(f"{k}={v} " for k, v in (env or {}).items())
    return f"`{prefix}fdl {shlex.join(args)}`"


def code(text: str) -> str:
    """``text`` as a Markdown code span (doubled backticks when it holds one)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def error_line(proc) -> str:
    """The first ``fdl: error:`` line of stderr, else the last line of a traceback."""
    for line in proc.stderr.splitlines():
        if line.startswith("fdl: error:"):
            return line
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    if "Traceback" in proc.stderr:
        return f"TRACEBACK: {lines[-1] if lines else '?'}"
    return f"(no error line; stderr: {lines[-1] if lines else 'empty'})"


def is_clean_error(proc) -> bool:
    """Exit 2 with one ``fdl: error:`` line and no traceback."""
    return (
        proc.returncode == 2
        and any(x.startswith("fdl: error:") for x in proc.stderr.splitlines())
        and "Traceback" not in proc.stderr
    )


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (a dead process's ``.lock`` left out)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def same_files(before: dict[str, str], folder: Path) -> str:
    after = digest(folder)
    if after == before:
        return f"all {len(before)} files byte-identical"
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return f"FILES CHANGED: {', '.join(changed)}"


def test_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())["test"]


def add(what, before, now, proc_or_code, command, clean) -> None:
    code = proc_or_code if isinstance(proc_or_code, (int, str)) else proc_or_code.returncode
    if isinstance(code, int) and code < 0:
        code = f"{code} ({signal.Signals(-code).name})"
    ROWS.append(Row(what, before, now, str(code), command, bool(clean)))
    mark = "ok " if clean else "BAD"
    print(f"[{len(ROWS):2d}] {mark} {what}: {now}", file=sys.stderr, flush=True)


# --- scripts for the rows that need a kill, a drift or a missing package -------------------------

KILL_TRAINING = textwrap.dedent(
    """
    import os, signal, sys, keras, fdl_keras

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)

    fdl_keras.train("mnist_mlp", run_dir=sys.argv[1], epochs=4, limit=5000, verbose=0,
                    callbacks=[Kill()])
    """
)

KILL_AGENT = textwrap.dedent(
    """
    import os, signal, sys, fdl_keras
    from fdl_keras.rl.agent import Agent

    real_save = Agent.save

    def save(self, run_dir):
        path = real_save(self, run_dir)
        if self.steps < self.total_steps:  # the first mid-run checkpoint is on disk: die
            os.kill(os.getpid(), signal.SIGKILL)
        return path

    Agent.save = save
    fdl_keras.train("dqn_cartpole", steps=300, run_dir=sys.argv[1], verbose=0)
    """
)

# `python -c EXPORT POINT OUT`: saves another model (an untrained mnist_mlp, seed 1) as
# other.keras and runs `fdl export other.keras OUT` with POINT patched in.
EXPORT = textwrap.dedent(
    """
    import importlib, os, signal, sys
    from pathlib import Path

    import keras
    import fdl_keras
    from fdl_keras.cli import main

    ex = importlib.import_module("fdl_keras.export")
    point, out = sys.argv[1], sys.argv[2]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "in_onnx":  # saved_model/ written, model.onnx half-written
        real_export_onnx = ex.export_onnx

        def export_onnx(model, path, **kwargs):
            real_export_onnx(model, path, **kwargs)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            die()

        ex.export_onnx = export_onnx
    elif point == "between_renames":  # the old export renamed aside, the new one not yet in
        real_rename = os.rename

        def rename(src, dst, *args, **kwargs):
            if Path(src).name.startswith(f".{Path(out).name}.partial-"):
                die()
            return real_rename(src, dst, *args, **kwargs)

        os.rename = rename
    elif point == "drift":  # onnxruntime's outputs 1e-3 off Keras: the parity check fails
        real_runner = ex.onnx_runner

        def onnx_runner(path):
            run = real_runner(path)
            return lambda inputs: [o + 1e-3 for o in run(inputs)]

        ex.onnx_runner = onnx_runner

    keras.utils.set_random_seed(1)
    fdl_keras.build("mnist_mlp").save("other.keras")
    sys.exit(main(["export", "other.keras", out]))
    """
)

NO_TENSORBOARD = textwrap.dedent(
    """
    import importlib.util, sys

    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "tensorboard" else real_find_spec(name, *args, **kwargs)

    importlib.util.find_spec = find_spec  # as if tensorboard were not installed
    from fdl_keras.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


class RunsACommand:
    """A pickle that runs a shell command when a plain ``pickle.load`` reads it."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


# --- the rows -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, base: Path):
        self.base = base
        self.shared = base / "shared"
        self.shared.mkdir()
        self.count = 0
        source = Path(os.environ.get("FDL_DATA_DIR", "")) / "mnist"
        if not all((source / f).is_file() for f in MNIST_FILES):
            sys.exit(f"real MNIST not found in {source}: set FDL_DATA_DIR=/work/shared/data")
        self.mnist = source

    def folder(self) -> Path:
        """A fresh temporary folder for one row."""
        self.count += 1
        path = self.base / f"row{self.count:02d}"
        path.mkdir()
        return path

    def short(self, text: str, folder: Path | None = None) -> str:
        """``text`` with the temporary folders' paths shortened."""
        if folder is not None:
            text = text.replace(f"{folder}/", "").replace(str(folder), ".")
        return text.replace(str(self.base), "$TMP")

    # shared inputs: a finished 4-epoch MNIST run, its good export, and killed runs
    def setup(self) -> None:
        self.ref = self.shared / "ref"
        proc = fdl(["train", *MLP, "--epochs", "4", "--run-dir", str(self.ref)], self.shared)
        assert proc.returncode == 0, proc.stderr[-3000:]
        self.good = self.shared / "good_export"
        proc = fdl(["export", str(self.ref), str(self.good)], self.shared)
        assert proc.returncode == 0, proc.stderr[-3000:]
        self.good_hashes = digest(self.good)
        self.killed = self.shared / "killed"
        proc = py(KILL_TRAINING, [str(self.killed), "1"], self.shared)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
        self.agent = self.shared / "agent"
        proc = py(KILL_AGENT, [str(self.agent)], self.shared)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
        assert (self.agent / "state.json").is_file() and (self.agent / "replay.npz").is_file()

    def error_row(self, what, before, args, *, folder, env=None, show_env=None, check=None):
        """A row whose command should stop with one line; ``check(folder)`` adds a fact."""
        proc = fdl(args, folder, env)
        now = f"{code(self.short(error_line(proc), folder))}"
        clean = is_clean_error(proc)
        if check is not None:
            fact, ok = check(folder)
            now += f"; {fact}"
            clean = clean and ok
        add(what, before, now, proc, shown(args, show_env), clean)
        return proc

    def finished_run_kept(self) -> None:
        folder = self.folder()
        shutil.copytree(self.ref, folder / "run")
        before = digest(folder / "run")
        acc = test_metrics(folder / "run")["accuracy"]

        def check(f):
            fact = same_files(before, f / "run")
            now = test_metrics(f / "run")["accuracy"]
            return f"{fact}; test accuracy still {now:.4f} (was {acc:.4f})", "CHANGED" not in fact

        self.error_row(
            "`fdl train mnist_mlp --epochs 1` into a finished 4-epoch run dir",
            "model.keras, history.csv, metrics.json overwritten without a word "
            "(test accuracy 0.898 → 0.644)",
            ["train", *MLP, "--epochs", "1", "--run-dir", "run"],
            folder=folder,
            check=check,
        )

    def two_processes(self) -> None:
        folder = self.folder()
        args = ["train", "mnist_cnn", "--limit", "5000", "--epochs", "3", "--run-dir", "run"]
        first = subprocess.Popen(
            [sys.executable, "-m", "fdl_cli", *args],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 300
        while not (folder / "run" / ".lock").exists() and first.poll() is None:
            if time.time() > deadline:
                first.kill()
                raise RuntimeError("the first run never took its lock")
            time.sleep(0.2)
        second = fdl(args, folder)
        first_was_running = first.poll() is None
        out, err = first.communicate(timeout=TIMEOUT)
        with open(folder / "run" / "history.csv") as f:
            epochs = [line.split(",")[0] for line in f.read().splitlines()[1:]]
        acc = test_metrics(folder / "run")["accuracy"]
        printed = f"accuracy {acc:.4f}" in out
        clean = (
            is_clean_error(second)
            and first.returncode == 0
            and first_was_running
            and epochs == ["0", "1", "2"]
            and printed
        )
        now = (
            f"second: {code(self.short(error_line(second), folder))} (exit {second.returncode}, "
            f"first still running: {first_was_running}); first: exit {first.returncode}; "
            f"history.csv epochs {', '.join(epochs)}; metrics.json accuracy {acc:.4f} = the "
            f"first's printed result: {printed}"
        )
        add(
            "two `fdl train mnist_cnn` into one run dir, the second started once the first "
            "holds `.lock`",
            "both exit 0, history.csv has two epoch-3 rows, metrics differ",
            now,
            second,
            shown(args) + " twice, the second while the first trains",
            clean,
        )

    def other_settings_refused(self) -> None:
        cases = [
            ("`--limit 4000`", ["train", "mnist_mlp", "--limit", "4000", "--epochs", "4"]),
            ("`--learning-rate 0.01`", ["train", *MLP, "--epochs", "4", "--learning-rate", "0.01"]),
            ("another model (`mnist_cnn`)",
             ["train", "mnist_cnn", "--limit", "5000", "--epochs", "4"]),
        ]  # fmt: skip
        befores = [
            "accepted, run.json rewritten",
            "accepted, run.json rewritten",
            '"4 objects could not be loaded" after run.json was overwritten',
        ]
        for (label, args), before_text in zip(cases, befores, strict=True):
            folder = self.folder()
            shutil.copytree(self.killed, folder / "run")
            before = digest(folder / "run")

            def check(f, before=before):
                fact = same_files(before, f / "run")
                return f"killed run: {fact}", "CHANGED" not in fact

            self.error_row(
                f"resume a run killed after epoch 1 with {label}",
                before_text,
                [*args, "--run-dir", "run"],
                folder=folder,
                check=check,
            )

    def exact_resume(self) -> None:
        import keras

        from fdl_keras.registry import load_systems

        load_systems()  # registers the model classes that model.keras names

        folder = self.folder()
        shutil.copytree(self.killed, folder / "run")
        args = ["train", *MLP, "--epochs", "4", "--run-dir", "run"]
        proc = fdl(args, folder)
        resumed = "resumed at epoch" in proc.stdout
        a = keras.saving.load_model(self.ref / "model.keras").get_weights()
        b = keras.saving.load_model(folder / "run" / "model.keras").get_weights()
        equal = len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        t0, t1 = test_metrics(self.ref), test_metrics(folder / "run")
        history = (folder / "run" / "history.csv").read_text() == (
            self.ref / "history.csv"
        ).read_text()
        now = (
            f"resumed: {resumed}; weights np.array_equal to the uninterrupted run: {equal}; "
            f"test accuracy {t1['accuracy']:.4f} = {t0['accuracy']:.4f}, loss "
            f"{t1['loss']:.4f} = {t0['loss']:.4f}; history.csv identical: {history}"
        )
        add(
            "SIGKILL after epoch 1 (of 4), then the same command again",
            "test 0.8947 / loss 0.3356 vs uninterrupted 0.8980 / 0.3339",
            now,
            proc,
            "kill: `python -c` `fdl_keras.train(..., callbacks=[SIGKILL after epoch 1])`; then "
            + shown(args),
            proc.returncode == 0 and resumed and equal and t0 == t1 and history,
        )

    def export_killed(self) -> None:
        before_text = (
            "old saved_model/ and model.onnx deleted, model.keras truncated, old report.json "
            "still says passed"
        )
        for point, label in (
            ("in_onnx", "while writing model.onnx"),
            ("between_renames", "between the two renames that swap the new export in"),
        ):
            folder = self.folder()
            shutil.copytree(self.good, folder / "export")
            proc = py(EXPORT, [point, "export"], folder)
            died = proc.returncode == -signal.SIGKILL
            out = folder / "export"
            previous = sorted(folder.glob(".export.previous-*"))
            partial = sorted(folder.glob(".export.partial-*"))
            facts = []
            if out.is_dir():
                kept = digest(out) == self.good_hashes
                report = json.loads((out / "report.json").read_text())["passed"]
                facts.append(
                    f"export/ is the old export, all {len(self.good_hashes)} files "
                    f"byte-identical: {kept}; its report.json passed: {report}"
                )
                ok = kept and report
            else:
                kept = bool(previous) and digest(previous[0]) == self.good_hashes
                facts.append(
                    "export/ is missing right after the kill; the old export is whole in "
                    f"hidden .export.previous-PID: {kept}"
                )
                ok = kept
            if partial:
                state = "half-written" if point == "in_onnx" else "written and verified"
                facts.append(f"the new one ({state}) is in hidden .export.partial-PID")
            again = fdl(["export", "other.keras", "export"], folder)
            passed = "verification: PASSED" in again.stdout
            new = out.is_dir() and digest(out) != self.good_hashes
            left = sorted(p.name for p in folder.glob(".export.*"))
            facts.append(
                f"the same `fdl export` again: exit {again.returncode}, PASSED: {passed}, new "
                f"export in place: {new}, hidden folders left: {len(left)}"
            )
            add(
                f"SIGKILL during `fdl export` over a good export ({label})",
                before_text,
                "; ".join(facts),
                proc,
                "`python -c` script: `fdl export other.keras export` with a step patched to "
                f"SIGKILL ({point}); then `fdl export other.keras export`",
                died and ok and again.returncode == 0 and passed and new and not left,
            )

    def failed_parity(self) -> None:
        folder = self.folder()
        shutil.copytree(self.good, folder / "export")
        proc = py(EXPORT, ["drift", "export"], folder)
        kept = digest(folder / "export") == self.good_hashes
        failed = folder / "export.failed" / "report.json"
        failed_report = json.loads(failed.read_text())["passed"] if failed.is_file() else None
        now = (
            f"{code(self.short(error_line(proc), folder))}; old export: all "
            f"{len(self.good_hashes)} files byte-identical: {kept}; export.failed/report.json "
            f"passed: {failed_report}"
        )
        add(
            "a failed parity check (onnxruntime 1e-3 off) over a previous good export",
            "the good model.onnx deleted before the check",
            now,
            proc,
            "`python -c` script: `fdl export other.keras export` with onnx_runner drifting",
            is_clean_error(proc) and kept and failed_report is False,
        )

    def damaged_run_files(self) -> None:
        folder = self.folder()
        shutil.copytree(self.killed, folder / "run")
        backups = sorted((folder / "run" / "backup").glob("epoch-*.weights.h5"))
        for b in backups:
            data = b.read_bytes()
            b.write_bytes(data[: len(data) // 2])
        self.error_row(
            f"all {len(backups)} `backup/epoch-*.weights.h5` of a killed run truncated, then "
            "the same command again",
            "raw h5py traceback",
            ["train", *MLP, "--epochs", "4", "--run-dir", "run"],
            folder=folder,
        )
        args = ["train", "dqn_cartpole", "--steps", "300", "--run-dir", "run"]
        for name, damage, label in (
            ("replay.npz", lambda p: p.write_bytes(p.read_bytes()[:2000]), "truncated"),
            ("replay.npz", lambda p: p.write_bytes(b"PK\x03\x04" + os.urandom(500)), "garbage"),
            ("state.json", lambda p: p.write_bytes(b""), "empty"),
        ):
            folder = self.folder()
            shutil.copytree(self.agent, folder / "run")
            damage(folder / "run" / name)
            self.error_row(
                f"RL: {label} `{name}` of a killed `dqn_cartpole --steps 300` run, then the "
                "same command again",
                "BadZipFile traceback" if name.endswith(".npz") else "JSONDecodeError traceback",
                args,
                folder=folder,
            )

    def damaged_mnist(self) -> None:
        def truncate(p: Path):
            data = p.read_bytes()
            p.write_bytes(data[: len(data) // 2])

        def rewrite(p: Path, edit):
            data = bytearray(gzip.decompress(p.read_bytes()))
            edit(data)
            p.write_bytes(gzip.compress(bytes(data)))

        def header_plus_one(data: bytearray):
            data[4:8] = (int.from_bytes(data[4:8], "big") + 1).to_bytes(4, "big")

        def other_split(p: Path):
            shutil.copyfile(p.parent / "t10k-labels-idx1-ubyte.gz", p)

        cases = [
            ("truncated", "t10k-images-idx3-ubyte.gz", truncate, "EOFError traceback"),
            ("garbage", "train-labels-idx1-ubyte.gz",
             lambda p: p.write_bytes(os.urandom(3000)), "BadGzipFile traceback"),
            ("header count ≠ body", "t10k-labels-idx1-ubyte.gz",
             lambda p: rewrite(p, header_plus_one), "\"cannot reshape\" traceback"),
            ("labels of the wrong split (t10k labels as train labels)",
             "train-labels-idx1-ubyte.gz", other_split, "IndexError traceback"),
        ]  # fmt: skip
        for label, name, damage, before in cases:
            folder = self.folder()
            data = self.mnist_copy(folder)
            damage(data / "mnist" / name)
            self.error_row(
                f"MNIST `{name}` {label}",
                before,
                ["train", *MLP, "--epochs", "1", "--run-dir", "run"],
                folder=folder,
                env={"FDL_DATA_DIR": str(data)},
                show_env={"FDL_DATA_DIR": "data"},
            )
        folder = self.folder()
        data = self.mnist_copy(folder)
        truncate(data / "mnist" / "t10k-labels-idx1-ubyte.gz")
        args = ["demo", "--epochs", "1", "--run-dir", "run", "--out", "exports"]
        proc = fdl(args, folder, {"FDL_DATA_DIR": str(data)})
        said = [x for x in proc.stdout.splitlines() if x.startswith("MNIST is damaged")]
        digits = "mnist_cnn on digits: test accuracy" in proc.stdout
        passed = "verification: PASSED" in proc.stdout
        now = f"says {code(self.short(said[0], folder))}; " if said else "NO damaged line; "
        now += f"trained on digits: {digits}; export verification PASSED: {passed}"
        add(
            "`fdl demo` with MNIST's `t10k-labels-idx1-ubyte.gz` truncated",
            "`fdl demo` crashes",
            now,
            proc,
            shown(args, {"FDL_DATA_DIR": "data"}),
            proc.returncode == 0 and bool(said) and digits and passed,
        )

    def mnist_copy(self, folder: Path) -> Path:
        data = folder / "data"
        (data / "mnist").mkdir(parents=True)
        for name in MNIST_FILES:
            shutil.copyfile(self.mnist / name, data / "mnist" / name)
        return data

    def bad_model_files(self) -> None:
        folder = self.folder()
        (folder / "notes.txt").write_text("not a model\n")
        self.error_row(
            "`fdl evaluate` on a text file",
            'Keras traceback "File not found"',
            ["evaluate", "notes.txt"],
            folder=folder,
        )
        folder = self.folder()
        with zipfile.ZipFile(folder / "archive.keras", "w") as z:
            z.writestr("readme.txt", "a zip, but not a Keras model")
        self.error_row(
            "`fdl evaluate` on a non-model .keras (a zip holding a text file)",
            'Keras traceback "File not found"',
            ["evaluate", "archive.keras"],
            folder=folder,
        )
        folder = self.folder()
        data = (self.ref / "model.keras").read_bytes()
        (folder / "model.keras").write_bytes(data[: len(data) // 2])
        self.error_row(
            "`fdl evaluate` on a truncated .keras (half of a trained mnist_mlp)",
            'Keras traceback "File not found"',
            ["evaluate", "model.keras"],
            folder=folder,
        )

    def bad_values(self) -> None:
        def nothing_trained(f):
            made = (f / "run" / "model.keras").exists()
            return f"model.keras written: {made}", not made

        for what, before, args in (
            ("`--epochs 0`", "silently replaced by the default",
             ["train", *MLP, "--epochs", "0", "--run-dir", "run"]),
            ("`--batch-size 0`", "silently replaced by the default",
             ["train", *MLP, "--epochs", "1", "--batch-size", "0", "--run-dir", "run"]),
            ("`--steps 0` (ppo_cartpole)", "silently replaced by the default",
             ["train", "ppo_cartpole", "--steps", "0", "--run-dir", "run"]),
            ("`--limit -5`", "trained on 53,995 examples",
             ["train", "mnist_mlp", "--limit", "-5", "--epochs", "1", "--run-dir", "run"]),
            ("`--limit 0`", "TF traceback",
             ["train", "mnist_mlp", "--limit", "0", "--epochs", "1", "--run-dir", "run"]),
        ):  # fmt: skip
            self.error_row(what, before, args, folder=self.folder(), check=nothing_trained)

        folder = self.folder()
        (folder / "run").write_text("my notes, not a folder\n")

        def file_kept(f):
            kept = (f / "run").read_text() == "my notes, not a folder\n"
            return f"the file is unchanged: {kept}", kept

        self.error_row(
            "`--run-dir` is a file",
            "FileExistsError traceback",
            ["train", *MLP, "--epochs", "1", "--run-dir", "run"],
            folder=folder,
            check=file_kept,
        )
        folder = self.folder()
        shutil.copytree(self.ref, folder / "ref")
        (folder / "exports").write_text("a file where a folder should be\n")

        def blocker_kept(f):
            kept = (f / "exports").read_text() == "a file where a folder should be\n"
            return f"the file is unchanged: {kept}", kept

        self.error_row(
            "export dir under a file (`exports` is a file)",
            "NotADirectoryError traceback",
            ["export", "ref", "exports/mnist"],
            folder=folder,
            check=blocker_kept,
        )

    def tensorboard_missing(self) -> None:
        folder = self.folder()
        args = ["train", *MLP, "--epochs", "1", "--tensorboard", "--run-dir", "run"]
        proc = py(NO_TENSORBOARD, args, folder)
        started = (folder / "run" / "history.csv").exists()
        now = f"{code(self.short(error_line(proc), folder))}; training started: {started}"
        add(
            "`--tensorboard` without tensorboard installed",
            "traceback mid-training",
            now,
            proc,
            "`python -c` script: `find_spec('tensorboard')` → None, then "
            f"`fdl_keras.cli.main({args!r})`".replace("'", '"'),
            is_clean_error(proc) and not started,
        )

    def diverging(self) -> None:
        def nothing_saved(f):
            made = (f / "run" / "model.keras").exists()
            return f"model.keras written: {made}", not made

        self.error_row(
            "`mnist_mlp --learning-rate 1e6 --epochs 3`",
            "loss 1e22, exit 0, model saved with accuracy 0.108",
            ["train", *MLP, "--learning-rate", "1e6", "--epochs", "3", "--run-dir", "run"],
            folder=self.folder(),
            check=nothing_saved,
        )

    def evil_pickle(self) -> None:
        folder = self.folder()
        batches = folder / "data" / "cifar10" / "cifar-10-batches-py"
        batches.mkdir(parents=True)
        marker = folder / "MARKER"
        rng = np.random.default_rng(0)
        for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
            batch = {
                b"batch_label": b"synthetic",
                b"labels": [int(v) for v in rng.integers(0, 10, 4)],
                b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                b"filenames": [f"{i}.png".encode() for i in range(4)],
            }
            if name == "data_batch_1":
                batch = RunsACommand(f"touch {marker}")
            (batches / name).write_bytes(pickle.dumps(batch, protocol=2))

        def not_run(f):
            ran = marker.exists()
            return f"MARKER created: {ran}", not ran

        self.error_row(
            "a pickle that would run `touch MARKER`, placed as CIFAR-10 "
            "`cifar-10-batches-py/data_batch_1`",
            "`pickle.load` executed it",
            ["train", "cifar_cnn", "--epochs", "1", "--run-dir", "run"],
            folder=folder,
            env={"FDL_DATA_DIR": str(folder / "data")},
            show_env={"FDL_DATA_DIR": "data"},
            check=not_run,
        )


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


GROUPS = (
    "finished_run_kept",
    "two_processes",
    "other_settings_refused",
    "exact_resume",
    "export_killed",
    "failed_parity",
    "damaged_run_files",
    "damaged_mnist",
    "bad_model_files",
    "bad_values",
    "tensorboard_missing",
    "diverging",
    "evil_pickle",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=GROUPS, help="run only these groups of rows")
    args = parser.parse_args()
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="fdl-reliability-") as tmp:
        bench = Bench(Path(tmp))
        bench.setup()
        print(f"setup done in {time.time() - start:.0f} s", file=sys.stderr, flush=True)
        for group in args.only or GROUPS:
            getattr(bench, group)()
    print("| # | what was done | before | what happens now | exit | command |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(ROWS, 1):
        cells = [str(i), r.what, r.before, r.now, r.exit, r.command]
        print("| " + " | ".join(cell(c) for c in cells) + " |")
    bad = [(i, r) for i, r in enumerate(ROWS, 1) if not r.clean]
    print()
    print(f"{len(ROWS)} rows in {time.time() - start:.0f} s; not clean: {len(bad)}")
    for i, r in bad:
        print(f"- NOT CLEAN row {i}: {r.what}: {r.now}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
