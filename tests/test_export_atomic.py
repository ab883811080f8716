"""``fdl_keras.export`` never loses a user's work: a process killed at any point of an export
leaves the previous export or the new one, each with a truthful ``report.json``, and a failed
verification leaves the previous export as it was.

Kills are deterministic: the export runs in a subprocess that patches one step to send itself
SIGKILL at a chosen point.
"""

import hashlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fdl_keras

export_module = importlib.import_module("fdl_keras.export")  # the package attribute is export()

OUT = "export"  # the export folder's name in every test
USER_FILE = "notes.txt"  # a file of the user's that shares the export folder

# Run as `python -c SCRIPT POINT OUT WORK`: builds a second model (other weights), saves it to
# WORK/b.keras, and exports it to OUT with SIGKILL patched in at POINT.
KILL_SCRIPT = textwrap.dedent(
    """
    import importlib, os, shutil, signal, sys
    from pathlib import Path

    import keras
    import numpy as np

    import fdl_keras

    export_module = importlib.import_module("fdl_keras.export")
    point, out, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])


    def die():
        os.kill(os.getpid(), signal.SIGKILL)


    if point == "in_onnx":  # saved_model written, model.onnx half-written
        real_export_onnx = export_module.export_onnx

        def export_onnx(model, path, **kwargs):
            real_export_onnx(model, path, **kwargs)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            die()

        export_module.export_onnx = export_onnx
    else:
        real_rename, real_rmtree = os.rename, shutil.rmtree
        partial, previous = f".{out.name}.partial-", f".{out.name}.previous-"

        def rename(src, dst, *args, **kwargs):
            src = Path(src)
            if (
                (point == "before_swap" and src == out)
                or (point == "between_renames" and src.name.startswith(partial))
                or (point == "moving_user_files" and src.parent.name.startswith(previous))
            ):
                die()
            return real_rename(src, dst, *args, **kwargs)

        def rmtree(path, *args, **kwargs):
            if point == "before_backup_deleted" and Path(path).name.startswith(previous):
                die()
            return real_rmtree(path, *args, **kwargs)

        os.rename, shutil.rmtree = rename, rmtree

    keras.utils.set_random_seed(1)
    model = fdl_keras.build("mnist_mlp", hidden_units=(8,), image_shape=(8, 8, 1))
    model.save(work / "b.keras")
    sample = np.load(work / "sample.npy")
    fdl_keras.export(model, out, sample=sample, measure_latency=False)
    sys.exit("the export was not killed")
    """
)


