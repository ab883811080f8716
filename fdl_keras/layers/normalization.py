"""Normalisation layers Keras lacks: per-image standardisation and instance normalisation.

Reference: Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The Missing Ingredient for
Fast Stylization", arXiv:1607.08022 (2016).
"""

from __future__ import annotations

import keras
from keras import ops

from fdl_keras.serialization import serializable


@serializable
class PerImageStandardization(keras.layers.Layer):
    """Scales each image to zero mean and unit variance over its pixels and channels.

    The same arithmetic as ``tf.image.per_image_standardization`` (the standard deviation is
    floored at ``1/sqrt(pixels)`` so a flat image does not divide by zero), written with
    ``keras.ops`` because Keras has no layer for it. As the model's first layer it is applied
    identically in training, evaluation and every exported runtime, which a train-only tf.data
    step would not be.

    Example:
        >>> images = keras.random.uniform((2, 8, 8, 3), seed=0)
        >>> x = PerImageStandardization()(images)
        >>> [abs(round(float(v), 3)) for v in (keras.ops.mean(x[0]), keras.ops.std(x[0]))]
        [0.0, 1.0]
    """

    def call(self, images):
        axes = (1, 2, 3)
        mean = ops.mean(images, axis=axes, keepdims=True)
        std = ops.std(images, axis=axes, keepdims=True)
        size = ops.cast(ops.prod(ops.shape(images)[1:]), images.dtype)
        return (images - mean) / ops.maximum(std, ops.rsqrt(size))


def instance_norm(channels: int, name: str) -> keras.layers.GroupNormalization:
    """Instance normalisation (Ulyanov et al. 2016) of ``channels`` channels, named ``name``.

    Each channel of each image is normalised over its pixels and gets its own scale and
    offset: ``GroupNormalization`` with one group per channel, which exports to every runtime.
    """
    return keras.layers.GroupNormalization(groups=channels, name=name)
