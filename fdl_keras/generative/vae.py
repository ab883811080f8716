"""The variational autoencoder of chapter 10, on stochastically binarised MNIST.

An MLP encoder gives the Gaussian posterior q(z|x) = N(mu(x), diag(exp(log_var(x)))), a sample is
drawn by reparameterisation (``tfp.distributions.Normal`` is fully reparameterised), an MLP decoder
gives a Bernoulli likelihood p(x|z) over the pixels, and training maximises the evidence lower
bound ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) with the KL in closed form. Each example
draws its own noise (the book's code shared one sample across the batch) and the variance is
parameterised by its natural logarithm (the book's code used base 2).

The test negative log-likelihood is the importance-weighted estimate of Burda et al. with k
samples per image, log p(x) ~ log (1/k) sum_i p(x, z_i) / q(z_i|x), a bound that tightens as k
grows and is never looser than the ELBO for the same samples.

References: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014; Burda, Grosse &
Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016 (1-layer VAE on MNIST: 86.76 nats);
Salakhutdinov & Murray, "On the quantitative analysis of deep belief networks", ICML 2008
(stochastic binarisation); Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 10.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.generative.base import GenerativeModel, image_tensor
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable
from fdl_keras.tasks import Generative

if TYPE_CHECKING:
    from tensorflow_probability import distributions as tfd


def _distributions():
    """``tfp.distributions``, imported on first use: tfp adds seconds to ``import fdl_keras``."""
    from tensorflow_probability import distributions

    return distributions


@serializable
class VAEEncoder(ConfigModel):
    """MLP inference network: image -> (z_mean, z_log_var) of a diagonal Gaussian posterior.

    Args:
        image_shape: shape of one input image (height, width, channels).
        latent_dim: size of the latent code z.
        hidden_units: widths of the hidden layers.
        activation: activation of the hidden layers.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        latent_dim: int = 32,
        hidden_units: tuple[int, ...] = (512, 256),
        activation: str = "relu",
        **kwargs,
    ):
        arguments = dict(locals())
        _check(image_shape, latent_dim, hidden_units)

        # === Functional Model ===
        images = keras.Input(shape=tuple(image_shape), name="image")
        x = keras.layers.Flatten(name="flatten")(images)
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}")(x)
        z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
        z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
        super().__init__(inputs=images, outputs=[z_mean, z_log_var], **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class VAEDecoder(ConfigModel):
    """MLP generative network: latent code z -> Bernoulli logits of every pixel.

    Args:
        image_shape: shape of one output image (height, width, channels).
        latent_dim: size of the latent code z.
        hidden_units: widths of the hidden layers, from the latent side.
        activation: activation of the hidden layers.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        latent_dim: int = 32,
        hidden_units: tuple[int, ...] = (256, 512),
        activation: str = "relu",
        **kwargs,
    ):
        arguments = dict(locals())
        _check(image_shape, latent_dim, hidden_units)

        # === Functional Model ===
        latent = keras.Input(shape=(latent_dim,), name="latent")
        x = latent
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}")(x)
        x = keras.layers.Dense(math.prod(image_shape), name="pixel_logits")(x)
        logits = keras.layers.Reshape(tuple(image_shape), name="logits")(x)
        super().__init__(inputs=latent, outputs=logits, **kwargs)

        # === Config ===
        self._remember(arguments)


@register(
    "vae",
    chapter=10,
    dataset="mnist",
    task=Generative(),
    target=Target(
        "test_log_likelihood_nats",
        -100.0,
        "mnist",
        "IWAE estimate on binarised MNIST; Burda et al. 2016 1-layer VAE -86.76",
    ),
    fit=FitConfig(
        learning_rate=1e-3,
        schedule="constant",
        epochs=100,
        batch_size=100,
        # XLA: 1.3x the step rate on a CPU (benchmarks/cpu_defaults.py); its 6-7 s of
        # compiling a run is repaid from ~3,000 steps on (benchmarks/xla_short_runs.py).
        cpu_jit_compile=True,
        cpu_steps_per_execution=8,
        cpu_jit_min_steps=3000,
    ),
    tiny={"latent_dim": 2, "hidden_units": (16,)},
)
@serializable
class VAE(GenerativeModel):
    """Variational autoencoder: Gaussian posterior, Bernoulli likelihood, trained on the ELBO.

    The functional graph is the decoder with the latent noise as its input and the Bernoulli
    means (pixel probabilities) as output, so ``model.predict(model.noise_inputs(n))`` draws
    ``n`` samples and the exported files are deterministic. The encoder is ``model.encoder``.
    Train on binary images (:meth:`training_data` binarises a pipeline).

    Args:
        image_shape: shape of one image (height, width, channels).
        latent_dim: size of the latent code z.
        hidden_units: hidden widths of the encoder; the decoder mirrors them.
        activation: activation of the hidden layers.

    Example:
        >>> vae = VAE(latent_dim=2, hidden_units=(16,))
        >>> vae.predict(vae.noise_inputs(3), verbose=0).shape
        (3, 28, 28, 1)
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        latent_dim: int = 32,
        hidden_units: tuple[int, ...] = (512, 256),
        activation: str = "relu",
        **kwargs,
    ):
        arguments = dict(locals())
        _check(image_shape, latent_dim, hidden_units)
        encoder = VAEEncoder(image_shape, latent_dim, hidden_units, activation, name="encoder")
        decoder = VAEDecoder(
            image_shape, latent_dim, tuple(reversed(hidden_units)), activation, name="decoder"
        )

        # === Functional Model ===
        latent = keras.Input(shape=(latent_dim,), name="latent")
        logits = decoder(latent)
        probabilities = keras.layers.Activation("sigmoid", name="probabilities")(logits)
        super().__init__(inputs=latent, outputs=probabilities, **kwargs)

        # === Config ===
        self._remember(arguments)
        self.encoder = encoder
        self.decoder = decoder
        self.seed_generator = keras.random.SeedGenerator()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def submodels(self) -> dict[str, keras.Model]:
        """The networks with a use of their own, which export verifies like the model: the
        encoder (image -> posterior mean and log-variance) and the decoder (latent code ->
        pixel logits)."""
        return {"encoder": self.encoder, "decoder": self.decoder}

    # --- the probabilistic model -------------------------------------------------------------

    def prior(self) -> tfd.Distribution:
        """p(z) = N(0, I)."""
        tfd = _distributions()
        zeros = tf.zeros([self.encoder.get_config()["latent_dim"]])
        return tfd.Independent(tfd.Normal(zeros, 1.0), reinterpreted_batch_ndims=1)

    def posterior(self, images, training: bool = False) -> tfd.Distribution:
        """q(z|x): a diagonal Gaussian whose log-variance (natural log) the encoder predicts."""
        tfd = _distributions()
        # Distributions in float32 whatever the layers compute in (mixed precision).
        z_mean, z_log_var = (
            tf.cast(t, tf.float32) for t in self.encoder(images, training=training)
        )
        return tfd.Independent(
            tfd.Normal(z_mean, tf.exp(0.5 * z_log_var)), reinterpreted_batch_ndims=1
        )

    def likelihood(self, z, training: bool = False) -> tfd.Distribution:
        """p(x|z): independent Bernoulli pixels with the decoder's logits."""
        tfd = _distributions()
        logits = tf.cast(self.decoder(z, training=training), tf.float32)
        return tfd.Independent(
            tfd.Bernoulli(logits=logits, dtype=logits.dtype),
            reinterpreted_batch_ndims=len(self.decoder.get_config()["image_shape"]),
        )

    def elbo_terms(self, images, training: bool = False, seed=None):
        """Per-example ``(log p(x|z) for one z ~ q(z|x), KL(q(z|x) || p(z)))`` in nats."""
        posterior = self.posterior(images, training=training)
        z = posterior.sample(seed=seed)  # reparameterised: one draw per example
        log_likelihood = self.likelihood(z, training=training).log_prob(images)
        kl = _distributions().kl_divergence(posterior, self.prior())
        return log_likelihood, kl

    # --- training ----------------------------------------------------------------------------

    def train_step(self, data):
        images = image_tensor(data)
        with tf.GradientTape() as tape:
            log_likelihood, kl = self.elbo_terms(images, training=True, seed=self._seed())
            loss = -tf.reduce_mean(log_likelihood - kl)
            scaled = self.optimizer.scale_loss(loss)  # LossScaleOptimizer under mixed_float16
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._track(loss, log_likelihood, kl)

    def test_step(self, data):
        log_likelihood, kl = self.elbo_terms(image_tensor(data), seed=self._seed())
        return self._track(-tf.reduce_mean(log_likelihood - kl), log_likelihood, kl)

    def training_data(self, dataset, seed: int = 0, order=None, fresh: bool = True):
        """Binary images for ``fit``: a fresh stochastic binarisation every epoch (a function
        of the epoch when ``order``, the pipeline's ``EpochOrder``, is given), or with
        ``fresh=False`` the same binary images on every pass (validation and test: their
        losses compare across epochs, and a resumed run validates on the images the
        uninterrupted one did)."""
        order = order if fresh else None
        return binarize(dataset, seed=seed, resample_each_epoch=fresh, order=order).map(
            lambda x, y: x
        )

    def _track(self, loss, log_likelihood, kl) -> dict:
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(-tf.reduce_mean(log_likelihood))
        self.kl_tracker.update_state(tf.reduce_mean(kl))
        return {m.name: m.result() for m in self.metrics}

    def _seed(self):
        # A stateless seed for tfp, advanced on every call so each step draws new noise.
        return tf.cast(self.seed_generator.next(), tf.int32)


