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


def device_options(dataset):
    """``dataset`` with this machine's ``tf.data`` options: on a CPU-only machine, the
    autotuner off.

    On 2 cores the autotuner's background thread and the parallelism it picks compete with the
    training step for the cores: steps became bimodal, e.g. ``mnist_fast`` 13.7 or 23.8 ms,
    ``mnist_mlp`` 1.8 or 3.0 ms, ``cifar_cnn`` with augmentation 80 or 128 ms, from one epoch
    to the next; with it off they stay at the fast mode (``benchmarks/RESULTS_speed.md``).
    ``AUTOTUNE`` parallelism then means the number of cores. With a GPU/TPU, where the CPU only
    feeds the accelerator, the autotuner stays on. Anything but a ``tf.data.Dataset`` (or
    ``None``) is returned as is.
    """
    import tensorflow as tf

    from fdl_keras.tasks import accelerator_present

    if not isinstance(dataset, tf.data.Dataset) or accelerator_present():
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


class EpochOrder:
    """The epoch a shuffled pipeline is in, as a TensorFlow variable.

    A pass over the pipeline reads it for its order and augmentation keys, then advances it by
    one. The order of epoch ``e`` is a function of ``(seed, e)`` alone, so a run resumed at
    epoch ``k`` in a new process sees exactly the batches the uninterrupted run saw (the trainer
    calls :meth:`set` at every epoch start); ``tf.data``'s own reshuffling counts passes per
    process instead, and restarts at the first epoch's order.
    """

    def __init__(self):
        import tensorflow as tf

        self.variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")

    def set(self, epoch: int) -> None:
        self.variable.assign(epoch)

    def next_pass(self):
        """The epoch of the pass now starting (inside the pipeline), advancing the counter."""
        return self.variable.assign_add(1) - 1


def pass_seeds(seed: int, order: EpochOrder | None = None, fresh: bool = True):
    """``(seeds, key)``: a dataset of one int64 per element and ``key(element_seed)``, the
    element's stateless seed. Fresh noise per pass (``fresh``) comes from ``order``'s epoch
    when given (a function of ``(seed, epoch, position)``, so a resumed run draws what the
    uninterrupted one drew; read while the pass runs, after its pipeline set the epoch), else
    from ``tf.data``'s per-process reshuffling; without ``fresh`` every pass draws the same.
    """
    import tensorflow as tf

    if fresh and order is None:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    else:  # the element's position (and the pass's epoch): the same in every process
        seeds = tf.data.Dataset.counter()

    def key(element_seed):
        if fresh and order is not None:
            element_seed = element_seed + order.variable.read_value() * 2**32
        return tf.stack([element_seed, tf.constant(seed, tf.int64)])

    return seeds, key


def shuffled_indices(
    n: int,
    seed: int,
    order: EpochOrder,
    *,
    batch_size: int | None = None,
    drop_remainder: bool = False,
):
    """A dataset of ``(key, index)``: the indices ``0..n-1`` in the order of epoch ``e`` (read
    from ``order``), and keys ``e * n + position`` that seed augmentation.

    With ``batch_size`` each element is a batch of them: consecutive slices of the epoch's
    order, the batches ``.batch(batch_size, drop_remainder)`` would give, without passing the
    epoch's ``n`` elements one at a time (a quarter of a small MLP's step on 2 cores).
    """
    import tensorflow as tf

    size = 1 if batch_size is None else batch_size
    count = n // size if drop_remainder else -(-n // size)

    def one_epoch(_):
        epoch = order.next_pass()
        indices = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        keys = epoch * n + tf.range(n, dtype=tf.int64)
        if batch_size is None:
            return tf.data.Dataset.from_tensor_slices((keys, indices))
        return tf.data.Dataset.range(count).map(
            lambda b: (keys[b * size : (b + 1) * size], indices[b * size : (b + 1) * size])
        )

    # flat_map hides the length; Keras 3.15's fit then runs one extra optimizer step per epoch
    # on an exhausted iterator (Adam moves the weights on it), so state the length.
    passes = tf.data.Dataset.range(1).flat_map(one_epoch)
    return passes.apply(tf.data.experimental.assert_cardinality(count))


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
    order: EpochOrder | None = None,
):
    """A ``tf.data`` pipeline over arrays: seeded per-epoch shuffle, augment, batch, prefetch.

    Images are cast to float32 and divided by ``scale``; a channel axis is added to 3-D input.
    With ``shuffle``, epoch ``e`` visits the examples in an order fixed by ``(seed, e)`` and
    augments the batch that starts at example ``i`` of it with the key ``(seed, e * n + i)``
    (:mod:`fdl_keras.data.augment`; see :class:`EpochOrder`; pass ``order`` to set the epoch
    from outside).
    """
    import tensorflow as tf

    check_images(x)
    if x.ndim == 3:
        x = x[..., None]
    if len(x) != len(y):
        raise InvalidInputError(f"{len(x)} images but {len(y)} labels; pass one label per image")
    autotune = tf.data.AUTOTUNE

    def normalise(images, labels):
        return tf.cast(images, tf.float32) / scale, tf.cast(labels, tf.int32)

    augment_batch = None
    if augment:
        from fdl_keras.data.augment import augment_fn

        augment_batch = augment_fn(augment, seed)

    def prepare(key, x, y):
        """One batch normalised, then augmented with the key of its first example."""
        x, y = normalise(x, y)
        return (x, y) if augment_batch is None else augment_batch(key, x, y)

    if shuffle:
        images, labels = tf.constant(x), tf.constant(y)
        order = order or EpochOrder()
        # Whole batches gathered from the epoch's order: cheaper than one element at a time.
        ds = shuffled_indices(
            len(x), seed, order, batch_size=batch_size, drop_remainder=drop_remainder
        ).map(
            lambda keys, i: prepare(keys[0], tf.gather(images, i), tf.gather(labels, i)),
            num_parallel_calls=autotune,
        )
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
        ds = ds.batch(batch_size, drop_remainder=drop_remainder).enumerate()
        ds = ds.map(lambda b, xy: prepare(b * batch_size, *xy), num_parallel_calls=autotune)
    return ds.prefetch(autotune)
