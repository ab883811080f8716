"""Where the seconds of a ``mnist_fast`` run go: the divergence guard's reference evaluation,
the first call of the training function (tracing) and the epochs' steps and validation.

Trains ``mnist_fast`` through ``fdl_keras.train`` (its defaults, real MNIST) for each seed and
prints, from a callback and a wrapped ``NaNGuard.set_reference``: the reference evaluation's
seconds, the first call's seconds (8 steps a call), the seconds of each later 64 steps, of each
validation and the run's ``wall_time_s``. A probe of 2026-12-02 (RESULTS_speed.md).

``--no-graph-optimizer`` turns TensorFlow's graph optimiser (grappler) off first, to see
whether it is what the first call spends its time on.

Usage (repository root, a quiet machine, ``FDL_DATA_DIR`` pointing at the datasets):
    python benchmarks/mnist_fast_breakdown.py 0 1
    python benchmarks/mnist_fast_breakdown.py --no-graph-optimizer 0 1
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.training.callbacks import NaNGuard  # noqa: E402


class Clock(keras.callbacks.Callback):
    """Prints the seconds between the marks of one training run."""

    def mark(self, what: str) -> None:
        now = time.perf_counter()
        print(f"  {what:24s} {now - self.last:6.3f} s", flush=True)
        self.last = now

    def on_train_begin(self, logs=None):
        self.last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if batch == 7:
            self.mark("first call (8 steps)")
        elif batch % 64 == 7:
            self.mark(f"steps to {batch + 1}")

    def on_test_begin(self, logs=None):
        self.mark("rest of the epoch")

    def on_test_end(self, logs=None):
        self.mark("validation")

    def on_epoch_begin(self, epoch, logs=None):
        self.last = time.perf_counter()


def main() -> None:
    reference = NaNGuard.set_reference

    def timed_reference(self, model, batches):
        start = time.perf_counter()
        reference(self, model, batches)
        print(f"  {'reference evaluation':24s} {time.perf_counter() - start:6.3f} s", flush=True)

    NaNGuard.set_reference = timed_reference
    args = sys.argv[1:]
    if "--no-graph-optimizer" in args:
        args.remove("--no-graph-optimizer")
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
        print("graph optimiser off", flush=True)
    for seed in [int(a) for a in args] or [0]:
        print(f"seed {seed}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            result = fdl_keras.train(
                "mnist_fast", run_dir=f"{tmp}/run", seed=seed, callbacks=[Clock()], verbose=0
            )
        print(f"  wall_time_s {result.wall_time_s:.2f}, test {result.test_metrics}", flush=True)


if __name__ == "__main__":
    main()
