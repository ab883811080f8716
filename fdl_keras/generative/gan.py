"""The deep convolutional GAN of chapter 10, on MNIST.

A generator maps latent noise z ~ N(0, I) through a dense layer and strided transposed
convolutions (batch norm and ReLU between them, tanh at the end) to an image; a discriminator of
strided convolutions with leaky ReLU scores images as real or generated. Both are trained
simultaneously with Adam (lr 2e-4, beta_1 0.5) on the non-saturating losses
d_loss = -log D(x) - log(1 - D(G(z))) and g_loss = -log D(G(z)). Images are in [0, 1] outside the
networks: the generator rescales its tanh output and the discriminator maps its input to [-1, 1].

Under a ``mixed_float16`` policy both optimizers are wrapped in ``keras.optimizers.
LossScaleOptimizer`` (the losses are scaled before differentiation and the gradients unscaled,
with steps of non-finite gradients skipped); the logits and images stay float32.

References: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014; Radford, Metz &
Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative Adversarial
Networks", ICLR 2016; Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 10.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from fdl_keras.generative.base import GenerativeModel, image_tensor
from fdl_keras.layers import FusedBatchNorm
from fdl_keras.registry import FitConfig, register
from fdl_keras.serialization import ConfigModel, serializable
from fdl_keras.tasks import Generative


@serializable
class DCGANGenerator(ConfigModel):
    """Latent noise -> image in [0, 1]: dense, then stride-2 transposed convolutions.

    Args:
        image_shape: shape of one generated image; height and width must be divisible by
            ``2 ** (len(filters) - 1)``.
        latent_dim: size of the noise vector.
        filters: channels at each resolution, coarsest first (the dense layer produces the
            first, each transposed convolution doubles the resolution).
        kernel_size: transposed-convolution kernel size.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        latent_dim: int = 64,
        filters: tuple[int, ...] = (128, 64, 32),
        kernel_size: int = 4,
        **kwargs,
    ):
        arguments = dict(locals())
        height, width = _base_size(image_shape, filters)

        # === Functional Model ===
        latent = keras.Input(shape=(latent_dim,), name="latent")
        x = keras.layers.Dense(height * width * filters[0], use_bias=False, name="project")(latent)
        x = keras.layers.BatchNormalization(name="project_bn")(x)
        x = keras.layers.ReLU(name="project_relu")(x)
        x = keras.layers.Reshape((height, width, filters[0]), name="reshape")(x)
        for i, n in enumerate(filters[1:]):
            x = keras.layers.Conv2DTranspose(
                n, kernel_size, strides=2, padding="same", use_bias=False, name=f"up_{i + 1}"
            )(x)
            x = FusedBatchNorm(name=f"up_{i + 1}_bn")(x)
            x = keras.layers.ReLU(name=f"up_{i + 1}_relu")(x)
        x = keras.layers.Conv2D(
            image_shape[-1], 3, padding="same", activation="tanh", dtype="float32", name="to_image"
        )(x)
        image = keras.layers.Rescaling(0.5, offset=0.5, dtype="float32", name="image")(x)
        super().__init__(inputs=latent, outputs=image, **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class DCGANDiscriminator(ConfigModel):
    """Image in [0, 1] -> logit of "real": stride-2 convolutions with leaky ReLU.

    Args:
        image_shape: shape of one image.
        filters: channels of the strided convolutions.
        kernel_size: convolution kernel size.
        dropout: dropout rate before the logit.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        filters: tuple[int, ...] = (64, 128),
        kernel_size: int = 4,
        dropout: float = 0.3,
        **kwargs,
    ):
        arguments = dict(locals())
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        # === Functional Model ===
        image = keras.Input(shape=tuple(image_shape), name="image")
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_symmetric")(image)
        for i, n in enumerate(filters):
            x = keras.layers.Conv2D(
                n, kernel_size, strides=2, padding="same", name=f"conv_{i + 1}"
            )(x)
            x = keras.layers.LeakyReLU(0.2, name=f"conv_{i + 1}_lrelu")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
        logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
        super().__init__(inputs=image, outputs=logit, **kwargs)

        # === Config ===
        self._remember(arguments)


@register(
    "dcgan",
    chapter=10,
    dataset="mnist",
    task=Generative(),
    fit=FitConfig(
        learning_rate=2e-4,
        schedule="constant",
        epochs=20,
        batch_size=128,
    ),
    tiny={"latent_dim": 8, "generator_filters": (8, 8, 4), "discriminator_filters": (4, 8)},
)
@serializable
class GAN(GenerativeModel):
    """DCGAN: a generator and a discriminator trained against each other.

    The functional graph is the generator (latent noise in, image in [0, 1] out), so
    ``model.predict(model.noise_inputs(n))`` draws ``n`` samples and exports are deterministic;
    the discriminator is ``model.discriminator``.

    Args:
        image_shape: shape of one image.
        latent_dim: size of the noise vector.
        generator_filters: channels of the generator, coarsest first.
        discriminator_filters: channels of the discriminator's strided convolutions.
        dropout: discriminator dropout rate.

    Example:
        >>> gan = GAN(latent_dim=8, generator_filters=(8, 8, 4), discriminator_filters=(4, 8))
        >>> gan.predict(gan.noise_inputs(2), verbose=0).shape
        (2, 28, 28, 1)
    """

    default_learning_rate = 2e-4
    #: The loss that a few training steps on one batch must lower (the model contract): the
    #: discriminator's. The generator's loss measures how well it fools its adversary, which
    #: gets better at the same time, so it may rise while the generator learns.
    contract_loss = "d_loss"

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        latent_dim: int = 64,
        generator_filters: tuple[int, ...] = (128, 64, 32),
        discriminator_filters: tuple[int, ...] = (64, 128),
        dropout: float = 0.3,
        **kwargs,
    ):
        arguments = dict(locals())
        generator = DCGANGenerator(image_shape, latent_dim, generator_filters, name="generator")
        discriminator = DCGANDiscriminator(
            image_shape, discriminator_filters, dropout=dropout, name="discriminator"
        )

        # === Functional Model ===
        latent = keras.Input(shape=(latent_dim,), name="latent")
        image = generator(latent)
        super().__init__(inputs=latent, outputs=image, **kwargs)

        # === Config ===
        self._remember(arguments)
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator()
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self) -> list:
        return [self.d_loss_tracker, self.g_loss_tracker]

    def submodels(self) -> dict[str, keras.Model]:
        """The networks with a use of their own, which export verifies like the model: the
        generator (latent noise -> image) and the discriminator (image -> logit of "real")."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        learning_rate: float | None = None,
        **kwargs,
    ) -> None:
        """Adam(``learning_rate``, beta_1=0.5) for each network unless given.

        Under a ``mixed_float16`` policy both are wrapped in ``LossScaleOptimizer``.
        """
        lr = learning_rate or self.default_learning_rate
        optimizers = []
        for optimizer, name in ((d_optimizer, "d_adam"), (g_optimizer, "g_adam")):
            optimizer = optimizer or keras.optimizers.Adam(lr, beta_1=0.5, name=name)
            mixed = self.dtype_policy.name == "mixed_float16"
            if mixed and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizers.append(optimizer)
        self.d_optimizer, self.g_optimizer = optimizers
        kwargs.pop("optimizer", None)  # the generator's optimizer is the model's
        super().compile(optimizer=self.g_optimizer, **kwargs)

    def get_compile_config(self) -> dict | None:
        if not self.compiled:
            return None
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
        }

    def compile_from_config(self, config: dict) -> None:
        self.compile(
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
        )
        if self.built:
            for attribute, variables in self.optimizer_variables().items():
                getattr(self, attribute).build(variables)

    def optimizer_variables(self) -> dict[str, list]:
        """Each optimizer's attribute and the variables it trains: the discriminator's and the
        generator's own (not the model's whole list, which ``optimizer`` would get)."""
        return {
            "d_optimizer": self.discriminator.trainable_variables,
            "g_optimizer": self.generator.trainable_variables,
        }

    def train_step(self, data):
        real = image_tensor(data)
        latent = self._latent(tf.shape(real)[0])
        # Both networks step at once from the same generated batch (one generator pass).
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            d_loss, g_loss = self.adversarial_losses(real, latent, training=True)
            d_scaled = self.d_optimizer.scale_loss(d_loss)
            g_scaled = self.g_optimizer.scale_loss(g_loss)
        d_weights = self.discriminator.trainable_weights
        g_weights = self.generator.trainable_weights
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_weights), d_weights))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_weights), g_weights))
        return self._track(d_loss, g_loss)

    def test_step(self, data):
        real = image_tensor(data)
        latent = self._latent(tf.shape(real)[0])
        return self._track(*self.adversarial_losses(real, latent, training=False))

    def adversarial_losses(self, real, latent, training: bool):
        fake = self.generator(latent, training=training)
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(fake, training=training)
        d_loss = self.cross_entropy(tf.ones_like(real_logits), real_logits) + self.cross_entropy(
            tf.zeros_like(fake_logits), fake_logits
        )
        g_loss = self.cross_entropy(tf.ones_like(fake_logits), fake_logits)  # non-saturating
        return d_loss, g_loss

    def _latent(self, batch_size):
        latent_dim = self.generator.get_config()["latent_dim"]
        return keras.random.normal((batch_size, latent_dim), seed=self.seed_generator)

    def _track(self, d_loss, g_loss) -> dict:
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def _base_size(image_shape, filters) -> tuple[int, int]:
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
    factor = 2 ** (len(filters) - 1)
    height, width = image_shape[:2]
    if height % factor or width % factor:
        raise ValueError(
            f"image_shape {tuple(image_shape)} must be divisible by {factor} for "
            f"{len(filters)} generator stages (filters={tuple(filters)})"
        )
    return height // factor, width // factor
