"""Image augmentation in tf.data, vectorised over a batch and deterministic for a given seed.

Augmentation lives in the input pipeline, never in an exported graph: random ops convert to ONNX
but onnxruntime rejects them (see DESIGN.md). A policy transforms a whole batch at once (a pad,
two row gathers and two transposes shift every image; flips, brightness and contrast are
per-image factors broadcast over the batch): per-image ``map`` calls cost ~30 us of op overhead
each, which on 2 cores took a core from the training step (``mnist_fast_995``: 2 s an epoch).
Every random draw is a ``tf.random.stateless_*`` op keyed by ``(seed, key)``, where ``key`` is
the position in the epoch's stream of the batch's first example, so the same seed gives the same
augmented stream and a resumed run continues it exactly. Hand-written: Keras' random
preprocessing layers draw from a stateful ``SeedGenerator``, which cannot be keyed by stream
position for exact resume.

Per-image standardisation is deliberately not a policy here: policies touch the training split
only, and standardisation must apply to evaluation and serving too, so it is the first layer of
the CIFAR network (``fdl_keras.vision.cifar_cnn.PerImageStandardization``).
"""

from __future__ import annotations

import tensorflow as tf

from fdl_keras.errors import InvalidInputError


def shift(images: tf.Tensor, key: tf.Tensor, pad: int | None = None) -> tf.Tensor:
    """Random translation of each image by up to ``pad`` pixels: zero-pad, then crop back
    (MNIST, CIFAR); ``images`` is ``(batch, height, width, channels)``.

    Both crops gather whole rows of a 3-D view: the rows of each padded image at its offset,
    then, with height and width swapped, its columns. Gathering single pixels along the width
    axis, or gathering from and transposing the 4-D tensor, costs about twice the CPU
    (``benchmarks/RESULTS_speed.md``). ``pad`` defaults to 1/14 of the height: 2 pixels on
    MNIST, 1 on 8x8 digits.
    """
    batch = tf.shape(images)[0]
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    pad = pad if pad is not None else max(1, round(height / 14))
    offsets = tf.random.stateless_uniform(
        (batch, 2), seed=key, minval=0, maxval=2 * pad + 1, dtype=tf.int32
    )
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    padded = tf.reshape(padded, [batch, height + 2 * pad, (width + 2 * pad) * channels])
    rows = tf.gather(padded, offsets[:, :1] + tf.range(height)[None], axis=1, batch_dims=1)
    swapped = _swap_spatial(rows, width + 2 * pad, channels)
    columns = tf.gather(swapped, offsets[:, 1:] + tf.range(width)[None], axis=1, batch_dims=1)
    shifted = _swap_spatial(columns, height, channels)
    return tf.reshape(shifted, [batch, height, width, channels])


def _swap_spatial(view: tf.Tensor, width: int, channels: int) -> tf.Tensor:
    """``(batch, height, width * channels)`` to ``(batch, width, height * channels)``; one
    channel is a 3-D transpose, the cheap case."""
    if channels == 1:
        return tf.transpose(view, [0, 2, 1])
    height = view.shape[1]
    view = tf.transpose(tf.reshape(view, [-1, height, width, channels]), [0, 2, 1, 3])
    return tf.reshape(view, [-1, width, height * channels])


def crop(images: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
    """Random crop, back to full size, of each image zero-padded by 4 pixels (He et al., CIFAR)."""
    return shift(images, key, pad=4)


def flip(images: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
    """Random horizontal flip of half the images (CIFAR; wrong for digits)."""
    flipped = tf.random.stateless_uniform((tf.shape(images)[0], 1, 1, 1), seed=key) < 0.5
    return tf.where(flipped, tf.reverse(images, axis=[2]), images)


def jitter(images: tf.Tensor, key: tf.Tensor, strength: float = 0.2) -> tf.Tensor:
    """Random brightness (added) and contrast (scaled about each channel's mean) per image,
    clipped back to [0, 1]: ``tf.image``'s brightness then contrast, for a batch."""
    k1, k2 = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    size = (tf.shape(images)[0], 1, 1, 1)
    delta = tf.random.stateless_uniform(size, seed=k1, minval=-strength, maxval=strength)
    factor = tf.random.stateless_uniform(size, seed=k2, minval=1 - strength, maxval=1 + strength)
    images = images + delta
    mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    return tf.clip_by_value((images - mean) * factor + mean, 0.0, 1.0)


POLICIES = {
    "shift": (shift,),
    "cifar": (crop, flip, jitter),
}


def augment_fn(policy: str, seed: int):
    """Returns ``fn(key, images, labels) -> (images, labels)`` applying ``policy`` to a batch
    with ``seed``; ``key`` is the stream position of the batch's first example."""
    if policy not in POLICIES:
        raise InvalidInputError(
            f"unknown augmentation {policy!r}; choose one of {', '.join(sorted(POLICIES))}, "
            f"or augment=False (--no-augment) for none"
        )
    ops = POLICIES[policy]

    def fn(key: tf.Tensor, images: tf.Tensor, labels: tf.Tensor):
        key = tf.stack([tf.constant(seed, tf.int64), tf.cast(key, tf.int64)])
        keys = tf.random.experimental.stateless_split(key, len(ops))
        for i, op in enumerate(ops):
            images = op(images, keys[i])
        return images, labels

    return fn
