"""Per-image against vectorised (whole-batch) augmentation in the ``tf.data`` pipeline.

The reference is the package's previous pipeline, kept here for the comparison: each image is
shifted by its own ``map`` call (``tf.image.stateless_random_crop`` of the zero-padded image,
keyed by ``(seed, position)``), then batched. The package's pipeline
(``fdl_keras.data.make_pipeline``) gathers whole batches and augments each batch with one set of
vectorised ops (``fdl_keras.data.augment``). Both are measured in the same run, interleaved:

- pipeline alone: seconds to iterate one epoch (examples/s);
- training: ``mnist_fast_995``'s network compiled as the
  trainer does, ms per step fed by each pipeline and by in-memory batches (no pipeline work),
  so the ratio in-memory / pipeline is the pipeline's step-rate ratio (goal >= 0.95).

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data, nothing else running):
    python benchmarks/augment_speed.py
Prints a Markdown table; writes benchmarks/out/augment_speed.json.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data import load_arrays, make_pipeline  # noqa: E402
from fdl_keras.data.pipeline import EpochOrder, device_options, shuffled_indices  # noqa: E402

OUT = Path(__file__).parent / "out"
ROUNDS = 3


def per_image_pipeline(x, y, batch_size, seed=0, pad=2):
    """The previous pipeline: per-image ``map`` of a stateless crop of the padded image."""
    images, labels = tf.constant(x[..., None] if x.ndim == 3 else x), tf.constant(y)
    h, w, c = images.shape[1:]

    def element(key, i):
        image = tf.cast(tf.gather(images, i), tf.float32) / 255.0
        k = tf.random.experimental.stateless_split(
            tf.stack([tf.constant(seed, tf.int64), tf.cast(key, tf.int64)]), 1
        )[0]
        padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
        image = tf.image.stateless_random_crop(padded, (h, w, c), seed=k)
        return image, tf.cast(tf.gather(labels, i), tf.int32)

    ds = shuffled_indices(len(x), seed, EpochOrder()).map(
        element, num_parallel_calls=tf.data.AUTOTUNE
    )
    return device_options(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def epoch_seconds(ds) -> float:
    start = time.perf_counter()
    for _ in ds:
        pass
    return time.perf_counter() - start


def main() -> None:
    spec = fdl_keras.get_spec("mnist_fast_995")
    (x, y), _ = load_arrays("mnist")[0]
    x, y = x[:55000], y[:55000]
    batch = spec.fit.batch_size
    pipes = {
        "per-image (previous)": lambda: per_image_pipeline(x, y, batch),
        "vectorised (package)": lambda: device_options(
            make_pipeline(x, y, batch_size=batch, scale=255.0, shuffle=True, augment="shift")
        ),
    }
    rates = {name: [] for name in pipes}
    for _ in range(ROUNDS):
        for name, make in pipes.items():
            ds = make()
            epoch_seconds(ds.take(8))  # warm-up
            rates[name].append(len(x) / epoch_seconds(make()))

    model = fdl_keras.build("mnist_fast_995")
    spec.compile(model, total_steps=16 * 215)
    steps = 96
    memory = [(tf.constant(np.float32(x[:batch, ..., None] / 255.0)), tf.constant(y[:batch]))]
    feeds = {
        "in memory (no pipeline)": lambda: device_options(
            tf.data.Dataset.from_tensors(memory[0]).repeat(steps)
        ),
        **{name: lambda make=make: make().take(steps) for name, make in pipes.items()},
    }
    step_ms = {name: [] for name in feeds}
    model.fit(feeds["in memory (no pipeline)"](), epochs=1, verbose=0)
    for _ in range(ROUNDS):
        for name, feed in feeds.items():
            ds = feed()
            start = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0)
            step_ms[name].append(1e3 * (time.perf_counter() - start) / steps)

    results = {"load_average": os.getloadavg(), "batch_size": batch, "pipelines": {}}
    memory_ms = statistics.median(step_ms["in memory (no pipeline)"])
    print("| pipeline | examples/s alone | ms per training step | step-rate ratio to in-memory |")
    print("|---|---|---|---|")
    for name in feeds:
        ms = statistics.median(step_ms[name])
        rate = statistics.median(rates[name]) if name in rates else None
        results["pipelines"][name] = {"examples_per_s": rate, "step_ms": ms}
        alone = f"{rate:,.0f}" if rate else "-"
        print(f"| {name} | {alone} | {ms:.1f} | {memory_ms / ms:.2f} |")
    OUT.mkdir(exist_ok=True)
    (OUT / "augment_speed.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
