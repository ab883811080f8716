"""ONNX conversion without tf2onnx's graph copy before each optimiser pass, against tf2onnx's
default.

tf2onnx (1.17) deep-copies its whole graph before each of its optimiser passes, in every round,
only so that it can skip a pass that raises. :func:`fdl_keras.export.onnx.export_onnx` converts
without those copies and redoes the conversion guarded only when a pass fails. Each system is
converted by both, in interleaved rounds:

- ``guarded``: ``tf2onnx.convert.from_function`` as tf2onnx runs it by default (the reference,
  and the package's conversion before);
- ``fast``: the package's conversion as shipped.

Prints the median seconds of each, their ratio, and whether the two ONNX graphs hold the same
operators, counted by type (node names carry tf2onnx's global counter and its topological order
varies, so two conversions of the same model never match byte for byte).

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

import onnx  # noqa: E402

import fdl_keras  # noqa: E402

onnx_export = importlib.import_module("fdl_keras.export.onnx")
OUT = Path(__file__).parent / "out"
SYSTEMS = ["mnist_cnn", "resnet20", "resnet50", "lstm_sentiment", "transformer_fr_en", "ntm_copy"]


def guarded(serve, signature, opset: int):
    """tf2onnx's default conversion: a copy of the graph before every optimiser pass."""
    import tf2onnx

    return tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=SYSTEMS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fast = onnx_export._convert
    rows = []
    for name in args.names:
        model = fdl_keras.build(name)
        times: dict[str, list[float]] = {"guarded": [], "fast": []}
        graphs: dict[str, Counter] = {}
        with tempfile.TemporaryDirectory() as folder:
            for _ in range(args.rounds):
                for arm, convert in (("guarded", guarded), ("fast", fast)):
                    onnx_export._convert = convert
                    path = Path(folder) / f"{arm}.onnx"
                    start = time.perf_counter()
                    onnx_export.export_onnx(model, path)
                    times[arm].append(time.perf_counter() - start)
                    graphs[arm] = Counter(n.op_type for n in onnx.load(path).graph.node)
        onnx_export._convert = fast
        median = {arm: statistics.median(values) for arm, values in times.items()}
        rows.append(
            {
                "name": name,
                "guarded_s": median["guarded"],
                "fast_s": median["fast"],
                "ratio": median["fast"] / median["guarded"],
                "same_graph": graphs["guarded"] == graphs["fast"],
                "nodes": graphs["fast"].total(),
                "times": times,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "onnx_convert_speed.json").write_text(json.dumps(rows, indent=1))
    print("\n| system | tf2onnx default (s) | without copies (s) | ratio | same operators |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| `{row['name']}` | {row['guarded_s']:.2f} | {row['fast_s']:.2f} | "
            f"{row['ratio']:.2f} | {'yes' if row['same_graph'] else 'no'} ({row['nodes']}) |"
        )


if __name__ == "__main__":
    main()
