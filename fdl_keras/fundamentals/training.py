"""Training feed-forward networks well (Fundamentals of Deep Learning, ch. 4).

Chapter 4 ("Training Feed-Forward Neural Networks") warns that a network with enough capacity
memorises a small training set: the training cost keeps falling while the validation cost turns
back up. Its remedies are the ones here:

- hold out a validation and a test set (:func:`split_dataset`, seeded and stratified, with
  scikit-learn's ``train_test_split``);
- stop when the validation cost stops improving and keep the best weights
  (:func:`fit_with_early_stopping`, ``keras.callbacks.EarlyStopping``);
- regularise: L2 weight decay, max-norm constraints and dropout on the MNIST feed-forward net
  (:func:`regularization_study`, which trains each variant on a small subset and returns its
  train/validation curves).

Reference: N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov,
"Dropout: a simple way to prevent neural networks from overfitting", JMLR 15, 2014 (dropout and
max-norm); L. Prechelt, "Early stopping - but when?", in *Neural Networks: Tricks of the Trade*,
1998.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from fdl_keras.errors import InvalidInputError

__all__ = [
    "REGULARIZERS",
    "EarlyStoppingResult",
    "Splits",
    "fit_with_early_stopping",
    "regularization_study",
    "split_dataset",
]

# Builder overrides of each chapter 4 variant of `mnist_mlp`. "none" also switches off the
# spec's default dropout, so the baseline is the plain network that overfits.
REGULARIZERS: dict[str, dict[str, Any]] = {
    "none": {},
    "l1": {"l1": 1e-4},
    "l2": {"l2": 1e-3},
    "dropout": {"dropout": 0.5},
    "max_norm": {"max_norm": 1.0},
}
DEFAULT_VARIANTS = ("none", "l2", "dropout", "max_norm")


# --- Train / validation / test splits ------------------------------------------------------


@dataclass(frozen=True)
class Splits:
    """``(x, y)`` arrays of the train, validation and test sets."""

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def split_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> Splits:
    """Splits examples into disjoint train, validation and test sets.

    Two seeded ``sklearn.model_selection.train_test_split`` calls; with ``stratify`` every set
    keeps the label proportions of ``y`` (what a classification benchmark wants).

    Args:
        x, y: examples and their labels, one label per example.
        validation_fraction, test_fraction: shares of all examples; the rest is training.
        seed: the same seed gives the same split.
        stratify: keep class proportions (needs at least two examples of every class).

    Example:
        >>> s = split_dataset(np.arange(20), np.arange(20) % 2, validation_fraction=0.2,
        ...                   test_fraction=0.2)
        >>> [len(part[0]) for part in (s.train, s.validation, s.test)]
        [12, 4, 4]
    """
    from sklearn.model_selection import train_test_split

    if len(x) != len(y):
        raise InvalidInputError(f"{len(x)} examples but {len(y)} labels; pass one label each")
    fractions = {"validation_fraction": validation_fraction, "test_fraction": test_fraction}
    for name, value in fractions.items():
        if not 0.0 < value < 1.0:
            raise InvalidInputError(f"{name} must be in (0, 1), got {value}")
    if validation_fraction + test_fraction >= 1.0:
        raise InvalidInputError(
            f"validation_fraction + test_fraction = {validation_fraction + test_fraction:g} "
            "leaves no training data; make them sum to less than 1"
        )
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y if stratify else None
    )
    # The validation share is of all examples, so rescale it to what is left after the test set.
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=validation_fraction / (1.0 - test_fraction),
        random_state=seed,
        stratify=y_rest if stratify else None,
    )
    return Splits((x_train, y_train), (x_val, y_val), (x_test, y_test))


# --- Early stopping --------------------------------------------------------------------------


@dataclass
class EarlyStoppingResult:
    """What :func:`fit_with_early_stopping` did.

    ``best_epoch`` is 0-based: the epoch whose weights the model holds now. ``stopped_epoch`` is
    the epoch at which patience ran out, or None when every epoch ran.
    """

    history: dict[str, list[float]]
    best_epoch: int
    stopped_epoch: int | None
    best_value: float


def fit_with_early_stopping(
    model: keras.Model,
    train,
    validation,
    *,
    epochs: int = 100,
    patience: int = 5,
    monitor: str = "val_loss",
    min_delta: float = 0.0,
    batch_size: int | None = None,
    verbose: int = 0,
) -> EarlyStoppingResult:
    """Fits a compiled ``model`` until ``monitor`` stops improving, then restores its best weights.

    Args:
        model: a compiled Keras model.
        train, validation: ``tf.data`` pipelines of ``(x, y)`` batches, or ``(x, y)`` tuples.
        epochs: the most epochs to run.
        patience: epochs without an improvement of at least ``min_delta`` before stopping.
        monitor: the logged quantity to watch (``val_loss``, ``val_accuracy`` ...).
        batch_size: batch size for array input (pipelines are already batched).
    """
    if epochs < 1 or patience < 0:
        raise InvalidInputError(f"need epochs >= 1 and patience >= 0, got {epochs}, {patience}")
    stopper = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=patience, min_delta=min_delta, restore_best_weights=True
    )
    x, y = train if isinstance(train, tuple) else (train, None)
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        validation_data=validation,
        epochs=epochs,
        callbacks=[stopper],
        verbose=verbose,
    )
    if monitor not in history.history:
        raise InvalidInputError(
            f"{monitor!r} was not logged; choose one of {', '.join(history.history)}"
        )
    return EarlyStoppingResult(
        history=history.history,
        best_epoch=int(stopper.best_epoch),
        stopped_epoch=int(stopper.stopped_epoch) if stopper.stopped_epoch else None,
        best_value=float(stopper.best),
    )


# --- Overfitting and regularisation ----------------------------------------------------------


def regularization_study(
    variants: Sequence[str] | Mapping[str, Mapping[str, Any]] = DEFAULT_VARIANTS,
    *,
    train_size: int = 1000,
    epochs: int = 50,
    dataset: str | None = None,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    hidden_units: tuple[int, ...] = (256, 256),
    seed: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """Trains the MNIST feed-forward net on a small subset, once per regulariser.

    On ``train_size`` examples the unregularised 784-256-256-10 network drives its training cost
    towards zero while its validation cost climbs; L2, dropout and max-norm hold the validation cost
    lower. Every
    variant starts from the same seed, sees the same batches and is validated on the same
    ``train_size`` held-out examples.

    Args:
        variants: names from :data:`REGULARIZERS`, or a mapping ``name -> builder overrides``
            (e.g. ``{"l2_big": {"l2": 1e-2}}``).
        train_size: training examples (as many more are held out for validation).
        epochs: epochs per variant.
        dataset: image dataset; MNIST if available, else scikit-learn digits.
        batch_size, learning_rate: Adam settings.
        hidden_units: hidden layer widths.
        seed: initialisation, split and shuffle seed.

    Returns:
        ``{variant: history}`` with ``loss`` (includes any weight penalty), ``cross_entropy``
        (the data term alone), ``accuracy`` and their ``val_`` counterparts, one value per epoch.
        Training values are Keras' means over the epoch in training mode (dropout active), so
        compare variants by their validation curves.
    """
    from fdl_keras.data import first_available, load_dataset
    from fdl_keras.registry import build

    if isinstance(variants, Mapping):
        overrides = {name: dict(v) for name, v in variants.items()}
    else:
        unknown = [v for v in variants if v not in REGULARIZERS]
        if unknown:
            raise InvalidInputError(
                f"unknown regulariser {unknown[0]!r}; choose from {', '.join(REGULARIZERS)} "
                "or pass a mapping of builder overrides"
            )
        overrides = {name: REGULARIZERS[name] for name in variants}
    if train_size < 2 or epochs < 1:
        raise InvalidInputError(f"need train_size >= 2 and epochs >= 1, got {train_size}, {epochs}")
    dataset = dataset or first_available("mnist", "digits")[0]
    data = load_dataset(
        dataset, batch_size=batch_size, seed=seed, limit=2 * train_size, validation_fraction=0.5
    )
    steps_per_epoch = -(-data.info.num_train // batch_size)
    histories = {}
    for name, extra in overrides.items():
        keras.utils.set_random_seed(seed)
        model = build(
            "mnist_mlp",
            image_shape=data.info.input_shape,
            num_classes=data.info.num_classes,
            hidden_units=tuple(hidden_units),
            **{"dropout": 0.0, **extra},
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")],
            # One call per epoch: on these tiny models per-step overhead would dominate.
            steps_per_execution=steps_per_epoch,
        )
        history = model.fit(
            data.train, validation_data=data.validation, epochs=epochs, verbose=0, shuffle=False
        )
        histories[name] = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    return histories
