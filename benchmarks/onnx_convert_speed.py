"""The package's ONNX conversion against tf2onnx's default.

tf2onnx (1.17) deep-copies its whole graph before each of its optimiser passes, in every round,
only so that it can skip a pass that raises, and writes every node (constants' weights
included) to protobuf after each pass although only the final model reads it.
:func:`fdl_keras.export.onnx.export_onnx` converts without the copies and writes the graph
once, and redoes the conversion guarded only when a pass fails. Each system is converted by
each arm, in interleaved rounds:

- ``guarded``: ``tf2onnx.convert.from_function`` as tf2onnx runs it by default (the reference);
- ``no_copies``: without the copies, a write after every pass (the package before the single
  write);
- ``fast``: the package's conversion as shipped.

Prints the median seconds of each, the ratios to the reference, whether the graphs hold the same
operators, counted by type (node names carry tf2onnx's global counter, and tf2onnx picks among
equal constants and orders nodes differently from one conversion to the next, so two
conversions of the same model never match byte for byte), and the largest difference between
each arm's onnxruntime outputs and the reference's on the system's export sample.

Usage (repository root, nothing else running):
    python benchmarks/onnx_convert_speed.py                      # the default systems
    python benchmarks/onnx_convert_speed.py resnet50 --rounds 3
Writes benchmarks/out/onnx_convert_speed.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.export import default_sample  # noqa: E402

onnx_export = importlib.import_module("fdl_keras.export.onnx")
OUT = Path(__file__).parent / "out"
SYSTEMS = ["mnist_cnn", "resnet20", "resnet50", "lstm_sentiment", "transformer_fr_en", "ntm_copy"]


def guarded(serve, signature, opset: int):
    """tf2onnx's default conversion: a copy of the graph before every optimiser pass."""
    import tf2onnx

    return tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)[0]


def no_copies(serve, signature, opset: int):
    """Without the copies, tf2onnx's write after every pass (the package's conversion before)."""
    import tf2onnx

    os.environ[onnx_export.CATCH_ERRORS_VARIABLE] = "FALSE"
    try:
        return tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)[0]
    finally:
        del os.environ[onnx_export.CATCH_ERRORS_VARIABLE]


def largest_difference(paths: dict[str, Path], inputs: list) -> dict[str, float]:
    """Each arm's largest absolute output difference from the reference's, onnxruntime CPU."""
    outputs = {arm: onnx_export.onnx_runner(path)(inputs) for arm, path in paths.items()}
    return {
        arm: max(float(np.max(np.abs(a - b))) for a, b in zip(got, outputs["guarded"]))
        for arm, got in outputs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=SYSTEMS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fast = onnx_export._convert
    rows = []
    for name in args.names:
        model = fdl_keras.build(name)
        arms = {"guarded": guarded, "no_copies": no_copies, "fast": fast}
        times: dict[str, list[float]] = {arm: [] for arm in arms}
        graphs: dict[str, Counter] = {}
        with tempfile.TemporaryDirectory() as folder:
            paths = {arm: Path(folder) / f"{arm}.onnx" for arm in arms}
            for _ in range(args.rounds):
                for arm, convert in arms.items():
                    onnx_export._convert = convert
                    start = time.perf_counter()
                    onnx_export.export_onnx(model, paths[arm])
                    times[arm].append(time.perf_counter() - start)
                    graphs[arm] = Counter(n.op_type for n in onnx.load(paths[arm]).graph.node)
            onnx_export._convert = fast
            inputs, _ = default_sample(model)
            difference = largest_difference(paths, inputs)
        median = {arm: statistics.median(values) for arm, values in times.items()}
        rows.append(
            {
                "name": name,
                **{f"{arm}_s": median[arm] for arm in arms},
                "ratio_no_copies": median["no_copies"] / median["guarded"],
                "ratio": median["fast"] / median["guarded"],
                "same_graph": graphs["guarded"] == graphs["no_copies"] == graphs["fast"],
                "max_abs_diff": max(difference.values()),
                "nodes": graphs["fast"].total(),
                "times": times,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "onnx_convert_speed.json").write_text(json.dumps(rows, indent=1))
    print(
        "\n| system | tf2onnx default (s) | no copies (s) | no copies, one write (s) | "
        "ratios | same operators | outputs differ by |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| `{row['name']}` | {row['guarded_s']:.2f} | {row['no_copies_s']:.2f} | "
            f"{row['fast_s']:.2f} | {row['ratio_no_copies']:.2f} / {row['ratio']:.2f} | "
            f"{'yes' if row['same_graph'] else 'no'} ({row['nodes']}) | "
            f"{row['max_abs_diff']:.1e} |"
        )


if __name__ == "__main__":
    main()
