"""Sparsity for autoencoders: the KL sparsity penalty and the k-sparse layer.

- :class:`KLSparsity`, an activity regulariser: ``beta * sum_j KL(rho || rho_hat_j)`` with
  ``rho_hat_j`` the mean activation of hidden unit j over the batch (units in (0, 1), e.g.
  sigmoid). Ng, "Sparse autoencoder", CS294A lecture notes (2011).
- :class:`KSparse`, a layer that keeps each example's ``k`` largest activations and zeroes the
  rest. Makhzani & Frey, "k-Sparse Autoencoders", ICLR 2014.

Keras has neither, so both are written here.
"""

from __future__ import annotations

import keras
from keras import ops

from fdl_keras.serialization import serializable


@serializable
class KLSparsity(keras.regularizers.Regularizer):
    """``beta * sum_j KL(rho || rho_hat_j)``, ``rho_hat_j`` the batch mean of unit j.

    Keras divides an activity regulariser's value by the batch size; the penalty is a property
    of the batch mean, not a sum over examples, so it is multiplied by the batch size here to
    stay ``beta * KL`` whatever the batch.

    Args:
        rho: target mean activation, in (0, 1).
        beta: weight of the penalty, >= 0.

    Example:
        >>> layer = keras.layers.Dense(64, "sigmoid", activity_regularizer=KLSparsity(0.05, 3.0))
    """

    def __init__(self, rho: float = 0.05, beta: float = 3.0):
        if not 0.0 < rho < 1.0:
            raise ValueError(f"rho must be in (0, 1), got {rho}")
        if not beta >= 0.0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.rho = float(rho)
        self.beta = float(beta)

    def __call__(self, activations):
        activations = ops.cast(activations, "float32")  # the penalty in float32 (mixed precision)
        rho_hat = ops.clip(ops.mean(activations, axis=0), 1e-6, 1.0 - 1e-6)
        rho = self.rho
        kl = rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))
        batch = ops.cast(ops.shape(activations)[0], kl.dtype)
        return self.beta * ops.sum(kl) * batch

    def get_config(self) -> dict:
        return {"rho": self.rho, "beta": self.beta}


def kl_divergence_penalty(activations, rho: float, beta: float):
    """The penalty itself, ``beta * sum_j KL(rho || rho_hat_j)`` (no batch-size scaling)."""
    batch = ops.cast(ops.shape(activations)[0], "float32")
    return KLSparsity(rho, beta)(activations) / batch


@serializable
class KSparse(keras.layers.Layer):
    """Keeps the ``k`` largest activations of each example (last axis) and zeroes the others.

    Gradients flow only through the kept units, as in Makhzani & Frey's k-sparse autoencoder.
    Ties at the k-th value keep every tied unit.

    Args:
        k: activations kept per example, >= 1.

    Example:
        >>> KSparse(2)(np.array([[0.1, 0.9, 0.5, 0.3]], "float32"))  # [[0, 0.9, 0.5, 0]]
    """

    def __init__(self, k: int, **kwargs):
        super().__init__(**kwargs)
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)

    def call(self, inputs):
        units = inputs.shape[-1]
        if units is not None and self.k >= units:
            return inputs
        kth = ops.top_k(inputs, self.k, sorted=True)[0][..., -1:]
        return ops.where(inputs >= kth, inputs, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k}
