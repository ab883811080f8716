"""The MNIST convolutional network of chapter 7.

conv 5x5x32 (same) -> max-pool 2 -> conv 5x5x64 (same) -> max-pool 2 -> dense 1024 ReLU ->
dropout 0.5 -> 10-way softmax: the network of the book's section "Building a Convolutional
Network for MNIST" (also TensorFlow's "Deep MNIST for experts").
Reference: Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 7;
LeCun et al., "Gradient-based learning applied to document recognition", Proc. IEEE 1998.
"""

from __future__ import annotations

import keras

from fdl_keras.layers import classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable


@register(
    "mnist_cnn",
    chapter=7,
    dataset="mnist",
    target=Target("accuracy", 0.993, "mnist", "Keras reference CNN 99.25%; book 99.4%"),
    fit=FitConfig(epochs=15, learning_rate=1e-3, batch_size=128, augment="shift"),
    tiny={"filters": (4, 8), "dense_units": 16},
)
@serializable
class MnistConvNet(ConfigModel):
    """The book's MNIST CNN: two 5x5 conv + pool stages, dense 1024, dropout 0.5, softmax.

    Args:
        image_shape: shape of one input image (height, width, channels).
        num_classes: output classes.
        filters: filters of the two convolution stages.
        kernel_size: square convolution kernel size.
        dense_units: width of the fully connected layer.
        dropout: dropout rate before the output layer.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = MnistConvNet(filters=(8, 16), dense_units=32)
        >>> model.output_shape
        (None, 10)
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        num_classes: int = 10,
        filters: tuple[int, int] = (32, 64),
        kernel_size: int = 5,
        dense_units: int = 1024,
        dropout: float = 0.5,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        x = inputs
        for i, n in enumerate(filters):
            x = keras.layers.Conv2D(
                n, kernel_size, padding="same", activation="relu", name=f"conv_{i + 1}"
            )(x)
            x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool_{i + 1}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
        outputs = classification_head(x, num_classes, output_activation, dropout=dropout)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)
