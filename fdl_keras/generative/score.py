"""The score-based generative model of chapter 10: a noise-conditional score network (NCSN).

A U-Net s(x, sigma) estimates the score grad_x log p_sigma(x) of the data distribution blurred
by Gaussian noise of level sigma, for a geometric schedule sigma_1 > ... > sigma_L. It is
trained by denoising score matching: for x~ = x + sigma * eps the score of the noising kernel is
-eps / sigma, and with the weight lambda(sigma) = sigma^2 of Song & Ermon the loss is
0.5 * ||sigma * s(x~, sigma) + eps||^2 with sigma drawn uniformly from the schedule. Sampling is
annealed Langevin dynamics (their Algorithm 1), :func:`annealed_langevin_dynamics`, a function
outside the model that only needs a score function, so the same loop runs the Keras model or
the exported ONNX file (:func:`onnx_score_fn`) and, fed the same noise, gives the same samples.

Deviations from the 2019 paper, both from Song & Ermon 2020: the network's output is divided by
sigma (their technique 3, instead of conditional instance norm) and an optional final denoising
step x + sigma_L^2 s(x, sigma_L) (Tweedie's formula) removes the last level's noise. The noise
level enters as an explicit input (``noise_level``), its logarithm embedded by a dense layer and
added to every block.

References: Song & Ermon, "Generative Modeling by Estimating Gradients of the Data
Distribution", NeurIPS 2019; Song & Ermon, "Improved Techniques for Training Score-Based
Generative Models", NeurIPS 2020; Vincent, "A Connection Between Score Matching and Denoising
Autoencoders", Neural Computation 2011; Buduma, Buduma & Papa, *Fundamentals of Deep Learning*
(2nd ed.), ch. 10.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.generative.base import GenerativeModel, image_tensor
from fdl_keras.layers import GroupNorm
from fdl_keras.registry import FitConfig, register
from fdl_keras.serialization import serializable
from fdl_keras.tasks import Generative

ScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def noise_levels(sigma_max: float, sigma_min: float, num_levels: int) -> np.ndarray:
    """The geometric schedule sigma_1 = sigma_max > ... > sigma_L = sigma_min (float32)."""
    return np.geomspace(sigma_max, sigma_min, num_levels).astype(np.float32)


@register(
    "ncsn",
    chapter=10,
    dataset="mnist",
    task=Generative(),
    fit=FitConfig(
        learning_rate=1e-3,
        schedule="constant",
        epochs=20,
        batch_size=128,
        # XLA (the model's own compile default) from 50 steps on: its compile time is repaid
        # after ~45 steps of the chapter's U-Net (benchmarks/speed_xla_ncsn.py, RESULTS_speed).
        cpu_jit_compile=True,
        cpu_jit_min_steps=50,
    ),
    tiny={"filters": (8, 8), "embedding_dim": 8, "sigma_max": 1.0, "num_levels": 4},
)
@serializable
class NoiseConditionalScoreNetwork(GenerativeModel):
    """Noise-conditional score network s(x, sigma), trained by denoising score matching.

    Inputs ``image`` (a noisy image) and ``noise_level`` (sigma, shape ``(batch, 1)``); output
    the estimated score, same shape as the image. ``noise_inputs`` gives the start of annealed
    Langevin sampling: uniform noise and sigma_1.

    Args:
        image_shape: shape of one image; height and width divisible by
            ``2 ** (len(filters) - 1)``.
        filters: channels of the U-Net at each resolution, finest first.
        embedding_dim: width of the noise-level embedding.
        sigma_max, sigma_min, num_levels: the geometric noise schedule used in training.
            sigma_max = 10 is about the largest distance between two MNIST images (Song &
            Ermon 2020, technique 1), and 100 levels overlap enough for every sampler here.

    Example:
        >>> net = NoiseConditionalScoreNetwork(filters=(8, 8), embedding_dim=8, num_levels=4)
        >>> [a.shape for a in net.noise_inputs(2)]
        [(2, 28, 28, 1), (2, 1)]
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        filters: tuple[int, ...] = (32, 64, 64),
        embedding_dim: int = 64,
        sigma_max: float = 10.0,
        sigma_min: float = 0.01,
        num_levels: int = 100,
        **kwargs,
    ):
        arguments = dict(locals())
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
        factor = 2 ** (len(filters) - 1)
        if image_shape[0] % factor or image_shape[1] % factor:
            raise ValueError(
                f"image_shape {tuple(image_shape)} must be divisible by {factor} for "
                f"{len(filters)} U-Net levels (filters={tuple(filters)})"
            )
        if not 0 < sigma_min < sigma_max or num_levels < 2:
            raise ValueError(
                f"need 0 < sigma_min < sigma_max and num_levels >= 2, got sigma_min={sigma_min}, "
                f"sigma_max={sigma_max}, num_levels={num_levels}"
            )

        # === Functional Model ===
        image = keras.Input(shape=tuple(image_shape), name="image")
        noise_level = keras.Input(shape=(1,), name="noise_level")
        embedding = keras.layers.Dense(embedding_dim, activation="swish", name="sigma_embedding")(
            keras.ops.log(noise_level)
        )
        x = keras.layers.Conv2D(filters[0], 3, padding="same", name="stem")(image)
        skips = []
        for level, n in enumerate(filters):
            if level:
                x = keras.layers.Conv2D(n, 3, strides=2, padding="same", name=f"down_{level}")(x)
            x = _residual_block(x, embedding, n, name=f"encoder_{level}")
            skips.append(x)
        for level in reversed(range(len(filters) - 1)):
            x = keras.layers.UpSampling2D(2, name=f"up_{level}")(x)
            x = keras.layers.Concatenate(name=f"skip_{level}")([x, skips[level]])
            x = _residual_block(x, embedding, filters[level], name=f"decoder_{level}")
        x = GroupNorm(_groups(filters[0]), name="out_norm")(x)
        x = keras.layers.Activation("swish", name="out_swish")(x)
        x = keras.layers.Conv2D(image_shape[-1], 3, padding="same", name="out_conv")(x)
        # Technique 3 of Song & Ermon 2020: the score's size grows as 1 / sigma.
        sigma_map = keras.layers.Reshape((1, 1, 1), name="sigma_map")(noise_level)
        score = keras.layers.Identity(name="score")(x / sigma_map)
        super().__init__(inputs=[image, noise_level], outputs=score, **kwargs)

        # === Config ===
        self._remember(arguments)
        self.sigmas = noise_levels(sigma_max, sigma_min, num_levels)
        self.seed_generator = keras.random.SeedGenerator()
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list:
        return [self.loss_tracker]

    def compile(
        self,
        optimizer=None,
        learning_rate: float | None = None,
        ema_momentum: float | None = 0.995,
        **kwargs,
    ) -> None:
        """Adam with an exponential moving average of the weights (Song & Ermon 2020, technique 5).

        Keras swaps the averaged weights in when ``fit`` ends. The paper's 0.999 suits its 200k+
        steps; the default 0.995 (a horizon of about 200 steps) suits runs of a few thousand.
        ``ema_momentum=None`` turns the average off; an explicit ``optimizer`` is used as given.
        """
        if optimizer is None:
            optimizer = keras.optimizers.Adam(
                learning_rate or self.default_learning_rate,
                use_ema=ema_momentum is not None,
                ema_momentum=ema_momentum or 0.99,
            )
        # XLA: 2x faster sampling calls on CPU (benchmarks/speed_xla_ncsn.py, RESULTS.md).
        kwargs.setdefault("jit_compile", True)
        super().compile(optimizer=optimizer, **kwargs)

    def noise_inputs(self, batch_size: int, seed: int = 0) -> list[np.ndarray]:
        """Start of annealed Langevin sampling: uniform noise images and sigma_1 (Song & Ermon)."""
        rng = np.random.default_rng(seed)
        shape = (batch_size, *self.inputs[0].shape[1:])
        images = rng.uniform(size=shape).astype(np.float32)
        return [images, np.full((batch_size, 1), self.sigmas[0], np.float32)]

    def denoising_loss(self, images, training: bool = False):
        """Per-example denoising score matching loss 0.5 ||sigma s(x + sigma eps, sigma) + eps||^2.

        The noise level of each example is drawn uniformly from the schedule.
        """
        batch = tf.shape(images)[0]
        level = keras.random.randint((batch,), 0, len(self.sigmas), seed=self.seed_generator)
        sigma = tf.gather(tf.constant(self.sigmas), level)[:, None]
        eps = keras.random.normal(tf.shape(images), seed=self.seed_generator)
        noisy = images + sigma[:, :, None, None] * eps
        score = tf.cast(self([noisy, sigma], training=training), tf.float32)  # mixed precision
        residual = sigma[:, :, None, None] * score + eps
        return 0.5 * tf.reduce_sum(tf.square(residual), axis=[1, 2, 3])

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.denoising_loss(image_tensor(data), training=True))
            scaled = self.optimizer.scale_loss(loss)  # LossScaleOptimizer under mixed_float16
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        self.loss_tracker.update_state(tf.reduce_mean(self.denoising_loss(image_tensor(data))))
        return {"loss": self.loss_tracker.result()}


