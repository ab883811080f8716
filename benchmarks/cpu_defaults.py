"""XLA and ``steps_per_execution`` for every ``fit`` system on this CPU, on its own batches.

For each system at its default configuration, the first ``--steps`` batches of its real
training pipeline (its dataset, batch size and augmentation, as ``fdl train`` builds them; the
bucketed text pipelines keep their varying shapes) are cached, and ``model.fit`` runs over them
under four settings: XLA off/on x 1 or ``--per-execution`` steps per call. The settings take
turns in ``--rounds`` rounds (a change of machine load hits all of them alike); each round
times one ``fit`` after an identical one that compiles. Reports the median milliseconds per
step and each setting's speed-up over the baseline (no XLA, one step per call) of the same
round; the per-model CPU defaults (``FitConfig.cpu_jit_compile``, ``cpu_steps_per_execution``)
are chosen from it.

Left out by default: the deep ResNets, the style network and PCA (a step of seconds, or no
step; their convolutions are slower under XLA here, like ``mnist_cnn``'s and ``resnet20``'s).

Usage (repository root, a quiet machine, ``FDL_DATA_DIR`` pointing at the datasets):
    python benchmarks/cpu_defaults.py                 # every fit system but those left out
    python benchmarks/cpu_defaults.py vae pos_tagger --rounds 5
Writes benchmarks/out/cpu_defaults.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data import load_dataset  # noqa: E402
from fdl_keras.errors import DatasetNotFoundError  # noqa: E402

OUT = Path(__file__).parent / "out"
LEFT_OUT = {
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet110",
    "resnet110_v2",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet20_v2",
    "fast_style_transfer",
    "pca_mnist",
}


def fit_systems() -> list[str]:
    """Registry systems trained by ``model.fit`` (their task builds pipelines)."""
    return [s.name for s in fdl_keras.list_models() if hasattr(s.task, "pairs")]


def cached_batches(name: str, distinct: int):
    """A function of ``steps`` giving that many batches (length stated), cycling through the
    first ``distinct`` of ``name``'s training pipeline (cached), and whether ``fdl train``
    runs that pipeline through Keras' ``fit`` (known length) or the package's own loop (which
    runs neither XLA nor more than one step per call)."""
    import tensorflow as tf

    spec = fdl_keras.get_spec(name)
    model = fdl_keras.build(name)
    try:
        data = load_dataset(
            spec.dataset, batch_size=spec.fit.batch_size, seed=0, augment=spec.fit.augment
        )
        train, _, _ = spec.pairs(model, data, 0)
        keras_fit = int(train.cardinality()) >= 0
    except DatasetNotFoundError as error:  # e.g. no CIFAR-10 here: its export sample instead
        print(f"{name}: {error}; timing on its example batch", flush=True)
        train = tf.data.Dataset.from_tensors(spec.example_batch(model, spec.fit.batch_size))
        keras_fit = True
    batches = train.take(distinct).cache()
    sum(1 for _ in batches)  # fills the cache

    def take(steps: int):
        cycle = batches.repeat().take(steps)
        return cycle.apply(tf.data.experimental.assert_cardinality(steps))

    return take, keras_fit


def build(name: str, jit: bool, per_execution: int) -> keras.Model:
    spec = fdl_keras.get_spec(name)
    keras.utils.set_random_seed(0)
    model = fdl_keras.build(name)
    spec.compile(
        model,
        learning_rate=spec.fit.learning_rate,
        total_steps=100_000,
        jit_compile=jit,
        steps_per_execution=per_execution,
    )
    return model


def time_fit(model: keras.Model, batches, count: int) -> float:
    """Seconds per step of one ``fit`` over ``batches`` (after the one that compiled)."""
    start = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - start) / count


def timed_rounds(models: dict, take, first_fit: dict, args, multiple: int) -> tuple[int, dict]:
    """Times each of ``models`` (compiled; the first is the baseline) over the same batches,
    taking turns in ``args.rounds`` rounds; each fit has as many steps as the baseline takes
    ``args.seconds`` for (16-1024, a multiple of ``multiple``). Returns that count and, per key,
    the median ms a step, the speed-up over the baseline in the same round (median, minimum),
    ``first_fit[key]`` and every round's ms."""
    base = next(iter(models))
    probe = time_fit(models[base], take(args.distinct), args.distinct)
    count = int(min(1024, max(16, args.seconds / probe)))
    count -= count % multiple
    batches = take(count)
    times: dict = {key: [] for key in models}
    for _ in range(args.rounds):
        for key, model in models.items():
            times[key].append(time_fit(model, batches, count))
    rows = {}
    for key, values in times.items():
        ratios = [b / v for b, v in zip(times[base], values)]
        rows[key] = {
            "ms_per_step": 1e3 * float(np.median(values)),
            "speedup_median": float(np.median(ratios)),
            "speedup_min": float(min(ratios)),
            "first_fit_s": first_fit[key],
            "all_ms": [1e3 * v for v in values],
        }
    return count, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--seconds", type=float, default=2.0, help="of a timed baseline fit")
    parser.add_argument("--distinct", type=int, default=32, help="distinct batches among them")
    parser.add_argument("--per-execution", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    names = args.names or [n for n in fit_systems() if n not in LEFT_OUT]
    settings = [(False, 1), (True, 1), (False, args.per_execution), (True, args.per_execution)]
    OUT.mkdir(exist_ok=True)
    out = OUT / "cpu_defaults.json"
    record = json.loads(out.read_text()) if args.names and out.exists() else {"systems": {}}
    record["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name in names:
        spec = fdl_keras.get_spec(name)
        take, keras_fit = cached_batches(name, args.distinct)
        models, compile_s, failed = {}, {}, {}
        for s in settings:
            start = time.perf_counter()
            try:
                model = build(name, *s)
                model.fit(take(args.distinct), epochs=1, verbose=0, shuffle=False)  # compiles
            except Exception as error:  # noqa: BLE001 - e.g. XLA cannot compile the model
                failed[f"jit={s[0]} steps_per_execution={s[1]}"] = str(error).split("\n")[0]
                print(f"{name:28s} jit={s[0]} steps_per_execution={s[1]}: fails", flush=True)
                continue
            models[s], compile_s[s] = model, time.perf_counter() - start
        count, timed = timed_rounds(models, take, compile_s, args, args.per_execution)
        rows = {}
        for s, row in timed.items():
            key = f"jit={s[0]} steps_per_execution={s[1]}"
            rows[key] = row
            loop = "fit" if keras_fit else "own"
            print(
                f"{name:28s} {loop} batch {spec.fit.batch_size:4d}  {key:36s} "
                f"{rows[key]['ms_per_step']:8.2f} ms/step  x{rows[key]['speedup_median']:.2f} "
                f"(min x{rows[key]['speedup_min']:.2f})  first fit {compile_s[s]:.1f} s",
                flush=True,
            )
        record["systems"][name] = {
            "batch_size": spec.fit.batch_size,
            "steps": count,
            "trained_by_keras_fit": keras_fit,
            "settings": rows,
            "failed": failed,
            "load_average_after": os.getloadavg(),
        }
        out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
