"""Chen & Manning's feed-forward transition scorer for arc-standard dependency parsing.

The input is the 18 word and 18 tag ids of a parser configuration's stack and buffer
(:mod:`fdl_keras.sequence.transitions`); embeddings → one hidden layer → a score (logit) per
transition (shift, left-arc, right-arc). Trained first on the static oracle's transitions with a
softmax (locally normalised); :mod:`fdl_keras.sequence.beam` decodes greedily or with beam
search and fine-tunes the same network globally normalised over the beam with early update
(Andor et al.). Chen & Manning's cube activation is replaced by ReLU (trains as well here and
is standard in Keras).

References: Chen & Manning, "A Fast and Accurate Dependency Parser using Neural Networks",
EMNLP 2014; Andor et al., "Globally Normalized Transition-Based Neural Networks", ACL 2016;
Buduma et al., *Fundamentals of Deep Learning* (2nd ed.), ch. 9 (dependency parsing, beam search
and global normalisation).
"""

from __future__ import annotations

import keras
import numpy as np

from fdl_keras.layers import classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.sequence.tasks import ParsingTask
from fdl_keras.sequence.text import OOV_ID
from fdl_keras.sequence.transitions import NUM_FEATURES, TRANSITIONS
from fdl_keras.serialization import ConfigModel, serializable


@register(
    "dependency_parser",
    chapter=9,
    dataset="dependency_treebank",
    task=ParsingTask(),
    target=Target("uas", 0.85, "dependency_treebank", "Chen & Manning 2014: 91.8% on full PTB"),
    fit=FitConfig(epochs=8, learning_rate=1e-3, batch_size=256),
    tiny={"vocabulary_size": 64, "num_tags": 48, "word_dim": 8, "tag_dim": 4, "hidden_units": 16},
)
@serializable
class TransitionScorer(ConfigModel):
    """Feed-forward scorer of arc-standard transitions from stack/buffer word and tag features.

    Args:
        vocabulary_size: word ids (0 none, 1 OOV, 2 ROOT); the dataset's vocabulary sets it.
        num_tags: tag ids (0 none, 1 unknown, 2 ROOT, then the Penn tags).
        num_transitions: outputs (shift, left-arc, right-arc).
        word_dim: word embedding size (Chen & Manning: 50).
        tag_dim: tag embedding size.
        hidden_units: hidden layer width (Chen & Manning: 200).
        dropout: dropout on the hidden layer.
        output_activation: ``None`` for transition scores (logits, what beam search sums),
            ``"softmax"`` for probabilities.

    Example:
        >>> TransitionScorer(vocabulary_size=100, hidden_units=8).output_shape
        (None, 3)
    """

    def __init__(
        self,
        vocabulary_size: int = 5000,
        num_tags: int = 48,
        num_transitions: int = len(TRANSITIONS),
        word_dim: int = 64,
        tag_dim: int = 32,
        hidden_units: int = 256,
        dropout: float = 0.3,
        output_activation: str | None = None,
        **kwargs,
    ):
        arguments = dict(locals())
        if vocabulary_size < 3 or num_tags < 3:
            raise ValueError(
                "vocabulary_size and num_tags must be >= 3 (none, unknown, ROOT), got "
                f"{vocabulary_size} and {num_tags}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        # === Functional Model ===
        inputs = keras.Input(shape=(2 * NUM_FEATURES,), dtype="int32", name="features")
        words = keras.layers.Embedding(vocabulary_size, word_dim, name="word_embedding")(
            inputs[:, :NUM_FEATURES]
        )
        tags = keras.layers.Embedding(num_tags, tag_dim, name="tag_embedding")(
            inputs[:, NUM_FEATURES:]
        )
        x = keras.layers.Concatenate(name="features_flat")(
            [
                keras.layers.Flatten(name="flat_words")(words),
                keras.layers.Flatten(name="flat_tags")(tags),
            ]
        )
        x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(x)
        outputs = classification_head(
            x, num_transitions, output_activation, dropout=dropout, name="scores"
        )
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)

    def clamp_ids(self, x: np.ndarray) -> np.ndarray:
        """``x`` with word/tag ids beyond this model's tables replaced by the unknown id."""
        x = np.array(x, dtype=np.int32, copy=True)
        config = self.get_config()
        words, tags = x[:, :NUM_FEATURES], x[:, NUM_FEATURES:]
        words[words >= config["vocabulary_size"]] = OOV_ID
        tags[tags >= config["num_tags"]] = OOV_ID
        return x


__all__ = ["TransitionScorer"]
