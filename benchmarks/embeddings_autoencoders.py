"""PCA vs deep autoencoders on MNIST, denoising PSNR per noise level, sparse activations vs rho.

- Hinton & Salakhutdinov's comparison: squared reconstruction error per image (sum over the
  784 pixels, mean over the 10,000 test images) of PCA (one SVD of the 54,000 training images)
  and of the 784-1000-500-250-k autoencoder, at k = 2 and k = 30; the 2-D codes of both as a
  scatter plot coloured by digit.
- Denoising: for each noise (masking fractions, Gaussian standard deviations) a denoising
  autoencoder trained on that noise; PSNR of the noisy and of the denoised test images.
- Sparse: the 196-unit sigmoid autoencoder with the KL penalty at several rho, each unit's mean
  activation on the test images; a k-sparse (Makhzani & Frey) run; filters as image grids.

    flock /tmp/fdl_heavy.lock python benchmarks/embeddings_autoencoders.py --epochs 5
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out" / "embeddings"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("FDL_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["FDL_DATA_DIR"] = str(SHARED_DATA)  # the checkout's sibling data folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="deep autoencoder epochs")
    parser.add_argument("--small-epochs", type=int, default=3, help="denoising/sparse epochs")
    parser.add_argument("--parts", default="pca,denoising,sparse")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import fdl_keras
    from fdl_keras.data import load_dataset
    from fdl_keras.embeddings.autoencoder import (
        corrupt_images,
        filters,
        mean_activation,
        psnr,
    )
    from fdl_keras.embeddings.pca import principal_components

    data = load_dataset("mnist", batch_size=1000)
    test_x, test_y = data.sample_batch(10_000)
    flat = test_x.reshape(len(test_x), -1)
    train_x = np.concatenate([x.numpy() for x, _ in data.train]).reshape(-1, 784)
    report = {"epochs": args.epochs, "small_epochs": args.small_epochs, "test_images": len(flat)}

    def error(reconstructions):
        return float(((reconstructions.reshape(len(flat), -1) - flat) ** 2).sum(axis=1).mean())

    def train(name, **kwargs):
        return fdl_keras.train(
            name,
            run_dir=OUT / f"run_{name}_{abs(hash(tuple(sorted(kwargs.items())))) % 10**6}",
            overwrite=True,
            verbose=2,
            **kwargs,
        ).model

    if "pca" in parts:
        codes = {}
        for k in (2, 30):
            mean, components, _ = principal_components(train_x, k)
            pca_codes = (flat - mean) @ components.T
            model = train("autoencoder_mnist", code_dim=k, epochs=args.epochs)
            ae_codes = model.encoder.predict(test_x, batch_size=1000, verbose=0)
            report[f"dim_{k}"] = {
                "pca_error": error(pca_codes @ components + mean),
                "autoencoder_error": error(model.predict(test_x, batch_size=1000, verbose=0)),
            }
            codes[k] = (pca_codes, ae_codes)
            print(k, report[f"dim_{k}"], flush=True)
        fig, axes = plt.subplots(1, 2, figsize=(11, 5))
        for ax, points, title in zip(axes, codes[2], ("PCA", "autoencoder")):
            scatter = ax.scatter(*points[:5000].T, c=test_y[:5000], cmap="tab10", s=2)
            ax.set_title(f"{title}: 2-D codes of MNIST test digits")
        fig.colorbar(scatter, ax=axes, ticks=range(10))
        fig.savefig(OUT / "codes_2d.png", dpi=80)

    if "denoising" in parts:
        report["denoising"] = []
        for noise, level in (
            ("masking", 0.25),
            ("masking", 0.5),
            ("gaussian", 0.3),
            ("gaussian", 0.5),
        ):
            spec = fdl_keras.get_spec("denoising_autoencoder_mnist")
            spec.task.noise, spec.task.level = noise, level  # this run's noise
            model = train("denoising_autoencoder_mnist", epochs=args.small_epochs)
            noisy = corrupt_images(test_x, noise, level, seed=1)
            denoised = model.predict(noisy, batch_size=1000, verbose=0)
            row = {
                "noise": noise,
                "level": level,
                "psnr_noisy": psnr(test_x, noisy),
                "psnr_denoised": psnr(test_x, denoised),
            }
            row["gain_db"] = row["psnr_denoised"] - row["psnr_noisy"]
            report["denoising"].append(row)
            print(row, flush=True)

    if "sparse" in parts:
        report["sparse"] = []
        for rho in (0.02, 0.05, 0.1):
            model = train("sparse_autoencoder_mnist", sparsity_target=rho, epochs=args.small_epochs)
            activation = mean_activation(model, test_x)
            row = {
                "rho": rho,
                "mean_activation": float(activation.mean()),
                "relative_error": float(abs(activation.mean() - rho) / rho),
                "units_within_20pct": float(np.mean(np.abs(activation - rho) <= 0.2 * rho)),
                "error": error(model.predict(test_x, batch_size=1000, verbose=0)),
            }
            report["sparse"].append(row)
            print(row, flush=True)
            if rho == 0.05:
                _grid(plt, filters(model)[:100], OUT / "sparse_filters.png", f"KL, rho={rho}")
        model = train(
            "sparse_autoencoder_mnist",
            code_activation="linear",
            sparsity_target=None,
            k_sparse=25,
            epochs=args.small_epochs,
        )
        codes = model.encoder.predict(test_x, batch_size=1000, verbose=0)
        report["k_sparse"] = {
            "k": 25,
            "units": 196,
            "nonzero_per_image": float((codes != 0).sum(axis=1).mean()),
            "error": error(model.predict(test_x, batch_size=1000, verbose=0)),
        }
        print(report["k_sparse"], flush=True)
        _grid(plt, filters(model)[:100], OUT / "k_sparse_filters.png", "k-sparse, k=25")

    report["load_average_at_end"] = os.getloadavg()
    path = OUT / "autoencoders.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **report}, indent=1))


def _grid(plt, images, path, title):
    side = int(np.ceil(np.sqrt(len(images))))
    fig, axes = plt.subplots(side, side, figsize=(6, 6))
    for ax in axes.flat:
        ax.axis("off")
    for ax, image in zip(axes.flat, images):
        ax.imshow(image, cmap="gray")
    fig.suptitle(title)
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
