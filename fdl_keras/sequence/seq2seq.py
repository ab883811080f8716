"""Sequence-to-sequence translation with attention (chapter 9), French -> English.

A bidirectional GRU (or LSTM) encoder reads the source subwords; a bridge turns its final
states into the decoder's initial state; a GRU (LSTM) decoder reads the target shifted right
(teacher forcing), and at every step attends over the encoder states with an additive
(Bahdanau) or multiplicative (Luong "general") score; the attentional state
tanh(W_c [context; h_t]) gives the next-token logits. This is Luong et al.'s global-attention
architecture with either score (their Table 4 compares these scores); Bahdanau et al.'s own
decoder also feeds the context back into the recurrence, which would forbid running the
teacher-forced decoder as one Keras RNN call. The source padding is an explicit mask: the
encoder skips padded steps and attention gives them weight 0.

``model.submodels()`` gives the ``encoder`` and the one-step ``decoder_step`` (state in,
state out) that :mod:`fdl_keras.sequence.decoding` runs greedily or with beam search, in Keras
or exported to ONNX.

References: Sutskever, Vinyals & Le, NeurIPS 2014; Bahdanau, Cho & Bengio, ICLR 2015; Luong,
Pham & Manning, EMNLP 2015; Buduma et al., *Fundamentals of Deep Learning* (2nd ed.), ch. 9.
"""

from __future__ import annotations

import keras

from fdl_keras.layers import ExportableGRU
from fdl_keras.layers.attention import ATTENTION_KINDS, TokenMask, attention_layer
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.sequence.translation_task import Translation
from fdl_keras.serialization import ConfigModel, serializable

# ExportableGRU: Keras' GRU, exported as a native ONNX GRU op where unmasked (the decoder).
CELLS = {"gru": ExportableGRU, "lstm": keras.layers.LSTM}


