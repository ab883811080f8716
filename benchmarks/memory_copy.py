"""Chapter 12 benchmark: NTM vs LSTM on the copy task — learning curve and generalisation.

Usage (repository root), one heavy job at a time:
    flock /tmp/fdl_heavy.lock nice -n 10 python benchmarks/memory_copy.py --epochs 22 --limit 2048
    # a longer run (bigger machine): the same run dirs resume, or pick new ones
    python benchmarks/memory_copy.py --epochs 100 --limit 16384 --root benchmarks/out/memory_long

Both systems train through the package's trainer (``fdl_keras.train``: resumable run dirs
``<root>/<name>``; kill the script and start it again to continue). ``--limit`` is sequences per
epoch (fresh random sequences each epoch, lengths 1-20), ``--epochs`` the number of epochs: the
CPU budget is ``epochs * limit`` sequences. The learning rate is constant (Adam, 1e-3, gradient
norm clipped at 10) and annealed once by ``--anneal-factor`` after the first epoch under
``--anneal-below`` bits error per sequence. After each epoch a callback scores bit errors per
sequence on 512 fixed validation sequences (lengths 1-20); after training, on lengths 10, 20
(seen) and 30, 40, 50 (never seen). The LSTM (``keras.layers.LSTM``, the maintained-library
anchor) has about as many parameters as the NTM. Writes ``<root>/memory_copy.json`` and prints
markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data.memory_tasks import copy_batch  # noqa: E402
from fdl_keras.memory.models import bit_errors  # noqa: E402
from fdl_keras.memory.visualize import memory_trace, plot_memory_trace  # noqa: E402

OUT = Path(__file__).parent / "out" / "memory"
SYSTEMS = ("ntm_copy", "lstm_copy")


def fixed_batches(lengths, per_length: int, batch_size: int = 64, seed: int = 7):
    """``per_length`` sequences of each length, as ``(x, y, w)`` numpy batches."""
    out = []
    for length in lengths:
        for start in range(0, per_length, batch_size):
            size = min(batch_size, per_length - start)
            out.append(
                tuple(
                    np.asarray(t) for t in copy_batch([seed, length * 1000 + start], size, length)
                )
            )
    return out


class Curve(keras.callbacks.Callback):
    """Appends ``epoch, sequences seen, seconds, bits error per sequence`` to a CSV each epoch
    (appending, so a resumed run keeps its earlier rows)."""

    def __init__(self, path: Path, batches, sequences_per_epoch: int):
        super().__init__()
        self.path, self.batches, self.per_epoch = path, batches, sequences_per_epoch
        self.start = time.perf_counter()
        self.last = float("inf")

    def on_epoch_end(self, epoch, logs=None):
        error = self.last = bit_errors(self.model, self.batches)
        new = not self.path.exists()
        with self.path.open("a") as f:
            if new:
                f.write("epoch,sequences,seconds,bits_error_per_sequence\n")
            f.write(
                f"{epoch + 1},{(epoch + 1) * self.per_epoch},"
                f"{time.perf_counter() - self.start:.1f},{error:.4f}\n"
            )
        print(f"  epoch {epoch + 1}: {error:.3f} bits error per sequence", flush=True)


class AnnealOnSuccess(keras.callbacks.Callback):
    """Multiplies the learning rate by ``factor`` once, after the first epoch whose validation
    bits error per sequence (from :class:`Curve`, which runs first) is below ``threshold``.

    The NTM finds the copy algorithm abruptly and, at Adam's 1e-3, can lose it again a few
    epochs later (run 1 in RESULTS_memory.md); a smaller step after the switch keeps it. The
    learning rate lives in the optimizer, so a resumed run continues with the annealed one.
    """

    def __init__(self, curve: Curve, initial: float, threshold: float, factor: float):
        super().__init__()
        self.curve, self.initial, self.threshold, self.factor = curve, initial, threshold, factor

    def on_epoch_end(self, epoch, logs=None):
        lr = self.model.optimizer.learning_rate
        if self.curve.last < self.threshold and float(lr) >= 0.99 * self.initial:
            lr.assign(float(lr) * self.factor)
            print(f"  annealed the learning rate to {float(lr):.2g}", flush=True)


def run(name: str, args) -> dict:
    root = Path(args.root)
    run_dir = root / name
    run_dir.mkdir(parents=True, exist_ok=True)
    validation = fixed_batches(range(1, 21), 512 // 20 + 1, seed=11)
    curve = Curve(run_dir / "curve.csv", validation, args.limit)
    overrides = {"units": args.lstm_units} if name == "lstm_copy" else {}
    anneal = AnnealOnSuccess(curve, args.learning_rate, args.anneal_below, args.anneal_factor)
    start = time.perf_counter()
    result = fdl_keras.train(
        name,
        epochs=args.epochs,
        limit=args.limit,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        run_dir=run_dir,
        seed=args.seed,
        callbacks=[curve, anneal] if args.anneal_below else [curve],
        verbose=0,
        **overrides,
    )
    wall = time.perf_counter() - start
    if name == "ntm_copy":  # the heads at work on a length-30 sequence (longer than trained)
        x = copy_batch([5, 5], 1, 30)[0].numpy()[0]
        figure = plot_memory_trace(memory_trace(result.model, x), "NTM copying length 30")
        figure.savefig(root / "ntm_copy_trace.png", dpi=80)
    lengths = (10, 20, 30, 40, 50)
    errors = {n: bit_errors(result.model, fixed_batches([n], args.eval_sequences)) for n in lengths}
    rows = [line.split(",") for line in (run_dir / "curve.csv").read_text().splitlines()[1:]]
    return {
        "system": name,
        "parameters": int(result.model.count_params()),
        "train_seconds_this_call": round(wall, 1),
        "resumed_at": result.resumed_at,
        "sequences_seen": args.epochs * args.limit,
        "curve": [[int(r[0]), int(r[1]), float(r[2]), float(r[3])] for r in rows],
        "bits_error_per_sequence_by_length": errors,
        "test": result.test_metrics,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--limit", type=int, default=2048, help="sequences per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--anneal-below",
        type=float,
        default=10.0,
        help="bits error per sequence below which the learning rate is annealed once (0: never)",
    )
    parser.add_argument("--anneal-factor", type=float, default=0.1)
    parser.add_argument("--lstm-units", type=int, default=118)
    parser.add_argument("--eval-sequences", type=int, default=128, help="per test length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=str(OUT))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "args": vars(args),
        "systems": [run(name, args) for name in args.systems.split(",")],
    }
    out = Path(args.root) / "memory_copy.json"
    out.write_text(json.dumps(results, indent=1))
    print(
        "| system | params | sequences | train s | "
        + " | ".join(f"L={n}" for n in (10, 20, 30, 40, 50))
        + " |"
    )
    for s in results["systems"]:
        errs = " | ".join(f"{v:.2f}" for v in s["bits_error_per_sequence_by_length"].values())
        print(
            f"| {s['system']} | {s['parameters']:,} | {s['sequences_seen']:,} | "
            f"{s['curve'][-1][2] if s['curve'] else 0:.0f} | {errs} |"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