def _groups(channels: int) -> int:
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


def _residual_block(x, embedding, filters: int, name: str):
    """GroupNorm-swish-conv twice, the noise-level embedding added in between, and a skip."""
    h = GroupNorm(_groups(x.shape[-1]), name=f"{name}_norm_1")(x)
    h = keras.layers.Activation("swish", name=f"{name}_swish_1")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv_1")(h)
    bias = keras.layers.Dense(filters, name=f"{name}_sigma")(embedding)
    h = keras.layers.Add(name=f"{name}_condition")(
        [h, keras.layers.Reshape((1, 1, filters), name=f"{name}_sigma_map")(bias)]
    )
    h = GroupNorm(_groups(filters), name=f"{name}_norm_2")(h)
    h = keras.layers.Activation("swish", name=f"{name}_swish_2")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv_2")(h)
    if x.shape[-1] != filters:
        x = keras.layers.Conv2D(filters, 1, name=f"{name}_shortcut")(x)
    return keras.layers.Add(name=f"{name}_residual")([x, h])


def annealed_langevin_dynamics(
    score_fn: ScoreFn,
    initial: np.ndarray,
    sigmas,
    *,
    steps_per_level: int = 100,
    step_size: float = 2e-5,
    seed: int = 0,
    denoise: bool = True,
) -> np.ndarray:
    """Annealed Langevin dynamics, Algorithm 1 of Song & Ermon (2019).

    For each sigma_i (largest first), ``steps_per_level`` steps
    x <- x + (alpha_i / 2) s(x, sigma_i) + sqrt(alpha_i) z with alpha_i = step_size *
    sigma_i^2 / sigma_L^2 and z ~ N(0, I) from ``np.random.default_rng(seed)``; then, with
    ``denoise``, x <- x + sigma_L^2 s(x, sigma_L). Hand-written: no library ships this sampler.
    All noise is drawn here in NumPy, so two score functions that agree (the Keras model and its
    ONNX export) give the same samples for the same ``seed``.

    Args:
        score_fn: ``score_fn(images, sigma)`` with ``sigma`` of shape ``(batch, 1)``, returning
            the score as a NumPy array (:func:`keras_score_fn`, :func:`onnx_score_fn`).
        initial: starting images, e.g. ``model.noise_inputs(n)[0]`` (uniform noise).
        sigmas: the noise levels, largest first (``model.sigmas``).
        steps_per_level: Langevin steps T at each level.
        step_size: epsilon, the step at the smallest level.
        seed: seed of the Langevin noise.
        denoise: finish with one Tweedie denoising step.
    """
    rng = np.random.default_rng(seed)
    sigmas = np.asarray(sigmas, np.float32)
    x = np.array(initial, np.float32)
    sigma_batch = np.empty((len(x), 1), np.float32)
    for sigma in sigmas:
        alpha = np.float32(step_size * (sigma / sigmas[-1]) ** 2)
        sigma_batch[:] = sigma
        for _ in range(steps_per_level):
            z = rng.standard_normal(x.shape, dtype=np.float32)
            x = x + np.float32(0.5) * alpha * score_fn(x, sigma_batch) + np.sqrt(alpha) * z
    if denoise:
        x = x + sigmas[-1] ** 2 * score_fn(x, sigma_batch)
    return x


