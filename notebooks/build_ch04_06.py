"""Writes the chapter 4 and 6 notebooks (training feed-forward networks, beyond gradient descent).

Usage (from anywhere):
    python notebooks/build_ch04_06.py

The notebooks are generated so their source lives in one reviewable Python file; they are saved
without outputs (nbformat v4, kernel ``python3``). With ``FDL_FAST=1`` (what the test harness
sets) they train on about a thousand examples for a few hundred steps and finish in about a
minute; without it they use full MNIST for a few minutes each.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
FAST = os.environ.get("FDL_FAST") == "1"  # tiny data and budgets for the test harness

import matplotlib.pyplot as plt
import numpy as np

import fdl_keras
from fdl_keras.data import first_available

dataset, why_not = first_available("mnist", "digits")
print("dataset:", dataset, "| fast mode:", FAST)
if why_not:
    print("MNIST not available, using scikit-learn digits:", why_not)
"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(dedent(text).strip())


def setup(imports: str) -> nbformat.NotebookNode:
    """The first code cell: shared setup, then the notebook's own imports."""
    return new_code_cell(SETUP + "\n" + dedent(imports).strip())


# --- Chapter 4 ------------------------------------------------------------------------------

TRAINING = [
    md("""
    # Chapter 4 — Training Feed-Forward Neural Networks

    A network big enough to be useful is big enough to memorise a small training set. This
    notebook follows the chapter's remedies with `fdl_keras.fundamentals.training`: hold out
    validation and test data, stop training when the validation cost stops improving, and
    regularise the MNIST feed-forward network (784-256-256-10) with L2 weight decay, dropout and
    max-norm constraints.
    """),
    setup("""
    import keras

    from fdl_keras.data import load_arrays
    from fdl_keras.fundamentals import training
    """),
    md("""
    ## Train, validation and test sets

    The training set fits the weights, the validation set chooses hyperparameters and when to
    stop, and the test set is looked at once, at the end. `split_dataset` makes the three
    disjoint, seeded (the same seed gives the same split) and *stratified*: each keeps the class
    proportions of the whole.
    """),
    code("""
    ((x_all, y_all), _), source = load_arrays(dataset)
    if FAST:
        x_all, y_all = x_all[:3000], y_all[:3000]
    x_all = x_all.astype("float32") / x_all.max()
    if x_all.ndim == 3:
        x_all = x_all[..., None]
    splits = training.split_dataset(x_all, y_all, validation_fraction=0.1, test_fraction=0.1,
                                    seed=0)
    parts = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    plt.figure(figsize=(8, 3))
    for i, (name, (x, y)) in enumerate(parts.items()):
        print(f"{name:10s} {len(x):6d} examples")
        share = np.bincount(y, minlength=10) / len(y)
        plt.bar(np.arange(10) + (i - 1) * 0.27, share, width=0.27, label=name)
    plt.xticks(range(10)); plt.xlabel("digit"); plt.ylabel("share of the split")
    plt.title("Stratified: every split has the same class proportions"); plt.legend()
    plt.show()
    """),
    md("""
    ## Overfitting and early stopping

    Train the unregularised network on a small slice of the training split with Adam. The
    training cost keeps falling; the validation cost bottoms out and then climbs as the network
    memorises. `fit_with_early_stopping` wraps `keras.callbacks.EarlyStopping` with
    `restore_best_weights=True`: after `patience` epochs without improvement it stops and puts
    back the weights of the best epoch.
    """),
    code("""
    n_small = 300 if FAST else 1000
    x_small, y_small = splits.train[0][:n_small], splits.train[1][:n_small]

    keras.utils.set_random_seed(0)
    model = fdl_keras.build("mnist_mlp", image_shape=x_all.shape[1:], dropout=0.0)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stopped = training.fit_with_early_stopping(
        model, (x_small, y_small), splits.validation, epochs=30 if FAST else 100, patience=5,
        batch_size=32,
    )
    h = stopped.history
    plt.figure(figsize=(7, 3.5))
    plt.plot(h["loss"], label="training cost"); plt.plot(h["val_loss"], label="validation cost")
    plt.axvline(stopped.best_epoch, color="green", linestyle="--", label="best epoch (restored)")
    if stopped.stopped_epoch is not None:
        plt.axvline(stopped.stopped_epoch, color="gray", linestyle=":", label="stopped")
    plt.xlabel("epoch"); plt.ylabel("cross-entropy"); plt.legend(); plt.show()
    print(f"best epoch {stopped.best_epoch + 1}, stopped after epoch "
          f"{(stopped.stopped_epoch or len(h['loss']) - 1) + 1}")
    print("validation cost now:", model.evaluate(*splits.validation, verbose=0)[0],
          "= best:", stopped.best_value)
    """),
    md("""
    ## Regularisation

    `regularization_study` trains the same network from the same initial weights on the same
    small training set, once per variant (`training.REGULARIZERS`):

    - **L2** adds `lambda * sum(w**2)` to the cost, pulling every weight towards zero;
    - **dropout** (p = 0.5) silences a random half of the hidden units at each step, so no unit
      can rely on a particular other one;
    - **max-norm** caps the L2 norm of each unit's incoming weight vector.

    Each variant is validated on as many held-out examples as it trains on.
    """),
    code("""
    print({name: training.REGULARIZERS[name] for name in training.DEFAULT_VARIANTS})
    histories = training.regularization_study(
        train_size=200 if FAST else 1000, epochs=12 if FAST else 50, dataset=dataset
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for name, h in histories.items():
        line, = axes[1].plot(h["val_cross_entropy"], label=name)
        axes[0].plot(h["cross_entropy"], color=line.get_color(), label=name)
    axes[0].set_title("training cost (dropout active while training)")
    axes[1].set_title("validation cost")
    for ax in axes:
        ax.set_xlabel("epoch"); ax.set_yscale("log"); ax.legend()
    axes[0].set_ylabel("cross-entropy")
    plt.show()

    print(f"{'variant':10s} {'val cost: min':>14s} {'final':>7s} {'final val acc':>14s}")
    for name, h in histories.items():
        print(f"{name:10s} {min(h['val_cross_entropy']):14.3f} {h['val_cross_entropy'][-1]:7.3f}"
              f" {h['val_accuracy'][-1]:14.3f}")
    """),
    md("""
    In the full setting (1,000 examples, 50 epochs: run without `FDL_FAST`) the unregularised
    network's validation cost turns upward once its training cost is near zero, while L2,
    dropout and max-norm end lower. The fast run (200 examples, 12 epochs) stops about where
    overfitting begins, so there the regularised variants, which learn more slowly, can still be
    behind: a regulariser pays off only once the plain network starts to memorise, which is also
    why early stopping and regularisation are used together.
    """),
]


