"""Training step with batch normalisation on TensorFlow's fused kernel against Keras' own.

Keras 3 normalises a training batch with separate ``moments`` and ``batch_normalization``
ops; :class:`fdl_keras.layers.FusedBatchNorm` (the layer the batch-normalised image
networks use) calls ``FusedBatchNormV3`` instead. Each system is built twice, compiled by the
package (its optimizer, schedule, XLA and steps-per-execution defaults for this machine) and
trained by ``fit`` on its first training batch repeated in memory, so only the step is
timed:

- ``keras``: the same model with the layer forced onto Keras' computation (the reference);
- ``fused``: the package's layer as shipped.

Rounds are interleaved; medians and minima of ms per step are printed, with the first
``fit`` (tracing) time of each.

Usage (repository root, nothing else running):
    python benchmarks/batch_norm_speed.py                 # the default systems
    python benchmarks/batch_norm_speed.py resnet50 --batch-size 32 --rounds 3 --steps 4
Writes benchmarks/out/batch_norm_speed.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data.pipeline import device_options  # noqa: E402
from fdl_keras.layers import FusedBatchNorm  # noqa: E402

OUT = Path(__file__).parent / "out"
# Steps per timed round, so a round takes a few seconds on a 2-core CPU.
STEPS = {
    "mnist_fast": 160,
    "mnist_fast_995": 96,
    "cifar_cnn_bn": 24,
    "resnet20": 16,
    "dcgan": 32,
}


@contextlib.contextmanager
def keras_batch_norm():
    """Every :class:`FusedBatchNorm` computes as ``keras.layers.BatchNormalization``."""
    fused = FusedBatchNorm._fused
    FusedBatchNorm._fused = lambda self, inputs, training, mask: False
    try:
        yield
    finally:
        FusedBatchNorm._fused = fused


def first_batch(spec, model, batch_size: int):
    """The first batch ``fit`` gets from the system's training pipeline, or its contract's
    example batch where the dataset is not on this machine."""
    from fdl_keras.data import load_dataset

    try:
        data = load_dataset(spec.dataset, batch_size=batch_size)
    except Exception:  # noqa: BLE001 - e.g. CIFAR-10 cannot be downloaded here
        x, y = spec.example_batch(model, size=batch_size)
        return x if y is None else (x, y)
    train, _, _ = spec.pairs(model, data, 0)
    return next(iter(train))


def compiled(name: str, reference: bool, batch_size: int):
    """``name`` built and compiled by the package, and a ``fit`` that runs ``steps`` steps."""
    spec = fdl_keras.get_spec(name)
    model = fdl_keras.build(name)
    spec.compile(model, total_steps=10_000)
    element = first_batch(spec, model, batch_size)

    def fit(steps: int) -> float:
        data = device_options(tf.data.Dataset.from_tensors(element).repeat(steps))
        with keras_batch_norm() if reference else contextlib.nullcontext():
            start = time.perf_counter()
            model.fit(data, epochs=1, verbose=0)
            return time.perf_counter() - start

    return fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(STEPS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, help="steps per timed round (default: per system)")
    parser.add_argument("--batch-size", type=int, help="default: each system's registered one")
    args = parser.parse_args()
    results = {"load_average_start": os.getloadavg()[0], "systems": {}}
    print(
        "| system | batch | Keras BN ms/step, median (min) | fused ms/step, median (min) "
        "| fused / Keras, median (min) | first fit s, Keras / fused |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.names:
        steps = args.steps or STEPS.get(name, 32)
        batch = args.batch_size or fdl_keras.get_spec(name).fit.batch_size
        fits = {"keras": compiled(name, True, batch), "fused": compiled(name, False, batch)}
        first = {label: fit(4) for label, fit in fits.items()}  # tracing
        ms = {label: [] for label in fits}
        for _ in range(args.rounds):
            for label, fit in fits.items():
                ms[label].append(1e3 * fit(steps) / steps)
        med = {label: statistics.median(v) for label, v in ms.items()}
        low = {label: min(v) for label, v in ms.items()}
        results["systems"][name] = {
            "batch_size": batch,
            "steps": steps,
            "ms_per_step": ms,
            "first_fit_s": first,
        }
        print(
            f"| `{name}` | {batch} | {med['keras']:.1f} "
            f"({low['keras']:.1f}) | {med['fused']:.1f} ({low['fused']:.1f}) | "
            f"{med['fused'] / med['keras']:.2f} ({low['fused'] / low['keras']:.2f}) | "
            f"{first['keras']:.1f} / {first['fused']:.1f} |",
            flush=True,
        )
    results["load_average_end"] = os.getloadavg()[0]
    OUT.mkdir(exist_ok=True)
    (OUT / "batch_norm_speed.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