def keras_score_fn(model) -> ScoreFn:
    """``score_fn`` running ``model`` in inference mode (one compiled graph, reused every step)."""
    return lambda images, sigma: np.asarray(model.predict_on_batch([images, sigma]))


def onnx_score_fn(path) -> ScoreFn:
    """``score_fn`` running an exported score network (``model.onnx``) on onnxruntime."""
    from fdl_keras.export.onnx import onnx_runner

    run = onnx_runner(path)
    return lambda images, sigma: run([images, sigma])[0]


def reverse_diffusion(
    score_fn: ScoreFn,
    initial: np.ndarray,
    sigmas,
    *,
    corrector_steps: int = 0,
    snr: float = 0.16,
    seed: int = 0,
    denoise: bool = True,
) -> np.ndarray:
    """Predictor-corrector sampling of the variance-exploding SDE (Song et al. 2021).

    The predictor is reverse diffusion, the ancestral sampler of a noise-conditional score
    model and the DDPM-style alternative to Langevin dynamics: one network evaluation per
    level, x <- x + (sigma_i^2 - sigma_{i+1}^2) s(x, sigma_i) + sqrt(sigma_i^2 - sigma_{i+1}^2) z.
    With ``denoise`` the last step goes to sigma = 0 without noise, which is Tweedie's
    denoising step. After each noisy predictor step, ``corrector_steps`` Langevin steps at the
    new level take the step 2 (snr ||z|| / ||s||)^2 (their Algorithm 5, norms averaged over
    the batch as in their code).
    Hand-written like :func:`annealed_langevin_dynamics`; the noise is drawn in NumPy.

    Args:
        score_fn: ``score_fn(images, sigma)`` as in :func:`annealed_langevin_dynamics`.
        initial: starting images, drawn from the prior N(0, sigma_1^2 I).
        sigmas: the noise levels, largest first; any geometric schedule within the one the
            model was trained on (e.g. ``noise_levels(10, 0.01, 50)``).
        corrector_steps: Langevin corrector steps per level (0: predictor only).
        snr: signal-to-noise ratio of the corrector steps.
        seed: seed of the sampling noise.
        denoise: end at sigma = 0 instead of sigma_L.

    References: Song, Sohl-Dickstein, Kingma, Kumar, Ermon & Poole, "Score-Based Generative
    Modeling through Stochastic Differential Equations", ICLR 2021.
    """
    rng = np.random.default_rng(seed)
    sigmas = np.asarray(sigmas, np.float32)
    targets = np.append(sigmas[1:], np.float32(0.0)) if denoise else sigmas[1:]
    x = np.array(initial, np.float32)
    sigma_batch = np.empty((len(x), 1), np.float32)
    for sigma, target in zip(sigmas, targets):
        sigma_batch[:] = sigma
        variance = np.float32(sigma**2 - target**2)
        x = x + variance * score_fn(x, sigma_batch)
        if target == 0:
            break
        x = x + np.sqrt(variance) * rng.standard_normal(x.shape, dtype=np.float32)
        sigma_batch[:] = target
        for _ in range(corrector_steps):
            score = score_fn(x, sigma_batch)
            z = rng.standard_normal(x.shape, dtype=np.float32)
            ratio = _mean_norm(z) / max(_mean_norm(score), 1e-12)
            step = np.float32(2.0 * (snr * ratio) ** 2)
            x = x + step * score + np.sqrt(2.0 * step) * z
    return x


