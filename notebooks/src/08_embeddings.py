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
# # Chapter 8 — embedding and representation learning
#
# Four ways to learn a compact representation, each a registered system of `fdl_keras`:
#
# - **PCA** as a linear encoder/decoder whose weights come from one SVD (`pca_mnist`);
# - the **deep autoencoder** 784-1000-500-250-k of Hinton & Salakhutdinov (2006)
#   (`autoencoder_mnist`), which reconstructs MNIST better than PCA with the same code size;
# - the **denoising autoencoder** (Vincent et al. 2008), its corruption added in `tf.data`, and the
#   **sparse autoencoder** with a KL penalty on the mean activation (`sparse_autoencoder_mnist`);
# - **word2vec**, skip-gram with negative sampling (Mikolov et al. 2013), on the Brown corpus
#   (`word2vec_brown`): nearest neighbours, analogies, a t-SNE map and projector files.
#
# Full mode here is cut down for a shared 2-core CPU (20,000 training images, 3 autoencoder epochs,
# 2 word2vec epochs); `benchmarks/RESULTS_embeddings.md` has the longer runs and gensim beside ours.

# %%
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np

import fdl_keras
from fdl_keras.data import load_dataset
from fdl_keras.embeddings.analogies import ANALOGIES
from fdl_keras.embeddings.autoencoder import corrupt_images, filters, mean_activation, psnr
from fdl_keras.embeddings.pca import principal_components
from fdl_keras.embeddings.word2vec import (
    analogy_accuracy,
    nearest_neighbours,
    tsne_coordinates,
    write_projector_files,
)

FAST = os.environ.get("FDL_FAST") == "1"  # the test harness runs every notebook in fast mode
WORK = Path(tempfile.mkdtemp(prefix="fdl_nb_"))  # runs and exports of this notebook go here
LIMIT = 1024 if FAST else 20_000
EPOCHS = 1 if FAST else 3
mnist = load_dataset("mnist", limit=LIMIT, batch_size=500)
test_x, test_y = mnist.sample_batch(10_000)
train_x = np.concatenate([x.numpy() for x, _ in mnist.train])
print(f"{len(train_x)} training images, {len(test_x)} test images")


def error_per_image(reconstructions):
    """Squared error summed over the pixels, averaged over the test images."""
    return float(((reconstructions - test_x) ** 2).reshape(len(test_x), -1).sum(axis=1).mean())


def train(name, **kwargs):
    return fdl_keras.train(name, run_dir=WORK / name, verbose=0, **kwargs)


# %% [markdown]
# ## PCA and the deep autoencoder, 2-D codes
#
# PCA keeps the directions of largest variance; the autoencoder learns a non-linear map to the
# same number of dimensions. With two dimensions the difference shows in the reconstruction error
# and in how well the digits separate.

