"""Batch-1 inference latency of each chapter 7 classifier: Keras (TF) vs SavedModel vs ONNX.

Each model is built at its registered (paper) size with untrained weights - latency does not
depend on the weight values - and exported with ``fdl_keras.export``, which checks ONNX and
SavedModel parity and times each runtime (median of 30 runs after 3 warm-ups). The verification
batch is uniform noise of the model's input shape: these are timing runs, not quality runs.

Usage (from the repository root):
    python benchmarks/vision_latency.py cifar_cnn cifar_cnn_bn resnet20 resnet50

Prints a markdown table and writes benchmarks/out/vision_latency.json.
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

import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402

DEFAULT = [
    "cifar_cnn",
    "cifar_cnn_bn",
    "cifar_cnn_gn",
    "resnet20",
    "resnet56",
    "resnet20_v2",
    "resnet18",
    "resnet50",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    out = Path(__file__).parent / "out"
    rows, records = [], {}
    for name in args.models:
        model = fdl_keras.build(name)
        shape = tuple(model.inputs[0].shape[1:])
        sample = np.random.default_rng(0).uniform(size=(4, *shape)).astype(np.float32)
        report = fdl_keras.export(model, out / "latency" / name, sample=sample)
        t = {k: v["latency_ms_batch1"] for k, v in report["runtimes"].items()}
        records[name] = {"input": list(shape), "parameters": model.count_params(), **report}
        rows.append(
            f"| {name} | {'x'.join(map(str, shape))} | {model.count_params() / 1e6:.2f} M "
            f"| {t['keras']:.2f} | {t['saved_model']:.2f} | {t['onnx']:.2f} "
            f"| {t['keras'] / t['onnx']:.1f}x |"
        )
        print(rows[-1], flush=True)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join(sys.argv),
    }
    (out / "vision_latency.json").write_text(json.dumps({**meta, "models": records}, indent=2))
    print("| model | input | params | Keras ms | SavedModel ms | ONNX Runtime ms | Keras/ONNX |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(meta)


if __name__ == "__main__":
    main()