def _mean_norm(x: np.ndarray) -> float:
    """Mean over the batch of the examples' L2 norms (as the paper's code sets the step)."""
    return float(np.sqrt(np.sum(np.square(x), axis=tuple(range(1, x.ndim)))).mean())


SAMPLERS = ("reverse_diffusion", "langevin")


def sample(
    model: NoiseConditionalScoreNetwork,
    num_samples: int,
    *,
    seed: int = 0,
    batch_size: int = 500,
    score_fn: ScoreFn | None = None,
    sampler: str = "reverse_diffusion",
    num_steps: int | None = None,
    **options,
) -> np.ndarray:
    """``num_samples`` images from a trained score network.

    ``sampler="reverse_diffusion"`` (:func:`reverse_diffusion`, starting from the prior
    N(0, sigma_1^2 I)) or ``"langevin"`` (:func:`annealed_langevin_dynamics`, starting from
    ``model.noise_inputs``). ``num_steps`` levels of a geometric schedule spanning the model's
    (default: the model's own ``sigmas``). Batches of ``batch_size`` use seeds ``seed``,
    ``seed + 1`` ...; ``options`` go to the sampler.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    score_fn = score_fn or keras_score_fn(model)
    sigmas = model.sigmas
    if num_steps is not None:
        sigmas = noise_levels(float(sigmas[0]), float(sigmas[-1]), num_steps)
    out = []
    for i, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        if sampler == "langevin":
            initial = model.noise_inputs(n, seed=seed + i)[0]
            run = annealed_langevin_dynamics
        else:
            shape = (n, *model.inputs[0].shape[1:])
            prior = np.random.default_rng([seed + i, 1]).standard_normal(shape, dtype=np.float32)
            initial, run = sigmas[0] * prior, reverse_diffusion
        out.append(run(score_fn, initial, sigmas, seed=seed + i, **options))
    return np.concatenate(out)
