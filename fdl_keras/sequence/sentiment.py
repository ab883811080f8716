"""The book's LSTM sentiment classifier, corrected: embedding → (bidirectional) LSTM → pooling
over time → dense, on Pang & Lee's movie reviews (or IMDB when it is local).

The book's version reads only a fixed-length window and lets padding flow through the
recurrence. Here the input is a padded id sequence of any length (``[batch, None]``): the
embedding's mask (id 0) makes the LSTM skip padded steps and the pooling ignore them, so a padded
position never changes an output, and the model exports to ONNX with a dynamic time axis. The
bidirectional LSTM runs on packed sequences (:class:`fdl_keras.layers.PackedBidirectional`), so
the ONNX file holds native ``LSTM`` ops.
Pooling is the masked maximum and/or mean of the LSTM's outputs over time.

Trained on 1,620 reviews, the network memorises its training set within a few epochs, so two
regularisers matter more than its size: word dropout (while training, each token becomes the
OOV id with probability 0.3, Iyyer et al. 2015, Bowman et al. 2016) and keeping the weights of
the epoch with the best validation accuracy (:class:`SentimentTask`). The measured effect is in
``benchmarks/RESULTS_sequence.md``.

References: Hochreiter & Schmidhuber, "Long Short-Term Memory", 1997; Pang & Lee, "A
Sentimental Education", ACL 2004; Iyyer et al., "Deep Unordered Composition Rivals Syntactic
Methods for Text Classification", ACL 2015; Bowman et al., "Generating Sentences from a
Continuous Space", CoNLL 2016 (word dropout to the unknown-word token); Maas et al.,
"Learning Word Vectors for Sentiment Analysis", ACL 2011 (IMDB); Buduma et al.,
*Fundamentals of Deep Learning* (2nd ed.), ch. 9.
"""

from __future__ import annotations

import keras
import numpy as np

from fdl_keras.layers import PackedBidirectional, classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.sequence.tasks import TextClassificationTask
from fdl_keras.sequence.text import OOV_ID
from fdl_keras.serialization import ConfigModel, serializable

POOLINGS = ("max", "mean", "max_mean")


@serializable
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """The maximum over time of the unmasked steps (Keras' ``GlobalMaxPooling1D`` ignores
    masks, so padding would leak into the maximum). A sequence with no unmasked step gives 0.

    Example:
        >>> x = np.array([[[1.0], [5.0]]], "float32")
        >>> MaskedGlobalMaxPooling1D()(x, mask=np.array([[True, False]])).numpy()
        array([[1.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.max(inputs, axis=1)
        mask = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)
        # Padding takes each sequence's own minimum, which no unmasked maximum is below: exact
        # in every float dtype (a constant such as -3e38 overflows float16).
        lowest = keras.ops.min(inputs, axis=1, keepdims=True)
        best = keras.ops.max(keras.ops.where(mask, inputs, lowest), axis=1)
        anything = keras.ops.any(mask, axis=1)
        return keras.ops.where(anything, best, keras.ops.zeros_like(best))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@serializable
class WordDropout(keras.layers.Layer):
    """While training, replaces each real token id by the OOV id with probability ``rate``
    (padding, id 0, is left alone so the mask is unchanged); the identity at inference.

    Example:
        >>> ids = np.array([[5, 6, 0]], "int32")
        >>> WordDropout(0.5)(ids).numpy()  # not training: unchanged
        array([[5, 6, 0]], dtype=int32)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or not self.rate:
            return inputs
        draw = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator)
        drop = keras.ops.logical_and(draw < self.rate, keras.ops.not_equal(inputs, 0))
        return keras.ops.where(drop, keras.ops.full_like(inputs, OOV_ID), inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class BestValidationWeights(keras.callbacks.Callback):
    """Puts back, when training ends, the weights of the epoch with the highest ``monitor``
    (validation accuracy): with 1,620 training reviews the model fits them within a few epochs
    and later epochs only memorise. Does nothing when there is no validation split. Its state
    is part of a run's epoch backup (:meth:`backup_state`), so a resumed run picks the best of
    all the epochs, as the uninterrupted run does.
    """

    def __init__(self, monitor: str = "val_accuracy"):
        super().__init__()
        self.monitor = monitor
        self.best = -np.inf
        self.best_epoch = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) > self.best:
            self.best, self.best_epoch = float(value), epoch
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def backup_state(self) -> list[np.ndarray]:
        """``[[best value, best epoch]]`` and the best epoch's weights (none before one)."""
        epoch = -1 if self.best_epoch is None else self.best_epoch
        return [np.array([self.best, epoch], np.float64), *(self.best_weights or [])]

    def restore_backup_state(self, arrays: list[np.ndarray]) -> None:
        if not arrays:  # a backup written before this state was kept
            return
        best, epoch = (float(v) for v in arrays[0])
        self.best = best
        self.best_epoch = None if epoch < 0 else int(epoch)
        self.best_weights = [np.asarray(a) for a in arrays[1:]] or None


