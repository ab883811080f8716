"""Residual networks: CIFAR ResNet v1/v2 (depth 6n+2) and ImageNet ResNet-18/34/50.

A residual block learns ``F(x)`` and outputs ``x + F(x)``, so a deep stack can fall back to the
identity and very deep networks stay trainable (the book's section "Residual Learning and Skip
Connections for Very Deep Networks"). Every stage after the first halves the feature map with a
stride-2 convolution in its first block while the shortcut is subsampled to match (the book's
notebook keeps the resolution constant; the papers do not).

- v1 (He et al. 2015): conv-BN-ReLU inside the block, ReLU after the addition. On CIFAR a 3x3x16
  stem and three stages of ``n`` basic blocks with 16, 32, 64 filters give depth ``6n + 2``
  (ResNet-20 ... ResNet-110) with parameter-free shortcuts ("option A": subsample and zero-pad
  the new channels). On ImageNet a 7x7/2 stem and max-pool precede four stages with 1x1
  projection shortcuts ("option B"); ResNet-50 uses bottleneck blocks (1x1, 3x3, 1x1 x4), with
  the stride on the 3x3 convolution as in torchvision ("v1.5"; the parameter count is the same).
- v2 (He et al. 2016, "Identity Mappings"): pre-activation blocks, BN-ReLU before each
  convolution and nothing after the addition, so the shortcut path is a pure identity; one
  BN-ReLU follows the last stage.

References: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv:1512.03385); He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016
(arXiv:1603.05027); Buduma et al., *Fundamentals of Deep Learning* (2nd ed.), ch. 7.
Layout after keras-hub's ``ResNetBackbone``.
"""

from __future__ import annotations

import keras

from fdl_keras.layers import FusedBatchNorm, ZeroPadShortcut, classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable

STEMS = ("cifar", "imagenet")
BLOCKS = ("basic", "bottleneck")
SHORTCUTS = ("zero_pad", "projection")
BOTTLENECK_EXPANSION = 4

# He et al. 2015, table 6 (CIFAR-10 test error of ResNet v1) and 2016, table 3 (pre-activation).
CIFAR_V1_ACCURACY = {20: 0.9125, 32: 0.9249, 44: 0.9283, 56: 0.9303, 110: 0.9357}
CIFAR_V2_ACCURACY = {110: 0.9363}
# The papers train with SGD (momentum 0.9, weight decay 1e-4, step decay); FitConfig names an
# optimizer without momentum, so the defaults here are Adam with a cosine decay.
CIFAR_FIT = FitConfig(learning_rate=1e-3, epochs=160, batch_size=128, augment="cifar")
# Tiny configs keep one downsampling stage change (the shortcut that matters) and little else,
# so the model-contract test of every depth stays fast; the full depths are checked by
# parameter count.
CIFAR_TINY = {"image_shape": (16, 16, 3), "stage_blocks": (1, 1), "stage_filters": (4, 8)}
IMAGENET_FIT = FitConfig(learning_rate=1e-3, epochs=90, batch_size=256)
IMAGENET = {
    # name: (block, stage_blocks, top-1 accuracy of torchvision's reference weights)
    "resnet18": ("basic", (2, 2, 2, 2), 0.6976),
    "resnet34": ("basic", (3, 4, 6, 3), 0.7331),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 0.7613),
}


def _cifar(depth: int, version: int):
    """Registers the CIFAR ResNet of ``depth`` (6n+2) and ``version`` (1 or 2)."""
    n = (depth - 2) // 6
    accuracy = (CIFAR_V1_ACCURACY if version == 1 else CIFAR_V2_ACCURACY).get(depth)
    paper = "He et al. 2015, table 6" if version == 1 else "He et al. 2016, table 3"
    kind = "v1" if version == 1 else "v2 (pre-activation)"
    return register(
        f"resnet{depth}" + ("_v2" if version == 2 else ""),
        chapter=7,
        dataset="cifar10",
        summary=f"CIFAR ResNet-{depth} {kind}: 3 stages of {n} basic blocks, 16/32/64 filters.",
        target=Target("accuracy", accuracy, "cifar10", paper) if accuracy else None,
        fit=CIFAR_FIT,
        defaults={"stage_blocks": (n, n, n), "preactivation": version == 2},
        tiny=CIFAR_TINY,
    )


