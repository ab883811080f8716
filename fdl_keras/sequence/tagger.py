"""The book's feed-forward POS tagger: embeddings of a window of words → dense layers with batch
normalisation → tag softmax, trained on the Penn Treebank sample (45 tags).

Each token is tagged from the window of five words centred on it. Besides the words, each
position carries its hashed 2- and 3-letter suffixes and a capitalisation class
(:func:`fdl_keras.sequence.text.window_features`): they let the tagger guess unknown words,
as the features of Collobert et al. and Ratnaparkhi's tagger do.

References: Buduma et al., *Fundamentals of Deep Learning* (2nd ed.), ch. 9 ("Tackling seq2seq
with neural N-grams", part-of-speech tagging); Collobert et al., "Natural Language Processing
(Almost) from Scratch", JMLR 2011; Ioffe & Szegedy, "Batch Normalization", ICML 2015.
"""

from __future__ import annotations

import keras
import numpy as np

from fdl_keras.layers import classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.sequence.tasks import TaggingTask
from fdl_keras.sequence.text import FEATURE_ROWS, NUM_SHAPES, OOV_ID, SUFFIX_BUCKETS, WINDOW
from fdl_keras.serialization import ConfigModel, serializable

BN_MOMENTUM = 0.9  # see DESIGN.md: 0.99 lags far behind early weights


@register(
    "pos_tagger",
    chapter=9,
    dataset="treebank",
    task=TaggingTask(),
    target=Target("accuracy", 0.96, "treebank", "book > 96%; NLTK averaged perceptron"),
    fit=FitConfig(
        epochs=8,
        learning_rate=2e-3,
        batch_size=128,
        # XLA: 1.7x the step rate on a CPU (benchmarks/cpu_defaults.py); its ~4 s of compiling
        # a run is repaid from ~3,000 steps on (benchmarks/xla_short_runs.py).
        cpu_jit_compile=True,
        cpu_steps_per_execution=8,
        cpu_jit_min_steps=3000,
    ),
    tiny={"vocabulary_size": 64, "word_dim": 8, "suffix_dim": 4, "hidden_units": (16,)},
)
@serializable
class WindowTagger(ConfigModel):
    """Feed-forward POS tagger over a window of word, suffix and shape embeddings.

    Args:
        vocabulary_size: word ids (0 padding, 1 OOV); the dataset's vocabulary sets it.
        num_tags: output tags.
        window: words in the window (odd; the tagged word in the middle).
        word_dim: word embedding size.
        suffix_dim: suffix embedding size (2- and 3-letter suffixes share one table).
        shape_dim: capitalisation-class embedding size.
        hidden_units: widths of the dense + batch-norm + ReLU layers.
        dropout: dropout after each hidden layer.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = WindowTagger(vocabulary_size=100, num_tags=5, hidden_units=(8,))
        >>> model.output_shape
        (None, 5)
    """

    def __init__(
        self,
        vocabulary_size: int = 6000,
        num_tags: int = 45,
        window: int = 2 * WINDOW + 1,
        word_dim: int = 64,
        suffix_dim: int = 32,
        shape_dim: int = 8,
        hidden_units: tuple[int, ...] = (256, 256),
        dropout: float = 0.3,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if vocabulary_size < 3:
            raise ValueError(
                f"vocabulary_size must be >= 3 (padding, OOV, a word), got {vocabulary_size}"
            )
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd number, got {window}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        # === Functional Model ===
        inputs = keras.Input(shape=(len(FEATURE_ROWS), window), dtype="int32", name="window")
        words = keras.layers.Embedding(vocabulary_size, word_dim, name="word_embedding")(
            inputs[:, 0]
        )
        suffixes = keras.layers.Embedding(SUFFIX_BUCKETS, suffix_dim, name="suffix_embedding")(
            inputs[:, 1:3]
        )
        shapes = keras.layers.Embedding(NUM_SHAPES, shape_dim, name="shape_embedding")(inputs[:, 3])
        x = keras.layers.Concatenate(name="window_features")(
            [
                keras.layers.Flatten(name="flat_words")(words),
                keras.layers.Flatten(name="flat_suffixes")(suffixes),
                keras.layers.Flatten(name="flat_shapes")(shapes),
            ]
        )
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, use_bias=False, name=f"dense_{i + 1}")(x)
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"batch_norm_{i + 1}")(x)
            x = keras.layers.ReLU(name=f"relu_{i + 1}")(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
        outputs = classification_head(x, num_tags, output_activation)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)

    def clamp_ids(self, x: np.ndarray) -> np.ndarray:
        """``x`` with word ids this model has no embedding for replaced by OOV (a model built
        smaller than the data's vocabulary, e.g. the contract's tiny one)."""
        x = np.array(x, dtype=np.int32, copy=True)
        words = x[:, 0]
        words[words >= self.get_config()["vocabulary_size"]] = OOV_ID
        return x


__all__ = ["WindowTagger"]
