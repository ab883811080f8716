"""Batch-1 and batch-64 inference latency of every registry system: Keras, SavedModel, onnxruntime.

Each system is built at its default configuration (random weights: latency does not depend on
them), exported with ``fdl_keras.export`` (SavedModel + ONNX, parity verified) and timed on its
own export sample: Keras ``predict_on_batch``, the reloaded SavedModel's serving function and an
onnxruntime CPU session (graph optimisation level ALL, the package's runner). Medians of 30 calls
after 3 warm-up calls. For the vision classifiers it also gives the achieved FLOP/s at batch 64
as a fraction of the machine's 2048x2048 float32 matmul (TensorFlow, measured in the same run),
and the share of CPU time a virtual machine's host took while each system was timed (steal).

Usage (repository root, nothing else running):
    python benchmarks/latency_all.py                      # every system
    python benchmarks/latency_all.py resnet50 mnist_cnn   # some
    python benchmarks/latency_all.py --openvino resnet50  # also onnxruntime's OpenVINO provider
Writes benchmarks/out/latency_all.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


import fdl_keras  # noqa: E402
from fdl_keras.bench import (  # noqa: E402
    cpu_share,
    cpu_ticks,
    forward_flops,
    inference_latency,
    matmul_gflops,
)
from fdl_keras.registry import list_models  # noqa: E402

OUT = Path(__file__).parent / "out"


def measure(name: str, openvino: bool = False) -> dict:
    spec = fdl_keras.get_spec(name)
    model = fdl_keras.build(name)
    ticks = cpu_ticks()
    times = inference_latency(model, spec, openvino=openvino)
    share = cpu_share(ticks, cpu_ticks())  # the host's steal inflates every time taken meanwhile
    report = times.pop("export_report")
    row = {
        "family": spec.family,
        "onnx_max_abs_diff": report["runtimes"]["onnx"]["max_abs_diff"],
        "atol": report["atol"],
        "steal": share and share["steal"],
    }
    for size in (1, 64):
        for runtime in ("keras", "saved_model", "onnxruntime"):
            row[f"{runtime}_ms_b{size}"] = times[f"{runtime}_ms_batch{size}"]
        tf_ms = min(row[f"keras_ms_b{size}"], row[f"saved_model_ms_b{size}"])
        row[f"ort_over_tf_b{size}"] = row[f"onnxruntime_ms_b{size}"] / tf_ms
        if "onnxruntime_openvino_ms_batch1" in times:
            row[f"ov_ms_b{size}"] = times[f"onnxruntime_openvino_ms_batch{size}"]
            row[f"ov_over_tf_b{size}"] = row[f"ov_ms_b{size}"] / tf_ms
    if "onnxruntime_openvino_ms_batch1" in times:
        row["ov_max_abs_diff"] = times["onnxruntime_openvino_max_abs_diff"]
    elif openvino:
        row["ov_error"] = times["onnxruntime_openvino_error"]
    row["forward_gflops_per_example"] = forward_flops(model) / 1e9
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument(
        "--openvino",
        action="store_true",
        help="also time onnxruntime's OpenVINO execution provider (fdl_keras[openvino])",
    )
    args = parser.parse_args()
    names = args.names or [s.name for s in list_models()]
    peak = matmul_gflops()
    print(f"matmul peak (TensorFlow, 2048^2 float32): {peak:.0f} GFLOP/s")
    print(
        "| system | family | Keras b1 ms | SavedModel b1 | ORT b1 | ORT/TF b1 | ORT/TF b64 | "
        "b64 FLOP/s of peak (TF, ORT) | steal |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = {}
    for name in names:
        try:
            row = measure(name, args.openvino)
        except Exception as exc:  # noqa: BLE001 - report it, go on with the others
            rows[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            print(f"| `{name}` | error: {rows[name]['error']} |", flush=True)
            continue
        gflop = row["forward_gflops_per_example"] * 64
        fractions = "-"
        if gflop == gflop and gflop > 1.0:  # not NaN; big enough to mean something
            tf_ms = min(row["keras_ms_b64"], row["saved_model_ms_b64"])
            row["tf_fraction_of_peak_b64"] = gflop / (tf_ms / 1e3) / peak
            row["ort_fraction_of_peak_b64"] = gflop / (row["onnxruntime_ms_b64"] / 1e3) / peak
            fractions = (
                f"{100 * row['tf_fraction_of_peak_b64']:.0f} %, "
                f"{100 * row['ort_fraction_of_peak_b64']:.0f} %"
            )
        rows[name] = row
        print(
            f"| `{name}` | {row['family']} | {row['keras_ms_b1']:.2f} | "
            f"{row['saved_model_ms_b1']:.2f} | {row['onnxruntime_ms_b1']:.2f} | "
            f"{row['ort_over_tf_b1']:.2f} | {row['ort_over_tf_b64']:.2f} | {fractions} | "
            f"{'-' if row['steal'] is None else format(100 * row['steal'], '.1f') + ' %'} |",
            flush=True,
        )
        if "ov_error" in row:
            print(f"|   OpenVINO provider | {row['ov_error']} |", flush=True)
        elif args.openvino:
            print(
                f"|   OpenVINO provider | b1 {row['ov_ms_b1']:.2f} ms | b64 {row['ov_ms_b64']:.2f}"
                f" ms | OV/TF b1 {row['ov_over_tf_b1']:.2f} | b64 {row['ov_over_tf_b64']:.2f} | "
                f"max diff {row['ov_max_abs_diff']:.2e} (atol {row['atol']:g}) |",
                flush=True,
            )
    OUT.mkdir(exist_ok=True)
    record = {"matmul_peak_gflops": peak, "load_average_end": os.getloadavg(), "systems": rows}
    (OUT / "latency_all.json").write_text(json.dumps(record, indent=2))
    ok = [r for r in rows.values() if "ort_over_tf_b1" in r]
    within = sum(r["ort_over_tf_b1"] <= 0.5 for r in ok)
    print(f"\nonnxruntime <= 0.5x TensorFlow at batch 1: {within} of {len(ok)} systems")
    if args.openvino:
        ov_ok = [r for r in ok if "ov_max_abs_diff" in r and r["ov_max_abs_diff"] <= r["atol"]]
        best = sum(
            min(r["ort_over_tf_b1"], r["ov_over_tf_b1"] if r in ov_ok else 9) <= 0.5 for r in ok
        )
        print(
            f"OpenVINO provider runs {len(ov_ok)} of {len(ok)} within their atol; either "
            f"provider <= 0.5x TensorFlow at batch 1 (OpenVINO where it runs): {best} of {len(ok)}"
        )


if __name__ == "__main__":
    main()
