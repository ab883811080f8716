"""Training step time of every ``fit`` system under float32, ``mixed_bfloat16`` and
``mixed_float16`` on this CPU.

Each system is built under the Keras dtype policy (as ``fdl train --precision P`` builds it)
and compiled by its family with its own CPU defaults (XLA, steps per call); ``model.fit`` then
runs over its first ``--distinct`` real training batches (``cpu_defaults.cached_batches``: its
dataset, batch size and augmentation; CIFAR-10 is not on this machine, so the CIFAR networks and
``resnet20`` repeat their export batch). The precisions take turns in ``--rounds`` rounds, each
timing one ``fit`` after an identical one that compiled; reported: median milliseconds per step
and the speed-up over float32 in the same round, median (minimum).

16-bit compute pays off where the CPU has 16-bit matrix instructions: oneDNN runs bfloat16
convolutions and matrix products natively with AVX512_BF16 or AMX; no x86 CPU here has native
float16 (AVX512_FP16 is Sapphire Rapids' and later), so float16 is converted. The CPU flags that
matter are printed and recorded.

Left out: the systems ``cpu_defaults.py`` leaves out, and those that refuse 16-bit training
(the memory networks; agents are not ``fit`` systems).

Usage (repository root, a quiet machine, ``FDL_DATA_DIR`` pointing at the datasets):
    python benchmarks/cpu_precision.py                     # every fit system but those left out
    python benchmarks/cpu_precision.py mnist_cnn resnet20 --rounds 5
Writes benchmarks/out/cpu_precision.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from cpu_defaults import LEFT_OUT, cached_batches, fit_systems, timed_rounds  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.training.precision import (  # noqa: E402
    BFLOAT16_FLAGS,
    FLOAT16_FLAGS,
    cpu_flags,
    precision_policy,
)

OUT = Path(__file__).parent / "out"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
FLAGS = FLOAT16_FLAGS + BFLOAT16_FLAGS + ("avx512f",)


def build(name: str, precision: str) -> keras.Model:
    """``name`` built under ``precision`` and compiled with its CPU defaults."""
    spec = fdl_keras.get_spec(name)
    keras.utils.set_random_seed(0)
    with precision_policy(precision):
        model = fdl_keras.build(name)
        spec.compile(model, learning_rate=spec.fit.learning_rate, total_steps=100_000)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS))
    parser.add_argument("--seconds", type=float, default=2.0, help="of a timed float32 fit")
    parser.add_argument("--distinct", type=int, default=32, help="distinct batches among them")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    names = args.names or [
        n
        for n in fit_systems()
        if n not in LEFT_OUT and "precision" in fdl_keras.get_spec(n).task.options
    ]
    OUT.mkdir(exist_ok=True)
    out = OUT / "cpu_precision.json"
    record = json.loads(out.read_text()) if args.names and out.exists() else {"systems": {}}
    record["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    record["cpu_flags"] = sorted(cpu_flags() & set(FLAGS))
    print(f"CPU flags: {' '.join(record['cpu_flags']) or 'none of ' + ', '.join(FLAGS)}")
    for name in names:
        take, _ = cached_batches(name, args.distinct)
        models, first_fit = {}, {}
        for precision in args.precisions:
            start = time.perf_counter()
            models[precision] = build(name, precision)
            models[precision].fit(take(args.distinct), epochs=1, verbose=0, shuffle=False)
            first_fit[precision] = time.perf_counter() - start
        base = args.precisions[0]
        steps = models[base].steps_per_execution
        count, rows = timed_rounds(models, take, first_fit, args, steps)
        for precision in rows:
            print(
                f"{name:28s} {precision:15s} {rows[precision]['ms_per_step']:8.2f} ms/step  "
                f"x{rows[precision]['speedup_median']:.2f} "
                f"(min x{rows[precision]['speedup_min']:.2f})  "
                f"first fit {first_fit[precision]:.1f} s",
                flush=True,
            )
        record["systems"][name] = {
            "batch_size": fdl_keras.get_spec(name).fit.batch_size,
            "steps": count,
            "jit_compile": bool(models[base].jit_compile),
            "steps_per_execution": steps,
            "precisions": rows,
            "load_average_after": os.getloadavg(),
        }
        out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
