# ---
# jupyter:
#   jupytext:
#     formats: ipynb,src//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 10 — generative models
#
# Three ways to learn a distribution over MNIST digits, each trained with its own `train_step` and
# exported with every random input made explicit:
#
# - a **variational autoencoder** (Kingma & Welling 2014) trained on the evidence lower bound,
#   evaluated by the importance-weighted bound (Burda et al. 2016);
# - a **DCGAN** (Radford et al. 2016), generator against discriminator;
# - a **noise-conditional score network** trained by denoising score matching and sampled by
#   annealed Langevin dynamics (Song & Ermon 2019) and by reverse diffusion, the DDPM-style
#   ancestral sampler (Song et al. 2021).

# %%
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib.pyplot as plt
import numpy as np

import fdl_keras
from fdl_keras.data import first_available
from fdl_keras.generative import (
    SampleGrid,
    active_dimensions,
    annealed_langevin_dynamics,
    binarize_images,
    classifier_outputs,
    image_grid,
    importance_weighted_bound,
    keras_score_fn,
    latent_traversal,
    onnx_score_fn,
    reverse_diffusion,
    sample_quality,
    train_generative,
)

FAST = os.environ.get("FDL_FAST") == "1"  # the test harness runs every notebook in fast mode
WORK = tempfile.mkdtemp(prefix="fdl_nb_")  # runs and exports of this notebook go here
dataset, why_not = first_available("mnist", "digits")
print("dataset:", dataset, "| fast mode:", FAST)
if why_not:
    print("MNIST not available, using scikit-learn digits:", why_not)
# Fast mode (CI only) trains small networks on 512 images for a couple of epochs: the plots
# show the mechanics, not the quality. The committed outputs are a full run cut to fit about
# 15 minutes on a laptop CPU: 20,000 training images, a few epochs and reduced widths for the
# DCGAN and the score network (benchmarks/RESULTS_generative.md has the longer runs).
LIMIT = 512 if FAST else 20_000
N_EVAL = 256 if FAST else 1000  # images for the IWAE bound and for the sample-quality metrics
plt.rcParams["figure.dpi"] = 80  # keeps the committed notebook's image grids small


def show(images, title, columns=None):
    plt.figure(figsize=(4, 4))
    grid = image_grid(np.clip(images, 0, 1), columns)
    plt.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    plt.title(title)
    plt.axis("off")
    plt.show()


# %% [markdown]
# ## Variational autoencoder
# Encoder q(z|x) = N(mu, diag(exp(log_var))), a reparameterised `tfp` sample per example,
# Bernoulli decoder, on MNIST binarised stochastically in `tf.data` (a new binarisation every
# epoch). The loss is the negative ELBO in nats per image.

# %%
vae_config = dict(latent_dim=8, hidden_units=(128,)) if FAST else {}
vae_run = train_generative(
    "vae",
    dataset=dataset,
    epochs=2 if FAST else 15,
    limit=LIMIT,
    run_dir=os.path.join(WORK, "vae"),
    verbose=0,
    **vae_config,
)
vae = vae_run.model
plt.plot(vae_run.history["loss"], label="train -ELBO")
plt.plot(vae_run.history["val_loss"], label="validation -ELBO")
plt.xlabel("epoch")
plt.ylabel("nats per image")
plt.legend()
plt.show()
print("test:", vae_run.test_metrics)

# %% [markdown]
# ### Test log-likelihood
# The ELBO is a lower bound on log p(x); averaging k importance weights inside the log gives a
# tighter one, never looser for the same samples.

# %%
x_test = vae_run.data.arrays["test"][0]
binary_test = binarize_images(x_test[:N_EVAL], seed=0)
K = 100 if FAST else 500  # importance samples per image
bound = importance_weighted_bound(vae, binary_test, num_samples=K)
print(f"ELBO estimate of the test NLL: {-bound['elbo'].mean():.2f} nats")
print(f"IWAE estimate (k={K}):          {-bound['iwae'].mean():.2f} nats")
assert np.all(bound["iwae"] >= bound["elbo"] - 1e-4)

# %% [markdown]
# ### Latent traversal
# Units ordered by activity Cov_x(E_q[z_u]); inactive units (activity near 0) are ones the KL term
# switched off.

