"""Principal component analysis as a linear autoencoder (chapter 8).

The first k principal directions of the centred training images (right singular vectors of
the data matrix, ``tf.linalg.svd`` in float64) become the weights of a linear encoder
(``code = (x - mean) V_k``) and decoder (``x_hat = code V_k^T + mean``): the
:class:`~fdl_keras.embeddings.autoencoder.Autoencoder` with no hidden layer and linear units.
Among all rank-k linear maps it has the least squared reconstruction error (Eckart-Young), the
baseline that Hinton & Salakhutdinov's deep autoencoder beats. ``fdl train pca_mnist`` computes
the SVD instead of fitting; the model trains like any Keras model too (a linear autoencoder
trained by gradient descent converges to the same subspace, Baldi & Hornik 1989).

References: Pearson 1901; Hinton & Salakhutdinov, Science 2006 (PCA 13.87 vs autoencoder 3.00
squared error per image at 30 dimensions); Buduma, Buduma & Papa, ch. 8.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from fdl_keras.embeddings.autoencoder import Autoencoder, AutoencoderTask
from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import FitConfig, register
from fdl_keras.tasks import COMMON_OPTIONS


def principal_components(images: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, components, explained_variance)`` of ``images`` (any shape ``(n, ...)``):
    ``components`` is ``(k, features)``, rows the principal directions (signed as
    scikit-learn's: the largest entry of each row positive)."""
    import tensorflow as tf

    x = np.asarray(images, np.float64).reshape(len(images), -1)
    if len(x) < 2:
        raise InvalidInputError(f"PCA needs at least 2 images, got {len(x)}")
    if not 1 <= k <= min(x.shape):
        raise InvalidInputError(f"k must be in [1, {min(x.shape)}] for {x.shape} data, got {k}")
    mean = x.mean(axis=0)
    # The SVD of the tall data matrix through its QR factor: X = QR and R = U' S V^T give
    # X = (Q U') S V^T, so X's singular values and right vectors are R's (d x d, fast).
    r = tf.linalg.qr(tf.constant(x - mean), full_matrices=False).r
    s, _, v = (t.numpy() for t in tf.linalg.svd(r, full_matrices=False))
    components = v.T[:k]
    # scikit-learn's sign convention (svd_flip on V): each row's largest entry is positive.
    biggest = components[np.arange(k), np.argmax(np.abs(components), axis=1)]
    components = components * np.sign(biggest)[:, None]
    variance = s[:k] ** 2 / (len(x) - 1)
    return mean, components, variance


def set_pca_weights(model: Autoencoder, mean: np.ndarray, components: np.ndarray) -> None:
    """Makes ``model`` (no hidden layers, linear units) the PCA projection and reconstruction."""
    config = model.get_config()
    if config["hidden_units"] or config["code_activation"] != "linear":
        raise InvalidInputError(
            f"{model.name} is not a linear autoencoder (hidden_units {config['hidden_units']}, "
            f"code_activation {config['code_activation']}): build pca_mnist"
        )
    code = model.encoder.get_layer("code")
    pixels = model.decoder.get_layer("pixels")
    code.set_weights([components.T, -(mean @ components.T)])
    pixels.set_weights([components, mean])


class PCATask(AutoencoderTask):
    """PCA's trainer: one SVD of the training images instead of ``fit``; evaluation and export
    as any reconstruction. Writes the same run directory as every trainer."""

    label = "pca"
    options = COMMON_OPTIONS | {"dataset", "limit"}

    def train(self, spec, options):
        import keras

        from fdl_keras.data import load_dataset
        from fdl_keras.runs import HISTORY_FILE, MODEL_FILE, claim_run, write_metrics
        from fdl_keras.training.trainer import TrainResult, save_model

        seed = options["seed"]
        keras.utils.set_random_seed(seed)
        data = load_dataset(
            options.get("dataset") or spec.dataset,
            batch_size=spec.fit.batch_size,
            seed=seed,
            limit=options.get("limit"),
        )
        model_args = spec.model_args(data.info, options.get("overrides"))
        run_dir = Path(options.get("run_dir") or Path("runs") / spec.name)
        settings = {
            "name": spec.name,
            "family": spec.family,
            "dataset": data.info.name,
            "data_source": data.info.source,
            "seed": seed,
            "limit": options.get("limit"),
            "model_args": model_args,
        }
        with claim_run(run_dir, settings, overwrite=bool(options.get("overwrite"))):
            model = spec.build(**model_args)
            start = time.perf_counter()
            images = np.concatenate([x.numpy() for x, _ in data.train])
            mean, components, variance = principal_components(
                images, model.get_config()["code_dim"]
            )
            set_pca_weights(model, mean, components)
            wall = time.perf_counter() - start
            self.compile(spec, model)
            test = self.pairs(spec, model, data, seed)[2]
            metrics = model.evaluate(test, verbose=0, return_dict=True)
            metrics = {k: float(v) for k, v in metrics.items()}
            total = float(np.var(images.reshape(len(images), -1), axis=0, ddof=1).sum())
            with open(run_dir / HISTORY_FILE, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["epoch", "explained_variance_ratio", "train_images"])
                writer.writerow([0, float(variance.sum() / total), len(images)])
            save_model(model, run_dir / MODEL_FILE)
            write_metrics(run_dir, {"test": metrics, "wall_time_s": wall, "method": "svd"})
        history = {"explained_variance_ratio": [float(variance.sum() / total)]}
        return TrainResult(model, spec, history, metrics, run_dir, wall, data=data)


register(
    "pca_mnist",
    chapter=8,
    builder=Autoencoder,
    dataset="mnist",
    task=PCATask(),
    fit=FitConfig(learning_rate=1e-3, epochs=1, batch_size=1000),
    defaults={"hidden_units": (), "code_dim": 30, "output_activation": "linear"},
    tiny={"code_dim": 2},
    summary="PCA on MNIST as a linear encoder/decoder whose weights come from one SVD",
)
