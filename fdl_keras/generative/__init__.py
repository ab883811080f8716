"""Chapter 10: generative models (VAE, DCGAN, score-based) with exported samplers and metrics.

>>> import fdl_keras
>>> vae = fdl_keras.build("vae", latent_dim=2, hidden_units=(16,))
>>> vae.predict(vae.noise_inputs(4), verbose=0).shape
(4, 28, 28, 1)
"""

from fdl_keras.generative.base import GenerativeModel, SampleGrid, image_grid
from fdl_keras.generative.gan import GAN, DCGANDiscriminator, DCGANGenerator
from fdl_keras.generative.metrics import (
    classifier_outputs,
    frechet_distance,
    load_classifier,
    mean_confidence,
    sample_quality,
)
from fdl_keras.generative.score import (
    NoiseConditionalScoreNetwork,
    annealed_langevin_dynamics,
    keras_score_fn,
    noise_levels,
    onnx_score_fn,
    reverse_diffusion,
)
from fdl_keras.generative.training import train_generative
from fdl_keras.generative.vae import (
    VAE,
    VAEDecoder,
    VAEEncoder,
    active_dimensions,
    binarize,
    binarize_images,
    importance_weighted_bound,
    latent_traversal,
)

__all__ = [
    "GAN",
    "VAE",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "GenerativeModel",
    "NoiseConditionalScoreNetwork",
    "SampleGrid",
    "VAEDecoder",
    "VAEEncoder",
    "active_dimensions",
    "annealed_langevin_dynamics",
    "reverse_diffusion",
    "binarize",
    "binarize_images",
    "classifier_outputs",
    "frechet_distance",
    "image_grid",
    "importance_weighted_bound",
    "keras_score_fn",
    "latent_traversal",
    "load_classifier",
    "mean_confidence",
    "noise_levels",
    "onnx_score_fn",
    "sample_quality",
    "train_generative",
]