# %%
dims, activity = active_dimensions(vae, binary_test)
print("latent activity, most active first:", np.round(activity, 3))
values = np.linspace(-3, 3, 9)
traversal = latent_traversal(vae, dims[:5], values)
plt.figure(figsize=(6, 3.5))
plt.imshow(image_grid(traversal), cmap="gray", interpolation="nearest")
plt.yticks(
    [(i + 0.5) * (traversal.shape[2] + 1) for i in range(len(dims[:5]))],
    [f"z[{d}]" for d in dims[:5]],
)
plt.xticks(
    [(j + 0.5) * (traversal.shape[3] + 1) for j in range(len(values))],
    [f"{v:+.1f}" for v in values],
)
plt.title("each row sweeps one latent unit, the others stay at 0")
plt.show()
show(vae.predict(vae.noise_inputs(64, seed=0), verbose=0), "VAE samples (Bernoulli means)")

# %% [markdown]
# ## DCGAN
# Both networks step together from one generated batch; a `SampleGrid` callback draws the same 36
# noise vectors at the end of every epoch.

# %%
small = dict(latent_dim=32, generator_filters=(32, 16, 8), discriminator_filters=(8, 16))
# full: the narrower networks of the benchmark (the default widths take 20 CPU minutes an epoch)
reduced = dict(generator_filters=(64, 32, 16), discriminator_filters=(32, 64), batch_size=64)
gan_config = small if FAST else reduced
grids = SampleGrid(num_samples=36, seed=0)
gan_run = train_generative(
    "dcgan",
    dataset=dataset,
    epochs=2 if FAST else 4,
    limit=LIMIT,
    run_dir=os.path.join(WORK, "gan"),
    verbose=0,
    callbacks=[grids],
    **gan_config,
)
gan = gan_run.model
fig, axes = plt.subplots(1, len(grids.grids), figsize=(3 * len(grids.grids), 3))
for ax, (epoch, grid) in zip(np.atleast_1d(axes), grids.grids.items()):
    ax.imshow(grid, cmap="gray", interpolation="nearest")
    ax.set_title(f"epoch {epoch + 1}")
    ax.axis("off")
plt.show()
plt.plot(gan_run.history["d_loss"], label="discriminator")
plt.plot(gan_run.history["g_loss"], label="generator")
plt.xlabel("epoch")
plt.legend()
plt.show()

# %% [markdown]
# ## Score-based model
# The network sees a noisy image and its noise level sigma and estimates grad log p_sigma, for
# sigma from 10 (about the largest distance between two digits) down to 0.01. Reverse diffusion
# takes one step per level from pure noise N(0, sigma_1^2), optionally corrected by Langevin
# steps; annealed Langevin dynamics walks uniform noise down the same schedule with several steps
# per level. Both end with Tweedie's denoising step x + sigma_L^2 s(x, sigma_L).

# %%
ncsn_config = dict(filters=(8, 16), embedding_dim=16, num_levels=10)
if not FAST:  # a small U-Net and 50 levels (the default 32-64-64 U-Net takes hours on a CPU)
    ncsn_config = dict(filters=(16, 32), embedding_dim=32, num_levels=50)
ncsn_run = train_generative(
    "ncsn",
    dataset=dataset,
    epochs=1 if FAST else 2,
    limit=LIMIT,
    run_dir=os.path.join(WORK, "ncsn"),
    verbose=0,
    **ncsn_config,
)
ncsn = ncsn_run.model
print(f"{len(ncsn.sigmas)} noise levels from {ncsn.sigmas[0]:.3g} to {ncsn.sigmas[-1]:.3g}")
print("denoising score matching loss per epoch:", np.round(ncsn_run.history["loss"], 1))

# %%
prior = ncsn.sigmas[0] * np.random.default_rng(0).standard_normal((36, 28, 28, 1), dtype=np.float32)
corrector = 0 if FAST else 1
diffused = reverse_diffusion(
    keras_score_fn(ncsn), prior, ncsn.sigmas, corrector_steps=corrector, seed=0
)
show(
    diffused,
    f"reverse diffusion from N(0, sigma_1^2): {len(ncsn.sigmas)} levels, "
    f"{corrector} corrector step(s) each",
)
start, _ = ncsn.noise_inputs(36, seed=0)
steps = 3 if FAST else 5
langevin = annealed_langevin_dynamics(
    keras_score_fn(ncsn), start, ncsn.sigmas, steps_per_level=steps, seed=0
)
show(
    langevin,
    f"annealed Langevin dynamics from uniform noise ({len(ncsn.sigmas)} levels x {steps} steps)",
)

# %% [markdown]
# Score models need far more training than the VAE or the DCGAN: after this notebook's two CPU
# epochs of a small U-Net on 20,000 images the samples are still blobs and strokes, not digits
# (the Fréchet distances below say the same). The benchmark's 7 epochs of a 16-32-64 U-Net on
# all of MNIST give recognisable digits (`benchmarks/RESULTS_generative.md`).

