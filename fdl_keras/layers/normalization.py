"""Normalisation layers Keras lacks, exports slowly or trains slowly on TensorFlow:
per-image standardisation, batch normalisation on the fused kernel, group and instance
normalisation.

References: Ioffe & Szegedy, "Batch Normalization", ICML 2015; Wu & He, "Group
Normalization", ECCV 2018; Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The Missing
Ingredient for Fast Stylization", arXiv:1607.08022 (2016).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
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


@serializable
class FusedBatchNorm(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` (same arguments, weights, results and moving
    statistics) that trains on TensorFlow's fused batch-norm kernel.

    Keras 3 normalises a training batch with separate ``moments`` and ``batch_normalization``
    ops, and their gradient is a chain of small element-wise ops; TensorFlow's
    ``FusedBatchNormV3`` and its gradient kernel do each in one (oneDNN on CPUs, cuDNN on
    GPUs). Keras has no switch for it since version 3, so it is called here for training
    batches of channels-last images (rank 4), with no mask, renormalisation or cross-replica
    statistics; everything else, and inference (so every export), is Keras' own computation.
    (On 2-D activations it was no faster: ``benchmarks/RESULTS_speed.md``.) The kernel
    reports the batch variance with Bessel's correction, which is undone so the moving
    variance is Keras' (the biased batch variance). Inputs are normalised in float32, as Keras
    does under mixed precision.

    Example:
        >>> x = keras.random.normal((8, 4, 4, 3), seed=0)
        >>> ours, theirs = FusedBatchNorm(), keras.layers.BatchNormalization()
        >>> difference = ours(x, training=True) - theirs(x, training=True)
        >>> float(keras.ops.max(keras.ops.abs(difference))) < 1e-5
        True
    """

    def _fused(self, inputs, training, mask) -> bool:
        return (
            keras.backend.backend() == "tensorflow"
            and bool(training)
            and self.trainable
            and mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, "float32")
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, "float32") if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, "float32") if self.center else tf.zeros([channels])
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        count = tf.cast(tf.size(x) // channels, "float32")
        variance = variance * tf.maximum(count - 1.0, 0.0) / count
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        return ops.cast(y, self.compute_dtype)


@serializable
class GroupNorm(keras.layers.GroupNormalization):
    """``keras.layers.GroupNormalization`` (same arguments, weights and results) computed on
    the channels-last activations as they are.

    Keras reshapes the activations to ``(..., groups, channels / groups)`` and normalises with
    broadcasts over that 5-D shape, which ONNX runtimes run slowly (onnxruntime spent a third
    of a small CIFAR net's batch-1 time in one such broadcast subtraction). Here the group
    statistics are per-channel spatial means averaged within each group by a ``(C, C)``
    matmul, and the activations see only channel-wise broadcasts: ``(x - mean) * scale +
    beta``. The variance is the same two-pass one (mean squared deviation from the group
    mean), in float32 under mixed precision as Keras does. Other axes than the last fall back
    to Keras' computation.

    Example:
        >>> x = keras.random.normal((2, 4, 4, 8), seed=0)
        >>> ours = GroupNorm(groups=2)(x)
        >>> theirs = keras.layers.GroupNormalization(groups=2)(x)
        >>> float(keras.ops.max(keras.ops.abs(ours - theirs))) < 1e-5
        True
    """

    def call(self, inputs):
        rank = len(inputs.shape)
        if self.axis not in (-1, rank - 1):
            return super().call(inputs)
        channels = inputs.shape[-1]
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        spatial = tuple(range(1, rank - 1))
        per_group = channels // self.groups
        within_group = None
        if per_group > 1:  # averages each channel's statistic over its group
            blocks = np.kron(np.eye(self.groups), np.full((per_group, per_group), 1 / per_group))
            within_group = ops.convert_to_tensor(blocks.astype(np.float32), dtype=x.dtype)

        def group_statistic(values):
            """(batch, *spatial, C) -> (batch, 1, ..., C): each channel its group's mean."""
            per_channel = ops.mean(values, axis=spatial) if spatial else values
            if within_group is not None:
                per_channel = ops.matmul(per_channel, within_group)
            return ops.reshape(per_channel, (-1,) + (1,) * len(spatial) + (channels,))

        centred = x - group_statistic(x)
        scale = ops.rsqrt(group_statistic(centred * centred) + self.epsilon)
        if self.scale:
            scale = scale * ops.cast(self.gamma, x.dtype)
        outputs = centred * scale
        if self.center:
            outputs = outputs + ops.cast(self.beta, x.dtype)
        return ops.cast(outputs, self.compute_dtype)


def instance_norm(channels: int, name: str) -> GroupNorm:
    """Instance normalisation (Ulyanov et al. 2016) of ``channels`` channels, named ``name``.

    Each channel of each image is normalised over its pixels and gets its own scale and
    offset: :class:`GroupNorm` with one group per channel, which exports to every runtime.
    """
    return GroupNorm(groups=channels, name=name)
