"""Beyond gradient descent: the optimizer study and the interpolation experiment (ch. 6).

Chapter 6 ("Beyond Gradient Descent") trains the MNIST feed-forward network with plain
minibatch SGD and with momentum and reports that momentum reaches a training cost of 0.1 in
about 2,000 steps where SGD needs about 18,000. :func:`optimizer_study` repeats that comparison
for the chapter's optimizers (SGD, momentum, Nesterov momentum, AdaGrad, RMSProp, Adam, all
Keras optimizers): every one starts from the same initial weights and sees the same minibatches;
it logs the cost of every minibatch and counts the steps until the running mean of that cost
falls to the target.

The chapter also shows, after Goodfellow, Vinyals & Saxe, that the cost along the straight line
``theta(alpha) = (1 - alpha) theta_0 + alpha theta_1`` from the initial weights ``theta_0`` to the
trained weights ``theta_1`` falls smoothly to a minimum near ``alpha = 1``: no local minimum
blocks the way. :func:`linear_interpolation` measures that curve.

The training loop is a short custom loop (``tf.function`` step) rather than ``model.fit``
because the study needs the cost of each minibatch, and ``fit`` logs a running mean over the
epoch.

Reference: I. Goodfellow, O. Vinyals and A. Saxe, "Qualitatively characterizing neural network
optimization problems", ICLR 2015 (arXiv:1412.6544, 2014); I. Sutskever, J. Martens, G. Dahl and
G. Hinton, "On the importance of initialization and momentum in deep learning", ICML 2013;
J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods", JMLR 2011 (AdaGrad);
T. Tieleman and G. Hinton, Coursera lecture 6.5, 2012 (RMSProp); D. Kingma and J. Ba, "Adam",
ICLR 2015.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError

__all__ = [
    "DEFAULT_ALPHAS",
    "OPTIMIZERS",
    "InterpolationResult",
    "OptimizerRun",
    "OptimizerStudy",
    "linear_interpolation",
    "mean_loss",
    "optimizer_study",
    "running_mean",
    "steps_to_target",
    "train_steps",
]

# The chapter's optimizers, each a factory taking ``learning_rate``.
OPTIMIZERS: dict[str, Callable[..., keras.optimizers.Optimizer]] = {
    "sgd": keras.optimizers.SGD,
    "momentum": partial(keras.optimizers.SGD, momentum=0.9),
    "nesterov": partial(keras.optimizers.SGD, momentum=0.9, nesterov=True),
    "adagrad": keras.optimizers.Adagrad,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
}
DEFAULT_ALPHAS = np.round(np.linspace(-1.0, 2.0, 31), 6)  # steps of 0.1, 0 and 1 included


@dataclass
class OptimizerRun:
    """One optimizer's run: the cost of every minibatch and when its running mean hit the target."""

    name: str
    learning_rate: float
    losses: np.ndarray
    smoothed: np.ndarray
    steps_to_target: int | None
    wall_time_s: float
    weights: list[np.ndarray] = field(repr=False)


@dataclass
class OptimizerStudy:
    """:func:`optimizer_study`'s runs, the shared initial weights and the network they trained."""

    runs: dict[str, OptimizerRun]
    initial_weights: list[np.ndarray] = field(repr=False)
    model: keras.Model = field(repr=False)
    dataset: str
    target: float
    window: int

    def table(self) -> list[dict]:
        """One row per optimizer: steps to the target (None if not reached), final cost."""
        return [
            {
                "optimizer": run.name,
                "learning_rate": run.learning_rate,
                "steps_to_target": run.steps_to_target,
                "steps_run": len(run.losses),
                "final_cost": float(run.smoothed[-1]),
                "wall_time_s": round(run.wall_time_s, 1),
            }
            for run in self.runs.values()
        ]


@dataclass
class InterpolationResult:
    """The cost at each ``alpha`` along ``(1 - alpha) theta_0 + alpha theta_1``."""

    alphas: np.ndarray
    losses: np.ndarray

    @property
    def best_alpha(self) -> float:
        """The ``alpha`` of the lowest cost on the grid."""
        return float(self.alphas[int(np.argmin(self.losses))])


# --- Optimizer study -------------------------------------------------------------------------