def _imagenet(name: str):
    """Registers the ImageNet ResNet ``name`` (224x224 input, 1000 classes by default)."""
    block, stage_blocks, top1 = IMAGENET[name]
    depth = name.removeprefix("resnet")
    tiny_filters = (2, 4) if block == "bottleneck" else (4, 8)
    return register(
        name,
        chapter=7,
        dataset="cifar10",  # the nearest pipeline here; ImageNet itself is not packaged
        summary=f"ImageNet ResNet-{depth} v1: 7x7/2 stem, {block} blocks {stage_blocks}.",
        target=Target("accuracy", top1, "imagenet", "torchvision reference weights, top-1"),
        fit=IMAGENET_FIT,
        defaults={
            "image_shape": (224, 224, 3),
            "num_classes": 1000,
            "stem": "imagenet",
            "block": block,
            "stage_blocks": stage_blocks,
            "stage_filters": (64, 128, 256, 512),
            "shortcut": "projection",
        },
        tiny={
            "image_shape": (32, 32, 3),
            "num_classes": 10,
            "stage_blocks": (1, 1),
            "stage_filters": tiny_filters,
        },
    )


@_cifar(20, 1)
@_cifar(32, 1)
@_cifar(44, 1)
@_cifar(56, 1)
@_cifar(110, 1)
@_cifar(20, 2)
@_cifar(110, 2)
@_imagenet("resnet18")
@_imagenet("resnet34")
@_imagenet("resnet50")
@serializable
class ResNet(ConfigModel):
    """A residual network: stem, stages of residual blocks, global average pool, softmax.

    Args:
        image_shape: shape of one input image (height, width, channels).
        num_classes: output classes.
        stem: ``"cifar"`` (3x3 conv) or ``"imagenet"`` (7x7/2 conv and 3x3/2 max-pool).
        block: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1, 3x3, 1x1 with 4x width).
        stage_blocks: residual blocks per stage; every stage after the first downsamples by 2.
        stage_filters: filters per stage (the stem uses the first).
        preactivation: ``True`` for ResNet v2 (BN-ReLU before each convolution).
        shortcut: ``"zero_pad"`` (option A, parameter-free) or ``"projection"`` (option B,
            1x1 convolution) where a block changes shape.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = ResNet(stage_blocks=(3, 3, 3))   # ResNet-20
        >>> round(model.count_params() / 1e6, 2)
        0.27
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (32, 32, 3),
        num_classes: int = 10,
        stem: str = "cifar",
        block: str = "basic",
        stage_blocks: tuple[int, ...] = (3, 3, 3),
        stage_filters: tuple[int, ...] = (16, 32, 64),
        preactivation: bool = False,
        shortcut: str = "zero_pad",
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        if len(stage_blocks) != len(stage_filters) or min(stage_blocks, default=0) < 1:
            raise ValueError(
                "stage_blocks and stage_filters need one positive entry per stage, got "
                f"stage_blocks={stage_blocks}, stage_filters={stage_filters}"
            )
        if shortcut == "zero_pad" and list(stage_filters) != sorted(stage_filters):
            raise ValueError(
                f"zero_pad shortcuts need non-decreasing stage_filters, got {stage_filters}"
            )
        apply_block = apply_bottleneck_block if block == "bottleneck" else apply_basic_block

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        if stem == "cifar":
            x = keras.layers.Conv2D(
                stage_filters[0], 3, padding="same", use_bias=False, name="stem_conv"
            )(inputs)
        else:
            x = keras.layers.Conv2D(
                stage_filters[0], 7, strides=2, padding="same", use_bias=False, name="stem_conv"
            )(inputs)
        if not preactivation:
            x = _batch_norm("stem_bn")(x)
            x = keras.layers.ReLU(name="stem_relu")(x)
        if stem == "imagenet":
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
        for stage, (blocks, filters) in enumerate(zip(stage_blocks, stage_filters)):
            for index in range(blocks):
                x = apply_block(
                    x,
                    filters,
                    stride=2 if stage > 0 and index == 0 else 1,
                    preactivation=preactivation,
                    shortcut=shortcut,
                    name=f"stage{stage + 1}_block{index + 1}",
                )
        if preactivation:
            x = _batch_norm("post_bn")(x)
            x = keras.layers.ReLU(name="post_relu")(x)
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        outputs = classification_head(x, num_classes, output_activation)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)


def apply_basic_block(
    x, filters: int, *, stride: int, preactivation: bool, shortcut: str, name: str
):
    """Two 3x3 convolutions plus a shortcut (v1: post-activation; v2: pre-activation)."""
    residual = _pre_activation(x, name) if preactivation else x
    skip = _shortcut(x, residual, filters, stride, preactivation, shortcut, name)
    y = _conv(residual, filters, 3, stride, f"{name}_conv1")
    y = _bn_relu(y, f"{name}_conv1")
    y = _conv(y, filters, 3, 1, f"{name}_conv2")
    return _merge(skip, y, preactivation, f"{name}_conv2", name)


def apply_bottleneck_block(
    x, filters: int, *, stride: int, preactivation: bool, shortcut: str, name: str
):
    """1x1 reduce, 3x3 (strided), 1x1 expand to ``4 * filters``, plus a shortcut."""
    residual = _pre_activation(x, name) if preactivation else x
    width = BOTTLENECK_EXPANSION * filters
    skip = _shortcut(x, residual, width, stride, preactivation, shortcut, name)
    y = _conv(residual, filters, 1, 1, f"{name}_conv1")
    y = _bn_relu(y, f"{name}_conv1")
    y = _conv(y, filters, 3, stride, f"{name}_conv2")
    y = _bn_relu(y, f"{name}_conv2")
    y = _conv(y, width, 1, 1, f"{name}_conv3")
    return _merge(skip, y, preactivation, f"{name}_conv3", name)


def _conv(x, filters: int, kernel: int, stride: int, name: str):
    # No bias: every convolution is followed by batch normalisation, whose offset replaces it.
    return keras.layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=name
    )(x)


def _batch_norm(name: str) -> FusedBatchNorm:
    # Momentum 0.9 and epsilon 1e-5 as in keras-hub's ResNet and the papers' Torch code.
    return FusedBatchNorm(momentum=0.9, epsilon=1e-5, name=name)


def _bn_relu(x, name: str):
    x = _batch_norm(f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _pre_activation(x, name: str):
    return _bn_relu(x, f"{name}_pre")


def _shortcut(x, residual, filters: int, stride: int, preactivation: bool, kind: str, name: str):
    """Identity when the shape is kept; else option A (zero-pad) or B (1x1 projection)."""
    if stride == 1 and x.shape[-1] == filters:
        return x
    if kind == "zero_pad":
        return ZeroPadShortcut(filters, stride, name=f"{name}_shortcut")(x)
    # v2 projects the pre-activated input, so the shortcut starts after the shared BN-ReLU.
    source = residual if preactivation else x
    skip = _conv(source, filters, 1, stride, f"{name}_shortcut")
    if not preactivation:
        skip = _batch_norm(f"{name}_shortcut_bn")(skip)
    return skip


def _merge(skip, y, preactivation: bool, last_conv: str, name: str):
    """v2 adds and stops; v1 normalises the last convolution, adds, then applies ReLU."""
    if preactivation:
        return keras.layers.Add(name=f"{name}_add")([skip, y])
    y = _batch_norm(f"{last_conv}_bn")(y)
    y = keras.layers.Add(name=f"{name}_add")([skip, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)
