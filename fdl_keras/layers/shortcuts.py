"""Residual shortcuts that change shape without parameters.

Reference: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv:1512.03385), section 4.2: shortcut "option A".
"""

from __future__ import annotations

import keras
from keras import ops

from fdl_keras.serialization import serializable


@serializable
class ZeroPadShortcut(keras.layers.Layer):
    """He et al.'s parameter-free "option A" shortcut: subsample, then zero-pad new channels.

    The input is taken every ``stride`` pixels and its channels are centred among ``filters``,
    the extra channels (half before, half after) being zeros. Hand-written: Keras has no layer
    that pads the channel axis.

    Args:
        filters: output channels (at least the input's).
        stride: spatial subsampling step.

    Example:
        >>> tuple(ZeroPadShortcut(8, stride=2)(keras.ops.ones((1, 4, 4, 4))).shape)
        (1, 2, 2, 8)
    """

    def __init__(self, filters: int, stride: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.stride = stride

    def call(self, x):
        x = x[:, :: self.stride, :: self.stride, :]
        extra = self.filters - x.shape[-1]
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}