def running_mean(losses: Sequence[float], window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each step (fewer at the start)."""
    losses = np.asarray(losses, dtype=np.float64)
    total = np.cumsum(losses)
    shifted = np.concatenate([np.zeros(window), total[:-window]])[: len(total)]
    counts = np.minimum(np.arange(1, len(losses) + 1), window)
    return (total - shifted) / counts


def steps_to_target(smoothed: np.ndarray, target: float, window: int) -> int | None:
    """The first step (1-based) whose full-window running mean is at most ``target``, else None."""
    reached = np.flatnonzero(np.asarray(smoothed)[window - 1 :] <= target)
    return int(reached[0]) + window if reached.size else None


def train_steps(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    batches: tf.data.Dataset,
    *,
    max_steps: int,
    target: float | None = None,
    window: int = 100,
) -> np.ndarray:
    """Runs up to ``max_steps`` minibatch updates and returns the cost of each minibatch.

    Stops early once the running mean over ``window`` steps reaches ``target`` (if given).
    ``model`` must output logits.
    """
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    losses: list[float] = []
    for step, (x, y) in enumerate(batches.repeat().take(max_steps), start=1):
        losses.append(float(train_step(x, y)))
        if not np.isfinite(losses[-1]):
            break  # diverged: the caller sees a curve ending in NaN/inf and no target step
        if target is not None and step >= window and np.mean(losses[-window:]) <= target:
            break
    return np.asarray(losses)


def optimizer_study(
    optimizers: Sequence[str] = tuple(OPTIMIZERS),
    *,
    learning_rate: float | dict[str, float] = 0.01,
    max_steps: int = 2000,
    target: float = 0.1,
    window: int = 100,
    stop_at_target: bool = True,
    dataset: str | None = None,
    batch_size: int = 100,
    limit: int | None = None,
    hidden_units: tuple[int, ...] = (256, 256),
    seed: int = 0,
) -> OptimizerStudy:
    """Trains the MNIST feed-forward net with each optimizer from the same start.

    The book's setting is learning rate 0.01 and minibatches of 100 for the 784-256-256-10 ReLU
    network; weights start from Keras' Glorot-uniform initialisation (the book's code draws
    He-normal ones).

    Args:
        optimizers: names from :data:`OPTIMIZERS`.
        learning_rate: one rate for all, or ``{name: rate}`` (missing names get 0.01).
        max_steps: update budget per optimizer.
        target: training cost to reach (running mean of the minibatch cost).
        window: minibatches in that running mean.
        stop_at_target: stop each run when it reaches ``target``.
        dataset: MNIST if available, else scikit-learn digits.
        batch_size, limit: minibatch size; keep at most ``limit`` training examples.
        hidden_units: hidden layer widths.
        seed: initial weights and minibatch order.
    """
    from fdl_keras.data import first_available, load_dataset
    from fdl_keras.registry import build

    unknown = [name for name in optimizers if name not in OPTIMIZERS]
    if unknown:
        raise InvalidInputError(
            f"unknown optimizer {unknown[0]!r}; choose from {', '.join(OPTIMIZERS)}"
        )
    if max_steps < 1 or window < 1:
        raise InvalidInputError(f"need max_steps >= 1 and window >= 1, got {max_steps}, {window}")
    rates = learning_rate if isinstance(learning_rate, dict) else {}
    default_rate = 0.01 if isinstance(learning_rate, dict) else learning_rate
    dataset = dataset or first_available("mnist", "digits")[0]

    keras.utils.set_random_seed(seed)
    info = load_dataset(dataset, batch_size=batch_size, seed=seed, limit=limit).info
    model = build(
        "mnist_mlp",
        image_shape=info.input_shape,
        num_classes=info.num_classes,
        hidden_units=tuple(hidden_units),
        dropout=0.0,
        output_activation=None,
    )
    initial_weights = model.get_weights()
    runs = {}
    for name in optimizers:
        lr = rates.get(name, default_rate)
        keras.utils.set_random_seed(seed)
        # A fresh pipeline with the same seed: every optimizer sees the same minibatches.
        data = load_dataset(dataset, batch_size=batch_size, seed=seed, limit=limit)
        model.set_weights(initial_weights)
        start = time.perf_counter()
        losses = train_steps(
            model,
            OPTIMIZERS[name](learning_rate=lr),
            data.train,
            max_steps=max_steps,
            target=target if stop_at_target else None,
            window=window,
        )
        smoothed = running_mean(losses, window)
        runs[name] = OptimizerRun(
            name=name,
            learning_rate=lr,
            losses=losses,
            smoothed=smoothed,
            steps_to_target=steps_to_target(smoothed, target, window),
            wall_time_s=time.perf_counter() - start,
            weights=model.get_weights(),
        )
    return OptimizerStudy(runs, initial_weights, model, dataset, target, window)


# --- Linear interpolation (Goodfellow, Vinyals & Saxe) ---------------------------------------


def mean_loss(
    model: keras.Model,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    loss_fn: Callable | None = None,
) -> float:
    """Mean cost of ``model`` (inference mode) over fixed ``(x, y)`` batches, weighted by size.

    ``loss_fn`` defaults to sparse categorical cross-entropy on logits.
    """
    loss_fn = loss_fn or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    total, count = 0.0, 0
    for x, y in batches:
        total += float(loss_fn(y, model(x, training=False))) * len(y)
        count += len(y)
    if count == 0:
        raise InvalidInputError("no batches given; pass at least one (x, y) batch")
    return total / count


def linear_interpolation(
    model: keras.Model,
    initial_weights: Sequence[np.ndarray],
    trained_weights: Sequence[np.ndarray],
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    loss_fn: Callable | None = None,
) -> InterpolationResult:
    """Cost along ``theta(alpha) = (1 - alpha) theta_0 + alpha theta_1`` on a fixed batch set.

    ``model`` is used as the vessel: its weights are overwritten and left at ``theta_1``.
    At ``alpha = 0`` and ``alpha = 1`` the interpolated weights are exactly ``theta_0`` and
    ``theta_1``, so the curve's ends reproduce :func:`mean_loss` of the two models.
    """
    if len(initial_weights) != len(trained_weights):
        raise InvalidInputError(
            f"{len(initial_weights)} initial but {len(trained_weights)} trained weight arrays; "
            "pass two weight lists of the same model"
        )
    batches = [(np.asarray(x), np.asarray(y)) for x, y in batches]
    losses = []
    for alpha in alphas:
        alpha = float(alpha)
        model.set_weights(
            [(1.0 - alpha) * w0 + alpha * w1 for w0, w1 in zip(initial_weights, trained_weights)]
        )
        losses.append(mean_loss(model, batches, loss_fn))
    model.set_weights(list(trained_weights))
    return InterpolationResult(np.asarray(alphas, dtype=np.float64), np.asarray(losses))
