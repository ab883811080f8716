"""``tf.data`` pipelines over arrays: cache, seeded shuffle, augmentation, batch, prefetch."""

from __future__ import annotations

import numpy as np

from fdl_keras.errors import InvalidInputError


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
