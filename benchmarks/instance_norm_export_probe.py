"""The style network's instance norm exported without reshapes: does onnxruntime care?

``fdl_keras.layers.GroupNorm`` with one group per channel (the style network's instance norm)
takes per-channel means without ``keepdims`` and reshapes them to ``(B, 1, 1, C)``; tf2onnx then
wraps each norm in ``Transpose``/``Squeeze``/``Reshape`` nodes. The variant takes the means with
``keepdims`` (no reshape). Both are exported from the same weights in one process; the script
prints each graph's operator counts, its largest difference from Keras, and onnxruntime's
batch-1 latency, medians of interleaved rounds of 30 calls. A probe of 2026-12-04
(``RESULTS_speed.md``, "Three probes that changed nothing"): the variant was not adopted.

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data, nothing else running):
    python benchmarks/instance_norm_export_probe.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.export import default_sample  # noqa: E402
from fdl_keras.export.onnx import export_onnx, onnx_runner  # noqa: E402
from fdl_keras.layers import GroupNorm  # noqa: E402


def keepdims_call(self, inputs):
    """GroupNorm's computation for one group per channel, means taken with ``keepdims``."""
    ops = keras.ops
    x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
    spatial = tuple(range(1, len(inputs.shape) - 1))
    centred = x - ops.mean(x, axis=spatial, keepdims=True)
    scale = ops.rsqrt(ops.mean(centred * centred, axis=spatial, keepdims=True) + self.epsilon)
    outputs = centred * scale * ops.cast(self.gamma, x.dtype) + ops.cast(self.beta, x.dtype)
    return ops.cast(outputs, self.compute_dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = fdl_keras.build("fast_style_transfer")
    inputs, _ = default_sample(model)
    one = inputs[0][:1]
    runners = {}
    with tempfile.TemporaryDirectory() as folder:
        for arm in ("package", "keepdims"):
            original = GroupNorm.call
            if arm == "keepdims":
                GroupNorm.call = keepdims_call
            try:
                expected = np.asarray(model(one, training=False))
                path = export_onnx(model, Path(folder) / f"{arm}.onnx")
            finally:
                GroupNorm.call = original
            ops = Counter(n.op_type for n in onnx.load(path).graph.node)
            runners[arm] = onnx_runner(path)
            difference = float(np.abs(runners[arm]([one])[0] - expected).max())
            counts = {k: ops.get(k, 0) for k in ("Transpose", "Reshape", "Squeeze")}
            print(f"{arm}: {ops.total()} nodes, {counts}, {difference:.1e} from Keras", flush=True)
        times: dict[str, list[float]] = {arm: [] for arm in runners}
        for _ in range(args.rounds):
            for arm, run in runners.items():
                for _ in range(5):
                    run([one])
                calls = []
                for _ in range(30):
                    start = time.perf_counter()
                    run([one])
                    calls.append(time.perf_counter() - start)
                times[arm].append(1e3 * statistics.median(calls))
    for arm, values in times.items():
        median, fastest = statistics.median(values), min(values)
        print(f"{arm}: onnxruntime batch 1 {median:.3f} ms (min {fastest:.3f})")


if __name__ == "__main__":
    main()