@register(
    "seq2seq_attention_fr_en",
    chapter=9,
    dataset="tatoeba_fr_en",
    task=Translation(),
    target=Target("bleu", 30.0, "tatoeba_fr_en", "sacreBLEU fr->en, held-out source sentences"),
    fit=FitConfig(learning_rate=1e-3, schedule="constant", epochs=10, batch_size=64),
    tiny={"embedding_dim": 8, "units": 8, "dropout": 0.0},
)
@serializable
class Seq2SeqAttention(ConfigModel):
    """GRU/LSTM encoder-decoder with Bahdanau or Luong attention, teacher-forced.

    Inputs ``[source_ids (B, S), target_in (B, T)]`` (0 pads), output next-token logits
    (B, T, target_vocab_size).

    Args:
        source_vocab_size, target_vocab_size: subword vocabulary sizes.
        embedding_dim: width of the token embeddings.
        units: decoder state width (each encoder direction has it too).
        cell: ``gru`` or ``lstm``.
        attention: ``bahdanau`` (additive) or ``luong`` (multiplicative) score.
        dropout: on the embeddings and the attentional state.

    Example:
        >>> import numpy as np
        >>> model = Seq2SeqAttention(50, 60, embedding_dim=8, units=8)
        >>> ids = np.array([[5, 6, 3, 0]]), np.array([[2, 7, 8]])
        >>> model.predict_on_batch(list(ids)).shape
        (1, 3, 60)
    """

    def __init__(
        self,
        source_vocab_size: int = 4000,
        target_vocab_size: int = 4000,
        embedding_dim: int = 128,
        units: int = 256,
        cell: str = "gru",
        attention: str = "luong",
        dropout: float = 0.1,
        **kwargs,
    ):
        arguments = dict(locals())
        for what, value in (
            ("source_vocab_size", source_vocab_size),
            ("target_vocab_size", target_vocab_size),
            ("embedding_dim", embedding_dim),
            ("units", units),
        ):
            if value < 1:
                raise ValueError(f"{what} must be >= 1, got {value}")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if attention not in ATTENTION_KINDS:
            raise ValueError(
                f"attention must be one of {sorted(ATTENTION_KINDS)}, got {attention!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        rnn = CELLS[cell]
        n_states = 2 if cell == "lstm" else 1
        layers = {
            "source_embedding": keras.layers.Embedding(
                source_vocab_size, embedding_dim, name="source_embedding"
            ),
            "source_mask": TokenMask(name="source_mask"),
            "encoder_rnn": keras.layers.Bidirectional(
                rnn(units, return_sequences=True, return_state=True), name="encoder_rnn"
            ),
            "target_embedding": keras.layers.Embedding(
                target_vocab_size, embedding_dim, name="target_embedding"
            ),
            "embedding_dropout": keras.layers.Dropout(dropout, name="embedding_dropout"),
            "decoder_rnn": rnn(units, return_sequences=True, return_state=True, name="decoder_rnn"),
            "attention": attention_layer(attention, units, name="attention"),
            "attentional": keras.layers.Dense(units, activation="tanh", name="attentional"),
            "output_dropout": keras.layers.Dropout(dropout, name="output_dropout"),
            "logits": keras.layers.Dense(target_vocab_size, name="logits"),
        }
        for i in range(n_states):
            layers[f"bridge_{i}"] = keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")

        # === Functional Model ===
        source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
        memory, initial = _encode(layers, source_ids, n_states)
        source_mask = layers["source_mask"](source_ids)
        embedded = layers["embedding_dropout"](layers["target_embedding"](target_in))
        decoded, *_ = layers["decoder_rnn"](embedded, initial_state=initial)
        logits, _ = _attend(layers, decoded, memory, source_mask)
        super().__init__(inputs=[source_ids, target_in], outputs=logits, **kwargs)

        # === Config ===
        self._remember(arguments)

    def submodels(self) -> dict[str, keras.Model]:
        """``encoder``: source ids -> (memory, initial state(s)); ``decoder_step``: (token,
        source ids, memory, state(s)) -> (logits, attention, next state(s)). They share the
        model's layers."""
        config = self.get_config()
        units, n_states = config["units"], 2 if config["cell"] == "lstm" else 1
        layers = {layer.name: layer for layer in self.layers}
        source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        memory, initial = _encode(layers, source_ids, n_states)
        encoder = keras.Model(source_ids, [memory, *initial], name="encoder")

        token = keras.Input(shape=(1,), dtype="int32", name="token")
        step_source = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        step_memory = keras.Input(shape=(None, 2 * units), name="memory")
        states = [keras.Input(shape=(units,), name=f"state_{i}") for i in range(n_states)]
        embedded = layers["embedding_dropout"](layers["target_embedding"](token))
        decoded, *new_states = layers["decoder_rnn"](embedded, initial_state=states)
        logits, weights = _attend(layers, decoded, step_memory, layers["source_mask"](step_source))
        logits = keras.layers.Reshape((-1,), name="step_logits")(logits)
        weights = keras.layers.Reshape((-1,), name="step_attention")(weights)
        step = keras.Model(
            [token, step_source, step_memory, *states],
            [logits, weights, *new_states],
            name="decoder_step",
        )
        return {"encoder": encoder, "decoder_step": step}


def _encode(layers: dict, source_ids, n_states: int):
    """Memory (B, S, 2 units) and the decoder's initial state(s) from the final states."""
    mask = keras.ops.not_equal(source_ids, 0)
    embedded = layers["embedding_dropout"](layers["source_embedding"](source_ids))
    memory, *finals = layers["encoder_rnn"](embedded, mask=mask)
    forward, backward = finals[:n_states], finals[n_states:]
    initial = [
        layers[f"bridge_{i}"](keras.layers.Concatenate()([forward[i], backward[i]]))
        for i in range(n_states)
    ]
    return memory, initial


def _attend(layers: dict, decoded, memory, source_mask):
    context, weights = layers["attention"](
        decoded, memory, source_mask, return_attention_scores=True
    )
    state = layers["attentional"](keras.layers.Concatenate()([context, decoded]))
    return layers["logits"](layers["output_dropout"](state)), weights


__all__ = ["Seq2SeqAttention"]
