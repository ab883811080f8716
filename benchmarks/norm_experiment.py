"""The book's batch-normalisation experiment: steps to a fixed accuracy, per normalisation.

Trains the chapter 7 CIFAR network three times - ``cifar_cnn`` (no normalisation),
``cifar_cnn_bn`` (batch norm) and ``cifar_cnn_gn`` (group norm) - with the same data order, seed
and optimizer, evaluates on held-out validation images every ``--eval-every`` steps, and reports
the first step at which validation accuracy reaches ``--target`` (the book: batch norm reaches
90 % on CIFAR-10 in about 14k minibatches, the plain network needs more than 80k). CIFAR-10 is
used when present; elsewhere run it on MNIST (the network adapts to 28x28x1 input).

Usage (from the repository root, FDL_DATA_DIR pointing at a folder with mnist/):
    python benchmarks/norm_experiment.py --dataset mnist --target 0.97 --max-steps 500

Writes benchmarks/out/norm_experiment.json (curves) and .png, and prints a markdown table.
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

import keras  # noqa: E402
import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.training import compile_model  # noqa: E402

VARIANTS = {"none": "cifar_cnn", "batch": "cifar_cnn_bn", "group": "cifar_cnn_gn"}


class StepsToTarget(keras.callbacks.Callback):
    """Evaluates every ``every`` steps; stops at ``target``, ``max_steps`` or ``budget_s``."""

    def __init__(self, x, y, target, every, max_steps, budget_s):
        super().__init__()
        self.x, self.y = x, y
        self.target, self.every, self.max_steps, self.budget_s = target, every, max_steps, budget_s
        self.curve: list[tuple[int, float, float]] = []  # (step, accuracy, seconds)
        self.reached: int | None = None
        self.step = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every and self.step < self.max_steps:
            return
        probs = np.concatenate(
            [self.model.predict_on_batch(self.x[i : i + 250]) for i in range(0, len(self.x), 250)]
        )
        accuracy = float(np.mean(probs.argmax(axis=1) == self.y))
        elapsed = time.perf_counter() - self.start
        self.curve.append((self.step, accuracy, elapsed))
        print(f"  step {self.step:5d}  val accuracy {accuracy:.4f}  {elapsed:6.0f} s", flush=True)
        if accuracy >= self.target and self.reached is None:
            self.reached = self.step
        if self.reached or self.step >= self.max_steps or elapsed > self.budget_s:
            self.model.stop_training = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--target", type=float, default=0.97)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--eval-size", type=int, default=500)
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--budget-min", type=float, default=6.0, help="per variant")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)

    data = fdl_keras.load_dataset(args.dataset, batch_size=args.batch_size, seed=args.seed)
    x_val, y_val = data.arrays["validation"]
    x_val, y_val = x_val[: args.eval_size], y_val[: args.eval_size]
    results = {}
    for norm, name in VARIANTS.items():
        print(f"{name} (norm={norm})", flush=True)
        keras.utils.set_random_seed(args.seed)
        spec = fdl_keras.get_spec(name)
        model = spec.build(image_shape=data.info.input_shape, num_classes=data.info.num_classes)
        compile_model(model, spec, learning_rate=args.learning_rate)  # constant learning rate
        probe = StepsToTarget(
            x_val, y_val, args.target, args.eval_every, args.max_steps, args.budget_min * 60
        )
        model.fit(data.train, epochs=1000, callbacks=[probe], verbose=0)
        results[norm] = {
            "model": name,
            "steps_to_target": probe.reached,
            "steps_run": probe.step,
            "final_accuracy": probe.curve[-1][1],
            "best_accuracy": max(a for _, a, _ in probe.curve),
            "seconds": probe.curve[-1][2],
            "curve": probe.curve,
        }
    record = {
        "dataset": data.info.name,
        "source": data.info.source,
        "target": args.target,
        "settings": vars(args),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join(sys.argv),
        "results": results,
    }
    (out / "norm_experiment.json").write_text(json.dumps(record, indent=2))
    _plot(results, args.target, data.info.name, out / "norm_experiment.png")
    print(f"| norm | steps to {args.target:.1%} val. accuracy | steps run | best accuracy | s |")
    print("|---|---|---|---|---|")
    for norm, r in results.items():
        reached = r["steps_to_target"] or f"not in {r['steps_run']}"
        print(
            f"| {norm} | {reached} | {r['steps_run']} | {r['best_accuracy']:.2%} "
            f"| {r['seconds']:.0f} |"
        )


def _plot(results: dict, target: float, dataset: str, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    for norm, r in results.items():
        steps, accuracy, _ = zip(*r["curve"])
        ax.plot(steps, accuracy, label=f"norm={norm}")
    ax.axhline(target, color="grey", ls="--", lw=1)
    ax.set(xlabel="training step", ylabel="validation accuracy", title=f"CIFAR CNN on {dataset}")
    ax.legend()
    fig.savefig(path)


if __name__ == "__main__":
    main()
