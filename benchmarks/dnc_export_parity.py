"""How far the DNC's ONNX export strays from Keras, and why: the allocation sort's ties.

For each seed, builds ``dnc_babi`` at its default config (random weights), exports it with the
tolerance opened (``atol=1``) and reads the ONNX max abs difference on the export sample (8 bAbI
test stories). Where the difference is above ``--jump`` it also runs a float64 copy of the
model (same weights) and prints how far the float32 Keras model and the float32 ONNX each are
from it, and the first step at which each leaves it: a tie flip shows as one runtime near the
float64 model and the other one jumping away at one step.

With ``--trained EPOCHS`` it trains ``dnc_babi`` instead (seed 0, ``fdl_keras.train``), exports
it and compares the runtimes on the first ``--batches`` batches of 8 bAbI test stories, each cut
to its longest story (up to 1,160 words, where the export sample keeps stories of <= 100): the
largest difference per batch, the float64 copy where it is above 1e-4, and how often the
runtimes' most likely word agrees over the stories' real positions.

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data):
    python benchmarks/dnc_export_parity.py --seeds 0 1 2 3
    python benchmarks/dnc_export_parity.py --trained 3 --batches 125
Writes benchmarks/out/dnc_export_parity.json (or dnc_export_parity_trained.json).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.export import default_sample  # noqa: E402
from fdl_keras.export.onnx import onnx_runner  # noqa: E402

OUT = Path(__file__).parent / "out"


def first_jump(error: np.ndarray, level: float) -> int | None:
    """The first time step at which ``error`` (batch, time, logits) exceeds ``level``."""
    steps = np.nonzero(error.max(axis=(0, 2)) > level)[0]
    return int(steps[0]) if len(steps) else None


def float64_copy(model):
    """``model`` rebuilt under the float64 policy with the same weights."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        double = model.__class__.from_config(model.get_config())
        double.set_weights([w.astype("float64") for w in model.get_weights()])
    finally:
        keras.config.set_dtype_policy(policy)
    return double


def against_float64(model, inputs, onnx_path: Path, jump: float) -> dict:
    """Distances of float32 Keras and float32 ONNX from a float64 Keras copy of ``model``."""
    ours = np.asarray(model.predict_on_batch(inputs[0]), np.float64)
    theirs = np.asarray(onnx_runner(onnx_path)(inputs)[0], np.float64)
    reference = np.asarray(float64_copy(model).predict_on_batch(inputs[0]))
    keras_error, onnx_error = np.abs(ours - reference), np.abs(theirs - reference)
    return {
        "keras_vs_float64": float(keras_error.max()),
        "onnx_vs_float64": float(onnx_error.max()),
        "keras_jumps_at_step": first_jump(keras_error, jump),
        "onnx_jumps_at_step": first_jump(onnx_error, jump),
    }


