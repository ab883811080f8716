"""tf.data pipelines for the book's datasets.

``load_dataset(name)`` returns train/validation/test pipelines (seeded shuffle, batch, cache,
prefetch, normalisation to [0, 1]) and a :class:`DatasetInfo` describing them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from fdl_keras import config
from fdl_keras.data.images import SOURCES, image_metadata, load_arrays, read_idx
from fdl_keras.errors import InvalidInputError, UnknownDatasetError

IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "digits")
FAST_LIMIT = 1024  # training examples kept in FDL_FAST mode


@dataclass(frozen=True)
class DatasetInfo:
    """What a pipeline yields and where its data came from."""

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...]
    source: str
    num_train: int
    num_validation: int
    num_test: int
    title: str = ""


@dataclass
class Dataset:
    """Train/validation/test ``tf.data.Dataset`` s of ``(image, label)`` batches, plus arrays."""

    train: object
    validation: object
    test: object
    info: DatasetInfo
    arrays: dict = field(default_factory=dict, repr=False)

    def sample_batch(self, size: int = 8, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """``size`` normalised examples of ``split`` as numpy arrays (for export checks, plots)."""
        x, y = self.arrays[split]
        return x[:size], y[:size]


def check_images(x: np.ndarray, name: str = "images") -> None:
    """Raises :class:`InvalidInputError` for non-numeric or non-finite image arrays."""
    if not np.issubdtype(x.dtype, np.number):
        raise InvalidInputError(
            f"{name} have dtype {x.dtype}; pass a numeric array (uint8/float32)"
        )
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise InvalidInputError(f"{name} contain {bad} NaN/inf values; clean or drop them first")


def make_pipeline(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    scale: float = 1.0,
    shuffle: bool = False,
    seed: int = 0,
    augment: str | None = None,
    drop_remainder: bool = False,
):
    """A ``tf.data`` pipeline over arrays: cache, seeded shuffle, augment, batch, prefetch.

    Images are cast to float32 and divided by ``scale``; a channel axis is added to 3-D input.
    """
    import tensorflow as tf

    check_images(x)
    if x.ndim == 3:
        x = x[..., None]
    if len(x) != len(y):
        raise InvalidInputError(f"{len(x)} images but {len(y)} labels; pass one label per image")
    autotune = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def normalise(images, labels):
        return tf.cast(images, tf.float32) / scale, tf.cast(labels, tf.int32)

    if augment:
        from fdl_keras.data.augment import augment_fn

        fn = augment_fn(augment, seed)
        ds = ds.map(normalise, num_parallel_calls=autotune).enumerate()
        ds = ds.map(lambda i, xy: fn(i, *xy), num_parallel_calls=autotune)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    else:
        # Normalising whole batches is cheaper than one element at a time.
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(normalise, num_parallel_calls=autotune)
    return ds.prefetch(autotune)


def first_available(*names: str) -> tuple[str, str]:
    """The first of ``names`` that can be loaded, and why the ones before it could not.

    ``first_available("mnist", "digits")`` is how the demo and notebooks fall back to the embedded
    digits set on a machine without MNIST.
    """
    from fdl_keras.errors import DatasetNotFoundError

    reasons = []
    for name in names:
        try:
            load_arrays(name)
            return name, "; ".join(reasons)
        except DatasetNotFoundError as exc:
            reasons.append(str(exc))
    raise DatasetNotFoundError(" | ".join(reasons))


def load_dataset(
    name: str,
    *,
    batch_size: int = 128,
    validation_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    augment: str | None = None,
) -> Dataset:
    """Loads an image dataset as batched ``tf.data`` pipelines.

    Args:
        name: one of ``mnist``, ``fashion_mnist``, ``cifar10``, ``digits``.
        batch_size: examples per batch.
        validation_fraction: share of the training split held out (seeded) for validation.
        seed: shuffle, split and augmentation seed.
        limit: keep at most this many training examples (and a proportional test share);
            ``FDL_FAST=1`` sets it to 1,024 when not given.
        augment: augmentation policy applied to the training split only (``shift``, ``cifar``).
    """
    if name not in IMAGE_DATASETS:
        close = difflib.get_close_matches(name, IMAGE_DATASETS, n=2, cutoff=0.3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; {hint}choose one of {', '.join(IMAGE_DATASETS)}"
        )
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    if limit is None and config.fast_mode():
        limit = FAST_LIMIT
    arrays, source = load_arrays(name)
    (x_train, y_train), (x_test, y_test) = arrays
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))
    if limit is not None:
        order = order[:limit]
        x_test, y_test = (
            x_test[: max(limit // 4, batch_size)],
            y_test[: max(limit // 4, batch_size)],
        )
    n_val = int(round(len(order) * validation_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    max_value, class_names, title = image_metadata(name)
    splits = {
        "train": (x_train[train_idx], y_train[train_idx]),
        "validation": (x_train[val_idx], y_train[val_idx]),
        "test": (x_test, y_test),
    }

    def pipe(split: str, **kw):
        x, y = splits[split]
        return make_pipeline(x, y, batch_size=batch_size, scale=max_value, seed=seed, **kw)

    shape = x_train.shape[1:] if x_train.ndim == 4 else (*x_train.shape[1:], 1)
    info = DatasetInfo(
        name=name,
        input_shape=tuple(int(s) for s in shape),
        num_classes=len(class_names),
        class_names=class_names,
        source=source,
        num_train=len(train_idx),
        num_validation=n_val,
        num_test=len(x_test),
        title=title,
    )

    def normalised(split: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = splits[split]
        x = (x.astype(np.float32) / max_value).reshape((len(x), *shape))
        return x, y.astype(np.int32)

    return Dataset(
        train=pipe("train", shuffle=True, augment=augment),
        validation=pipe("validation") if n_val else None,
        test=pipe("test"),
        info=info,
        arrays={split: normalised(split) for split in ("validation", "test")},
    )


__all__ = [
    "IMAGE_DATASETS",
    "SOURCES",
    "Dataset",
    "DatasetInfo",
    "check_images",
    "first_available",
    "load_arrays",
    "load_dataset",
    "make_pipeline",
    "read_idx",
]
