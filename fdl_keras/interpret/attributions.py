"""LIME and SHAP for the package's tabular, text and image classifiers, with their plots.

The maintained libraries do the work: ``shap`` (Lundberg & Lee, "A unified approach to
interpreting model predictions", NeurIPS 2017) and ``lime`` (Ribeiro, Singh & Guestrin, "Why
should I trust you?", KDD 2016). This module only adapts a Keras model to them (a probability
function over 2-D rows, texts or image batches) and turns their results into per-feature,
per-word or per-pixel arrays, so that the deletion test and the plots treat both alike.

- tabular: :func:`shap_tabular` (Kernel SHAP: values sum to ``f(x) - E[f]`` exactly) and
  :func:`lime_tabular` (a local linear model on standardised features);
- text: :func:`shap_text` (partition SHAP over words) and :func:`lime_text`;
- images: :func:`shap_image` (partition SHAP over pixels, masked to black) and
  :func:`lime_image` (square superpixels), both as ``(height, width)`` attribution maps;
- :func:`deletion_curve`: accuracy as the most-attributed pixels are removed first
  (Samek et al., "Evaluating the visualization of what a deep neural network has learned",
  IEEE TNNLS 2017).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fdl_keras.errors import InvalidInputError
from fdl_keras.interpret.adapter import predict_probabilities

WORD = re.compile(r"\w+|[^\w\s]+")


def _check_count(name: str, value: int) -> None:
    if int(value) < 1:
        raise InvalidInputError(f"{name} must be >= 1, got {value}")


# --- tabular ---------------------------------------------------------------------------------


def shap_tabular(
    model,
    background: np.ndarray,
    x: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    class_index: int = -1,
    nsamples: int | str = "auto",
    max_background: int = 50,
    seed: int = 0,
):
    """Kernel SHAP values of ``model`` on the rows ``x`` for class ``class_index``.

    Returns a ``shap.Explanation`` (``values`` ``(n, features)``, ``base_values`` = the mean
    prediction over ``background``), ready for ``shap.plots.beeswarm`` / ``bar`` / ``waterfall``.
    By SHAP's efficiency property ``values.sum(1) + base_values == f(x)[:, class_index]``.
    """
    import shap

    x = np.asarray(x, np.float32)
    background = np.asarray(background, np.float32)
    if len(x) == 0 or len(background) == 0:
        raise InvalidInputError("shap_tabular needs at least one row to explain and background")
    if len(background) > max_background:
        rows = np.random.default_rng(seed).choice(len(background), max_background, replace=False)
        background = background[rows]
    f = predict_probabilities(model)

    def g(rows):
        return f(rows)[:, class_index]

    explainer = shap.KernelExplainer(g, background, seed=seed)
    values = explainer.shap_values(x, nsamples=nsamples, silent=True)
    base = np.full(len(x), float(np.ravel(explainer.expected_value)[0]))
    return shap.Explanation(
        values=np.asarray(values, np.float64),
        base_values=base,
        data=x,
        feature_names=list(feature_names) if feature_names is not None else None,
    )


@dataclass(frozen=True)
class LimeResult:
    """LIME's local linear explanation of one prediction."""

    label: int
    weights: np.ndarray  # one weight per feature / word / segment (0 where not selected)
    intercept: float
    score: float  # R^2 of the local linear model
    explanation: object  # lime's Explanation, for its own plots (as_pyplot_figure, as_html)


def lime_tabular(
    model,
    training: np.ndarray,
    row: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    label: int | None = None,
    num_features: int = 10,
    num_samples: int = 2000,
    seed: int = 0,
) -> LimeResult:
    """LIME on one tabular ``row``: a weighted linear model fitted to perturbations around it.

    Features are not discretised, so a weight is the local slope of the class probability in
    standard deviations of that feature (its sign says which way the feature pushes).
    """
    from lime.lime_tabular import LimeTabularExplainer

    _check_count("num_samples", num_samples)
    _check_count("num_features", num_features)
    training = np.asarray(training, np.float64)
    row = np.asarray(row, np.float64).reshape(-1)
    f = predict_probabilities(model)
    explainer = LimeTabularExplainer(
        training,
        feature_names=list(feature_names) if feature_names is not None else None,
        class_names=list(class_names) if class_names is not None else None,
        discretize_continuous=False,
        random_state=seed,
    )
    if label is None:
        label = int(np.argmax(f(row[None])[0]))
    exp = explainer.explain_instance(
        row, f, labels=(label,), num_features=num_features, num_samples=num_samples
    )
    return _lime_result(exp, label, len(row))


def _lime_result(exp, label: int, size: int) -> LimeResult:
    weights = np.zeros(size)
    for index, weight in exp.local_exp[label]:
        weights[index] = weight
    return LimeResult(
        label, weights, float(exp.intercept[label]), float(np.ravel(exp.score)[0]), exp
    )


# --- text ------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """The words (and punctuation runs) of ``text`` in order, as the text explainers see them."""
    return WORD.findall(text)


