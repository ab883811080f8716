"""Kill every ``fit`` system after an epoch, resume it, and compare with an uninterrupted run.

For each registry system trained by epochs (all but the agents), at its tiny config on a small
slice of its dataset (``digits`` for the CIFAR-10 systems, whose files are not on this
machine), three fresh processes run ``fdl_keras.train`` for 3 epochs: one uninterrupted; one
SIGKILLed by a callback at the end of epoch 2; then the same call again, which resumes from
the killed run's backup. The table gives the largest weight difference between the two
finished models and whether their ``history.csv`` and test metrics are equal. Where they
differ, a second uninterrupted run tells a resume fault from a system whose training is not
bit-reproducible between processes in the first place.

The maintained tool that does this job, Keras' ``BackupAndRestore``, is the anchor only in
spirit: it restores weights after the optimizer was built lazily (so its slots are skipped) and
leaves dropout's random state out (``fdl_keras/training/backup.py``), so it cannot resume
bit-identically and is not run here.

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data, nothing else running):
    python benchmarks/resume_every_system.py [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Builder arguments the run's data decides, left out of the tiny configs.
FROM_DATA = {
    "image_shape",
    "vocabulary_size",
    "vocab_size",
    "num_tags",
    "num_classes",
    "output_dim",
}
#: What some systems need besides their tiny config to run here in seconds.
OPTIONS = {
    "fast_style_transfer": {"vgg_weights": "random", "limit": 16},
    "word2vec_brown": {"limit": 2000},
    "pos_tagger": {"limit": 2048},
    "dependency_parser": {"limit": 300},
    "lstm_sentiment": {"limit": 64, "batch_size": 16},
    "rationale_movie_reviews": {"limit": 64, "batch_size": 16},
    "seq2seq_attention_fr_en": {"limit": 128},
    "transformer_fr_en": {"limit": 128},
    "ntm_copy": {"limit": 64},
    "lstm_copy": {"limit": 64},
    "dnc_babi": {"limit": 128},
    "lstm_babi": {"limit": 128},
    "tabular_mlp": {},
}
EPOCHS, KILL_AFTER = 3, 2


def settings_of(spec) -> dict:
    options = dict(OPTIONS.get(spec.name, {"limit": 256}))
    if spec.dataset == "cifar10":
        options["dataset"] = "digits"
    tiny = {k: v for k, v in spec.tiny.items() if k not in FROM_DATA}
    return {"epochs": EPOCHS, "verbose": 0, **options, **tiny}


def train(name: str, settings: dict, run_dir: Path, kill_after: int | None = None):
    """``fdl_keras.train`` in a fresh process; SIGKILLed at the end of epoch ``kill_after``."""
    script = textwrap.dedent(
        f"""
        import os, signal, keras, fdl_keras

        class Kill(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch + 1 == {kill_after!r}:
                    os.kill(os.getpid(), signal.SIGKILL)

        fdl_keras.train({name!r}, run_dir={str(run_dir)!r}, callbacks=[Kill()], **{settings!r})
        """
    )
    # a killed process leaves its autograph modules in TMPDIR: keep them in the run's folder
    env = {**os.environ, "TMPDIR": str(run_dir.parent)}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=1800, env=env
    )


def compare(a: Path, b: Path) -> dict:
    import numpy as np

    from fdl_keras.runs import load_model_file

    first, second = load_model_file(a / "model.keras"), load_model_file(b / "model.keras")
    diffs = [
        float(np.max(np.abs(x - y))) if np.size(x) else 0.0
        for x, y in zip(first.get_weights(), second.get_weights(), strict=True)
    ]
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (a, b)]
    return {
        "max_weight_diff": max(diffs, default=0.0),
        "history_equal": (a / "history.csv").read_text() == (b / "history.csv").read_text(),
        "test_equal": metrics[0]["test"] == metrics[1]["test"],
        "resumed_at_epoch": metrics[1].get("resumed_at_epoch"),
    }


def check(spec, folder: Path) -> dict:
    settings = settings_of(spec)
    start = time.perf_counter()
    whole, killed, again = folder / "whole", folder / "killed", folder / "again"
    row = {"name": spec.name, "settings": settings}
    result = train(spec.name, settings, whole)
    if result.returncode != 0:
        row["error"] = result.stderr.strip().splitlines()[-1][:160]
        return row
    result = train(spec.name, settings, killed, kill_after=KILL_AFTER)
    if result.returncode != -signal.SIGKILL:
        row["error"] = f"the kill did not happen (exit {result.returncode})"
        return row
    result = train(spec.name, settings, killed)
    if result.returncode != 0:
        row["error"] = "resume failed: " + result.stderr.strip().splitlines()[-1][:160]
        return row
    row["resume"] = compare(whole, killed)
    if row["resume"]["max_weight_diff"] or not row["resume"]["history_equal"]:
        if train(spec.name, settings, again).returncode == 0:
            row["twice"] = compare(whole, again)
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def main() -> None:
    import fdl_keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="systems (default: every fit system)")
    args = parser.parse_args()
    specs = [s for s in fdl_keras.list_models() if hasattr(s.task, "pairs")]
    specs = [s for s in specs if s.family != "pca"]  # fitted by one SVD, no epochs
    if args.names:
        specs = [s for s in specs if s.name in args.names]
    print(f"load average at start: {os.getloadavg()}")
    print("| system | max weight diff after resume | history equal | test metrics equal | "
          "two uninterrupted runs | s |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    rows = []
    for spec in specs:
        folder = Path(tempfile.mkdtemp(prefix=f"resume_{spec.name}_"))
        try:
            row = check(spec, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append(row)
        if "error" in row:
            print(f"| `{spec.name}` | not run: {row['error']} | | | | |", flush=True)
            continue
        resume, twice = row["resume"], row.get("twice")
        twice_text = (
            "—"
            if twice is None
            else f"differ by {twice['max_weight_diff']:.2g}"
            if twice["max_weight_diff"]
            else "identical"
        )
        print(
            f"| `{spec.name}` | {resume['max_weight_diff']:.2g} | {resume['history_equal']} | "
            f"{resume['test_equal']} | {twice_text} | {row['seconds']} |",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()}")
    exact = [
        r["name"]
        for r in rows
        if "resume" in r and not r["resume"]["max_weight_diff"] and r["resume"]["history_equal"]
    ]
    others = [r["name"] for r in rows if r["name"] not in exact]
    print(f"{len(exact)} of {len(rows)} resumed bit-identically; not: {others}")


if __name__ == "__main__":
    main()