def trained(epochs: int, batches: int) -> None:
    """A trained DNC against its ONNX export on long stories (see the module docstring)."""
    from fdl_keras.data import load_dataset

    with tempfile.TemporaryDirectory() as tmp:
        result = fdl_keras.train("dnc_babi", epochs=epochs, run_dir=f"{tmp}/run", seed=0, verbose=0)
        model = result.model
        report = fdl_keras.export(model, f"{tmp}/e", measure_latency=False)
        print(
            f"dnc_babi after {epochs} epochs: test accuracy {result.test_metrics['accuracy']:.4f}; "
            f"export sample: ONNX {report['runtimes']['onnx']['max_abs_diff']:.3g} from Keras "
            f"(tolerance {report['atol']:g})"
        )
        run = onnx_runner(Path(tmp) / "e" / "model.onnx")
        double = float64_copy(model)
        stories = load_dataset("babi", batch_size=8).arrays["test"][0]
        rows, agree, total = [], 0, 0
        print("| batch | words | ONNX vs Keras | Keras vs float64 | ONNX vs float64 |")
        print("|---|---|---|---|---|")
        for b in range(batches):
            x = stories[8 * b : 8 * (b + 1)]
            x = x[:, : np.flatnonzero(x.any(axis=0))[-1] + 1]
            ours = np.asarray(model.predict_on_batch(x), np.float64)
            theirs = np.asarray(run([x])[0], np.float64)
            real = x != 0
            agree += int((ours.argmax(-1) == theirs.argmax(-1))[real].sum())
            total += int(real.sum())
            row = {
                "batch": b,
                "words": x.shape[1],
                "onnx_vs_keras": float(np.abs(ours - theirs).max()),
            }
            if row["onnx_vs_keras"] > 1e-4:
                reference = np.asarray(double.predict_on_batch(x))
                row["keras_vs_float64"] = float(np.abs(ours - reference).max())
                row["onnx_vs_float64"] = float(np.abs(theirs - reference).max())
                print(
                    f"| {b} | {row['words']} | {row['onnx_vs_keras']:.3g} | "
                    f"{row['keras_vs_float64']:.3g} | {row['onnx_vs_float64']:.3g} |",
                    flush=True,
                )
            rows.append(row)
    diffs = np.array([r["onnx_vs_keras"] for r in rows])
    summary = {
        "epochs": epochs,
        "batches": batches,
        "median": float(np.median(diffs)),
        "max": float(diffs.max()),
        "above_1e-5": int((diffs > 1e-5).sum()),
        "above_1e-4": int((diffs > 1e-4).sum()),
        "argmax_agreement": agree / total,
        "positions": total,
    }
    print(
        f"{batches} batches: ONNX vs Keras median {summary['median']:.3g}, "
        f"max {summary['max']:.3g}, "
        f"{summary['above_1e-5']} above 1e-5, {summary['above_1e-4']} above 1e-4; most likely word "
        f"the same at {agree} of {total} real positions ({100 * agree / total:.3f} %)"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "dnc_export_parity_trained.json").write_text(json.dumps({**summary, "rows": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--jump", type=float, default=1e-6, help="a difference above is a jump")
    parser.add_argument("--trained", type=int, metavar="EPOCHS", help="train, then long stories")
    parser.add_argument("--batches", type=int, default=125, help="with --trained")
    args = parser.parse_args()
    if args.trained:
        trained(args.trained, args.batches)
        return
    rows = {}
    print("| seed | ONNX vs Keras | Keras vs float64 | ONNX vs float64 | jump at (Keras, ONNX) |")
    print("|---|---|---|---|---|")
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        model = fdl_keras.build("dnc_babi")
        with tempfile.TemporaryDirectory() as tmp:
            report = fdl_keras.export(model, f"{tmp}/e", atol=1.0, measure_latency=False)
            row = {"onnx_vs_keras": report["runtimes"]["onnx"]["max_abs_diff"]}
            if row["onnx_vs_keras"] > args.jump:
                inputs, _ = default_sample(model)
                onnx_path = Path(tmp) / "e" / "model.onnx"
                row.update(against_float64(model, inputs, onnx_path, args.jump))
        rows[seed] = row
        detail = (
            f"{row['keras_vs_float64']:.2g} | {row['onnx_vs_float64']:.2g} | "
            f"{row['keras_jumps_at_step']}, {row['onnx_jumps_at_step']}"
            if "keras_vs_float64" in row
            else "- | - | -"
        )
        print(f"| {seed} | {row['onnx_vs_keras']:.2g} | {detail} |", flush=True)
    diffs = [r["onnx_vs_keras"] for r in rows.values()]
    jumped = sum(d > args.jump for d in diffs)
    print(f"{jumped} of {len(diffs)} jumped (> {args.jump:g}); largest {max(diffs):.3g}")
    OUT.mkdir(exist_ok=True)
    (OUT / "dnc_export_parity.json").write_text(json.dumps({"jump": args.jump, "seeds": rows}))


if __name__ == "__main__":
    main()