def build_tiny(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return fdl_keras.build("mnist_mlp", hidden_units=(8,), image_shape=(8, 8, 1))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A good export of a tiny MLP on real digits (plus a user's file in its folder)."""
    base = tmp_path_factory.mktemp("good")
    model = build_tiny(0)
    sample = fdl_keras.data.load_dataset("digits", limit=64).sample_batch(8)[0]
    np.save(base / "sample.npy", sample)
    report = fdl_keras.export(model, base / OUT, sample=sample, measure_latency=False)
    assert report["passed"], report
    (base / OUT / USER_FILE).write_text("my notes")
    return {"model": model, "sample": sample, "base": base, "hashes": hashes(base / OUT)}


@pytest.fixture
def work(good, tmp_path):
    """``tmp_path`` with a copy of the good export at ``tmp_path / OUT`` and the sample."""
    shutil.copytree(good["base"] / OUT, tmp_path / OUT)
    shutil.copy(good["base"] / "sample.npy", tmp_path / "sample.npy")
    return tmp_path


def hashes(folder) -> dict[str, str]:
    """sha256 of every file of the export in ``folder`` (the user's files left out)."""
    found = {}
    for name in export_module.EXPORT_FILES:
        path = folder / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                found[str(f.relative_to(folder))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return found


def leftovers(folder) -> list[str]:
    """Hidden work folders of an export into ``folder`` that are still there."""
    return sorted(p.name for p in folder.parent.glob(f".{folder.name}.*"))


def assert_truthful(folder, sample) -> np.ndarray:
    """``folder`` holds a complete export whose report says passed and tells the truth: each
    runtime reproduces the saved Keras model on ``sample``. Returns the Keras outputs."""
    import keras

    report = json.loads((folder / "report.json").read_text())
    assert report["passed"] is True, report
    reference = np.asarray(keras.saving.load_model(folder / "model.keras").predict_on_batch(sample))
    for runtime, run in (
        ("onnx", export_module.onnx_runner(folder / "model.onnx")),
        ("saved_model", export_module.saved_model_runner(folder / "saved_model")),
    ):
        diff = np.max(np.abs(np.asarray(run([sample])[0]) - reference))
        assert diff <= report["atol"], (runtime, diff)
        assert report["runtimes"][runtime]["passed"] is True
    return reference


def kill_export_at(point: str, work) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, point, str(work / OUT), str(work)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]


@pytest.mark.parametrize(
    "point, left",
    [
        ("in_onnx", "old"),
        ("before_swap", "old"),
        ("between_renames", "old"),
        ("moving_user_files", "new"),
        ("before_backup_deleted", "new"),
    ],
)
def test_a_killed_export_leaves_the_old_or_the_new_one(good, work, point, left):
    import keras

    out, sample = work / OUT, good["sample"]
    kill_export_at(point, work)
    if point == "between_renames":  # the old folder is the backup; nothing at OUT yet
        assert not out.exists() and leftovers(out)
    export_module.recover_export(out)

    outputs = assert_truthful(out, sample)
    if left == "old":
        assert hashes(out) == good["hashes"]
    else:
        assert hashes(out) != good["hashes"]
        new = np.asarray(keras.saving.load_model(work / "b.keras").predict_on_batch(sample))
        np.testing.assert_array_equal(outputs, new)
    assert (out / USER_FILE).read_text() == "my notes"
    assert not leftovers(out), leftovers(out)

    report = fdl_keras.export(good["model"], out, sample=sample, measure_latency=False)
    assert report["passed"], report
    assert_truthful(out, sample)
    assert (out / USER_FILE).read_text() == "my notes"
    assert not leftovers(out) and not list(work.glob("*.partial-*"))


def test_the_next_export_recovers_a_kill_between_the_renames(good, work):
    out = work / OUT
    kill_export_at("between_renames", work)
    assert not out.exists()
    fdl_keras.export(good["model"], out, sample=good["sample"], measure_latency=False)
    assert_truthful(out, good["sample"])
    assert (out / USER_FILE).read_text() == "my notes"
    assert not leftovers(out)


def test_a_failed_verification_leaves_the_good_export_untouched(good, work, monkeypatch):
    out, failed = work / OUT, work / f"{OUT}.failed"
    real = export_module.onnx_runner

    def drifting_runner(path):
        run = real(path)
        return lambda inputs: [o + 1e-3 for o in run(inputs)]

    monkeypatch.setattr(export_module, "onnx_runner", drifting_runner)
    failed.mkdir()
    (failed / "older.txt").write_text("an older failure")
    with pytest.raises(fdl_keras.ExportVerificationError) as err:
        fdl_keras.export(build_tiny(1), out, sample=good["sample"], measure_latency=False)
    message = str(err.value)
    assert "\n" not in message and str(failed / "report.json") in message
    assert "onnx differs" in message

    assert hashes(out) == good["hashes"]
    assert (out / USER_FILE).read_text() == "my notes"
    report = json.loads((failed / "report.json").read_text())
    assert report["passed"] is False and report["runtimes"]["onnx"]["passed"] is False
    assert report["runtimes"]["saved_model"]["passed"] is True
    assert [f.split()[0] for f in report["failures"]] == ["onnx"]
    assert (failed / "model.onnx").is_file() and not (failed / "older.txt").exists()
    assert not leftovers(out)

    monkeypatch.setattr(export_module, "onnx_runner", real)
    assert fdl_keras.export(good["model"], out, sample=good["sample"], measure_latency=False)[
        "passed"
    ]
    assert not failed.exists()


def test_a_failed_first_export_leaves_nothing_at_the_directory(good, tmp_path, monkeypatch):
    real = export_module.onnx_runner
    monkeypatch.setattr(
        export_module, "onnx_runner", lambda path: lambda x: [o + 1 for o in real(path)(x)]
    )
    with pytest.raises(fdl_keras.ExportVerificationError):
        fdl_keras.export(
            good["model"], tmp_path / OUT, sample=good["sample"], measure_latency=False
        )
    assert not (tmp_path / OUT).exists()
    assert json.loads((tmp_path / f"{OUT}.failed" / "report.json").read_text())["passed"] is False


def test_an_error_while_writing_leaves_the_good_export_untouched(good, work, monkeypatch):
    def broken_export_onnx(model, path, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(export_module, "export_onnx", broken_export_onnx)
    with pytest.raises(RuntimeError, match="converter crashed"):
        fdl_keras.export(good["model"], work / OUT, sample=good["sample"], measure_latency=False)
    assert hashes(work / OUT) == good["hashes"]
    assert not leftovers(work / OUT) and not (work / f"{OUT}.failed").exists()


def test_a_file_as_directory_is_a_one_line_error(good, tmp_path):
    path = tmp_path / "model.onnx"
    path.write_text("not a folder")
    with pytest.raises(fdl_keras.InvalidInputError, match="is a file") as err:
        fdl_keras.export(good["model"], path, sample=good["sample"])
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert path.read_text() == "not a folder"


def test_a_directory_under_a_file_is_a_one_line_error(good, tmp_path):
    blocker = tmp_path / "exports"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(fdl_keras.InvalidInputError, match="is a file, not a folder") as err:
        fdl_keras.export(good["model"], blocker / "mnist", sample=good["sample"])
    assert "\n" not in str(err.value) and str(blocker / "mnist") in str(err.value)
    assert blocker.read_text() == "a file where a folder should be"


def test_stale_work_folders_of_dead_processes_are_removed(good, work):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pid = int(dead.stdout)
    stale = work / f".{OUT}.partial-{pid}"
    (stale / "saved_model").mkdir(parents=True)
    export_module.recover_export(work / OUT)
    assert not stale.exists() and hashes(work / OUT) == good["hashes"]
    alive = work / f".{OUT}.partial-{os.getppid()}"  # a live process's work folder stays
    alive.mkdir()
    export_module.recover_export(work / OUT)
    assert alive.exists()
