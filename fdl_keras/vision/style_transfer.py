"""Neural style transfer: Gatys et al.'s image optimisation and Johnson et al.'s one-pass network.

A convolutional network's feature maps describe *content* (where things are: the activations of
a deep layer) and their Gram matrices describe *style* (which features occur together, wherever
they are: correlations between channels). Gatys et al. optimise the pixels of an image so its
content features match one image and its Gram matrices another, with a total-variation term for
smoothness. Johnson et al. train a feed-forward "image transformation network" with the same
(perceptual) loss once per style, after which a style applies in a single forward pass, and so in
any runtime: the network is registered and exported to ONNX like every other system.

Features come from ``keras.applications.VGG19``: ``weights="imagenet"`` (downloaded or in the
Keras cache), a path to a local weights file, or ``None`` for random weights (what the tests use;
random convolutional features still transfer texture, much less faithfully). Each loss term is
*relative* to the magnitude of its target (``|G(x) - G(s)|^2 / |G(s)|^2``) instead of Gatys'
absolute sums, so the same term weights work for random and trained VGG weights.

References: Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks",
CVPR 2016; Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016; Ulyanov et al., "Instance Normalization", arXiv:1607.08022;
Buduma et al., *Fundamentals of Deep Learning* (2nd ed.), ch. 7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fdl_keras import config
from fdl_keras.data.photos import random_crops, sample_photos  # noqa: F401 - re-exported
from fdl_keras.errors import FdlError
from fdl_keras.layers import instance_norm
from fdl_keras.registry import FitConfig, register
from fdl_keras.serialization import ConfigModel, OptimizerOnlyCompileConfig, serializable
from fdl_keras.tasks import StyleTransfer

# Gatys et al.: style from conv1_1 ... conv5_1, content from conv4_2.
GATYS_STYLE_LAYERS = tuple(f"block{i}_conv1" for i in range(1, 6))
GATYS_CONTENT_LAYERS = ("block4_conv2",)
# Johnson et al.: style from relu1_2, relu2_2, relu3_3, relu4_3; content from relu3_3. Keras'
# VGG convolutions include their ReLU, so a conv layer's output is the paper's relu output.
JOHNSON_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")
JOHNSON_CONTENT_LAYERS = ("block3_conv3",)
VGG19_NOTOP_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"  # what Keras downloads


# --- Feature extractor and losses ------------------------------------------------------------


def vgg19_features(layers: Sequence[str], weights: str | Path | None = None) -> keras.Model:
    """A frozen VGG19 returning the activations of ``layers`` for RGB images in [0, 1].

    Args:
        layers: VGG19 layer names (``block4_conv2`` ...).
        weights: ``None`` (random), ``"imagenet"`` or a path to a VGG19 weights file.
    """
    local = weights not in (None, "imagenet")
    cached = Path(config.keras_cache_dir()).parent / "models" / VGG19_NOTOP_FILE
    if weights == "imagenet" and config.offline() and not cached.is_file():
        raise FdlError(
            f"FDL_OFFLINE=1 and {cached} is missing: put the VGG19 weights there, pass their "
            "path as weights= (fdl train: --vgg-weights FILE), or pass weights=None for random "
            "features (--vgg-weights random)"
        )
    try:
        base = keras.applications.VGG19(
            include_top=False, weights=None if local else weights, input_shape=(None, None, 3)
        )
    except Exception as exc:  # noqa: BLE001 - any download failure means "not available"
        raise FdlError(
            f"VGG19 ImageNet weights are not in the Keras cache and could not be downloaded "
            f"({type(exc).__name__}); pass weights=None for random features (fdl train: "
            f"--vgg-weights random) or the path of {VGG19_NOTOP_FILE}"
        ) from exc
    if local:
        base.load_weights(str(weights))
    base.trainable = False
    taps = keras.Model(base.input, [base.get_layer(name).output for name in layers])
    images = keras.Input(shape=(None, None, 3), name="image")
    # VGG's caffe preprocessing: 0-255 BGR with the ImageNet mean removed.
    outputs = taps(keras.applications.vgg19.preprocess_input(images * 255.0))
    return keras.Model(images, outputs, name="vgg19_features")


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Channel correlations ``G[c, d] = mean over positions of F[c] F[d]``: ``(b, c, c)``."""
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
    return tf.einsum("bijc,bijd->bcd", features, features) / positions


