"""Training speed with and without XLA (``jit_compile``) and ``steps_per_execution`` on this CPU.

For each system, every setting trains the same model on the same random batches; the settings
take turns in ``--rounds`` rounds (so a change of machine load hits all of them alike) and each
round times ``--steps`` steps after a warm-up that compiles. Reports the median seconds per step
and the speed-up over the baseline (no XLA, one step per execution) of the same round.

Usage (repository root; on a quiet machine, nothing else running):
    python benchmarks/speed_xla.py                       # mnist_mlp, mnist_cnn, ncsn
    python benchmarks/speed_xla.py ncsn --steps 10 --rounds 3
Writes benchmarks/out/speed_xla.json.
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
from fdl_keras.tasks import Generative  # noqa: E402
from fdl_keras.training import compile_model  # noqa: E402

OUT = Path(__file__).parent / "out"
SETTINGS = [(False, 1), (True, 1), (False, 16), (True, 16)]  # (jit_compile, steps_per_execution)
CONFIGS = {"ncsn": {"filters": (16, 32, 64), "embedding_dim": 32}}


def build(name: str, jit: bool, per_execution: int):
    spec = fdl_keras.get_spec(name)
    keras.utils.set_random_seed(0)
    model = spec.build(**CONFIGS.get(name, {}))
    compile_model(model, spec, jit_compile=jit, steps_per_execution=per_execution)
    return model


def time_steps(model, x, y, batch: int, steps: int, per_execution: int) -> float:
    """Seconds per training step of a ``fit`` over ``steps + per_execution`` batches, timed
    after an identical ``fit`` that compiles (a whole number of executions each)."""
    n = batch * (steps + per_execution)
    data = (x[:n], None if y is None else y[:n])
    model.fit(*data, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(*data, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - start) / (steps + per_execution)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=["mnist_mlp", "mnist_cnn", "ncsn"])
    parser.add_argument("--steps", type=int, default=32, help="a multiple of 16")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    record = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "systems": {}}
    for name in args.names:
        spec = fdl_keras.get_spec(name)
        batch = spec.fit.batch_size
        rng = np.random.default_rng(0)
        n = batch * (args.steps + 16)
        x = rng.uniform(size=(n, 28, 28, 1)).astype(np.float32)
        y = None if isinstance(spec.task, Generative) else rng.integers(10, size=n)
        models = {s: build(name, *s) for s in SETTINGS}
        times: dict = {s: [] for s in SETTINGS}
        for _ in range(args.rounds):
            for s, model in models.items():
                times[s].append(time_steps(model, x, y, batch, args.steps, s[1]))
        base = np.median(times[SETTINGS[0]])
        rows = {}
        for (jit, per_execution), values in times.items():
            median = float(np.median(values))
            key = f"jit={jit} steps_per_execution={per_execution}"
            rows[key] = {"s_per_step": median, "speedup": float(base / median), "all": values}
            print(
                f"{name:10s} batch {batch:4d}  {key:38s} {median * 1e3:8.1f} ms/step  "
                f"x{base / median:.2f}",
                flush=True,
            )
        record["systems"][name] = {"batch_size": batch, "settings": rows}
    record["load_average_after"] = os.getloadavg()
    OUT.mkdir(exist_ok=True)
    (OUT / "speed_xla.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