def lime_text(
    predict_texts: Callable[[list[str]], np.ndarray],
    text: str,
    *,
    label: int | None = None,
    num_features: int = 10,
    num_samples: int = 500,
    seed: int = 0,
) -> tuple[LimeResult, list[str]]:
    """LIME on one text: words are switched off at random and a linear model explains the
    change. Returns the result (one weight per word of :func:`words`) and the words.

    A perturbation that switches every word off is classified as the text ``"."``.
    """
    from lime.lime_text import LimeTextExplainer

    _check_count("num_samples", num_samples)
    tokens = words(text)
    if not tokens:
        raise InvalidInputError("lime_text got an empty text; pass at least one word")
    explainer = LimeTextExplainer(
        split_expression=lambda s: words(s), bow=False, mask_string="", random_state=seed
    )

    def classify(texts):
        return predict_texts([t if t.strip() else "." for t in texts])

    if label is None:
        label = int(np.argmax(classify([text])[0]))
    exp = explainer.explain_instance(
        text, classify, labels=(label,), num_features=num_features, num_samples=num_samples
    )
    return _lime_result(exp, label, len(tokens)), tokens


def shap_text(
    predict_texts: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    *,
    class_index: int = 1,
    max_evals: int = 500,
):
    """Partition SHAP over the words of each text for class ``class_index`` (a
    ``shap.Explanation``; ``shap.plots.text`` draws it as highlighted words)."""
    import shap

    if not texts or not all(t.strip() for t in texts):
        raise InvalidInputError("shap_text needs non-empty texts; drop empty lines")

    def f(batch):
        return predict_texts([str(t) for t in batch])[:, class_index]

    masker = shap.maskers.Text(r"\W+")
    explainer = shap.Explainer(f, masker, algorithm="partition")
    return explainer(list(texts), max_evals=max_evals, silent=True)


# --- images ----------------------------------------------------------------------------------


def shap_image(
    model, images: np.ndarray, *, labels: Sequence[int] | None = None, max_evals: int = 500
) -> np.ndarray:
    """Partition SHAP maps ``(n, height, width)`` of each image for its label (default: the
    predicted class), a pixel's absence being black (0), the MNIST background."""
    import shap

    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise InvalidInputError(f"images must be (n, height, width, channels), got {images.shape}")
    f = predict_probabilities(model)
    if labels is None:
        labels = np.argmax(f(images), axis=1)
    masker = shap.maskers.Image(np.zeros(images.shape[1:], np.float32), images.shape[1:])
    maps = []
    for image, label in zip(images, labels):

        def g(batch, label=int(label)):
            return f(np.asarray(batch, np.float32))[:, label]

        explainer = shap.Explainer(g, masker, algorithm="partition")
        # One forward pass per batch of masked images (shap's default batch is 10).
        values = explainer(image[None], max_evals=max_evals, batch_size=max_evals, silent=True)
        maps.append(np.asarray(values.values[0]).sum(axis=-1))
    return np.stack(maps)


def grid_segments(shape: tuple[int, int], patch: int) -> np.ndarray:
    """Square superpixels: segment ids of an ``(h, w)`` image cut into ``patch``-sized tiles."""
    _check_count("patch", patch)
    h, w = shape
    rows, cols = np.arange(h) // patch, np.arange(w) // patch
    return rows[:, None] * (-(-w // patch)) + cols[None, :]


def lime_image(
    model,
    image: np.ndarray,
    *,
    label: int | None = None,
    patch: int = 4,
    num_samples: int = 500,
    seed: int = 0,
) -> tuple[np.ndarray, LimeResult]:
    """LIME on one ``(h, w, c)`` image with ``patch`` x ``patch`` superpixels switched to black.

    Returns the ``(h, w)`` map (each pixel carries its superpixel's weight) and the result.
    """
    from lime.lime_image import LimeImageExplainer

    _check_count("num_samples", num_samples)
    image = np.asarray(image, np.float64)
    if image.ndim != 3:
        raise InvalidInputError(f"image must be (height, width, channels), got {image.shape}")
    channels = image.shape[-1]
    f = predict_probabilities(model)
    segments = grid_segments(image.shape[:2], patch)

    def classify(batch):  # lime hands RGB images; the model may take one channel
        batch = np.asarray(batch, np.float32)
        return f(batch[..., :channels] if channels == 1 else batch)

    rgb = np.repeat(image, 3, axis=-1) if channels == 1 else image
    if label is None:
        label = int(np.argmax(f(image[None])[0]))
    exp = LimeImageExplainer(random_state=seed).explain_instance(
        rgb,
        classify,
        labels=(label,),
        top_labels=None,
        hide_color=0,
        num_samples=num_samples,
        segmentation_fn=lambda _: segments,
        batch_size=256,
    )
    result = _lime_result(exp, label, int(segments.max()) + 1)
    return result.weights[segments], result


def deletion_curve(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    attributions: np.ndarray,
    fractions: Sequence[float] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5),
) -> np.ndarray:
    """Accuracy on ``images`` after setting the top ``fraction`` of pixels (by attribution,
    highest first) of each image to 0, for each fraction: a faithful explanation makes the
    accuracy fall fast. Ties are broken by pixel order."""
    images = np.asarray(images, np.float32)
    attributions = np.asarray(attributions, np.float64).reshape(len(images), -1)
    if attributions.shape[1] != int(np.prod(images.shape[1:3])):
        raise InvalidInputError(
            f"attributions {attributions.shape} do not match images {images.shape}: one value "
            "per pixel is needed"
        )
    f = predict_probabilities(model)
    order = np.argsort(-attributions, axis=1, kind="stable")
    n_pixels = attributions.shape[1]
    accuracies = []
    for fraction in fractions:
        k = int(round(fraction * n_pixels))
        keep = np.ones_like(attributions, np.float32)
        np.put_along_axis(keep, order[:, :k], 0.0, axis=1)
        masked = images * keep.reshape(images.shape[:3])[..., None]
        accuracies.append(float(np.mean(np.argmax(f(masked), axis=1) == np.asarray(labels))))
    return np.asarray(accuracies)