def relative_error(x: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Per-example ``|x - target|^2 / |target|^2`` over all but the batch axis."""
    axes = list(range(1, len(x.shape)))
    error = tf.reduce_sum(tf.square(x - target), axis=axes)
    return error / (tf.reduce_sum(tf.square(target), axis=axes) + 1e-8)


def content_loss(features: Sequence[tf.Tensor], targets: Sequence[tf.Tensor]) -> tf.Tensor:
    """Per-example relative squared error between feature maps, averaged over layers."""
    return tf.add_n([relative_error(f, t) for f, t in zip(features, targets)]) / len(features)


def style_loss(features: Sequence[tf.Tensor], target_grams: Sequence[tf.Tensor]) -> tf.Tensor:
    """Per-example relative squared error between Gram matrices, averaged over layers."""
    errors = [relative_error(gram_matrix(f), g) for f, g in zip(features, target_grams)]
    return tf.add_n(errors) / len(errors)


def total_variation_loss(images: tf.Tensor) -> tf.Tensor:
    """Per-example mean absolute difference of neighbouring pixels (``tf.image.total_variation``
    divided by the number of pixels), which penalises high-frequency noise."""
    images = tf.convert_to_tensor(images)
    pixels = tf.cast(tf.reduce_prod(tf.shape(images)[1:]), images.dtype)
    return tf.image.total_variation(images) / pixels


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three terms of the style-transfer loss."""

    content: float = 1.0
    style: float = 10.0
    total_variation: float = 1.0


class _StyleTargets:
    """The VGG features of a style image and the loss that compares images with it."""

    def __init__(self, style_image, style_layers, content_layers, weights, loss_weights):
        self.extractor = vgg19_features([*style_layers, *content_layers], weights)
        self.num_style = len(style_layers)
        self.loss_weights = loss_weights
        style = self.features(_as_batch(style_image))[: self.num_style]
        self.grams = [gram_matrix(f) for f in style]

    def features(self, images) -> list[tf.Tensor]:
        out = self.extractor(images, training=False)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        return [tf.cast(f, tf.float32) for f in out]  # losses in float32 under mixed precision

    def losses(self, images, content_features) -> dict[str, tf.Tensor]:
        """Per-example loss terms of ``images`` against the style and ``content_features``."""
        features = self.features(images)
        images = tf.cast(images, tf.float32)
        terms = {
            "content": content_loss(features[self.num_style :], content_features),
            "style": style_loss(features[: self.num_style], self.grams),
            "total_variation": total_variation_loss(images),
        }
        w = self.loss_weights
        terms["loss"] = (
            w.content * terms["content"]
            + w.style * terms["style"]
            + w.total_variation * terms["total_variation"]
        )
        return terms


# --- Gatys et al.: optimise the image -------------------------------------------------------


@dataclass
class StyleTransferResult:
    """The styled image (``(h, w, 3)`` in [0, 1]) and each step's loss terms."""

    image: np.ndarray
    history: dict[str, list[float]] = field(default_factory=dict)
    path: Path | None = None


def stylize(
    content_image: np.ndarray,
    style_image: np.ndarray,
    *,
    steps: int = 300,
    learning_rate: float = 0.02,
    loss_weights: LossWeights = LossWeights(),
    weights: str | Path | None = "imagenet",
    style_layers: Sequence[str] = GATYS_STYLE_LAYERS,
    content_layers: Sequence[str] = GATYS_CONTENT_LAYERS,
    output: str | Path | None = None,
    progress: bool | int | str = "auto",
) -> StyleTransferResult:
    """Gatys et al.'s style transfer: gradient descent on the pixels, starting from the content.

    Args:
        content_image, style_image: ``(h, w, 3)`` RGB arrays in [0, 1] (sizes may differ).
        steps: Adam steps on the image; pixels are clipped to [0, 1] after each.
        learning_rate: Adam's step size in pixel units.
        loss_weights: weights of the content, style and total-variation terms.
        weights: VGG19 weights: ``"imagenet"``, a local file, or ``None`` (random).
        style_layers, content_layers: VGG19 layers of the two terms.
        output: write the result as a PNG here.
        progress: the live progress line of every custom loop
            (:class:`fdl_keras.training.progress.ProgressLine`): ``"auto"``, ``False``/0 silent,
            1 on a terminal, 2 a line every 10 s (logs).
    """
    targets = _StyleTargets(style_image, style_layers, content_layers, weights, loss_weights)
    content = _as_batch(content_image)
    content_features = targets.features(content)[targets.num_style :]
    image = tf.Variable(content)
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            terms = {
                k: tf.reduce_mean(v) for k, v in targets.losses(image, content_features).items()
            }
        optimizer.apply_gradients([(tape.gradient(terms["loss"], image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return terms

    from fdl_keras.training.progress import ProgressLine

    verbose = ("auto" if progress else 0) if isinstance(progress, bool) else progress
    line = ProgressLine(steps, verbose=verbose)
    history: dict[str, list[float]] = {}
    for i in range(steps):
        terms = {k: float(v) for k, v in step().items()}
        for k, v in terms.items():
            history.setdefault(k, []).append(v)
        line.update(i + 1, **{k: terms[k] for k in ("loss", "content", "style")})
    line.close()
    result = StyleTransferResult(image.numpy()[0], history)
    if output is not None:
        result.path = save_image(result.image, output)
    return result


# --- Johnson et al.: a feed-forward style network -------------------------------------------


@register(
    "fast_style_transfer",
    chapter=7,
    dataset="photos",  # natural images: Johnson et al. used MS-COCO
    task=StyleTransfer(),
    fit=FitConfig(learning_rate=1e-3, schedule="constant", epochs=2, batch_size=4),
    tiny={"image_shape": (16, 16, 3), "filters": (4, 8, 8), "residual_blocks": 1},
)
@serializable
class StyleTransferNet(OptimizerOnlyCompileConfig, ConfigModel):
    """Johnson et al.'s image transformation network: one pass applies one learned style.

    9x9 conv, two stride-2 convs, residual blocks, two 2x upsamplings, 9x9 conv to RGB in [0, 1];
    instance normalisation (:class:`~fdl_keras.layers.GroupNorm` with one group per channel,
    Ulyanov et al.) after every hidden convolution. Upsampling is nearest-neighbour resize +
    conv rather than the paper's transposed convolution, which avoids checkerboard artefacts
    (Odena et al. 2016).
    Height and width are free, so one exported model styles images of any size divisible by 4.

    Args:
        image_shape: ``(height, width, 3)``; ``None`` sizes accept any image.
        filters: widths of the three downsampling levels.
        residual_blocks: residual blocks at the lowest resolution.

    Example:
        >>> model = StyleTransferNet(filters=(8, 16, 16), residual_blocks=1)
        >>> model.output_shape
        (None, None, None, 3)
    """

    def __init__(
        self,
        image_shape: tuple[int | None, ...] = (None, None, 3),
        filters: tuple[int, int, int] = (32, 64, 128),
        residual_blocks: int = 5,
        **kwargs,
    ):
        arguments = dict(locals())
        if len(image_shape) != 3 or image_shape[-1] != 3:
            raise ValueError(f"image_shape must be (height, width, 3), got {image_shape}")
        if len(filters) != 3:
            raise ValueError(f"filters needs three widths, got {filters}")

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        x = _conv_norm_relu(inputs, filters[0], 9, 1, "down1")
        x = _conv_norm_relu(x, filters[1], 3, 2, "down2")
        x = _conv_norm_relu(x, filters[2], 3, 2, "down3")
        for i in range(residual_blocks):
            name = f"residual{i + 1}"
            y = _conv_norm_relu(x, filters[2], 3, 1, f"{name}_a")
            y = keras.layers.Conv2D(filters[2], 3, padding="same", name=f"{name}_b_conv")(y)
            y = instance_norm(filters[2], f"{name}_b_in")(y)
            x = keras.layers.Add(name=f"{name}_add")([x, y])
        for i, width in enumerate((filters[1], filters[0])):
            x = keras.layers.UpSampling2D(2, name=f"up{i + 1}_resize")(x)
            x = _conv_norm_relu(x, width, 3, 1, f"up{i + 1}")
        outputs = keras.layers.Conv2D(
            3, 9, padding="same", activation="sigmoid", name="styled_image"
        )(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)


def _conv_norm_relu(x, filters: int, kernel: int, stride: int, name: str):
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", name=f"{name}_conv")(x)
    x = instance_norm(filters, f"{name}_in")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


class PerceptualLoss(keras.losses.Loss):
    """Johnson et al.'s loss for ``fit(content, content)``: the styled output ``y_pred`` should
    keep the content features of ``y_true`` and take the Gram matrices of ``style_image``.

    Args:
        style_image: ``(h, w, 3)`` RGB in [0, 1].
        weights: VGG19 weights (``"imagenet"``, a local file, ``None`` for random).
        loss_weights: weights of the content, style and total-variation terms.
        style_layers, content_layers: VGG19 layers of the two terms.
    """

    def __init__(
        self,
        style_image: np.ndarray,
        *,
        weights: str | Path | None = "imagenet",
        loss_weights: LossWeights = LossWeights(),
        style_layers: Sequence[str] = JOHNSON_STYLE_LAYERS,
        content_layers: Sequence[str] = JOHNSON_CONTENT_LAYERS,
        name: str = "perceptual_loss",
    ):
        super().__init__(name=name)
        self.targets = _StyleTargets(
            style_image, style_layers, content_layers, weights, loss_weights
        )

    def call(self, y_true, y_pred):
        content = self.targets.features(y_true)[self.targets.num_style :]
        return self.targets.losses(y_pred, content)["loss"]


def train_style_network(
    model: keras.Model,
    content_images: np.ndarray,
    style_image: np.ndarray,
    *,
    epochs: int = 2,
    batch_size: int = 4,
    learning_rate: float = 1e-3,
    weights: str | Path | None = "imagenet",
    loss_weights: LossWeights = LossWeights(),
    seed: int = 0,
    verbose: int | str = "auto",
) -> dict[str, list[float]]:
    """Trains a :class:`StyleTransferNet` for one style with the perceptual loss (Adam).

    ``content_images`` are ``(n, h, w, 3)`` in [0, 1]; each is its own content target, so this
    is a plain ``model.fit(x, x)``. Returns the Keras history.
    """
    data = (
        tf.data.Dataset.from_tensor_slices((content_images, content_images))
        .shuffle(len(content_images), seed=seed)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    loss = PerceptualLoss(style_image, weights=weights, loss_weights=loss_weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model.fit(data, epochs=epochs, verbose=verbose, shuffle=False).history


# --- Images ---------------------------------------------------------------------------------


def resize(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """``image`` resized (area-averaged) so its shorter side is ``size``, or to ``(h, w)``."""
    h, w = image.shape[:2]
    if isinstance(size, int):
        scale = size / min(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return tf.image.resize(image, size, method="area").numpy()


def load_style_image(path: str | Path | None = None, size: int = 256) -> np.ndarray:
    """The style image of a style network: the file at ``path``, or scikit-learn's
    ``flower.jpg`` when None, resized so its shorter side is ``size``.

    Raises:
        FdlError: the file is missing or is not an image (one line naming it).
    """
    if path is None:
        return resize(sample_photos()["flower"], size)
    path = Path(path)
    if not path.is_file():
        raise FdlError(f"style image {path} not found; pass the path of a PNG or JPEG file")
    try:
        return load_image(path, size)
    except Exception as exc:  # noqa: BLE001 - PIL raises several types for a bad file
        raise FdlError(
            f"style image {path} is not a readable image ({type(exc).__name__}); pass a PNG/JPEG"
        ) from None


def load_image(path: str | Path, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Reads an image file as RGB float32 in [0, 1], optionally resized (see :func:`resize`)."""
    image = np.asarray(keras.utils.load_img(path, color_mode="rgb"), np.float32) / 255.0
    return resize(image, size) if size is not None else image


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Writes an ``(h, w, 3)`` image in [0, 1] as a PNG; returns the path."""
    import matplotlib.image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, np.clip(np.asarray(image), 0.0, 1.0))
    return path


def _as_batch(image) -> tf.Tensor:
    image = tf.convert_to_tensor(image, tf.float32)
    return image[None] if len(image.shape) == 3 else image
