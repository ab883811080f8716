"""Two probes behind RESULTS_speed.md's "Memory networks on a few length classes under XLA".

``padding``: `lstm_copy` (no XLA) trained two epochs on the copy task's own lengths and on
batches padded to length classes (`to_length_classes`), 3 alternating rounds, median seconds of
the fit, two validation passes and `bit_errors`.

``after-xla``: 3 `lstm_copy` epochs, then (``--then``) an XLA-compiled `ntm_copy` fit of 24 and
then 64 batches (``ntm``, timed), the same without XLA (``ntm-no-xla``), six tiny XLA programs
(``tiny``) or nothing (``none``), optionally ``--sleep`` seconds, then 3 more `lstm_copy`
epochs: does a process that has run XLA programs run later non-XLA training slower? One
process per try; set ``XLA_FLAGS`` outside.

Usage (repository root, ``FDL_DATA_DIR`` pointing at the datasets, nothing else running):
    python benchmarks/memory_xla_probes.py padding
    python benchmarks/memory_xla_probes.py after-xla --then ntm
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data import load_dataset  # noqa: E402
from fdl_keras.data.memory_tasks import to_length_classes  # noqa: E402
from fdl_keras.memory.models import bit_errors  # noqa: E402

LONG_RUN = 10**6  # total_steps that asks for the long-run (XLA) defaults


def padding() -> None:
    spec = fdl_keras.get_spec("lstm_copy")
    data = load_dataset("copy", batch_size=32, seed=0, limit=2048)
    times: dict[bool, list] = {False: [], True: []}
    for _ in range(3):
        for padded in (False, True):
            train, validation = data.train, data.validation
            if padded:
                train, validation = to_length_classes(train), to_length_classes(validation)
            model = spec.build(**spec.defaults)
            spec.compile(model)
            model.fit(train.take(8), epochs=1, verbose=0)
            model.evaluate(validation, verbose=0)
            start = time.perf_counter()
            model.fit(train, epochs=2, verbose=0)
            fit = time.perf_counter() - start
            start = time.perf_counter()
            model.evaluate(validation, verbose=0)
            model.evaluate(validation, verbose=0)
            evaluate = time.perf_counter() - start
            start = time.perf_counter()
            bit_errors(model, validation)
            times[padded].append((fit, evaluate, time.perf_counter() - start))
    for padded, rows in times.items():
        fit, evaluate, errors = np.median(rows, axis=0)
        print(
            f"{'padded' if padded else 'own lengths'}: fit of 2 epochs {fit:.2f} s, "
            f"2 validations {evaluate:.2f} s, bit_errors {errors:.2f} s",
            flush=True,
        )


def after_xla(then: str, sleep: float) -> None:
    data = load_dataset("copy", batch_size=32, seed=0, limit=2048)
    spec = fdl_keras.get_spec("lstm_copy")
    lstm = spec.build(**spec.defaults)
    spec.compile(lstm, total_steps=LONG_RUN)

    def lstm_epochs(label: str) -> None:
        lstm.fit(data.train.take(4), epochs=1, verbose=0)
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            lstm.fit(data.train, epochs=1, verbose=0)
            seconds.append(time.perf_counter() - start)
        threads = len(os.listdir(f"/proc/{os.getpid()}/task"))
        print(f"{label}: lstm epochs {np.round(seconds, 2)} s, {threads} threads", flush=True)

    lstm_epochs("before")
    if then in ("ntm", "ntm-no-xla"):
        ntm_spec = fdl_keras.get_spec("ntm_copy")
        ntm = ntm_spec.build(**ntm_spec.defaults)
        ntm_spec.compile(ntm, total_steps=LONG_RUN if then == "ntm" else 10)
        train = ntm_spec.pairs(ntm, data)[0]
        ntm.fit(train.take(24), epochs=1, verbose=0)
        start = time.perf_counter()
        ntm.fit(train.take(64), epochs=1, verbose=0)
        print(
            f"ntm_copy (XLA {ntm.jit_compile}): 64 steps in {time.perf_counter() - start:.2f} s",
            flush=True,
        )
    elif then == "tiny":
        square = tf.function(lambda a: tf.reduce_sum(tf.tanh(a @ a)), jit_compile=True)
        for n in (8, 16, 24, 32, 40, 48):
            square(tf.ones((n, n)))
    time.sleep(sleep)
    lstm_epochs(f"after {then}" + (f" and {sleep:g} s of sleep" if sleep else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("probe", choices=("padding", "after-xla"))
    parser.add_argument("--then", choices=("ntm", "ntm-no-xla", "tiny", "none"), default="ntm")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds before the last epochs")
    args = parser.parse_args()
    padding() if args.probe == "padding" else after_xla(args.then, args.sleep)


if __name__ == "__main__":
    main()
