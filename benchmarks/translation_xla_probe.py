"""Would ``transformer_fr_en`` gain from XLA if its batches came in a few lengths?

Its length-bucketed training batches are padded to each batch's own longest sentence, so XLA,
which compiles a program per input shape, sees many shapes. This probe takes the first ``N``
training batches, pads each (source and target alike) to the smallest of ``CLASSES`` that
holds it, and times ``fit`` over them in three settings: no XLA on the batches as they are,
XLA with 8 steps a call on the padded batches, and no XLA on the padded batches. Prints the
shapes, the padding's share of extra tokens, each setting's first (compiling) fit and 2 rounds
of ms per step. A probe of 2026-12-02 (RESULTS_speed.md), not a default.

Usage (repository root, a quiet machine, ``FDL_DATA_DIR`` pointing at the datasets):
    python benchmarks/translation_xla_probe.py 256 7,11,15,23,31,51
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data import load_dataset  # noqa: E402

NAME = "transformer_fr_en"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    classes = np.array(
        [int(c) for c in (sys.argv[2] if len(sys.argv) > 2 else "7,11,15,23,31,51").split(",")]
    )
    spec = fdl_keras.get_spec(NAME)
    batch = spec.fit.batch_size
    data = load_dataset(spec.dataset, batch_size=batch, seed=0)
    batches = list(data.train.take(count).as_numpy_iterator())

    def pad(element):
        (source, target_in), target_out = element
        length = classes[np.searchsorted(classes, max(source.shape[1], target_in.shape[1]))]
        wide = [
            np.pad(a, [(0, 0), (0, length - a.shape[1])]) for a in (source, target_in, target_out)
        ]
        return (wide[0], wide[1]), wide[2]

    padded = [pad(b) for b in batches]
    tokens = [sum(b[0][0].size + b[0][1].size for b in bs) for bs in (batches, padded)]
    shapes = {(b[0][0].shape[1], b[0][1].shape[1]) for b in batches}
    print(
        f"{count} batches: {len(shapes)} shapes, padded {len({b[0][0].shape[1] for b in padded})}; "
        f"tokens x{tokens[1] / tokens[0]:.3f}",
        flush=True,
    )

    def pipeline(elements):
        spec_ = tf.TensorSpec((batch, None), tf.int32)
        dataset = tf.data.Dataset.from_generator(
            lambda: iter(elements), output_signature=((spec_, spec_), spec_)
        )
        return dataset.apply(tf.data.experimental.assert_cardinality(len(elements)))

    settings = {
        "no XLA, 1 a call, own lengths": (False, 1, batches),
        "XLA, 8 a call, padded": (True, 8, padded),
        "no XLA, 1 a call, padded": (False, 1, padded),
    }
    models = {}
    for label, (jit, steps, elements) in settings.items():
        keras.utils.set_random_seed(0)
        model = fdl_keras.build(NAME)
        spec.compile(
            model,
            learning_rate=spec.fit.learning_rate,
            total_steps=100_000,
            jit_compile=jit,
            steps_per_execution=steps,
        )
        start = time.perf_counter()
        model.fit(pipeline(elements), epochs=1, verbose=0)
        print(f"{label}: first fit {time.perf_counter() - start:.1f} s", flush=True)
        models[label] = model
    for round_ in range(2):
        for label, (_, _, elements) in settings.items():
            start = time.perf_counter()
            models[label].fit(pipeline(elements), epochs=1, verbose=0)
            ms = 1e3 * (time.perf_counter() - start) / count
            print(f"round {round_} {label}: {ms:.1f} ms/step", flush=True)


if __name__ == "__main__":
    main()
