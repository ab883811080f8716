"""The classification head shared by the book's classifiers."""

from __future__ import annotations

import keras


def classification_head(
    x,
    num_classes: int,
    output_activation: str | None = "softmax",
    *,
    dropout: float = 0.0,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    kernel_constraint: keras.constraints.Constraint | None = None,
    name: str | None = None,
):
    """Optional dropout, then ``Dense(num_classes)`` with ``output_activation`` inside it.

    Args:
        x: the features, ``(batch, features)``.
        num_classes: output classes.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.
        dropout: rate of a ``Dropout`` layer named ``"dropout"`` before the output (0: none).
        kernel_regularizer: penalty on the output kernel.
        kernel_constraint: constraint on the output kernel.
        name: the output layer's name; by default ``"probabilities"``, or ``"logits"`` when
            ``output_activation`` is ``None``.

    Example:
        >>> features = keras.Input(shape=(16,))
        >>> classification_head(features, 10, None).shape
        (None, 10)
    """
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.layers.Dense(
        num_classes,
        activation=output_activation,
        kernel_regularizer=kernel_regularizer,
        kernel_constraint=kernel_constraint,
        name=name or ("probabilities" if output_activation else "logits"),
    )(x)
