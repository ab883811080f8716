"""XLA on short runs: whole ``fdl_keras.train`` runs of a few lengths with XLA on and off.

XLA compiles the train and test functions once a run, which a run of few steps does not repay.
For each system, each ``--limits`` (examples, split as ``fdl train --limit``) and each
``--epochs``, a run trains twice through the package's trainer, once at the entry's CPU
defaults with XLA at any length (``cpu_jit_min_steps`` cleared) and once with XLA off, taking
turns over ``--rounds`` rounds.
Reports the median of ``wall_time_s + evaluate_time_s`` from each run's ``metrics.json`` (fit
with validation, then the test set; data loading and the process start not counted) and the
number of training steps. ``cpu_jit_min_steps`` of the entries is set from where XLA starts to
pay (section "XLA from a run length on for the MNIST MLP, the MNIST autoencoders, the tagger
and the VAE" of ``benchmarks/RESULTS_speed.md``).

Usage (repository root, quiet machine, FDL_DATA_DIR pointing at the datasets):
    python benchmarks/xla_short_runs.py mnist_mlp autoencoder_mnist --limits 1024 60000 --epochs 1 4
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import fdl_keras  # noqa: E402
from fdl_keras import registry  # noqa: E402
from fdl_keras.bench import cpu_share, cpu_ticks  # noqa: E402
from fdl_keras.data import load_dataset  # noqa: E402

OUT = Path(__file__).parent / "out"


def run_seconds(name: str, limit: int, epochs: int, jit: bool) -> float:
    """Seconds of fit + evaluate of one run of ``name``: ``epochs`` on ``limit`` examples."""
    spec = registry.get_spec(name)
    fit = dataclasses.replace(spec.fit, cpu_jit_compile=jit, cpu_jit_min_steps=None)
    registry._REGISTRY[name] = dataclasses.replace(spec, fit=fit)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fdl_keras.train(name, limit=limit, epochs=epochs, run_dir=Path(tmp) / "run", verbose=0)
            metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
    finally:
        registry._REGISTRY[name] = spec
    return metrics["wall_time_s"] + metrics["evaluate_time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--limits", type=int, nargs="+", default=[1024, 16384, 55000])
    parser.add_argument("--epochs", type=int, nargs="+", default=[1])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = {}
    columns = ("system", "training examples", "epochs", "steps", "XLA off s", "XLA on s")
    print("| " + " | ".join(columns + ("on / off", "steal")) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for name in args.names:
        spec = registry.get_spec(name)
        batch = spec.fit.batch_size
        for limit, epochs in itertools.product(args.limits, args.epochs):
            ticks = cpu_ticks()
            times = {False: [], True: []}
            for _ in range(args.rounds):
                for jit in (False, True):
                    times[jit].append(run_seconds(name, limit, epochs, jit))
            share = cpu_share(ticks, cpu_ticks())
            off, on = (statistics.median(times[j]) for j in (False, True))
            info = load_dataset(spec.dataset, limit=limit, batch_size=batch).info
            steps = epochs * math.ceil(info.num_train / batch)
            results[f"{name}/{limit}/{epochs}"] = {
                "steps": steps,
                "off_s": times[False],
                "on_s": times[True],
                "steal": share,
            }
            print(
                f"| `{name}` | {info.num_train} | {epochs} | {steps} | {off:.2f} | {on:.2f} | "
                f"{on / off:.2f} | "
                f"{'-' if share is None else format(100 * share['steal'], '.1f') + ' %'} |",
                flush=True,
            )
    OUT.mkdir(exist_ok=True)
    (OUT / "xla_short_runs.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
