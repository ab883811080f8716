"""Mixed-precision and XLA training-step times on a GPU (one prepared script, <= 5 minutes).

For ``mnist_cnn``, ``resnet20`` and ``resnet50`` at their registered batch sizes, times the
package's compiled training step (``spec.compile``) on random batches in four settings —
float32 / mixed_float16 (Keras dtype policy, loss scaling) x XLA off / on — medians of
``--steps`` steps after a compiling warm-up. Runs on a CPU too (to check it works; the numbers
there are not the point: see benchmarks/vs_pytorch.py).

Usage (repository root, on the GPU machine):
    python benchmarks/gpu_speed.py --steps 50
Writes benchmarks/out/gpu_speed.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fdl_keras.registry import get_spec  # noqa: E402

OUT = Path(__file__).parent / "out"
SETTINGS = [(p, xla) for p in ("float32", "mixed_float16") for xla in (False, True)]


def time_setting(name: str, precision: str, xla: bool, steps: int) -> float:
    spec = get_spec(name)
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        model = spec.build()
        spec.compile(model, total_steps=10_000, jit_compile=xla, steps_per_execution=1)
        batch = spec.fit.batch_size
        shape = (batch, *model.input.shape[1:])
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        y = np.random.default_rng(1).integers(0, model.output.shape[-1], batch)
        for _ in range(3):  # compile, warm up
            model.train_on_batch(x, y)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=["mnist_cnn", "resnet20", "resnet50"])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    devices = [d.name for d in tf.config.list_physical_devices() if d.device_type != "CPU"]
    print(f"devices: {devices or 'CPU only'}")
    header = " | ".join(f"{p}, XLA {'on' if x else 'off'}" for p, x in SETTINGS)
    print(f"| system | batch | {header} |")
    print("|---|---|" + "---|" * len(SETTINGS))
    results = {}
    for name in args.names:
        ms = {f"{p}, xla={x}": 1e3 * time_setting(name, p, x, args.steps) for p, x in SETTINGS}
        results[name] = ms
        cells = " | ".join(f"{v:.1f} ms" for v in ms.values())
        print(f"| `{name}` | {get_spec(name).fit.batch_size} | {cells} |", flush=True)
    OUT.mkdir(exist_ok=True)
    record = {"devices": devices, "steps": args.steps, "ms_per_step": results}
    (OUT / "gpu_speed.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
