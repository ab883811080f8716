"""Attention layers of chapter 9: additive (Bahdanau) and multiplicative (Luong) scores over an
encoder's states, and multi-head attention with a key/value cache for incremental decoding.

``keras.layers.AdditiveAttention`` and ``keras.layers.Attention`` score already-projected
queries and keys; the two recurrent-attention layers here carry the learned projections of the
papers (Bahdanau's W_q, W_k and v; Luong's "general" W) and take the source padding as an
explicit 0/1 mask, so they are written here. :class:`CachedMultiHeadAttention` is
``keras.layers.MultiHeadAttention`` with keras-hub's cache (``CachedMultiHeadAttention``), not
installed here; written after it.

References: Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning to Align and
Translate", ICLR 2015; Luong, Pham & Manning, "Effective Approaches to Attention-based Neural
Machine Translation", EMNLP 2015; Vaswani et al., "Attention Is All You Need", NeurIPS 2017.
"""

from __future__ import annotations

import keras
from keras import ops

from fdl_keras.serialization import serializable

#: Added to the score of a padded key: exp(score - 1e9 - max) is exactly 0 in float32.
MASK_VALUE = -1e9


def masked_softmax(scores, mask):
    """Softmax over the last axis where ``mask`` (1 keep, 0 drop; broadcast) drops keys
    exactly: a dropped key gets probability 0, so its value never reaches the output."""
    dtype = scores.dtype  # float32 here: -1e9 is -inf in float16, and 0 * -inf is NaN
    scores = ops.cast(scores, "float32") + (1.0 - ops.cast(mask, "float32")) * MASK_VALUE
    return ops.cast(ops.softmax(scores, axis=-1), dtype)


class _RecurrentAttention(keras.layers.Layer):
    """Shared call: ``(query (B, T, dq), keys (B, S, dk), key_mask (B, S) 0/1)`` ->
    ``context (B, T, dk)``, and ``weights (B, T, S)`` with ``return_attention_scores``."""

    def call(self, query, keys, key_mask, return_attention_scores=False):
        weights = masked_softmax(self.score(query, keys), key_mask[:, None, :])
        context = ops.matmul(weights, keys)
        return (context, weights) if return_attention_scores else context

    def score(self, query, keys):
        raise NotImplementedError


@serializable
class BahdanauAttention(_RecurrentAttention):
    """Additive attention: score(q, k) = v^T tanh(W_q q + W_k k) (Bahdanau et al. 2015).

    Args:
        units: width of the hidden layer of the score.

    Example:
        >>> import numpy as np
        >>> context, weights = BahdanauAttention(8)(
        ...     np.ones((2, 3, 4), "float32"), np.ones((2, 5, 6), "float32"),
        ...     np.ones((2, 5), "float32"), return_attention_scores=True)
        >>> tuple(context.shape), tuple(weights.shape)
        ((2, 3, 6), (2, 3, 5))
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.units = units
        self.query_dense = keras.layers.Dense(units, use_bias=False, name="query")
        self.key_dense = keras.layers.Dense(units, name="key")
        self.score_dense = keras.layers.Dense(1, use_bias=False, name="v")

    def build(self, query_shape, keys_shape, key_mask_shape=None):
        self.query_dense.build(query_shape)
        self.key_dense.build(keys_shape)
        self.score_dense.build((None, None, None, self.units))

    def score(self, query, keys):
        # (B, T, 1, u) + (B, 1, S, u) -> (B, T, S, u) -> (B, T, S)
        hidden = ops.tanh(self.query_dense(query)[:, :, None, :] + self.key_dense(keys)[:, None])
        return ops.squeeze(self.score_dense(hidden), -1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@serializable
class LuongAttention(_RecurrentAttention):
    """Multiplicative ("general") attention: score(q, k) = q^T W k (Luong et al. 2015).

    Example:
        >>> import numpy as np
        >>> context, weights = LuongAttention()(
        ...     np.ones((2, 3, 4), "float32"), np.ones((2, 5, 6), "float32"),
        ...     np.ones((2, 5), "float32"), return_attention_scores=True)
        >>> tuple(weights.shape)
        (2, 3, 5)
    """

    def build(self, query_shape, keys_shape, key_mask_shape=None):
        self.kernel = self.add_weight(
            name="kernel", shape=(keys_shape[-1], query_shape[-1]), initializer="glorot_uniform"
        )

    def score(self, query, keys):
        projected = ops.matmul(keys, self.kernel)  # (B, S, dq)
        return ops.matmul(query, ops.transpose(projected, (0, 2, 1)))


ATTENTION_KINDS = {"bahdanau": BahdanauAttention, "luong": LuongAttention}


def attention_layer(kind: str, units: int, name: str = "attention") -> keras.layers.Layer:
    """The attention layer named ``kind`` (``bahdanau`` or ``luong``)."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {sorted(ATTENTION_KINDS)}, got {kind!r}")
    if kind == "bahdanau":
        return BahdanauAttention(units, name=name)
    return LuongAttention(name=name)


@serializable
class CachedMultiHeadAttention(keras.layers.MultiHeadAttention):
    """``keras.layers.MultiHeadAttention`` that can also run one position at a time on a cache.

    Without ``cache`` it is the Keras layer. With ``cache`` (B, 2, max_length, heads,
    key_dim: the projected keys and values of every position so far) and ``cache_index`` (B,)
    it projects the new position's key and value, writes them into the cache at
    ``cache_index`` and attends over the cache (``attention_mask`` must hide the positions after
    ``cache_index``); it returns ``(output, new_cache)`` then. The write is a 0/1 blend rather
    than a scatter, so it converts to ONNX and leaves the other positions bit-identical.

    Keras checks a shared layer's outputs against its first call: a model that also runs the
    layer with a cache must make its other call return two tensors too
    (``return_attention_scores=True``).
    """

    def call(
        self,
        query,
        value,
        key=None,
        attention_mask=None,
        cache=None,
        cache_index=None,
        training=None,
        **kwargs,
    ):
        if cache is None:
            return super().call(
                query, value, key=key, attention_mask=attention_mask, training=training, **kwargs
            )
        key = value if key is None else key
        query = self._query_dense(query)
        new = ops.stack([self._key_dense(key), self._value_dense(value)], axis=1)  # (B,2,1,N,H)
        where = ops.one_hot(cache_index, ops.shape(cache)[2], dtype=cache.dtype)
        where = where[:, None, :, None, None]
        cache = cache * (1.0 - where) + new * where
        output, _ = self._compute_attention(
            query, cache[:, 0], cache[:, 1], attention_mask, training
        )
        return self._output_dense(output), cache

    def compute_output_spec(self, query, value, key=None, cache=None, cache_index=None, **kwargs):
        if cache is None:
            return super().compute_output_spec(query, value, key=key, **kwargs)
        output = super().compute_output_spec(query, value, key=key, **kwargs)
        return output, keras.KerasTensor(cache.shape, dtype=cache.dtype)


@serializable
class TokenMask(keras.layers.Layer):
    """``ids`` (B, S) -> float (B, S): 1 where a token is, 0 at padding (id ``pad_id``).

    Masks travel between layers explicitly (keras-hub style), not as implicit Keras masks.
    """

    def __init__(self, pad_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = pad_id

    def call(self, ids):
        return ops.cast(ops.not_equal(ids, self.pad_id), "float32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


__all__ = [
    "ATTENTION_KINDS",
    "BahdanauAttention",
    "CachedMultiHeadAttention",
    "LuongAttention",
    "TokenMask",
    "attention_layer",
    "masked_softmax",
]
