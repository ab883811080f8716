"""XLA on or off for the score network: training step and sampling call, A/B in one process.

Two copies of the same ``ncsn`` (U-Net 16-32-64, the chapter-10 benchmark's) compiled with
``jit_compile=False`` and ``True`` take turns for ``ROUNDS`` rounds: a ``fit`` over 8 batches of
128 and two ``predict_on_batch`` calls on 500 images (what each Langevin / reverse-diffusion step
costs). Prints every round, the medians in milliseconds, each copy's first ``fit`` (tracing,
and XLA's compilation where on) and the run length from which XLA's compile time is repaid
(what ``cpu_jit_min_steps`` of the ``ncsn`` entry is set from).

Usage (repository root, quiet machine): python benchmarks/speed_xla_ncsn.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from fdl_keras.generative.score import NoiseConditionalScoreNetwork  # noqa: E402

ROUNDS = 4


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(128 * 8, 28, 28, 1)).astype("float32")
    batch = [
        rng.uniform(size=(500, 28, 28, 1)).astype("float32"),
        np.full((500, 1), 0.5, "float32"),
    ]
    models, first = {}, {}
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = NoiseConditionalScoreNetwork(filters=(16, 32, 64), embedding_dim=32)
        model.compile(learning_rate=1e-3, jit_compile=jit)
        start = time.perf_counter()
        model.fit(x, batch_size=128, epochs=1, verbose=0)  # compiles
        first[jit] = time.perf_counter() - start
        model.predict_on_batch(batch)
        models[jit] = model
    times = {jit: {"train": [], "sample": []} for jit in models}
    for _ in range(ROUNDS):
        for jit, model in models.items():
            start = time.perf_counter()
            model.fit(x, batch_size=128, epochs=1, verbose=0)
            times[jit]["train"].append((time.perf_counter() - start) / 8)
            start = time.perf_counter()
            model.predict_on_batch(batch)
            model.predict_on_batch(batch)
            times[jit]["sample"].append((time.perf_counter() - start) / 2)
    for jit, kinds in times.items():
        rounds = {k: [round(v * 1e3) for v in vs] for k, vs in kinds.items()}
        medians = {k: round(float(np.median(vs)) * 1e3) for k, vs in kinds.items()}
        print(f"jit_compile={jit}: ms per round {rounds}, medians {medians}")
        print(f"jit_compile={jit}: first fit of 8 steps {first[jit]:.1f} s")
    step = {jit: float(np.median(kinds["train"])) for jit, kinds in times.items()}
    extra = (first[True] - 8 * step[True]) - (first[False] - 8 * step[False])
    saved = step[False] - step[True]
    if saved > 0:
        print(f"XLA's extra first-call time {extra:.1f} s, repaid after {extra / saved:.0f} steps")
    else:
        print(f"XLA's extra first-call time {extra:.1f} s, and no faster a step here")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
