"""Chapter 9 attention and position layers: the layer contract and known answers in NumPy."""

import numpy as np
import pytest

from fdl_keras.layers.attention import (
    BahdanauAttention,
    CachedMultiHeadAttention,
    LuongAttention,
    TokenMask,
)
from fdl_keras.layers.contract import check_layer_contract
from fdl_keras.layers.positional import SinusoidalPositionEncoding

rng = np.random.default_rng(0)
QUERY = rng.normal(size=(2, 3, 4)).astype("float32")
KEYS = rng.normal(size=(2, 5, 6)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "float32")


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize(
    "factory, inputs",
    [
        (lambda: BahdanauAttention(7, name="additive"), [QUERY, KEYS, MASK]),
        (lambda: LuongAttention(name="general"), [QUERY, KEYS, MASK]),
        (lambda: CachedMultiHeadAttention(2, 3, name="mha"), [QUERY, QUERY]),
        (lambda: TokenMask(name="pad"), np.array([[4, 5, 0], [3, 0, 0]], "int32")),
        (lambda: SinusoidalPositionEncoding(name="positions"), QUERY),
    ],
    ids=["bahdanau", "luong", "cached_mha", "padding_mask", "positions"],
)
def test_layer_contract(factory, inputs, tmp_path):
    check_layer_contract(factory, inputs, tmp_path)


def test_bahdanau_matches_numpy_and_ignores_padded_keys():
    layer = BahdanauAttention(7)
    context, weights = (
        np.asarray(t) for t in layer(QUERY, KEYS, MASK, return_attention_scores=True)
    )
    wq, (wk, bk), v = (
        layer.query_dense.get_weights()[0],
        layer.key_dense.get_weights(),
        (layer.score_dense.get_weights()[0][:, 0]),
    )
    hidden = np.tanh((QUERY @ wq)[:, :, None] + (KEYS @ wk + bk)[:, None])
    scores = hidden @ v + (1 - MASK[:, None]) * -1e9
    np.testing.assert_allclose(weights, softmax(scores), atol=1e-6)
    np.testing.assert_allclose(context, softmax(scores) @ KEYS, atol=1e-5)
    assert (weights[0, :, 3:] == 0).all()
    changed = KEYS.copy()
    changed[0, 3:] = 100.0  # padded keys: nothing may change
    again = np.asarray(layer(QUERY, changed, MASK))
    np.testing.assert_array_equal(again[0], context[0])


def test_luong_general_score_matches_numpy():
    layer = LuongAttention()
    _, weights = layer(QUERY, KEYS, MASK, return_attention_scores=True)
    (kernel,) = layer.get_weights()
    scores = np.einsum("btq,bsk,kq->bts", QUERY, KEYS, kernel) + (1 - MASK[:, None]) * -1e9
    np.testing.assert_allclose(np.asarray(weights), softmax(scores), atol=1e-6)


def test_sinusoidal_positions_match_the_paper_and_take_explicit_positions():
    d = 6
    layer = SinusoidalPositionEncoding()
    out = np.asarray(layer(np.zeros((1, 5, d), "float32")))[0]
    pos, i = np.arange(5)[:, None], np.arange(d)[None]
    angle = pos / 10000 ** ((i // 2 * 2) / d)
    expected = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    at = np.asarray(layer(np.zeros((2, 1, d), "float32"), np.array([[3], [4]])))
    np.testing.assert_allclose(at[:, 0], expected[[3, 4]], atol=1e-6)


def test_cached_attention_step_by_step_equals_causal_attention():
    heads, key_dim, length = 2, 3, 6
    layer = CachedMultiHeadAttention(heads, key_dim)
    x = rng.normal(size=(2, length, 4)).astype("float32")
    causal = np.tril(np.ones((length, length), bool))[None].repeat(2, 0)
    full = layer(x, x, attention_mask=causal)
    cache = np.zeros((2, 2, length, heads, key_dim), "float32")
    for t in range(length):
        mask = (np.arange(length) <= t)[None, None].repeat(2, 0)
        out, cache = layer(
            x[:, t : t + 1],
            x[:, t : t + 1],
            attention_mask=mask,
            cache=cache,
            cache_index=np.full((2,), t, "int32"),
        )
        np.testing.assert_allclose(np.asarray(out)[:, 0], np.asarray(full)[:, t], atol=1e-6)
