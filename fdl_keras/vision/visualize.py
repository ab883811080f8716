"""Visualising what a convolutional network learned: filters, activation maps, t-SNE of features.

The book's section "Visualizing Learning in Convolutional Networks": the first layer's filters
drawn as images, the feature maps an input produces in a layer, and a two-dimensional t-SNE
embedding (scikit-learn) of the penultimate layer's features, coloured by class, in which a
well-trained network separates the classes.
Reference: van der Maaten & Hinton, "Visualizing Data using t-SNE", JMLR 2008;
Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.

Every function saves a PNG of ``figsize`` inches at 100 dpi through a bare matplotlib
``Figure`` (the Agg renderer; no pyplot state, no display needed) and returns the array it drew
so callers can test or reuse it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

DPI = 100


def first_conv_layer(model):
    """The first ``Conv2D`` layer of ``model`` (searching nested models too)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            return layer
        if isinstance(layer, keras.Model):
            try:
                return first_conv_layer(layer)
            except ValueError:
                continue
    raise ValueError(f"{model.name} has no Conv2D layer to visualise")


def tile(images: np.ndarray, columns: int | None = None, pad: int = 1) -> np.ndarray:
    """Arranges ``(n, h, w[, c])`` images in a grid separated by ``pad`` pixels of zeros."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.zeros((rows * (h + pad) - pad, columns * (w + pad) - pad, c), np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        grid[r * (h + pad) : r * (h + pad) + h, col * (w + pad) : col * (w + pad) + w] = image
    return grid if c > 1 else grid[..., 0]


def filter_grid(model, path: str | Path, *, figsize: tuple[float, float] = (6, 6)) -> np.ndarray:
    """Saves the first convolution's kernels as a grid of small images; returns the grid.

    Each kernel is scaled to [0, 1] on its own. RGB kernels are drawn in colour; kernels of
    other inputs show their mean over input channels in grey.
    """
    kernel = np.asarray(first_conv_layer(model).kernel)  # (kh, kw, in, out)
    filters = np.moveaxis(kernel, -1, 0)  # (out, kh, kw, in)
    if filters.shape[-1] != 3:
        filters = filters.mean(axis=-1)
    low = filters.min(axis=tuple(range(1, filters.ndim)), keepdims=True)
    high = filters.max(axis=tuple(range(1, filters.ndim)), keepdims=True)
    grid = tile((filters - low) / np.maximum(high - low, 1e-12))
    _save_image(
        grid, path, figsize, title=f"{first_conv_layer(model).name}: {len(filters)} filters"
    )
    return grid


def activation_maps(
    model,
    image: np.ndarray,
    path: str | Path,
    *,
    layer: str | None = None,
    max_maps: int = 16,
    figsize: tuple[float, float] = (6, 6),
) -> np.ndarray:
    """Saves the feature maps one input ``image`` produces in ``layer``; returns them.

    ``layer`` defaults to the first convolution. Returns the maps as ``(h, w, channels)``
    (all channels; the figure shows the first ``max_maps``).
    """
    import keras

    target = model.get_layer(layer) if layer else first_conv_layer(model)
    probe = keras.Model(model.inputs, target.output)
    maps = np.asarray(probe.predict_on_batch(np.asarray(image, np.float32)[None]))[0]
    shown = np.moveaxis(maps[..., :max_maps], -1, 0)
    grid = tile(shown / np.maximum(shown.max(axis=(1, 2), keepdims=True), 1e-12))
    _save_image(grid, path, figsize, title=f"{target.name}: {maps.shape[-1]} maps", cmap="viridis")
    return maps


def penultimate_features(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The input of the model's output layer (the last hidden representation) for ``images``."""
    import keras

    probe = keras.Model(model.inputs, model.layers[-1].input)
    return np.asarray(probe.predict(images, batch_size=batch_size, verbose=0))


def tsne_plot(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    perplexity: float = 30.0,
    seed: int = 0,
    figsize: tuple[float, float] = (7, 6),
) -> np.ndarray:
    """Saves a 2-D t-SNE of the penultimate features of ``images`` coloured by ``labels``.

    Returns the ``(n, 2)`` embedding. Perplexity is capped below the number of points, as
    scikit-learn requires.
    """
    import matplotlib
    from sklearn.manifold import TSNE

    labels = np.asarray(labels).reshape(-1)
    features = penultimate_features(model, images).reshape(len(images), -1)
    tsne = TSNE(
        n_components=2,
        perplexity=min(perplexity, (len(images) - 1) / 3),
        init="pca",
        random_state=seed,
    )
    embedding = tsne.fit_transform(features)
    fig, ax = _figure(figsize)
    classes = np.unique(labels)
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for k in classes:
        points = embedding[labels == k]
        name = class_names[k] if class_names is not None else str(k)
        ax.scatter(points[:, 0], points[:, 1], s=8, color=cmap(int(k) % cmap.N), label=name)
    ax.legend(markerscale=2, fontsize=8, loc="best")
    ax.set_title(f"t-SNE of {model.name}'s penultimate features ({len(images)} images)")
    ax.set_xticks([])
    ax.set_yticks([])
    _save(fig, path)
    return embedding


def _figure(figsize):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    return fig, fig.subplots()


def _save_image(grid, path, figsize, title: str, cmap: str = "gray") -> None:
    fig, ax = _figure(figsize)
    ax.imshow(grid, cmap=cmap, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    _save(fig, path)


def _save(fig, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)  # no bbox_inches="tight": the PNG is exactly figsize * dpi
