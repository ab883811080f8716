"""What Keras' ``fit`` adds to a ``mnist_fast`` training step beyond its arithmetic.

The ``mnist_fast`` network at its defaults (batch 256, 8 steps an execution, no XLA: the
package's CPU settings) trained on the same in-memory batches by several compiles of the same
architecture, timed in interleaved rounds of ``--steps`` steps each:

- ``package``: ``fdl_keras``' own compile (Adam with warm-up + cosine, label-smoothed
  cross-entropy on the softmax, accuracy metric) through ``model.fit``;
- ``no_metrics``: the same without the accuracy metric;
- ``constant_lr``: the same Adam at a constant learning rate (no schedule);
- ``sgd``: plain SGD, constant rate, no metrics (the cheapest update Keras has);
- ``loop_adam``: a ``tf.function`` running 8 steps of forward, gradients and the Keras Adam
  update (``optimizer.apply``), no metrics, no ``fit``;
- ``loop_grads``: the same 8 steps of forward and gradients with no update: the arithmetic.

Prints each variant's median and best ms/step over rounds and their ratios to ``package``'s
(the best round is the steadier figure on a 2-core host, where rounds run at two speeds).
A probe for ``benchmarks/RESULTS_speed.md``; it changes nothing in the package.

Usage (repository root, nothing else running):
    python benchmarks/fit_step_overhead.py --rounds 5 --steps 64
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

import fdl_keras  # noqa: E402
from fdl_keras.bench import cpu_share, cpu_ticks  # noqa: E402
from fdl_keras.losses import SparseCrossentropy  # noqa: E402

BATCH, UNROLL = 256, 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=64, help="steps a round (multiple of 8)")
    args = parser.parse_args()
    spec = fdl_keras.get_spec("mnist_fast")
    rng = np.random.default_rng(0)
    images = rng.random((BATCH * UNROLL, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, BATCH * UNROLL).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH).cache().repeat()
    total = 470  # mnist_fast's run: 2 epochs of 235 steps

    def adam(schedule=True):
        from fdl_keras.tasks import make_optimizer

        return make_optimizer(spec, None, total if schedule else None)

    def compiled(optimizer, metrics):
        model = fdl_keras.build("mnist_fast")
        model.compile(
            optimizer=optimizer,
            loss=SparseCrossentropy(label_smoothing=spec.fit.label_smoothing),
            metrics=metrics,
            steps_per_execution=UNROLL,
            jit_compile=False,
        )
        return model

    package = fdl_keras.build("mnist_fast")
    spec.task.compile(spec, package, total_steps=total)
    assert package.steps_per_execution == UNROLL and not package.jit_compile
    fits = {
        "package": package,
        "no_metrics": compiled(adam(), []),
        "constant_lr": compiled(adam(schedule=False), ["accuracy"]),
        "sgd": compiled(keras.optimizers.SGD(0.01), []),
    }

    def loop(apply: bool):
        model = fdl_keras.build("mnist_fast")
        optimizer = adam()
        optimizer.build(model.trainable_variables)
        loss_fn = SparseCrossentropy(label_smoothing=spec.fit.label_smoothing)
        batches = iter(data)

        @tf.function
        def run(iterator):
            for _ in tf.range(UNROLL):
                x, y = next(iterator)
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                if apply:
                    optimizer.apply(grads, model.trainable_variables)
                else:  # keep the gradients alive without updating anything
                    loss += tf.add_n([tf.reduce_sum(g) for g in grads]) * 0.0
            return loss

        return lambda steps: [run(batches) for _ in range(steps // UNROLL)]

    runners = {
        name: (lambda steps, m=m: m.fit(data, epochs=1, steps_per_epoch=steps, verbose=0))
        for name, m in fits.items()
    }
    runners["loop_adam"] = loop(apply=True)
    runners["loop_grads"] = loop(apply=False)
    for run in runners.values():  # trace and warm up
        run(2 * UNROLL)
    times: dict[str, list[float]] = {name: [] for name in runners}
    ticks = cpu_ticks()
    for _ in range(args.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(args.steps)
            times[name].append((time.perf_counter() - start) * 1e3 / args.steps)
    share = cpu_share(ticks, cpu_ticks())
    base, best = statistics.median(times["package"]), min(times["package"])
    print(f"mnist_fast, batch {BATCH}, {UNROLL} steps an execution, no XLA; {args.rounds} rounds")
    if share:
        print(f"steal {100 * share['steal']:.1f} %")
    print(
        "| variant | ms/step median | / package | best | / package | slowest |\n" + "|---" * 6 + "|"
    )
    for name, values in times.items():
        median, low = statistics.median(values), min(values)
        print(
            f"| `{name}` | {median:.2f} | {median / base:.2f} | {low:.2f} | {low / best:.2f} | "
            f"{max(values):.2f} |"
        )


if __name__ == "__main__":
    main()