# %% [markdown]
# ## Sample quality without downloads
# Fréchet distance between Gaussians fitted to the chapter-7 CNN's `dense` features of samples and
# of real test images, and the CNN's mean confidence. Small sample sets bias the Fréchet distance
# upward: compare rows of the same size, including the real-image row and, at the far
# end, uniform noise.

# %%
# The chapter-7 CNN as feature extractor: the one `fdl train mnist_cnn` saved, if any,
# else a small one trained here.
saved = Path("../runs/mnist_cnn/model.keras")
if saved.is_file() and dataset == "mnist":
    classifier = keras.saving.load_model(saved)
else:
    small = dict(filters=(8, 16), dense_units=64) if FAST else {}
    classifier = fdl_keras.train(
        "mnist_cnn",
        dataset=dataset,
        epochs=1 if FAST else 2,
        limit=LIMIT,
        run_dir=os.path.join(WORK, "cnn"),
        verbose=0,
        **small,
    ).model
n = N_EVAL
reference, _ = classifier_outputs(classifier, x_test[:n])
samples = {
    "VAE": vae.predict(vae.noise_inputs(n, seed=1), verbose=0),
    "DCGAN": gan.predict(gan.noise_inputs(n, seed=1), verbose=0),
    "NCSN": fdl_keras.generative.score.sample(ncsn, n, seed=1),  # reverse diffusion
    "real (training images)": vae_run.data.arrays["validation"][0][:n],
    "uniform noise": np.random.default_rng(1).uniform(size=x_test[:n].shape),
}
quality = {}
for name, images in samples.items():
    quality[name] = q = sample_quality(classifier, np.clip(images, 0, 1), reference)
    print(
        f"{name:24s} Frechet distance {q['frechet_distance']:9.2f}   "
        f"mean confidence {q['mean_confidence']:.3f}   top-class share {q['top_class_share']:.2f}"
    )

# %% [markdown]
# ## Export with explicit noise
# The generator and the VAE decoder take the latent noise as input, the score network the image
# and the noise level; the sampling loops run outside, so the same loop on onnxruntime reproduces
# the Keras samples.

# %%
exported = {"generator": gan, "score_network": ncsn}
if not FAST:  # the VAE decoder exports the same way (tests/generative/test_samplers.py)
    exported["vae_decoder"] = vae
for what, model in exported.items():
    report = fdl_keras.export(
        model,
        os.path.join(WORK, what),
        sample=model.noise_inputs(8, seed=3),
        measure_latency=not FAST,
    )
    diffs = {k: v["max_abs_diff"] for k, v in report["runtimes"].items() if k != "keras"}
    print(f"{what:14s} inputs {report['inputs']}  max |diff| vs Keras {diffs}")
onnx_path = os.path.join(WORK, "score_network", "model.onnx")
in_keras = reverse_diffusion(keras_score_fn(ncsn), prior[:8], ncsn.sigmas, seed=5)
in_onnx = reverse_diffusion(onnx_score_fn(onnx_path), prior[:8], ncsn.sigmas, seed=5)
print("score-model samples, Keras vs onnxruntime, max |diff|:", np.abs(in_keras - in_onnx).max())

# %% [markdown]
# ## What this chapter showed, checked
#
# In every mode: the VAE's validation loss (the negative ELBO) falls during training, the IWAE
# bound is never looser than the ELBO, and by the chapter-7 classifier's features the VAE's
# samples are closer to real digits than uniform noise is. In the full run, with a trained
# classifier, also that the VAE's and the DCGAN's samples are at less than half the noise's
# Fréchet distance, and that the VAE's are recognisable digits of every kind (the classifier is
# confident about them, mean top-class probability above 0.7, and no digit takes more than 30 %
# of them; uniform noise gets a high confidence too, but all for one class).

# %%
val_loss = vae_run.history["val_loss"]
assert val_loss[-1] < val_loss[0], val_loss
assert np.all(bound["iwae"] >= bound["elbo"] - 1e-4)
fd = {name: q["frechet_distance"] for name, q in quality.items()}
shown = {name: round(value, 1) for name, value in fd.items()}
assert fd["VAE"] < fd["uniform noise"], shown  # fast mode's classifier barely separates them
if not FAST:
    assert fd["VAE"] < 0.5 * fd["uniform noise"], shown
    assert fd["DCGAN"] < 0.5 * fd["uniform noise"], shown
    assert quality["VAE"]["mean_confidence"] > 0.7, quality["VAE"]
    assert quality["VAE"]["top_class_share"] < 0.3, quality["VAE"]
print(f"chapter 10 checks passed: VAE -ELBO {val_loss[0]:.1f} -> {val_loss[-1]:.1f}, {shown}")
