"""Chapter 6 benchmark: steps to a training cost of 0.1 per optimizer, and the interpolation curve.

Usage (from the repository root, FDL_DATA_DIR pointing at a folder holding mnist/):
    python benchmarks/optimizer_study.py                      # the book's setting, full MNIST
    python benchmarks/optimizer_study.py --max-steps 500 --limit 5000   # a quick look

The book's setting (its ch. 6 code): the 784-256-256-10 ReLU network, minibatches of 100,
learning rate 0.01; the book reports momentum 0.9 reaching a training cost of 0.1 in about 2,000
steps where plain SGD needs about 18,000. Here "training cost" is the running mean of the
minibatch cost over the last ``--window`` steps. Every optimizer starts from the same weights and
sees the same minibatches, and stops at the target or after ``--max-steps``.

Writes benchmarks/out/optimizer_study.json, optimizer_curves.png and interpolation.png, and
prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fdl_keras.data import load_dataset  # noqa: E402
from fdl_keras.fundamentals import optimizers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optimizers", nargs="+", default=list(optimizers.OPTIMIZERS))
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=30_000)
    parser.add_argument("--target", type=float, default=0.1)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="training examples kept")
    parser.add_argument("--interp-batches", type=int, default=50, help="fixed training batches")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    study = optimizers.optimizer_study(
        args.optimizers,
        learning_rate=args.learning_rate,
        max_steps=args.max_steps,
        target=args.target,
        window=args.window,
        dataset="mnist",
        batch_size=args.batch_size,
        limit=args.limit,
        seed=args.seed,
    )
    table = study.table()
    for row in table:
        print(json.dumps(row), flush=True)

    # Goodfellow et al.: the cost along the line from the shared start to each trained model,
    # on a fixed set of batches from the training split the runs trained on.
    data = load_dataset("mnist", batch_size=args.batch_size, seed=args.seed, limit=args.limit)
    batches = [(x.numpy(), y.numpy()) for x, y in data.train.take(args.interp_batches)]
    curves = {
        name: optimizers.linear_interpolation(
            study.model, study.initial_weights, run.weights, batches
        )
        for name, run in study.runs.items()
    }
    for row in table:
        curve = curves[row["optimizer"]]
        row["interpolation_best_alpha"] = curve.best_alpha
        row["interpolation_loss_at_1"] = float(curve.losses[list(curve.alphas).index(1.0)])

    sgd, momentum = study.runs.get("sgd"), study.runs.get("momentum")
    record = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "dataset": study.dataset,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "table": table,
        "momentum_over_sgd_steps": _ratio(momentum, sgd),
        "wall_time_s": time.perf_counter() - start,
        "curves": {
            name: {
                "step": list(range(1, len(run.smoothed) + 1))[::10],
                "smoothed": run.smoothed[::10].tolist(),
            }
            for name, run in study.runs.items()
        },
        "interpolation": {
            name: {"alpha": c.alphas.tolist(), "loss": c.losses.tolist()}
            for name, c in curves.items()
        },
    }
    (args.out / "optimizer_study.json").write_text(json.dumps(record, indent=1))
    _plot(study, curves, args)

    print(
        f"\n{study.dataset}, lr {args.learning_rate}, batch {args.batch_size}, "
        f"target {args.target} (running mean over {args.window} steps), "
        f"budget {args.max_steps} steps"
    )
    print("| optimizer | steps to cost 0.1 | steps run | final cost | best alpha | wall time |")
    print("|---|---|---|---|---|---|")
    for row in table:
        steps = row["steps_to_target"] if row["steps_to_target"] is not None else "not reached"
        print(
            f"| {row['optimizer']} | {steps} | {row['steps_run']} | {row['final_cost']:.3f} "
            f"| {row['interpolation_best_alpha']:.1f} | {row['wall_time_s']:.0f} s |"
        )
    print(f"momentum / SGD steps: {record['momentum_over_sgd_steps']}")
    print(f"total wall time {record['wall_time_s'] / 60:.1f} min; {record['machine']}")


def _ratio(momentum, sgd) -> float | None:
    if momentum is None or sgd is None or momentum.steps_to_target is None:
        return None
    if sgd.steps_to_target is None:
        return None  # SGD did not reach the target: the ratio is below 1 / (budget / momentum)
    return momentum.steps_to_target / sgd.steps_to_target


def _plot(study, curves, args) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, run in study.runs.items():
        label = f"{name} ({run.steps_to_target or 'not reached'})"
        ax.plot(range(1, len(run.smoothed) + 1), run.smoothed, label=label)
    ax.axhline(args.target, color="gray", linestyle="--", linewidth=0.8)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="step",
        ylabel=f"cost (mean of {args.window} steps)",
        title=f"MNIST MLP, lr {args.learning_rate}, batch {args.batch_size}: steps to cost "
        f"{args.target}",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "optimizer_curves.png", dpi=120)

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        ax.plot(curve.alphas, curve.losses, label=name)
    ax.axvline(0.0, color="gray", linewidth=0.8)
    ax.axvline(1.0, color="gray", linewidth=0.8)
    ax.set(
        yscale="log",
        xlabel="alpha  (0: initial weights, 1: trained weights)",
        ylabel="training cost",
        title="Cost along (1 - alpha) theta_0 + alpha theta_1",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "interpolation.png", dpi=120)


if __name__ == "__main__":
    main()
