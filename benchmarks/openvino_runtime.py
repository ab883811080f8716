"""OpenVINO's own runtime beside onnxruntime and TensorFlow, batch-1 latency of the same ONNX file.

onnxruntime's OpenVINO execution provider plugin offers devices on Intel CPUs only, so on an AMD
machine the question "would OpenVINO's CPU kernels beat onnxruntime's?" can only be asked of
OpenVINO's runtime itself (``pip install openvino``; not a dependency of the package). Each
system is built at its default configuration, exported with ``fdl_keras.export`` (SavedModel +
ONNX, parity checked), and its ``model.onnx`` compiled by ``openvino.Core`` for the CPU held to
float32 (``INFERENCE_PRECISION_HINT=f32``) and tuned for latency, as the package does for the
provider. Keras ``predict_on_batch``, onnxruntime (the package's runner) and OpenVINO are timed
in interleaved rounds (medians of 30 calls a round, median over rounds) on the export sample,
with OpenVINO's largest difference from Keras and the host's steal over the run.

Usage (repository root, nothing else running):
    pip install openvino
    python benchmarks/openvino_runtime.py                        # the three ImageNet ResNets
    python benchmarks/openvino_runtime.py mnist_cnn --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.bench import cpu_share, cpu_ticks  # noqa: E402
from fdl_keras.export.onnx import cpu_vendor, onnx_runner  # noqa: E402
from fdl_keras.export.verify import keras_runner, latency_ms, max_abs_diff  # noqa: E402


def openvino_runner(path: Path):
    """``run(inputs)`` for an ONNX file compiled by OpenVINO's runtime for the CPU, in float32."""
    import openvino

    compiled = openvino.Core().compile_model(
        str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    )
    request = compiled.create_infer_request()

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        results = request.infer(inputs)
        return [np.asarray(results[output]) for output in compiled.outputs]

    return run


def measure(name: str, rounds: int) -> dict:
    spec = fdl_keras.get_spec(name)
    model = fdl_keras.build(name)
    inputs, _ = spec.export_sample(model, settings=None, size=8)
    one = [a[:1] for a in inputs]
    with tempfile.TemporaryDirectory() as tmp:
        fdl_keras.export(model, tmp, spec=spec, measure_latency=False)
        runners = {
            "keras": keras_runner(model),
            "onnxruntime": onnx_runner(Path(tmp) / "model.onnx"),
            "openvino": openvino_runner(Path(tmp) / "model.onnx"),
        }
        diff = max_abs_diff(runners["keras"](inputs), runners["openvino"](inputs))
        ticks = cpu_ticks()
        times: dict[str, list[float]] = {runtime: [] for runtime in runners}
        for _ in range(rounds):
            for runtime, run in runners.items():
                times[runtime].append(latency_ms(run, one))
        share = cpu_share(ticks, cpu_ticks())
    row = {runtime: statistics.median(values) for runtime, values in times.items()}
    row["spread"] = {runtime: (min(v), max(v)) for runtime, v in times.items()}
    row["openvino_max_abs_diff"] = diff
    row["steal"] = share and share["steal"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=["resnet18", "resnet34", "resnet50"])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    args = parser.parse_args()
    import openvino

    print(f"CPU vendor {cpu_vendor()}, OpenVINO {openvino.__version__}, {args.rounds} rounds")
    print(
        "| system | Keras b1 ms | ORT b1 | OpenVINO b1 | ORT / TF | OpenVINO / TF | "
        "OpenVINO / ORT | OpenVINO's max diff from Keras | steal |\n" + "|---" * 9 + "|"
    )
    for name in args.names:
        row = measure(name, args.rounds)
        tf_ms, ort_ms, ov_ms = row["keras"], row["onnxruntime"], row["openvino"]
        steal = "-" if row["steal"] is None else f"{100 * row['steal']:.1f} %"
        print(
            f"| `{name}` | {tf_ms:.2f} | {ort_ms:.2f} | {ov_ms:.2f} | {ort_ms / tf_ms:.2f} | "
            f"{ov_ms / tf_ms:.2f} | {ov_ms / ort_ms:.2f} | {row['openvino_max_abs_diff']:.1e} | "
            f"{steal} |",
            flush=True,
        )
        spreads = ", ".join(f"{k} {lo:.2f}-{hi:.2f}" for k, (lo, hi) in row["spread"].items())
        print(f"|   rounds' range (ms) | {spreads} |", flush=True)


if __name__ == "__main__":
    main()