# --- Chapter 6 ------------------------------------------------------------------------------

OPTIMIZERS = [
    md("""
    # Chapter 6 — Beyond Gradient Descent

    Plain minibatch SGD crawls through the long, flat ravines of a deep network's cost surface.
    Momentum accumulates a velocity along the consistent direction; AdaGrad, RMSProp and Adam
    scale each parameter's step by the history of its gradients. This notebook races the
    chapter's optimizers on the MNIST feed-forward network (learning rate 0.01, minibatches of
    100, the book's setting) from the same initial weights over the same minibatches, then
    repeats Goodfellow, Vinyals & Saxe's linear-interpolation experiment.
    """),
    setup("""
    from fdl_keras.fundamentals import optimizers
    """),
    md("""
    ## The optimizer race

    Each optimizer is a Keras optimizer (`optimizers.OPTIMIZERS`). The cost logged is that of
    every minibatch; the curve is its running mean over the last `window` steps, and a run
    *reaches the target* when that mean falls to 0.1. Fast mode keeps about a thousand training
    examples and a few hundred steps; `benchmarks/optimizer_study.py` runs full MNIST until the
    target (results in `benchmarks/RESULTS_fundamentals.md`).
    """),
    code("""
    study = optimizers.optimizer_study(
        tuple(optimizers.OPTIMIZERS),
        learning_rate=0.01,
        max_steps=150 if FAST else 3000,
        window=50 if FAST else 100,
        target=0.1,
        dataset=dataset,
        batch_size=100,
    )
    plt.figure(figsize=(8, 4))
    for name, run in study.runs.items():
        plt.plot(np.arange(1, len(run.smoothed) + 1), run.smoothed, label=name)
    plt.axhline(study.target, color="gray", linestyle="--", linewidth=0.8)
    plt.yscale("log"); plt.xlabel("step"); plt.ylabel(f"cost (mean of {study.window} steps)")
    plt.legend(); plt.title("Training cost per optimizer, lr 0.01"); plt.show()

    print(f"{'optimizer':10s} {'steps to 0.1':>13s} {'steps run':>10s} {'final cost':>11s}")
    for row in study.table():
        reached = row["steps_to_target"] if row["steps_to_target"] is not None else "-"
        print(f"{row['optimizer']:10s} {reached!s:>13s} {row['steps_run']:10d}"
              f" {row['final_cost']:11.3f}")
    """),
    md("""
    At this learning rate plain SGD is by far the slowest, and momentum (with or without
    Nesterov's look-ahead) is several times faster. The book reports about 2,000 against 18,000
    steps on full MNIST; the full benchmark here measured 2,115 against 15,295
    (`benchmarks/RESULTS_fundamentals.md`). Adam starts fastest; RMSProp's first steps at this
    rate (ten times its usual 0.001) throw the cost up before it recovers.

    ## Linear interpolation between the initial and the trained weights

    Goodfellow, Vinyals & Saxe (2014) evaluate the cost along the straight line
    `theta(alpha) = (1 - alpha) theta_0 + alpha theta_1` from the initial weights (`alpha = 0`)
    to the trained ones (`alpha = 1`) and beyond. For these networks the curve falls smoothly to
    a minimum near `alpha = 1`: no bumps, so no troublesome local minima on the way.
    """),
    code("""
    from fdl_keras.data import load_dataset

    data = load_dataset(dataset, batch_size=100, seed=0)
    batches = [(x.numpy(), y.numpy()) for x, y in data.train.take(3 if FAST else 50)]
    alphas = np.round(np.linspace(-1, 2, 16 if FAST else 31), 6)  # 0 and 1 are on the grid
    plt.figure(figsize=(7, 4))
    for name in ("sgd", "momentum", "adam"):
        curve = optimizers.linear_interpolation(
            study.model, study.initial_weights, study.runs[name].weights, batches, alphas
        )
        plt.plot(curve.alphas, curve.losses, label=f"{name} (min at alpha={curve.best_alpha:.1f})")
    plt.axvline(0, color="gray", linewidth=0.8); plt.axvline(1, color="gray", linewidth=0.8)
    plt.yscale("log"); plt.xlabel("alpha"); plt.ylabel("training cost"); plt.legend()
    plt.title("Cost along (1 - alpha) theta_0 + alpha theta_1"); plt.show()
    """),
    md("""
    A model that has not finished training (plain SGD in a short budget) has its minimum past
    `alpha = 1`: the line still points downhill at the trained weights.
    """),
]


NOTEBOOKS = {
    "04_training.ipynb": TRAINING,
    "06_optimizers.ipynb": OPTIMIZERS,
}


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"  # stable ids: rebuilding does not churn the diff
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        nbformat.write(build(cells), path, version=4)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells)")


if __name__ == "__main__":
    main()
