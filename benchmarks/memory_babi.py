"""Chapter 12 benchmark: DNC vs LSTM on bAbI (1k set, all 20 tasks jointly), per-task error.

Usage (repository root), one heavy job at a time:
    flock /tmp/fdl_heavy.lock nice -n 10 python benchmarks/memory_babi.py --epochs 5
    # the registered (bigger) configuration, for a longer run on a bigger machine:
    python benchmarks/memory_babi.py --epochs 50 --units 128 --memory-size 32 --word-size 32 \\
        --root benchmarks/out/memory_babi_long

Both systems train through the package's trainer (``fdl_keras.train``; resumable run dirs
``<root>/<name>``) on the same stories, epochs and learning-rate schedule, so the budget is the
same number of examples; the LSTM (``keras.layers.LSTM``, the maintained-library anchor) gets
as many units as makes its parameter count closest to the DNC's. Scored on the 20,000 test
questions: error per task, mean error and tasks failed (error > 5 %), beside the DNC paper's
mean (16.7 +- 7.6 % over 20 runs, trained on the 10k set) and the book's 15.78 %. Writes
``<root>/memory_babi.json`` and prints a markdown table.
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
from fdl_keras.memory.models import FAILED_TASK_ERROR, babi_task_errors  # noqa: E402

OUT = Path(__file__).parent / "out" / "memory"
PAPER_MEAN, PAPER_STD, BOOK = 16.7, 7.6, 15.78


def matching_lstm_units(parameters: int) -> int:
    """LSTM units whose ``lstm_babi`` parameter count is closest to ``parameters``."""
    counts = {u: fdl_keras.build("lstm_babi", units=u).count_params() for u in range(16, 400, 4)}
    return min(counts, key=lambda u: abs(counts[u] - parameters))


def run(name: str, overrides: dict, args) -> dict:
    run_dir = Path(args.root) / name
    start = time.perf_counter()
    result = fdl_keras.train(
        name,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        limit=args.limit,
        run_dir=run_dir,
        seed=args.seed,
        verbose=2,
        **overrides,
    )
    errors = babi_task_errors(result.model, result.data)
    return {
        "system": name,
        "overrides": overrides,
        "parameters": int(result.model.count_params()),
        "train_seconds_this_call": round(time.perf_counter() - start, 1),
        "resumed_at": result.resumed_at,
        "history": result.history,
        "task_error": errors,
        "mean_error": float(np.mean(list(errors.values()))),
        "failed_tasks": int(sum(e > FAILED_TASK_ERROR for e in errors.values())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--limit", type=int, default=None, help="training stories (all: 6,267)")
    parser.add_argument("--units", type=int, default=64, help="DNC controller units")
    parser.add_argument("--memory-size", type=int, default=16)
    parser.add_argument("--word-size", type=int, default=16)
    parser.add_argument("--read-heads", type=int, default=2)
    parser.add_argument("--lstm-units", type=int, default=None, help="default: match parameters")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=str(OUT))
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    dnc = {
        "units": args.units,
        "memory_size": args.memory_size,
        "word_size": args.word_size,
        "read_heads": args.read_heads,
    }
    dnc_parameters = fdl_keras.build("dnc_babi", **dnc).count_params()
    lstm = {"units": args.lstm_units or matching_lstm_units(dnc_parameters)}
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "args": vars(args),
        "systems": [run("dnc_babi", dnc, args), run("lstm_babi", lstm, args)],
    }
    out = Path(args.root) / "memory_babi.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    dnc_r, lstm_r = results["systems"]
    print(f"| task | DNC ({dnc_r['parameters']:,} params) | LSTM ({lstm_r['parameters']:,}) |")
    print("|---|---|---|")
    for task in range(1, 21):
        print(
            f"| {task} | {100 * dnc_r['task_error'][task]:.1f} | "
            f"{100 * lstm_r['task_error'][task]:.1f} |"
        )
    print(
        f"| mean | {100 * dnc_r['mean_error']:.1f} | {100 * lstm_r['mean_error']:.1f} |\n"
        f"| failed (> 5 %) | {dnc_r['failed_tasks']} | {lstm_r['failed_tasks']} |\n"
        f"| train s | {dnc_r['train_seconds_this_call']:.0f} | "
        f"{lstm_r['train_seconds_this_call']:.0f} |"
    )
    print(f"paper (DNC, 10k set): {PAPER_MEAN} +- {PAPER_STD} %; book: {BOOK} %; wrote {out}")


if __name__ == "__main__":
    main()
