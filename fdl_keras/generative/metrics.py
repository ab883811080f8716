"""Sample-quality metrics computed with the package's own MNIST classifier (no downloads).

The Fréchet distance of Heusel et al. (FID) compares Gaussians fitted to classifier features of
real and generated images, d^2 = ||mu_1 - mu_2||^2 + Tr(C_1 + C_2 - 2 (C_1 C_2)^(1/2)); here the
features are the 1,024 activations of the ``dense`` layer of ``mnist_cnn`` (chapter 7) rather
than Inception's, so the numbers compare models with each other and with the MNIST test set but
not with published FIDs. The mean classifier confidence (mean of the largest softmax
probability) rewards samples that look like some digit.

References: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017; Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from fdl_keras.errors import InvalidInputError

FEATURE_LAYER = "dense"  # penultimate layer of mnist_cnn (before dropout and softmax)
DEFAULT_CLASSIFIER = Path("runs") / "mnist_cnn" / "model.keras"


def load_classifier(path: str | Path | None = None):
    """The trained ``mnist_cnn`` from ``path`` (default ``runs/mnist_cnn/model.keras``).

    Raises:
        FileNotFoundError: no trained classifier there; train one with ``fdl train mnist_cnn``.
    """
    path = Path(path or DEFAULT_CLASSIFIER)
    if not path.is_file():
        raise FileNotFoundError(
            f"no trained MNIST classifier at {path}; run `fdl train mnist_cnn` (writes "
            f"{DEFAULT_CLASSIFIER}) or pass the path of a saved mnist_cnn"
        )
    return keras.saving.load_model(path)


def classifier_outputs(
    classifier, images: np.ndarray, *, layer: str = FEATURE_LAYER, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, probabilities)``: the activations of ``layer`` and the class probabilities."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or not np.isfinite(images).all():
        raise InvalidInputError(
            f"images must be a finite (n, height, width, channels) array, got shape "
            f"{images.shape}; clip or drop non-finite samples first"
        )
    extractor = keras.Model(
        classifier.inputs, [classifier.get_layer(layer).output, classifier.outputs[0]]
    )
    features, probabilities = extractor.predict(images, batch_size=batch_size, verbose=0)
    return features.astype(np.float64), probabilities


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are examples).

    The trace of the matrix square root is computed as the sum of square roots of the
    eigenvalues of C_1^(1/2) C_2 C_1^(1/2), which is symmetric, so only ``numpy.linalg.eigh`` is
    needed (hand-written: no library here offers FID on custom features).
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise InvalidInputError(
            f"need two (n, d) feature arrays with the same d and n >= 2, got {a.shape} and "
            f"{b.shape}"
        )
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0.0, None)).sum()
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def mean_confidence(probabilities: np.ndarray) -> float:
    """Mean over images of the classifier's largest class probability."""
    return float(np.mean(np.max(probabilities, axis=-1)))


def sample_quality(
    classifier,
    images: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    batch_size: int = 500,
) -> dict[str, float]:
    """Fréchet distance to ``reference`` features and mean confidence of ``images``.

    ``reference`` is a feature array from :func:`classifier_outputs` (e.g. of the MNIST test
    set); without it only the confidence is returned. Also reports the share of the most
    frequent predicted class (1.0 would be a complete mode collapse onto one digit).
    """
    features, probabilities = classifier_outputs(classifier, images, batch_size=batch_size)
    counts = np.bincount(probabilities.argmax(axis=-1), minlength=probabilities.shape[-1])
    result = {
        "mean_confidence": mean_confidence(probabilities),
        "top_class_share": float(counts.max() / counts.sum()),
    }
    if reference is not None:
        result["frechet_distance"] = frechet_distance(features, reference)
    return result


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