# %%
mean, components, variance = principal_components(train_x, 2)
pca_codes = (test_x.reshape(len(test_x), -1) - mean) @ components.T
pca_error = error_per_image((pca_codes @ components + mean).reshape(test_x.shape))
autoencoder = train("autoencoder_mnist", code_dim=2, epochs=EPOCHS, limit=LIMIT).model
ae_codes = autoencoder.encoder.predict(test_x, batch_size=1000, verbose=0)
ae_error = error_per_image(autoencoder.predict(test_x, batch_size=1000, verbose=0))
print(f"2-D codes, squared error per image: PCA {pca_error:.1f}, autoencoder {ae_error:.1f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, codes, title in zip(axes, (pca_codes, ae_codes), ("PCA", "deep autoencoder")):
    points = ax.scatter(*codes[:3000].T, c=test_y[:3000], cmap="tab10", s=3)
    ax.set_title(f"{title} (2-D), error {pca_error if title == 'PCA' else ae_error:.1f}")
fig.colorbar(points, ax=axes, ticks=range(10))
plt.show()

# %% [markdown]
# ## Denoising: 30 % of the pixels masked
#
# The registered `denoising_autoencoder_mnist` zeroes 30 % of each training image's pixels in the
# input pipeline (new noise every epoch) and learns to give back the clean image.

# %%
denoiser = train("denoising_autoencoder_mnist", epochs=EPOCHS, limit=LIMIT).model
noisy = corrupt_images(test_x, "masking", 0.3, seed=1)
denoised = denoiser.predict(noisy, batch_size=1000, verbose=0)
psnr_noisy, psnr_denoised = psnr(test_x, noisy), psnr(test_x, denoised)
print(f"PSNR noisy {psnr_noisy:.1f} dB -> denoised {psnr_denoised:.1f} dB")
fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for row, images in enumerate((test_x, noisy, denoised)):
    for ax, image in zip(axes[row], images[:8]):
        ax.imshow(image[..., 0], cmap="gray")
        ax.axis("off")
plt.show()

# %% [markdown]
# ## Sparse autoencoder: mean activation held at rho = 0.05
#
# 196 sigmoid units with the KL penalty `beta * sum_j KL(rho || rho_hat_j)`. The mean activation
# reaches rho within a few epochs; the first layer's weights, drawn as images, are still close to
# noise after this short run (the penalty is met first; stroke-like filters need longer training).

# %%
sparse = train("sparse_autoencoder_mnist", epochs=EPOCHS, limit=LIMIT).model
activation = mean_activation(sparse, test_x)
print(f"mean activation {activation.mean():.3f} (rho 0.05), units: {len(activation)}")
fig, axes = plt.subplots(8, 8, figsize=(5, 5))
for ax, image in zip(axes.flat, filters(sparse)):
    ax.imshow(image, cmap="gray")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## word2vec on the Brown corpus
#
# Skip-gram pairs with subsampling, dynamic windows and unigram^0.75 negatives, all built in
# `tf.data`; the model is the lookup from word ids to vectors, which is what export writes.

# %%
run = train("word2vec_brown", epochs=1 if FAST else 2, limit=3000 if FAST else None)
vectors = run.model.vectors()
vocabulary = run.data.info.vocabulary
print("loss per epoch", [round(v, 3) for v in run.history["loss"]])
print("analogies:", analogy_accuracy(vectors, vocabulary, ANALOGIES))
for word in ("time", "money", "church", "said"):
    if word in vocabulary:
        print(word, "->", ", ".join(n for n, _ in nearest_neighbours(vectors, vocabulary, word, 8)))
write_projector_files(vectors, vocabulary, WORK / "projector")

# %%
shown = 100 if FAST else 300
xy = tsne_coordinates(vectors[:shown])
fig, ax = plt.subplots(figsize=(9, 7))
ax.scatter(*xy.T, s=3)
for (x, y), word in zip(xy, vocabulary[:shown]):
    ax.annotate(word, (x, y), fontsize=7)
ax.set_title(f"t-SNE of the {shown} most frequent Brown words")
plt.show()

# %% [markdown]
# ## Export: the encoder, the decoder and the word lookup
#
# Each exports to SavedModel and ONNX and is checked against Keras on real inputs.

# %%
reports = {
    "encoder": fdl_keras.export(autoencoder.encoder, WORK / "encoder", sample=test_x[:8]),
    "decoder": fdl_keras.export(autoencoder.decoder, WORK / "decoder", sample=ae_codes[:8]),
    "word lookup": fdl_keras.export(run.model, WORK / "word2vec", spec=run.spec),
}
for what, report in reports.items():
    diffs = {k: f"{v['max_abs_diff']:.1e}" for k, v in report["runtimes"].items() if k != "keras"}
    print(f"{what:12s} passed {report['passed']}  max |diff| vs Keras {diffs}")

# %% [markdown]
# ## What this chapter showed, checked
#
# In every mode: the exports agree with Keras, word2vec's loss falls, and the sparse code's mean
# activation is below the 0.5 that sigmoid units start at. In the full run also that the deep
# autoencoder's 2-D codes reconstruct better than PCA's, that denoising raises the PSNR, that the
# sparse units' mean activation is within 20 % of rho, and that word2vec answers some analogies.

# %%
assert all(r["passed"] for r in reports.values())
assert activation.mean() < 0.5
if len(run.history["loss"]) > 1:
    assert run.history["loss"][-1] < run.history["loss"][0], run.history["loss"]
if not FAST:
    assert ae_error < pca_error, (ae_error, pca_error)
    assert psnr_denoised > psnr_noisy, (psnr_noisy, psnr_denoised)
    assert abs(activation.mean() - 0.05) < 0.2 * 0.05, activation.mean()
    assert analogy_accuracy(vectors, vocabulary, ANALOGIES)["accuracy"] > 0.02
print(
    f"chapter 8 checks passed: 2-D error PCA {pca_error:.1f} vs autoencoder {ae_error:.1f}; "
    f"PSNR {psnr_noisy:.1f} -> {psnr_denoised:.1f} dB; mean activation {activation.mean():.3f}"
)
