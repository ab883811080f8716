"""Where ``export(build(NAME), DIR)`` spends its time, step by step.

For each system: the seconds of ``build``, of the whole ``export`` and, inside it, of writing
the SavedModel, converting to ONNX (tf2onnx), loading each runtime and timing batch-1 latency
(the report's ``latency_ms_batch1``, capped by ``LATENCY_BUDGET_S``). The rest of ``export`` is
the default sample, verification and the report. A probe of 2026-12-02 (RESULTS_speed.md).

Usage (repository root, a quiet machine, ``FDL_DATA_DIR`` pointing at the datasets):
    python benchmarks/export_steps.py resnet50 transformer_fr_en
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import fdl_keras  # noqa: E402

# The package attribute fdl_keras.export is the function; its module holds the steps.
exporting = importlib.import_module("fdl_keras.export")
STEPS = {
    "saved_model": "export_saved_model",
    "onnx": "export_onnx",
    "load saved_model": "saved_model_runner",
    "load onnx": "onnx_runner",
    "latency": "latency_ms",
}


def main() -> None:
    spent: dict[str, float] = {}

    def timed(step: str, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] = spent.get(step, 0.0) + time.perf_counter() - start

        return wrapper

    for step, attribute in STEPS.items():
        setattr(exporting, attribute, timed(step, getattr(exporting, attribute)))
    for name in sys.argv[1:] or ["resnet50"]:
        spent.clear()
        start = time.perf_counter()
        model = fdl_keras.build(name)
        built = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            fdl_keras.export(model, tmp)
            total = time.perf_counter() - start
        steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in spent.items())
        print(f"{name}: build {built:.1f} s, export {total:.1f} s ({steps})", flush=True)
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
