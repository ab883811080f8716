"""Quality benchmark: train the MNIST classifiers on full MNIST to their targets.

Usage (from the repository root, with FDL_DATA_DIR pointing at a folder holding mnist/):
    python benchmarks/train_mnist.py mnist_mlp mnist_cnn

Prints one markdown row per model (test accuracy, epochs, wall time, target met) and writes
benchmarks/out/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fdl_keras  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    rows = []
    for name in args.models:
        spec = fdl_keras.get_spec(name)
        result = fdl_keras.train(
            name,
            epochs=args.epochs,
            seed=args.seed,
            run_dir=out / "runs" / name,
            verbose=2,
            overwrite=True,  # the benchmark owns benchmarks/out: each run replaces the last
        )
        acc = result.test_metrics["accuracy"]
        record = {
            "model": name,
            "dataset": result.data.info.name,
            "source": result.data.info.source,
            "test_accuracy": acc,
            "target": spec.target.value,
            "met": acc >= spec.target.value,
            "epochs": len(result.history["loss"]),
            "wall_time_s": result.wall_time_s,
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            "command": "python " + " ".join(sys.argv),
        }
        (out / f"{name}.json").write_text(json.dumps(record, indent=2))
        rows.append(
            f"| {name} | {acc:.2%} | {spec.target.value:.1%} | {'yes' if record['met'] else 'NO'} "
            f"| {record['epochs']} | {record['wall_time_s'] / 60:.1f} min | {record['machine']} |"
        )
    print("| model | test accuracy | target | met | epochs | wall time | machine |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
