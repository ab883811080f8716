"""Training-step time with tf.data's autotuner on and off, on this CPU, epoch by epoch.

On a 2-core machine the autotuner's background thread and the parallelism it picks compete with
the training step for the cores; the package turns it off when no GPU/TPU is visible
(``fdl_keras.data.pipeline.device_options``). This script shows why: each system is compiled
as the package compiles it (its CPU defaults for XLA and steps per execution) and fitted for
``--epochs`` epochs of ``--steps`` steps on random images of its input shape through
``make_pipeline`` (its augmentation included), once with the autotuner on (tf.data's default)
and once off, twice in alternation; every epoch's ms/step is printed (the first, which traces,
is not timed).

Usage (repository root, nothing else running):
    python benchmarks/data_autotune.py             # mnist_mlp, mnist_fast(_995), cifar_cnn
    python benchmarks/data_autotune.py mnist_fast --epochs 6

Writes benchmarks/out/data_autotune.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fdl_keras.data.pipeline import make_pipeline  # noqa: E402
from fdl_keras.registry import get_spec  # noqa: E402

OUT = Path(__file__).parent / "out"
STEPS = {"mnist_mlp": 432, "mnist_fast": 215, "mnist_fast_995": 100, "cifar_cnn": 40}


def epoch_times(name: str, autotune: bool, steps: int, epochs: int) -> list[float]:
    spec = get_spec(name)
    keras.utils.set_random_seed(0)
    model = spec.build()
    spec.compile(model, total_steps=(epochs + 1) * steps)
    shape = tuple(model.input_shape[1:])
    batch = spec.fit.batch_size
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (batch * steps, *shape), dtype=np.uint8)
    y = rng.integers(0, 10, batch * steps)
    data = make_pipeline(
        x, y, batch_size=batch, scale=255.0, shuffle=True, seed=0, augment=spec.fit.augment
    )
    options = tf.data.Options()
    options.autotune.enabled = autotune
    data = data.with_options(options)
    model.fit(data, epochs=1, verbose=0)  # traces
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        times.append((time.perf_counter() - start) / steps * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(STEPS))
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    record = {}
    print("| system | autotuner | ms/step of each epoch | median | worst |\n|---|---|---|---|---|")
    for name in args.names:
        steps = STEPS.get(name, 100)
        record[name] = {"steps_per_epoch": steps, "on": [], "off": []}
        for autotune in (True, False, True, False):
            times = epoch_times(name, autotune, steps, args.epochs)
            record[name]["on" if autotune else "off"].extend(times)
            print(
                f"| `{name}` | {'on' if autotune else 'off'} | "
                + " ".join(f"{t:.1f}" for t in times)
                + f" | {statistics.median(times):.1f} | {max(times):.1f} |",
                flush=True,
            )
    record["load_average_end"] = os.getloadavg()
    OUT.mkdir(exist_ok=True)
    (OUT / "data_autotune.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
