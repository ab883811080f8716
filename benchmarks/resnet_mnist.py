"""ResNet-20 (He et al.'s CIFAR network) trained on the real data present here: MNIST.

Runs ``fdl_keras.train("resnet20", dataset=...)`` with the "shift" augmentation (the CIFAR
policy's flips are wrong for digits), evaluates on the test split and exports the model with
ONNX/SavedModel parity and batch-1 latency.

Usage (from the repository root, FDL_DATA_DIR pointing at a folder with mnist/):
    python benchmarks/resnet_mnist.py --epochs 2 --limit 40000

``--limit`` keeps that many training examples (10 % held out for validation) and the full test
set for ``--limit >= 40000``. Writes benchmarks/out/resnet_mnist.json and prints a markdown row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fdl_keras  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=40000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(__file__).parent / "out"
    result = fdl_keras.train(
        args.model,
        dataset=args.dataset,
        epochs=args.epochs,
        limit=args.limit,
        batch_size=args.batch_size,
        augment="shift",
        seed=args.seed,
        run_dir=out / "runs" / f"{args.model}_{args.dataset}",
        overwrite=True,  # the benchmark owns benchmarks/out: each run replaces the last
        verbose=2,
    )
    x_test, _ = result.data.arrays["test"]
    report = fdl_keras.export(result.model, out / "exports" / args.model, sample=x_test[:8])
    record = {
        "model": args.model,
        "parameters": result.model.count_params(),
        "dataset": result.data.info.name,
        "source": result.data.info.source,
        "train_examples": result.data.info.num_train,
        "test_examples": result.data.info.num_test,
        "epochs": args.epochs,
        "test_accuracy": result.test_metrics["accuracy"],
        "val_accuracy": result.history["val_accuracy"],
        "wall_time_s": result.wall_time_s,
        "latency_ms_batch1": {k: v["latency_ms_batch1"] for k, v in report["runtimes"].items()},
        "export_max_abs_diff": {
            k: v["max_abs_diff"] for k, v in report["runtimes"].items() if k != "keras"
        },
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join(sys.argv),
    }
    (out / f"{args.model}_{args.dataset}.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
