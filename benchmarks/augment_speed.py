"""Augmentation in the ``tf.data`` pipeline: the package's against its two previous versions.

The references are kept here for the comparison: (1) per-image, each image shifted by its own
``map`` call (``tf.image.stateless_random_crop`` of the zero-padded image, keyed by
``(seed, position)``), then batched; (2) whole batches shifted by a gather of rows and a gather
of single pixels along the width (commit 22ba352). The package's pipeline
(``fdl_keras.data.make_pipeline``) gathers whole batches and shifts them by two gathers of
whole rows with a transpose between (``fdl_keras.data.augment.shift``); (2) and the package give
identical batches. All are measured in the same run, interleaved:

- pipeline alone: examples/s, and CPU ms per batch on one thread (``time.process_time``);
- training: ``mnist_fast_995``'s network compiled as the trainer does, ms per step fed by each
  pipeline, by the unaugmented pipeline and by in-memory batches (no pipeline work), so the
  ratio in-memory / pipeline is the pipeline's step-rate ratio (goal >= 0.95). Medians and
  minima over the rounds.

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
ROUNDS = 5


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


def rows_and_pixels_pipeline(x, y, batch_size):
    """Commit 22ba352's shift: rows by one batched gather, then single pixels along the width."""
    from fdl_keras.data import augment

    def shift(images, key, pad=None):
        height, width = images.shape[1], images.shape[2]
        pad = pad if pad is not None else max(1, round(height / 14))
        offsets = tf.random.stateless_uniform(
            (tf.shape(images)[0], 2), seed=key, minval=0, maxval=2 * pad + 1, dtype=tf.int32
        )
        padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        rows = offsets[:, :1] + tf.range(height)[None]
        padded = tf.gather(padded, rows, axis=1, batch_dims=1)
        columns = offsets[:, 1:] + tf.range(width)[None]
        return tf.gather(padded, columns, axis=2, batch_dims=1)

    package = augment.POLICIES["shift"]
    augment.POLICIES["shift"] = (shift,)
    try:
        return make_pipeline(
            x, y, batch_size=batch_size, scale=255.0, shuffle=True, augment="shift"
        )
    finally:
        augment.POLICIES["shift"] = package


def one_thread(ds):
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    return ds.with_options(options)


@tf.function
def consume(ds):
    total = tf.constant(0.0)
    for images, _ in ds:
        total += images[0, 0, 0, 0]
    return total


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
        "no augmentation": lambda: device_options(
            make_pipeline(x, y, batch_size=batch, scale=255.0, shuffle=True)
        ),
        "per-image (before 22ba352)": lambda: per_image_pipeline(x, y, batch),
        "batch: rows, then single pixels (22ba352)": lambda: device_options(
            rows_and_pixels_pipeline(x, y, batch)
        ),
        "batch: rows, transpose, rows (package)": lambda: device_options(
            make_pipeline(x, y, batch_size=batch, scale=255.0, shuffle=True, augment="shift")
        ),
    }
    rates = {name: [] for name in pipes}
    cpu_ms = {name: [] for name in pipes}
    for make in pipes.values():
        consume(one_thread(make().take(8)))  # warm-up
    for _ in range(ROUNDS):
        for name, make in pipes.items():
            ds = make()
            epoch_seconds(ds.take(8))  # warm-up
            rates[name].append(len(x) / epoch_seconds(make()))
            ds = one_thread(make().take(100))
            start = time.process_time()
            consume(ds).numpy()
            cpu_ms[name].append(1e3 * (time.process_time() - start) / 100)

    model = fdl_keras.build("mnist_fast_995")
    spec.compile(model, total_steps=16 * 215)
    steps = 192
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
    memory = step_ms["in memory (no pipeline)"]
    print(
        "| pipeline | examples/s alone | CPU ms per batch, 1 thread | ms per training step, "
        "median (min) | step-rate ratio to in-memory, median (min) |"
    )
    print("|---|---|---|---|---|")
    for name in feeds:
        ms, fastest = statistics.median(step_ms[name]), min(step_ms[name])
        rate = statistics.median(rates[name]) if name in rates else None
        cpu = statistics.median(cpu_ms[name]) if name in cpu_ms else None
        results["pipelines"][name] = {
            "examples_per_s": rate,
            "cpu_ms_per_batch": cpu,
            "step_ms": step_ms[name],
        }
        alone = f"{rate:,.0f}" if rate else "-"
        cpu_text = f"{cpu:.2f}" if cpu else "-"
        print(
            f"| {name} | {alone} | {cpu_text} | {ms:.1f} ({fastest:.1f}) | "
            f"{statistics.median(memory) / ms:.2f} ({min(memory) / fastest:.2f}) |"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "augment_speed.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
