"""The Transformer of Vaswani et al. (2017) for French -> English translation (chapter 9).

An encoder of self-attention blocks and a decoder of causal self-attention, cross-attention and
feed-forward blocks, on ``keras.layers.MultiHeadAttention``, with sinusoidal positions, token
embeddings scaled by sqrt(d_model), explicit padding and causal masks, dropout, label smoothing
(0.1) and the warm-up schedule (both set by the task, :mod:`fdl_keras.sequence.translation_task`).
Blocks are pre-norm (layer normalisation before each sub-layer, a final one after the stack;
Xiong et al. 2020), which trains without the careful warm-up post-norm needs on a short run;
the paper's blocks are post-norm.

The decoder's self-attention layers keep a key/value cache
(:class:`~fdl_keras.layers.attention.CachedMultiHeadAttention`), so ``decoder_step`` computes
one position per call: (token, index, source ids, memory, cache) -> (logits, attention,
cache). The cache has ``max_length`` positions, the longest translation it can decode.

References: Vaswani et al., "Attention Is All You Need", NeurIPS 2017; Xiong et al., "On Layer
Normalization in the Transformer Architecture", ICML 2020; keras-io's
``neural_machine_translation_with_transformer`` example; Buduma et al., ch. 9.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from fdl_keras.layers.attention import CachedMultiHeadAttention
from fdl_keras.layers.positional import SinusoidalPositionEncoding
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.sequence.translation_task import Translation
from fdl_keras.serialization import ConfigModel, serializable


@serializable
class AttentionMasks(keras.layers.Layer):
    """Boolean attention masks from token ids (0 pads), computed once per batch.

    ``layer(source_ids, target_ids)`` -> ``(encoder (B, S, S), cross (B, T, S), causal
    (B, T, T))``: a query may attend to every real source token, and a target position only to
    itself and the positions before it.
    """

    def call(self, source_ids, target_ids):
        keys = ops.not_equal(source_ids, 0)[:, None, :]  # (B, 1, S)
        source_rows = ops.ones_like(source_ids, dtype="bool")[:, :, None]  # (B, S, 1)
        target_rows = ops.ones_like(target_ids, dtype="bool")[:, :, None]  # (B, T, 1)
        length = ops.shape(target_ids)[1]
        positions = ops.arange(length)
        causal = (positions[:, None] >= positions[None, :])[None]  # (1, T, T)
        return (
            ops.logical_and(source_rows, keys),
            ops.logical_and(target_rows, keys),
            ops.logical_and(target_rows, causal),
        )


@serializable
class StepMasks(keras.layers.Layer):
    """Masks of one decoding step: ``layer(source_ids, index)`` -> ``(cross (B, 1, S),
    self (B, 1, max_length))``, the second letting position ``index`` see the cache up to
    itself."""

    def __init__(self, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def call(self, source_ids, index):
        cross = ops.not_equal(source_ids, 0)[:, None, :]
        seen = ops.arange(self.max_length)[None, :] <= ops.cast(index, "int32")[:, None]
        return cross, seen[:, None, :]

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


@register(
    "transformer_fr_en",
    chapter=9,
    dataset="tatoeba_fr_en",
    task=Translation(label_smoothing=0.1, warmup_steps=1000),
    target=Target("bleu", 35.0, "tatoeba_fr_en", "sacreBLEU fr->en, held-out source sentences"),
    fit=FitConfig(learning_rate=1e-3, schedule="constant", epochs=10, batch_size=64),
    tiny={"d_model": 8, "num_heads": 2, "ff_dim": 16, "num_layers": 1, "max_length": 24},
)
@serializable
class TransformerTranslator(ConfigModel):
    """Encoder-decoder Transformer (Vaswani et al. 2017), teacher-forced.

    Inputs ``[source_ids (B, S), target_in (B, T)]`` (0 pads), output next-token logits
    (B, T, target_vocab_size).

    Args:
        source_vocab_size, target_vocab_size: subword vocabulary sizes.
        d_model: width of the residual stream.
        num_heads: attention heads (``d_model`` divisible by it).
        ff_dim: hidden width of the feed-forward sub-layers.
        num_layers: blocks in the encoder and in the decoder.
        dropout: on embeddings, attention outputs and feed-forward outputs.
        max_length: positions of the decoder step's key/value cache.

    Example:
        >>> import numpy as np
        >>> model = TransformerTranslator(50, 60, d_model=8, num_heads=2, ff_dim=16)
        >>> model.predict_on_batch([np.array([[5, 6, 3]]), np.array([[2, 7]])]).shape
        (1, 2, 60)
    """

    def __init__(
        self,
        source_vocab_size: int = 4000,
        target_vocab_size: int = 4000,
        d_model: int = 128,
        num_heads: int = 4,
        ff_dim: int = 512,
        num_layers: int = 3,
        dropout: float = 0.1,
        max_length: int = 64,
        **kwargs,
    ):
        arguments = dict(locals())
        for what, value in (
            ("source_vocab_size", source_vocab_size),
            ("target_vocab_size", target_vocab_size),
            ("d_model", d_model),
            ("ff_dim", ff_dim),
            ("num_layers", num_layers),
            ("max_length", max_length),
            ("num_heads", num_heads),
        ):
            if value < 1:
                raise ValueError(f"{what} must be >= 1, got {value}")
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers = _make_layers(
            source_vocab_size, target_vocab_size, d_model, num_heads, ff_dim, num_layers, dropout
        )

        # === Functional Model ===
        source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
        encoder_mask, cross_mask, causal_mask = AttentionMasks(name="masks")(source_ids, target_in)
        memory = _encode(layers, source_ids, encoder_mask, num_layers)
        x = _embed(layers, "target", target_in)
        for i in range(num_layers):
            h = layers[f"decoder_{i}_self_norm"](x)
            h, _ = layers[f"decoder_{i}_self"](
                h, h, attention_mask=causal_mask, return_attention_scores=True
            )
            x = x + layers[f"decoder_{i}_self_dropout"](h)
            x = _cross_and_ffn(layers, i, x, memory, cross_mask)[0]
        logits = layers["logits"](layers["decoder_norm"](x))
        super().__init__(inputs=[source_ids, target_in], outputs=logits, **kwargs)

        # === Config ===
        self._remember(arguments)

    def submodels(self) -> dict[str, keras.Model]:
        """``encoder``: source ids -> memory; ``decoder_step``: (token, index, source ids,
        memory, cache (B, layers, 2, max_length, heads, head size)) -> (logits, attention of the
        last cross-attention averaged over heads, cache). They share the model's layers."""
        c = self.get_config()
        num_layers, heads = c["num_layers"], c["num_heads"]
        layers = {layer.name: layer for layer in self.layers}
        source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        keys = ops.not_equal(source_ids, 0)[:, None, :]
        encoder_mask = ops.logical_and(ops.ones_like(source_ids, dtype="bool")[:, :, None], keys)
        memory = _encode(layers, source_ids, encoder_mask, num_layers)
        encoder = keras.Model(source_ids, memory, name="encoder")

        token = keras.Input(shape=(1,), dtype="int32", name="token")
        index = keras.Input(shape=(), dtype="int32", name="index")
        step_source = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        step_memory = keras.Input(shape=(None, c["d_model"]), name="memory")
        cache_shape = (num_layers, 2, c["max_length"], heads, c["d_model"] // heads)
        cache = keras.Input(shape=cache_shape, name="cache")
        cross_mask, self_mask = StepMasks(c["max_length"], name="step_masks")(step_source, index)
        x = _embed(layers, "target", token, positions=index[:, None])
        caches = []
        for i in range(num_layers):
            h = layers[f"decoder_{i}_self_norm"](x)
            h, layer_cache = layers[f"decoder_{i}_self"](
                h, h, attention_mask=self_mask, cache=cache[:, i], cache_index=index
            )
            caches.append(layer_cache)
            x = x + h
            x, scores = _cross_and_ffn(layers, i, x, step_memory, cross_mask)
        logits = layers["logits"](layers["decoder_norm"](x))[:, 0]
        attention = ops.mean(scores[:, :, 0, :], axis=1)
        step = keras.Model(
            [token, index, step_source, step_memory, cache],
            [logits, attention, ops.stack(caches, axis=1)],
            name="decoder_step",
        )
        return {"encoder": encoder, "decoder_step": step}


def _make_layers(source_vocab, target_vocab, d_model, heads, ff_dim, num_layers, dropout):
    layers = {
        "source_embedding": keras.layers.Embedding(source_vocab, d_model, name="source_embedding"),
        "target_embedding": keras.layers.Embedding(target_vocab, d_model, name="target_embedding"),
        "embedding_scale": keras.layers.Rescaling(math.sqrt(d_model), name="embedding_scale"),
        "positions": SinusoidalPositionEncoding(name="positions"),
        "source_dropout": keras.layers.Dropout(dropout, name="source_dropout"),
        "target_dropout": keras.layers.Dropout(dropout, name="target_dropout"),
        "encoder_norm": keras.layers.LayerNormalization(epsilon=1e-6, name="encoder_norm"),
        "decoder_norm": keras.layers.LayerNormalization(epsilon=1e-6, name="decoder_norm"),
        "logits": keras.layers.Dense(target_vocab, name="logits"),
    }
    key_dim = d_model // heads
    for side in ("encoder", "decoder"):
        for i in range(num_layers):
            p = f"{side}_{i}"
            attention = CachedMultiHeadAttention if side == "decoder" else None
            attention = attention or keras.layers.MultiHeadAttention
            layers[f"{p}_self"] = attention(heads, key_dim, dropout=dropout, name=f"{p}_self")
            sublayers = ["self", "ffn"] + (["cross"] if side == "decoder" else [])
            for sub in sublayers:
                layers[f"{p}_{sub}_norm"] = keras.layers.LayerNormalization(
                    epsilon=1e-6, name=f"{p}_{sub}_norm"
                )
                layers[f"{p}_{sub}_dropout"] = keras.layers.Dropout(
                    dropout, name=f"{p}_{sub}_dropout"
                )
            layers[f"{p}_ffn_hidden"] = keras.layers.Dense(
                ff_dim, activation="relu", name=f"{p}_ffn_hidden"
            )
            layers[f"{p}_ffn_out"] = keras.layers.Dense(d_model, name=f"{p}_ffn_out")
            if side == "decoder":
                layers[f"{p}_cross"] = keras.layers.MultiHeadAttention(
                    heads, key_dim, dropout=dropout, name=f"{p}_cross"
                )
    return layers


def _embed(layers: dict, side: str, ids, positions=None):
    x = layers["embedding_scale"](layers[f"{side}_embedding"](ids))
    x = layers["positions"](x) if positions is None else layers["positions"](x, positions)
    return layers[f"{side}_dropout"](x)


def _ffn(layers: dict, prefix: str, x):
    h = layers[f"{prefix}_ffn_norm"](x)
    h = layers[f"{prefix}_ffn_out"](layers[f"{prefix}_ffn_hidden"](h))
    return x + layers[f"{prefix}_ffn_dropout"](h)


def _encode(layers: dict, source_ids, mask, num_layers: int):
    x = _embed(layers, "source", source_ids)
    for i in range(num_layers):
        h = layers[f"encoder_{i}_self_norm"](x)
        h = layers[f"encoder_{i}_self"](h, h, attention_mask=mask)
        x = _ffn(layers, f"encoder_{i}", x + layers[f"encoder_{i}_self_dropout"](h))
    return layers["encoder_norm"](x)


def _cross_and_ffn(layers: dict, i: int, x, memory, mask):
    """Cross-attention and feed-forward sub-layers; also returns the attention weights (always
    asked for: a MultiHeadAttention first called without them gives a disconnected weights
    tensor when called with them later)."""
    p = f"decoder_{i}"
    h = layers[f"{p}_cross_norm"](x)
    h, weights = layers[f"{p}_cross"](h, memory, attention_mask=mask, return_attention_scores=True)
    return _ffn(layers, p, x + layers[f"{p}_cross_dropout"](h)), weights


__all__ = ["AttentionMasks", "StepMasks", "TransformerTranslator"]
