"""Where a ``mnist_fast`` training step's arithmetic goes: the network cut down stage by stage.

The ``mnist_fast`` architecture (three ``conv -> batch norm -> ReLU`` stages of 16/32/64
filters, stride 2, a 256-unit dense layer, softmax; batch 256) and cut-down variants of it, each
timed as a ``tf.function`` of 8 steps of forward and gradients on the same in-memory batch (no
optimizer update, no ``fit``: the arithmetic ``benchmarks/fit_step_overhead.py`` calls
``loop_grads``), in interleaved rounds. Prints each variant's best and median ms/step and its
training FLOPs per step as a share of the CPU's float32 matmul rate, measured in the same run
(``fdl_keras.bench.matmul_gflops``). A probe for ``benchmarks/RESULTS_speed.md``; it changes
nothing in the package.

Usage (repository root, nothing else running):
    python benchmarks/mnist_fast_layer_cost.py --rounds 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fdl_keras.bench import matmul_gflops  # noqa: E402
from fdl_keras.layers import FusedBatchNorm  # noqa: E402

BATCH, UNROLL, FILTERS = 256, 8, (16, 32, 64)


def network(stages: int = 3, dense: int = 256, batch_norm: bool = True, first_kernel: int = 5):
    """``mnist_fast``'s layers, the first ``stages`` convolution stages of them; also its
    multiply-accumulates per image and per trained image (forward + the two backward products;
    the first layer has no input gradient)."""
    inputs = keras.Input((28, 28, 1))
    x, size, channels, layers = inputs, 28, 1, []
    for i, filters in enumerate(FILTERS[:stages]):
        kernel = first_kernel if i == 0 else 3
        x = keras.layers.Conv2D(filters, kernel, strides=2, padding="same", use_bias=False)(x)
        size = -(-size // 2)
        layers.append(size * size * kernel * kernel * channels * filters)
        channels = filters
        if batch_norm:
            x = FusedBatchNorm(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    features = size * size * channels
    if dense:
        x = keras.layers.Dense(dense, activation="relu")(x)
        layers.append(features * dense)
        features = dense
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    layers.append(features * 10)
    return keras.Model(inputs, outputs), sum(layers), 3 * sum(layers) - layers[0]


def steps(model, images, labels):
    """8 steps of forward and gradients in one ``tf.function``."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function(reduce_retracing=True)
    def run():
        total = 0.0
        for _ in tf.range(UNROLL):
            with tf.GradientTape() as tape:
                loss = loss_fn(labels, model(images, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            total += loss + tf.add_n([tf.reduce_sum(g) for g in grads]) * 0.0
        return total

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=6, help="8-step calls a round")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((BATCH, 28, 28, 1), dtype=np.float32))
    labels = tf.constant(rng.integers(0, 10, BATCH).astype(np.int32))
    variants = {
        "mnist_fast": network(),
        "no dense layer": network(dense=0),
        "no batch norm": network(batch_norm=False),
        "first kernel 3x3": network(first_kernel=3),
        "2 stages + dense": network(stages=2),
        "1 stage + dense": network(stages=1),
        "dense only": network(stages=0),
    }
    runs = {name: steps(model, images, labels) for name, (model, *_) in variants.items()}
    for run in runs.values():
        run(), run()
    peak = matmul_gflops()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                run()
            times[name].append((time.perf_counter() - start) * 1e3 / (args.calls * UNROLL))
    print(f"batch {BATCH}, forward + gradients, {args.rounds} rounds; matmul {peak:.0f} GFLOP/s")
    print("| variant | ms/step best | median | MACs/image | FLOP/s of matmul (best) |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        _, macs, trained = variants[name]
        flops = 2 * trained * BATCH / (min(values) * 1e-3) / 1e9
        print(
            f"| {name} | {min(values):.2f} | {statistics.median(values):.2f} | {macs:,} | "
            f"{100 * flops / peak:.0f} % |"
        )


if __name__ == "__main__":
    main()
