"""Sinusoidal position encodings of Vaswani et al. (2017), sec. 3.5.

PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)). keras-hub has
``SinusoidalPositionEncoding`` but is not installed here, so the layer is written here; unlike
keras-hub's it also takes explicit positions, which incremental decoding needs (one position
per step).
"""

from __future__ import annotations

import keras
from keras import ops

from fdl_keras.serialization import serializable


@serializable
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Adds the sinusoidal encoding of each position to ``inputs`` (B, T, d).

    Called as ``layer(inputs)`` the positions are 0 .. T-1; ``layer(inputs, positions)``
    takes them from an int tensor (B, T) (the step of an incremental decoder).

    Args:
        max_wavelength: the base of the geometric progression of wavelengths (10,000).

    Example:
        >>> import numpy as np
        >>> x = SinusoidalPositionEncoding()(np.zeros((1, 3, 4), "float32"))
        >>> np.round(np.asarray(x)[0, 1], 3).tolist()
        [0.841, 0.54, 0.01, 1.0]
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        if max_wavelength <= 1:
            raise ValueError(f"max_wavelength must be > 1, got {max_wavelength}")
        self.max_wavelength = max_wavelength

    def call(self, inputs, positions=None):
        depth = inputs.shape[-1]
        if positions is None:
            positions = ops.arange(ops.shape(inputs)[1])[None, :]
        positions = ops.cast(positions, inputs.dtype)[..., None]  # (B or 1, T, 1)
        i = ops.arange(depth) // 2
        rates = ops.power(
            ops.cast(self.max_wavelength, inputs.dtype),
            -ops.cast(2 * i, inputs.dtype) / ops.cast(depth, inputs.dtype),
        )
        angles = positions * rates
        even = ops.cast(ops.arange(depth) % 2 == 0, inputs.dtype)
        encoding = even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)
        return inputs + encoding

    def compute_output_shape(self, inputs_shape, positions_shape=None):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


__all__ = ["SinusoidalPositionEncoding"]
