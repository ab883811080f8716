"""The CIFAR-10 convolutional network of chapter 7, with batch or group normalisation.

conv 5x5x64 -> max-pool 3/2 -> conv 5x5x64 -> max-pool 3/2 -> dense 384 -> dense 192 -> 10-way
softmax: the network of the book's section "Building a Convolutional Network for CIFAR-10" (after
TensorFlow's cifar10 tutorial). ``norm="batch"`` inserts batch normalisation between every hidden
layer's linear map and its ReLU, as the book's "Accelerating Training with Batch Normalization"
does; ``norm="group"`` uses group normalisation instead, which does not depend on the batch.
References: Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 7;
Ioffe & Szegedy, "Batch Normalization", ICML 2015; Wu & He, "Group Normalization", ECCV 2018.
"""

from __future__ import annotations

import keras

from fdl_keras.layers import (
    FusedBatchNorm,
    GroupNorm,
    PerImageStandardization,
    classification_head,
)
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable

NORMS = ("none", "batch", "group")
CIFAR_FIT = FitConfig(epochs=30, learning_rate=1e-3, batch_size=128, augment="cifar")
CIFAR_TINY = {"filters": (8, 8), "dense_units": (16, 8), "groups": 4}


def normalization(norm: str, groups: int, name: str) -> keras.layers.Layer | None:
    """The normalisation layer for ``norm``: batch normalisation
    (:class:`~fdl_keras.layers.FusedBatchNorm`, Keras' layer on TensorFlow's fused kernel) or
    group normalisation (:class:`~fdl_keras.layers.GroupNorm`, Keras' arithmetic in an
    ONNX-friendly form)."""
    if norm == "batch":
        # Momentum 0.9 (keras-hub's ResNet, PyTorch's default) rather than Keras' 0.99: the
        # moving statistics used at inference then track the batch statistics within tens of
        # steps, which the steps-to-accuracy experiment measures from step 25 on.
        return FusedBatchNorm(momentum=0.9, name=f"{name}_bn")
    if norm == "group":
        return GroupNorm(groups=groups, name=f"{name}_gn")
    return None


@register(
    "cifar_cnn",
    chapter=7,
    dataset="cifar10",
    target=Target("accuracy", 0.80, "cifar10", "book: ~80% without batch norm"),
    fit=CIFAR_FIT,
    defaults={"norm": "none"},
    tiny=CIFAR_TINY,
)
@register(
    "cifar_cnn_bn",
    chapter=7,
    dataset="cifar10",
    summary="The book's CIFAR-10 CNN with batch normalisation after every hidden layer.",
    target=Target("accuracy", 0.85, "cifar10", "book: batch norm reaches higher accuracy sooner"),
    fit=CIFAR_FIT,
    defaults={"norm": "batch"},
    tiny=CIFAR_TINY,
)
@register(
    "cifar_cnn_gn",
    chapter=7,
    dataset="cifar10",
    summary="The book's CIFAR-10 CNN with group normalisation (Wu & He 2018).",
    fit=CIFAR_FIT,
    defaults={"norm": "group"},
    tiny=CIFAR_TINY,
)
@serializable
class CifarConvNet(ConfigModel):
    """The book's CIFAR-10 CNN: two 5x5x64 conv + pool stages, dense 384 and 192, softmax.

    Args:
        image_shape: shape of one input image (height, width, channels).
        num_classes: output classes.
        norm: ``"none"``, ``"batch"`` (batch normalisation) or ``"group"`` (group
            normalisation) between each hidden layer's linear map and its ReLU.
        filters: filters of the two convolution stages.
        kernel_size: square convolution kernel size.
        dense_units: widths of the fully connected layers.
        groups: groups of group normalisation (must divide every hidden width).
        standardize: standardise each image to zero mean and unit variance first.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = CifarConvNet(norm="batch", filters=(8, 8), dense_units=(16, 8))
        >>> model.output_shape
        (None, 10)
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (32, 32, 3),
        num_classes: int = 10,
        norm: str = "none",
        filters: tuple[int, int] = (64, 64),
        kernel_size: int = 5,
        dense_units: tuple[int, int] = (384, 192),
        groups: int = 32,
        standardize: bool = True,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if norm == "group":
            bad = [w for w in (*filters, *dense_units) if w % groups]
            if bad:
                raise ValueError(f"groups={groups} must divide every hidden width, not {bad}")

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        x = PerImageStandardization(name="standardize")(inputs) if standardize else inputs
        # A normalised layer needs no bias: the normalisation's offset replaces it.
        use_bias = norm == "none"
        for i, n in enumerate(filters):
            name = f"conv_{i + 1}"
            x = keras.layers.Conv2D(n, kernel_size, padding="same", use_bias=use_bias, name=name)(x)
            x = _normalise_and_activate(x, norm, groups, name)
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool_{i + 1}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        for i, n in enumerate(dense_units):
            name = f"dense_{i + 1}"
            x = keras.layers.Dense(n, use_bias=use_bias, name=name)(x)
            x = _normalise_and_activate(x, norm, groups, name)
        outputs = classification_head(x, num_classes, output_activation)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)


def _normalise_and_activate(x, norm: str, groups: int, name: str):
    layer = normalization(norm, groups, name)
    if layer is not None:
        x = layer(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)
