"""Whole training runs with a system's CPU defaults for XLA / steps per call, and without them
(or in float32 and in a 16-bit precision).

``benchmarks/cpu_defaults.py`` and ``cpu_precision.py`` time steps; a faster step is not a
faster run when the input pipeline, validation or XLA's compile time take the difference. This
trains ``NAME`` through ``fdl_keras.train`` (its pipeline, validation and test set) with the
registry entry's ``cpu_jit_compile`` / ``cpu_steps_per_execution`` set to the given setting and
to none (Keras' defaults) — or, with ``--precision P``, with the entry's defaults in float32 and
in ``P`` — the two alternating per seed, and prints ``wall_time_s`` and the test metrics.

Usage (repository root, a quiet machine, ``FDL_DATA_DIR`` pointing at the datasets):
    python benchmarks/cpu_defaults_runs.py sparse_autoencoder_mnist --epochs 20 --xla --steps 8
    python benchmarks/cpu_defaults_runs.py tabular_mlp --epochs 40 --steps 8 --seeds 0 1
    python benchmarks/cpu_defaults_runs.py mnist_cnn --epochs 2 --precision mixed_bfloat16
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fdl_keras  # noqa: E402
from fdl_keras import registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--xla", action="store_true", help="the setting compiles with XLA")
    parser.add_argument("--steps", type=int, default=1, help="the setting's steps per call")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--precision", help="compare float32 with this precision (the entry's own defaults)"
    )
    args = parser.parse_args()
    spec = fdl_keras.get_spec(args.name)
    fit = spec.fit
    if args.precision:  # label: (jit, steps per call, precision)
        settings = {
            p: (fit.cpu_jit_compile, fit.cpu_steps_per_execution, p)
            for p in ("float32", args.precision)
        }
    else:
        settings = {
            "without": (None, None, "float32"),
            f"XLA {'on' if args.xla else 'off'}, {args.steps} a call": (
                args.xla,
                args.steps,
                "float32",
            ),
        }
    for seed in args.seeds:
        for label, (jit, steps, precision) in settings.items():
            fit = dataclasses.replace(spec.fit, cpu_jit_compile=jit, cpu_steps_per_execution=steps)
            registry._REGISTRY[args.name] = dataclasses.replace(spec, fit=fit)
            with tempfile.TemporaryDirectory() as tmp:
                run = Path(tmp) / "run"
                fdl_keras.train(
                    args.name,
                    seed=seed,
                    epochs=args.epochs,
                    run_dir=run,
                    verbose=0,
                    precision=precision,
                )
                metrics = json.loads((run / "metrics.json").read_text())
            test = {k: round(v, 5) for k, v in metrics["test"].items()}
            print(
                f"{args.name} [{label}] seed {seed}: fit {metrics['wall_time_s']:.1f} s + "
                f"evaluation {metrics['evaluate_time_s']:.1f} s, test {test}, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    registry._REGISTRY[args.name] = spec


if __name__ == "__main__":
    main()