def binarize(dataset, seed: int = 0, resample_each_epoch: bool = True, order=None):
    """Stochastic binarisation in ``tf.data``: every pixel becomes 1 with its intensity.

    Maps a pipeline of ``(images, labels)`` batches with intensities in [0, 1] to binary images.
    With ``resample_each_epoch`` each pass draws new binary images (dynamic binarisation, a
    regulariser for training); otherwise every pass gives the same ones (for evaluation).
    With ``order`` (the :class:`~fdl_keras.data.pipeline.EpochOrder` driving ``dataset``) each
    pass's draws are a function of its epoch, so a resumed run sees the same images.
    """
    from fdl_keras.data.pipeline import pass_seeds

    seeds, batch_key = pass_seeds(seed, order, resample_each_epoch)

    def draw(batch_seed, batch):
        images, labels = batch
        uniform = tf.random.stateless_uniform(tf.shape(images), seed=batch_key(batch_seed))
        return tf.cast(uniform < images, images.dtype), labels

    return tf.data.Dataset.zip(seeds, dataset).map(draw, num_parallel_calls=tf.data.AUTOTUNE)


def binarize_images(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """A fixed stochastic binarisation of an image array (the evaluation set of a benchmark)."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=images.shape) < images).astype(np.float32)


def importance_weighted_bound(
    model: VAE, images: np.ndarray, *, num_samples: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Per-image IWAE and ELBO estimates of log p(x), in nats, from the same ``num_samples`` draws.

    ``iwae`` = log (1/k) sum_i w_i and ``elbo`` = (1/k) sum_i log w_i with
    w_i = p(x, z_i) / q(z_i|x), z_i ~ q(z|x); by Jensen ``iwae >= elbo`` for every image, and
    ``-mean(iwae)`` is the test negative log-likelihood estimate of Burda et al. Images are
    evaluated in chunks so that k x chunk decoder evaluations fit in memory.
    """
    tfd = _distributions()
    images = np.asarray(images, np.float32)
    chunk = max(1, 50_000 // num_samples)
    prior = model.prior()

    @tf.function(reduce_retracing=True)
    def log_weights(x, step_seed):
        posterior = model.posterior(x)
        z = posterior.sample(num_samples, seed=step_seed)  # (k, batch, latent)
        flat = tf.reshape(z, (-1, z.shape[-1]))
        logits = model.decoder(flat, training=False)
        logits = tf.reshape(logits, (num_samples, -1, *logits.shape[1:]))
        likelihood = tfd.Independent(
            tfd.Bernoulli(logits=logits, dtype=logits.dtype),
            reinterpreted_batch_ndims=len(logits.shape) - 2,
        )
        return likelihood.log_prob(x) + prior.log_prob(z) - posterior.log_prob(z)

    iwae, elbo = [], []
    for i, start in enumerate(range(0, len(images), chunk)):
        log_w = log_weights(images[start : start + chunk], tf.constant([seed, i], tf.int32))
        iwae.append(tf.reduce_logsumexp(log_w, axis=0) - math.log(num_samples))
        elbo.append(tf.reduce_mean(log_w, axis=0))
    return {"iwae": np.concatenate(iwae), "elbo": np.concatenate(elbo)}


def active_dimensions(model: VAE, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Activity of each latent unit, Cov_x(E_q[z_u]) (Burda et al. sec. 5.2), most active first.

    Returns ``(dims, activity)`` sorted by decreasing activity; units with activity < 1e-2 are
    the ones the model does not use.
    """
    z_mean, _ = model.encoder.predict(images, batch_size=batch_size, verbose=0)
    activity = np.var(z_mean, axis=0)
    order = np.argsort(-activity)
    return order, activity[order]


def latent_traversal(
    model: VAE,
    dims,
    values=None,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """Decoded images as one latent unit at a time sweeps ``values`` with the others at ``base``.

    Returns ``(len(dims), len(values), height, width, channels)`` pixel probabilities.
    """
    values = np.linspace(-3.0, 3.0, 9) if values is None else np.asarray(values)
    latent_dim = model.inputs[0].shape[-1]
    base = np.zeros(latent_dim, np.float32) if base is None else np.asarray(base, np.float32)
    z = np.tile(base, (len(dims), len(values), 1))
    for row, dim in enumerate(dims):
        z[row, :, dim] = values
    images = model.predict(z.reshape(-1, latent_dim), verbose=0)
    return images.reshape(len(dims), len(values), *images.shape[1:])


def _check(image_shape, latent_dim, hidden_units) -> None:
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    if any(u < 1 for u in hidden_units):
        raise ValueError(f"hidden_units must be positive, got {hidden_units}")