class SentimentTask(TextClassificationTask):
    """Text classification that keeps the best-validation epoch's weights
    (:class:`BestValidationWeights`); the saved, evaluated and exported model is that one."""

    def train(self, spec, options):
        keep_best = BestValidationWeights()
        options = {**options, "callbacks": [*(options.get("callbacks") or []), keep_best]}
        result = super().train(spec, options)
        if keep_best.best_epoch is not None:
            result.extras["best_epoch"] = keep_best.best_epoch + 1
            result.extras["best_val_accuracy"] = keep_best.best
        return result


@register(
    "lstm_sentiment",
    chapter=9,
    dataset="movie_reviews",
    task=SentimentTask(),
    target=Target(
        "accuracy", 0.85, "movie_reviews", "TF-IDF + logistic regression 91% on the same split"
    ),
    fit=FitConfig(epochs=12, learning_rate=2e-3, batch_size=32),
    tiny={"vocabulary_size": 64, "embedding_dim": 8, "lstm_units": 4},
)
@serializable
class LSTMSentiment(ConfigModel):
    """Embedding → LSTM (bidirectional by default) → masked pooling over time → softmax.

    Args:
        vocabulary_size: token ids (0 padding, 1 OOV); the dataset's vocabulary sets it.
        num_classes: output classes (2: negative, positive).
        embedding_dim: embedding size.
        lstm_units: LSTM units (per direction).
        bidirectional: read the review both ways.
        pooling: ``"max"``, ``"mean"`` or ``"max_mean"`` (both, concatenated) over time.
        embedding_dropout: rate of dropping whole embedding channels (``SpatialDropout1D``).
        dropout: dropout before the output layer.
        word_dropout: while training, the probability that a token is replaced by the OOV id
            (:class:`WordDropout`); 0 leaves the layer out.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = LSTMSentiment(vocabulary_size=100, embedding_dim=4, lstm_units=2)
        >>> model.input_shape
        (None, None)
    """

    def __init__(
        self,
        vocabulary_size: int = 20000,
        num_classes: int = 2,
        embedding_dim: int = 64,
        lstm_units: int = 32,
        bidirectional: bool = True,
        pooling: str = "max_mean",
        embedding_dropout: float = 0.3,
        dropout: float = 0.5,
        word_dropout: float = 0.3,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        rates = (
            ("embedding_dropout", embedding_dropout),
            ("dropout", dropout),
            ("word_dropout", word_dropout),
        )
        for what, rate in rates:
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{what} must be in [0, 1), got {rate}")

        # === Functional Model ===
        inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        ids = WordDropout(word_dropout, name="word_dropout")(inputs) if word_dropout else inputs
        x = keras.layers.Embedding(
            vocabulary_size, embedding_dim, mask_zero=True, name="embedding"
        )(ids)
        if embedding_dropout:
            x = keras.layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(x)
        lstm = keras.layers.LSTM(lstm_units, return_sequences=True, name="lstm")
        x = PackedBidirectional(lstm, name="bidirectional")(x) if bidirectional else lstm(x)
        pooled = []
        if "max" in pooling:
            pooled.append(MaskedGlobalMaxPooling1D(name="max_over_time")(x))
        if "mean" in pooling:
            pooled.append(keras.layers.GlobalAveragePooling1D(name="mean_over_time")(x))
        x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pooled")(pooled)
        outputs = classification_head(x, num_classes, output_activation, dropout=dropout)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)

    def clamp_ids(self, x: np.ndarray) -> np.ndarray:
        """``x`` with ids beyond this model's embedding replaced by OOV."""
        x = np.array(x, dtype=np.int32, copy=True)
        x[x >= self.get_config()["vocabulary_size"]] = OOV_ID
        return x


__all__ = [
    "POOLINGS",
    "BestValidationWeights",
    "LSTMSentiment",
    "MaskedGlobalMaxPooling1D",
    "SentimentTask",
    "WordDropout",
]
