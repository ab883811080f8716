"""Fast MNIST recipes: a small batch-normalised CNN trained in seconds on a CPU.

Not a system of the book but its chapter-7 network made cheap: three ``conv -> batch norm ->
ReLU`` stages whose strides (or 2x2 max-pools) shrink 28x28 to 4x4, an optional dense ReLU layer,
then the softmax.
Batch normalisation (Ioffe & Szegedy 2015) lets a large learning rate train it in one or two
epochs; a linear warm-up then cosine decay (Goyal et al. 2017; Loshchilov & Hutter 2017) keeps
that rate from diverging early, and label smoothing (Szegedy et al. 2016) lifts the short
runs' test accuracy by about 0.1 % (the loss they report is the smoothed one). ``mnist_fast``
also lowers Adam's second-moment decay to 0.99 (Kingma & Ba 2015 use 0.999), which lets its
2-epoch run keep its accuracy with half the dense layer. Width, batch size, schedule, epochs,
smoothing and augmentation of the two registry entries were chosen by measurement on a 2-core
CPU (``benchmarks/mnist_fast.py``, figures in ``benchmarks/RESULTS_speed.md``):

- ``mnist_fast``: >= 99.0 % test accuracy in <= 10 s of training and evaluation;
- ``mnist_fast_995``: >= 99.5 % within 120 s (wider, shifted images, more epochs).

Reference: Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 7; Ioffe &
Szegedy, "Batch Normalization", ICML 2015; Goyal et al., "Accurate, Large Minibatch SGD", 2017;
Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016; Kingma &
Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
"""

from __future__ import annotations

import keras

from fdl_keras.layers import FusedBatchNorm, classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable


@register(
    "mnist_fast",
    chapter=7,
    dataset="mnist",
    target=Target("accuracy", 0.990, "mnist", "<= 10 s training + evaluation, 2 CPU cores"),
    defaults={"dense_units": 256},
    fit=FitConfig(
        epochs=2,
        learning_rate=1.5e-2,
        optimizer_options={"beta_2": 0.99},
        batch_size=256,
        schedule="warmup_cosine",
        warmup=0.2,
        cpu_steps_per_execution=8,
        label_smoothing=0.05,
    ),
    tiny={"filters": (4, 8, 8), "dense_units": 8},
)
@register(
    "mnist_fast_995",
    chapter=7,
    dataset="mnist",
    target=Target("accuracy", 0.995, "mnist", "<= 120 s training + evaluation, 2 CPU cores"),
    defaults={"filters": (24, 48, 96), "dense_units": 512},
    fit=FitConfig(
        epochs=10,
        learning_rate=1e-2,
        batch_size=256,
        schedule="warmup_cosine",
        warmup=0.2,
        augment="shift",
        cpu_steps_per_execution=8,
        label_smoothing=0.1,
    ),
    tiny={"filters": (4, 8, 8), "dense_units": 8},
)
@serializable
class MnistFastNet(ConfigModel):
    """Three ``conv -> batch norm -> ReLU`` stages, each halving the image, then dense, softmax.

    Args:
        image_shape: shape of one input image (height, width, channels).
        num_classes: output classes.
        filters: filters of the three stages.
        first_kernel: kernel size of the first convolution (the others are 3x3).
        downsample: ``"stride"`` (every convolution has stride 2) or ``"pool"`` (the first
            has stride 2, the other two are followed by a 2x2 max-pool).
        momentum: batch-norm moving-average momentum (0.9: short runs need quick statistics).
        dense_units: width of a ReLU layer before the softmax (0: none).
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = MnistFastNet(filters=(4, 8, 8))
        >>> model.output_shape
        (None, 10)
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        num_classes: int = 10,
        filters: tuple[int, ...] = (16, 32, 64),
        first_kernel: int = 5,
        downsample: str = "stride",
        momentum: float = 0.9,
        dense_units: int = 0,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
        if downsample not in ("stride", "pool"):
            raise ValueError(f"downsample must be 'stride' or 'pool', got {downsample!r}")

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        x = inputs
        for i, n in enumerate(filters):
            stride = 2 if i == 0 or downsample == "stride" else 1
            x = keras.layers.Conv2D(
                n,
                first_kernel if i == 0 else 3,
                strides=stride,
                padding="same",
                use_bias=False,
                name=f"conv_{i + 1}",
            )(x)
            x = FusedBatchNorm(momentum=momentum, name=f"bn_{i + 1}")(x)
            x = keras.layers.ReLU(name=f"relu_{i + 1}")(x)
            if i > 0 and downsample == "pool":
                x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool_{i + 1}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        if dense_units:
            x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
        outputs = classification_head(x, num_classes, output_activation)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)
