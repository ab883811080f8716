"""Two questions about the step-rate ratio of ``mnist_fast_995``'s pipeline on 2 cores.

1. Does producing each batch in the training step's own thread (a sequential ``map`` and no
   ``prefetch``) beat the package's background pipeline, on the thought that a pipeline thread
   preempts one of the step's two compute threads and stalls both?
2. Is the in-memory reference (one batch repeated, so it stays in the cache) flattering? It is
   set beside 192 distinct in-memory batches, normalised beforehand.

Each feed trains ``mnist_fast_995``'s network, compiled as the trainer does, for 192 steps a
round, in interleaved rounds; medians and minima in ms a step, and each feed's step-rate ratio
to the repeated batch. Also the CPU per batch of a few pipelines on one ``tf.data`` thread. A
probe of 2026-12-04 (``RESULTS_speed.md``, "Three probes that changed nothing").

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data, nothing else running):
    python benchmarks/pipeline_sync_probe.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data import load_arrays, make_pipeline  # noqa: E402
from fdl_keras.data.pipeline import EpochOrder, device_options, shuffled_indices  # noqa: E402

STEPS = 192


def synchronous(make):
    """``make()``'s pipeline built with sequential maps and without prefetching."""
    dataset_map, dataset_prefetch = tf.data.Dataset.map, tf.data.Dataset.prefetch
    tf.data.Dataset.map = lambda self, f, num_parallel_calls=None, **kw: dataset_map(self, f, **kw)
    tf.data.Dataset.prefetch = lambda self, *args, **kwargs: self
    try:
        return make()
    finally:
        tf.data.Dataset.map, tf.data.Dataset.prefetch = dataset_map, dataset_prefetch


def cpu_ms_per_batch(ds, batches: int = 200) -> float:
    """CPU ms per batch of ``ds`` on one ``tf.data`` thread."""
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False

    @tf.function
    def consume(ds):
        total = tf.constant(0.0)
        for images, _ in ds:
            total += tf.cast(tf.reshape(images, [-1])[0], tf.float32)
        return total

    ds = ds.with_options(options).take(batches)
    consume(ds.take(8))
    start = time.process_time()
    consume(ds).numpy()
    return 1e3 * (time.process_time() - start) / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    spec = fdl_keras.get_spec("mnist_fast_995")
    (x, y), _ = load_arrays("mnist")[0]
    x, y = x[:55000], y[:55000]
    batch, augment = spec.fit.batch_size, spec.fit.augment

    def package(policy):
        return lambda: device_options(
            make_pipeline(x, y, batch_size=batch, scale=255.0, shuffle=True, augment=policy)
        )

    indices = shuffled_indices(len(x), 0, EpochOrder(), batch_size=batch)
    print("CPU ms per batch, one thread:")
    for name, ds in {
        "package, no augmentation": package(None)(),
        "the shuffled indices alone": indices.map(lambda k, i: (tf.zeros((1,)), i)),
        "a bare range().map()": tf.data.Dataset.range(214).map(lambda b: (tf.zeros((1,)), b)),
    }.items():
        print(f"  {name}: {cpu_ms_per_batch(ds):.3f}", flush=True)

    one = (tf.constant(np.float32(x[:batch, ..., None] / 255.0)), tf.constant(y[:batch]))
    order = np.random.default_rng(0).permutation(len(x))[: STEPS * batch]
    distinct = (
        tf.constant(np.float32(x[order].reshape(STEPS, batch, 28, 28, 1) / 255.0)),
        tf.constant(y[order].reshape(STEPS, batch).astype(np.int32)),
    )
    feeds = {
        "one batch repeated (reference)": lambda: device_options(
            tf.data.Dataset.from_tensors(one).repeat(STEPS)
        ),
        "distinct in-memory batches": lambda: device_options(
            tf.data.Dataset.from_tensor_slices(distinct)
        ),
        f"package, {augment}": lambda: package(augment)().take(STEPS),
        f"synchronous, {augment}": lambda: synchronous(package(augment)).take(STEPS),
        "package, no augmentation": lambda: package(None)().take(STEPS),
        "synchronous, no augmentation": lambda: synchronous(package(None)).take(STEPS),
    }
    model = fdl_keras.build("mnist_fast_995")
    spec.compile(model, total_steps=16 * 215)
    for feed in feeds.values():
        model.fit(feed().take(8), epochs=1, verbose=0)
    step_ms: dict[str, list[float]] = {name: [] for name in feeds}
    for _ in range(args.rounds):
        for name, feed in feeds.items():
            ds = feed()
            start = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0)
            step_ms[name].append(1e3 * (time.perf_counter() - start) / STEPS)
    reference = step_ms["one batch repeated (reference)"]
    print("\n| feed | ms a step, median (min) | step-rate ratio, median (min) |")
    print("|---|---|---|")
    for name, values in step_ms.items():
        ms, fastest = statistics.median(values), min(values)
        ratio, best = statistics.median(reference) / ms, min(reference) / fastest
        print(f"| {name} | {ms:.2f} ({fastest:.2f}) | {ratio:.3f} ({best:.3f}) |")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
