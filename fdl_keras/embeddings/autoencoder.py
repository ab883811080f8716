"""Autoencoders of chapter 8: the deep autoencoder, its denoising and sparse variants.

- Deep autoencoder (Hinton & Salakhutdinov 2006): 784-1000-500-250-k encoder, a mirrored decoder,
  a linear code. Trained end to end with Adam and ReLU units instead of their RBM pre-training
  of logistic units; the book's own code never called backward.
- Denoising (Vincent et al. 2008): the same network fed corrupted images — masking noise (a
  fraction of pixels zeroed) or Gaussian noise — and trained to give back the clean ones. The
  corruption happens in ``tf.data`` (:func:`corrupt`), never inside the model's graph.
- Sparse: a KL penalty keeping each sigmoid code unit's mean activation near ``rho`` (Ng's
  CS294A notes), or the k-sparse code of Makhzani & Frey (2014) that keeps the ``k`` largest
  units per image (:mod:`fdl_keras.layers.sparsity`).

The encoder and decoder are functional models of their own (``model.submodels()``); the
trainable model chains them, and each exports with parity.

References: Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks",
Science 2006; Vincent, Larochelle, Bengio & Manzagol, "Extracting and Composing Robust Features
with Denoising Autoencoders", ICML 2008; Makhzani & Frey, "k-Sparse Autoencoders", ICLR 2014;
Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 8.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.layers.sparsity import KLSparsity, KSparse
from fdl_keras.registry import FitConfig, register
from fdl_keras.serialization import ConfigModel, serializable
from fdl_keras.tasks import Reconstruction, real_images

NOISES = ("masking", "gaussian")
#: The three MNIST autoencoders' training; on a CPU with XLA and 8 steps a call, measured
#: 1.4-1.9x the step rate of Keras' defaults (benchmarks/cpu_defaults.py). XLA compiles for
#: 3-7 s a run, so only runs of ``cpu_jit_min_steps`` or more use it: whole runs with XLA
#: caught up at 420-600 steps for the two deep autoencoders, ~1,700 for the sparse one
#: (benchmarks/xla_short_runs.py).
AUTOENCODER_FIT = FitConfig(
    learning_rate=1e-3,
    epochs=20,
    batch_size=128,
    cpu_jit_compile=True,
    cpu_steps_per_execution=8,
    cpu_jit_min_steps=500,
)


@serializable
class AutoencoderEncoder(ConfigModel):
    """Image -> code: dense hidden layers, then the code layer (optionally sparse).

    Args:
        image_shape: shape of one image.
        code_dim: size of the code.
        hidden_units: widths of the hidden layers.
        activation: activation of the hidden layers.
        code_activation: activation of the code layer (``linear`` as Hinton & Salakhutdinov,
            ``sigmoid`` for the KL penalty).
        sparsity_target: ``rho`` of the KL sparsity penalty on the code (None: no penalty).
        sparsity_weight: ``beta`` of that penalty.
        k_sparse: keep only the ``k`` largest code units of each image (None: all).
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        code_dim: int = 30,
        hidden_units: tuple[int, ...] = (1000, 500, 250),
        activation: str = "relu",
        code_activation: str = "linear",
        sparsity_target: float | None = None,
        sparsity_weight: float = 3.0,
        k_sparse: int | None = None,
        **kwargs,
    ):
        arguments = dict(locals())
        _check(image_shape, code_dim, hidden_units, k_sparse)

        # === Functional Model ===
        images = keras.Input(shape=tuple(image_shape), name="image")
        x = keras.layers.Flatten(name="flatten")(images)
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}")(x)
        regularizer = (
            None if sparsity_target is None else KLSparsity(sparsity_target, sparsity_weight)
        )
        code = keras.layers.Dense(
            code_dim, activation=code_activation, activity_regularizer=regularizer, name="code"
        )(x)
        if k_sparse is not None:
            code = KSparse(k_sparse, name="k_sparse")(code)
        super().__init__(inputs=images, outputs=code, **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class AutoencoderDecoder(ConfigModel):
    """Code -> image: dense hidden layers, then one unit per pixel.

    Args:
        image_shape: shape of one image.
        code_dim: size of the code.
        hidden_units: widths of the hidden layers, from the code side.
        activation: activation of the hidden layers.
        output_activation: ``sigmoid`` for pixels in [0, 1]; ``linear`` for PCA's decoder.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        code_dim: int = 30,
        hidden_units: tuple[int, ...] = (250, 500, 1000),
        activation: str = "relu",
        output_activation: str = "sigmoid",
        **kwargs,
    ):
        arguments = dict(locals())
        _check(image_shape, code_dim, hidden_units, None)

        # === Functional Model ===
        code = keras.Input(shape=(code_dim,), name="code")
        x = code
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}")(x)
        x = keras.layers.Dense(math.prod(image_shape), output_activation, name="pixels")(x)
        images = keras.layers.Reshape(tuple(image_shape), name="reconstruction")(x)
        super().__init__(inputs=code, outputs=images, **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class Autoencoder(ConfigModel):
    """Encoder and decoder joined into one trainable image -> image model.

    The decoder mirrors the encoder's hidden widths. ``model.encoder`` maps images to codes,
    ``model.decoder`` codes to images (``submodels()``).

    Args:
        image_shape: shape of one image (height, width, channels).
        code_dim: size of the code (Hinton & Salakhutdinov: 30; 2 for a scatter plot).
        hidden_units: encoder widths (the book's 1000, 500, 250); ``()`` for one layer.
        activation: activation of the hidden layers.
        code_activation: activation of the code layer.
        output_activation: activation of the output pixels.
        sparsity_target: ``rho`` of a KL sparsity penalty on the code (None: none).
        sparsity_weight: ``beta`` of that penalty.
        k_sparse: keep the ``k`` largest code units per image (None: all).

    Example:
        >>> model = Autoencoder(code_dim=2, hidden_units=(16,))
        >>> model.encoder.predict(np.zeros((1, 28, 28, 1)), verbose=0).shape
        (1, 2)
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        code_dim: int = 30,
        hidden_units: tuple[int, ...] = (1000, 500, 250),
        activation: str = "relu",
        code_activation: str = "linear",
        output_activation: str = "sigmoid",
        sparsity_target: float | None = None,
        sparsity_weight: float = 3.0,
        k_sparse: int | None = None,
        **kwargs,
    ):
        arguments = dict(locals())
        encoder = AutoencoderEncoder(
            image_shape,
            code_dim,
            hidden_units,
            activation,
            code_activation,
            sparsity_target,
            sparsity_weight,
            k_sparse,
            name="encoder",
        )
        decoder = AutoencoderDecoder(
            image_shape,
            code_dim,
            tuple(reversed(hidden_units)),
            activation,
            output_activation,
            name="decoder",
        )

        # === Functional Model ===
        images = keras.Input(shape=tuple(image_shape), name="image")
        reconstruction = decoder(encoder(images))
        super().__init__(inputs=images, outputs=reconstruction, **kwargs)

        # === Config ===
        self._remember(arguments)
        self.encoder = encoder
        self.decoder = decoder

    def submodels(self) -> dict[str, keras.Model]:
        """The encoder (image -> code) and the decoder (code -> image), exported on their own."""
        return {"encoder": self.encoder, "decoder": self.decoder}


@keras.saving.register_keras_serializable(package="fdl_keras")
def squared_error_per_image(y_true, y_pred):
    """Sum over the pixels of the squared error (Hinton & Salakhutdinov's figure of merit)."""
    y_pred = keras.ops.cast(y_pred, "float32")  # a 16-bit model's output (mixed precision)
    error = keras.ops.square(keras.ops.cast(y_true, "float32") - y_pred)
    return keras.ops.sum(keras.ops.reshape(error, (keras.ops.shape(error)[0], -1)), axis=1)


class AutoencoderTask(Reconstruction):
    """Reconstruction with the squared error per image as metric.

    The example batch for the model contract is ``(images, (images, codes))``: the target is the
    images; their codes ride along so the decoder sub-model is verified on real codes.
    """

    def metrics(self, model):
        return (squared_error_per_image,)

    def example_batch(self, spec, model, size=8):
        images, _ = real_images(spec.dataset, model, size)
        codes = model.encoder.predict_on_batch(images)
        return images, (images, np.asarray(codes))

    def contract_step(self, spec, model, x, y):
        target = y[0] if isinstance(y, tuple) else y
        return super().contract_step(spec, model, x, target)


class DenoisingTask(AutoencoderTask):
    """A denoising autoencoder's pairs: ``(corrupted images, clean images)``.

    Args:
        noise: ``masking`` (each pixel zeroed with probability ``level``) or ``gaussian``
            (``level`` is the standard deviation; results are clipped to [0, 1]).
        level: the noise level.
    """

    def __init__(self, noise: str = "masking", level: float = 0.3):
        check_noise(noise, level)
        self.noise, self.level = noise, level

    def describe(self, spec):
        return {**super().describe(spec), "noise": f"{self.noise} {self.level:g} (in tf.data)"}

    def pairs(self, spec, model, data, seed=0):
        def noisy(split, offset, fresh, order=None):
            return split and corrupt(
                split,
                self.noise,
                self.level,
                seed=seed + offset,
                resample_each_epoch=fresh,
                order=order,
            )

        return (
            noisy(data.train, 0, True, data.order),
            noisy(data.validation, 1, False),
            noisy(data.test, 2, False),
        )


def check_noise(noise: str, level: float) -> None:
    from fdl_keras.errors import InvalidInputError

    if noise not in NOISES:
        raise InvalidInputError(f"noise must be one of {', '.join(NOISES)}, got {noise!r}")
    top = 1.0 if noise == "masking" else np.inf
    if not 0.0 <= level < top:
        raise InvalidInputError(f"{noise} noise level must be in [0, {top:g}), got {level}")


def corrupt(
    dataset, noise: str, level: float, *, seed: int = 0, resample_each_epoch=True, order=None
):
    """``(images, labels)`` batches -> ``(corrupted images, clean images)``, in ``tf.data``.

    With ``resample_each_epoch`` every pass draws new noise (training), a function of the epoch
    when ``dataset`` is driven by an :class:`~fdl_keras.data.pipeline.EpochOrder` passed as
    ``order`` (exact resume); otherwise each pass gives the same corrupted images (evaluation).
    """
    from fdl_keras.data.pipeline import pass_seeds

    check_noise(noise, level)
    seeds, batch_key = pass_seeds(seed, order, resample_each_epoch)

    def draw(batch_seed, batch):
        images = batch[0]
        key = batch_key(batch_seed)
        if noise == "masking":
            kept = tf.random.stateless_uniform(tf.shape(images), seed=key) >= level
            noisy = images * tf.cast(kept, images.dtype)
        else:
            gaussian = tf.random.stateless_normal(tf.shape(images), seed=key, stddev=level)
            noisy = tf.clip_by_value(images + tf.cast(gaussian, images.dtype), 0.0, 1.0)
        return noisy, images

    return tf.data.Dataset.zip(seeds, dataset).map(draw, num_parallel_calls=tf.data.AUTOTUNE)


def corrupt_images(images: np.ndarray, noise: str, level: float, seed: int = 0) -> np.ndarray:
    """The same corruption on an array (a fixed noisy test set for a benchmark or a plot)."""
    check_noise(noise, level)
    rng = np.random.default_rng(seed)
    if noise == "masking":
        return (images * (rng.uniform(size=images.shape) >= level)).astype(np.float32)
    return np.clip(images + rng.normal(0.0, level, images.shape), 0.0, 1.0).astype(np.float32)


def psnr(clean: np.ndarray, other: np.ndarray) -> float:
    """Mean peak signal-to-noise ratio in dB over images with pixels in [0, 1]."""
    axes = tuple(range(1, clean.ndim))
    mse = np.mean((np.asarray(clean) - np.asarray(other)) ** 2, axis=axes)
    return float(np.mean(10.0 * np.log10(1.0 / np.maximum(mse, 1e-10))))


def mean_activation(model: Autoencoder, images: np.ndarray) -> np.ndarray:
    """Each code unit's mean activation over ``images`` (compare with ``sparsity_target``)."""
    return np.asarray(model.encoder.predict(images, batch_size=1000, verbose=0)).mean(axis=0)


def filters(model: Autoencoder) -> np.ndarray:
    """The first encoder layer's weights as images, ``(units, height, width)``, for a grid."""
    kernel = np.asarray(model.encoder.layers[2].kernel)  # input, flatten, first dense
    height, width = model.get_config()["image_shape"][:2]
    return kernel.T.reshape(-1, height, width)


def _check(image_shape, code_dim, hidden_units, k_sparse) -> None:
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
    if code_dim < 1:
        raise ValueError(f"code_dim must be >= 1, got {code_dim}")
    if any(u < 1 for u in hidden_units):
        raise ValueError(f"hidden_units must all be >= 1, got {hidden_units}")
    if k_sparse is not None and not 1 <= k_sparse <= code_dim:
        raise ValueError(f"k_sparse must be in [1, code_dim={code_dim}], got {k_sparse}")


# --- the registered systems -------------------------------------------------------------------

register(
    "autoencoder_mnist",
    chapter=8,
    builder=Autoencoder,
    dataset="mnist",
    task=AutoencoderTask(),
    fit=AUTOENCODER_FIT,
    tiny={"hidden_units": (16,), "code_dim": 2},
    summary="Deep autoencoder 784-1000-500-250-k (Hinton & Salakhutdinov 2006), k=30 by default",
)
register(
    "denoising_autoencoder_mnist",
    chapter=8,
    builder=Autoencoder,
    dataset="mnist",
    task=DenoisingTask("masking", 0.3),
    fit=AUTOENCODER_FIT,
    defaults={"hidden_units": (500, 250), "code_dim": 64},
    tiny={"hidden_units": (16,), "code_dim": 4},
    summary="Denoising autoencoder (Vincent et al. 2008): 30 % masking noise added in tf.data",
)
register(
    "sparse_autoencoder_mnist",
    chapter=8,
    builder=Autoencoder,
    dataset="mnist",
    task=AutoencoderTask(),
    fit=dataclasses.replace(AUTOENCODER_FIT, cpu_jit_min_steps=2000),
    defaults={
        "hidden_units": (),
        "code_dim": 196,
        "code_activation": "sigmoid",
        "sparsity_target": 0.05,
        "sparsity_weight": 3.0,
    },
    tiny={"code_dim": 16, "sparsity_target": 0.1},
    summary="Sparse autoencoder: 196 sigmoid units, KL penalty to rho = 0.05 (or k_sparse=K)",
)
