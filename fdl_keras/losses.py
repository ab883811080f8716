"""Losses Keras does not ship in the form the package needs.

:class:`SparseCrossentropy` is Keras' sparse categorical cross-entropy with label smoothing
(Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016, sec. 7): Keras 3 smooths
only one-hot targets (``CategoricalCrossentropy(label_smoothing=...)``), while the package's
classifiers train on integer labels. Written by hand because no maintained Keras 3 loss takes
integer labels with smoothing.
"""

from __future__ import annotations

import keras
from keras import ops

from fdl_keras.serialization import serializable


@serializable
class SparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer class labels, the one-hot target smoothed towards uniform.

    With ``label_smoothing`` ε and K classes the target of class y is ``(1 - ε) one_hot(y) +
    ε / K``: exactly ``keras.losses.CategoricalCrossentropy(label_smoothing=ε)`` on the one-hot
    labels, and ``keras.losses.SparseCategoricalCrossentropy`` when ε is 0.

    Args:
        label_smoothing: ε in [0, 1).
        from_logits: whether predictions are logits (else probabilities).
        reduction, name, dtype: as for any ``keras.losses.Loss``.

    Example:
        >>> loss = SparseCrossentropy(label_smoothing=0.1)
        >>> round(float(loss([0], [[0.5, 0.5]])), 4)
        0.6931
    """

    def __init__(
        self,
        label_smoothing: float = 0.0,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_crossentropy",
        dtype: str | None = None,
    ):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        if len(y_true.shape) == len(y_pred.shape):  # labels of shape (batch, 1)
            y_true = ops.squeeze(y_true, axis=-1)
        targets = ops.one_hot(y_true, y_pred.shape[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            targets, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "from_logits": self.from_logits,
        }
