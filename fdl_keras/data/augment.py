"""Image augmentation in tf.data, deterministic for a given seed.

Augmentation lives in the input pipeline, never in an exported graph: random ops convert to ONNX
but onnxruntime rejects them (see DESIGN.md). Every op is a ``tf.image.stateless_random_*`` op
keyed by ``(seed, element index)``, so the same seed gives the same augmented stream.

Per-image standardisation is deliberately not a policy here: policies touch the training split
only, and standardisation must apply to evaluation and serving too, so it is the first layer of
the CIFAR network (``fdl_keras.vision.cifar_cnn.PerImageStandardization``).
"""

from __future__ import annotations

import tensorflow as tf


def shift(image: tf.Tensor, key: tf.Tensor, pad: int | None = None) -> tf.Tensor:
    """Random translation by up to ``pad`` pixels: zero-pad, then crop back (MNIST, CIFAR).

    ``pad`` defaults to 1/14 of the height: 2 pixels on MNIST, 1 on 8x8 digits.
    """
    h, w, c = image.shape
    pad = pad if pad is not None else max(1, round(h / 14))
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
    return tf.image.stateless_random_crop(padded, (h, w, c), seed=key)


def crop(image: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
    """Random crop, back to full size, of the image zero-padded by 4 pixels (He et al., CIFAR)."""
    return shift(image, key, pad=4)


def flip(image: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
    """Random horizontal flip (CIFAR; wrong for digits)."""
    return tf.image.stateless_random_flip_left_right(image, seed=key)


def jitter(image: tf.Tensor, key: tf.Tensor, strength: float = 0.2) -> tf.Tensor:
    """Random brightness and contrast, clipped back to [0, 1]."""
    k1, k2 = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    image = tf.image.stateless_random_brightness(image, strength, seed=k1)
    image = tf.image.stateless_random_contrast(image, 1 - strength, 1 + strength, seed=k2)
    return tf.clip_by_value(image, 0.0, 1.0)


POLICIES = {
    "shift": (shift,),
    "cifar": (crop, flip, jitter),
}


def augment_fn(policy: str, seed: int):
    """Returns ``fn(index, image, label) -> (image, label)`` applying ``policy`` with ``seed``."""
    if policy not in POLICIES:
        raise ValueError(f"unknown augmentation {policy!r}; choose one of {sorted(POLICIES)}")
    ops = POLICIES[policy]

    def fn(index: tf.Tensor, image: tf.Tensor, label: tf.Tensor):
        key = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
        keys = tf.random.experimental.stateless_split(key, len(ops))
        for i, op in enumerate(ops):
            image = op(image, keys[i])
        return image, label

    return fn
