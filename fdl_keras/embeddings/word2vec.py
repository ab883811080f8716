"""word2vec: skip-gram with negative sampling (chapter 8), on the Brown corpus or any text.

Every word has a target vector ``v_w`` and a context vector ``u_w``; for a pair (target t,
context c) and k negatives n_i drawn from the unigram^0.75 table the loss is
``-log s(u_c . v_t) - sum_i log s(-u_{n_i} . v_t)`` (s the logistic sigmoid), which the model's
``train_step`` minimises with the package's trainer. The pairs come from
:mod:`fdl_keras.data.brown` (subsampling, dynamic windows and negatives in ``tf.data``).

The functional graph is the embedding lookup, word ids in and target vectors out, so that is
what ``.keras``, SavedModel and ONNX hold; the context vectors are trained but not exported.
Nearest neighbours, analogies (3CosAdd), similarities and the TensorBoard-projector files are
NumPy functions of the vectors (:mod:`fdl_keras.embeddings.analogies` ships the analogy list).

As in word2vec's C code the target vectors start uniform in ``[-0.5/d, 0.5/d]`` and the
context vectors at zero, and training is plain SGD whose rate falls linearly to 1e-4 of its
start over the run, with the gradient written out (``s(x) - label`` per logit) and applied as
sparse row updates (``tf.IndexedSlices``): a step touches only the rows of its batch's words.
``shared_negatives=g`` lets each run of ``g`` pairs use one set of 5 negatives (the registered
system: 16), so their logits and row updates are matmuls: about half the step time, with the
same expected gradient. Unlike the C code and gensim,
which update one pair at a time, pairs are trained in mini-batches of 4,096 (shuffled over the
epoch): the rate of 120 on the batch-mean loss is about 0.03 per pair, near word2vec's 0.025.
For speed on CPU the task compiles with XLA (``jit_compile=True``) and runs 64 steps per call
(``steps_per_execution``); the pipeline states its length, so Keras' ``fit`` can.

References: Mikolov et al., "Efficient Estimation of Word Representations in Vector Space",
ICLR workshop 2013, and "Distributed Representations of Words and Phrases and their
Compositionality", NIPS 2013; Levy, Goldberg & Dagan, "Improving Distributional Similarity with
Lessons Learned from Word Embeddings", TACL 2015 (3CosAdd); Buduma, Buduma & Papa, ch. 8.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import FitConfig, register
from fdl_keras.serialization import ConfigModel, serializable
from fdl_keras.tasks import EXPORT_SAMPLE_SIZE, FitTask


@serializable
class Word2Vec(ConfigModel):
    """Skip-gram with negative sampling: word ids -> target vectors (the exported lookup).

    Train on batches of ``(targets, contexts)`` (int32, ``(batch,)`` and
    ``(batch, 1 + negatives)``, the true context first), as :mod:`fdl_keras.data.brown` makes.

    Args:
        vocab_size: words in the vocabulary (ids ``0 .. vocab_size - 1``).
        embedding_dim: length of every word vector.
        shared_negatives: training pairs per group that share negatives. 1: every pair
            uses its own ``k`` negatives (word2vec's C code, gensim). ``g > 1``: each run of
            ``g`` pairs of a batch uses the first pair's ``k`` negatives (the others' are
            ignored), so the negative logits and their row updates are matmuls and ``g``
            times fewer rows are gathered and updated; every pair still gets ``k`` unigram^0.75
            draws, so the expected gradient is unchanged (TensorFlow's ``word2vec_optimized``
            tutorial shared one set across the whole batch). Evaluation always uses every
            pair's own negatives.

    Example:
        >>> model = Word2Vec(vocab_size=50, embedding_dim=8)
        >>> model.predict(np.array([0, 3], np.int32), verbose=0).shape
        (2, 8)
    """

    def __init__(
        self,
        vocab_size: int = 10_000,
        embedding_dim: int = 100,
        shared_negatives: int = 1,
        **kwargs,
    ):
        arguments = dict(locals())
        if shared_negatives < 1:
            raise ValueError(f"shared_negatives must be >= 1, got {shared_negatives}")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1, got {embedding_dim}")
        bound = 0.5 / embedding_dim
        target_embedding = keras.layers.Embedding(
            vocab_size,
            embedding_dim,
            embeddings_initializer=keras.initializers.RandomUniform(-bound, bound),
            name="target_embedding",
        )
        context_embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, embeddings_initializer="zeros", name="context_embedding"
        )
        context_embedding.build((None,))

        # === Functional Model ===
        word_ids = keras.Input(shape=(), dtype="int32", name="word_ids")
        vectors = target_embedding(word_ids)
        super().__init__(inputs=word_ids, outputs=vectors, **kwargs)

        # === Config ===
        self._remember(arguments)
        self.target_embedding = target_embedding
        self.context_embedding = context_embedding
        self.shared_negatives = shared_negatives
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list:
        return [self.loss_tracker]

    def pair_loss(self, targets, contexts):
        """Mean over pairs of the negative-sampling loss (the true context is column 0)."""
        v = tf.gather(self.target_embedding.embeddings, targets)  # (batch, d)
        u = tf.gather(self.context_embedding.embeddings, contexts)  # (batch, 1 + k, d)
        return _negative_sampling_loss(tf.einsum("bd,bkd->bk", v, u))[0]

    def train_step(self, data):
        targets, contexts = _pairs(data)
        group = self.shared_negatives
        batch = tf.shape(targets)[0]
        groups = (batch + group - 1) // group
        padding = [[0, groups * group - batch], [0, 0]]
        target_weights = self.target_embedding.embeddings
        context_weights = self.context_embedding.embeddings
        dim = tf.shape(target_weights)[1]

        v = tf.gather(target_weights, targets)  # (batch, d)
        u_true = tf.gather(context_weights, contexts[:, 0])  # (batch, d)
        negatives = contexts[::group, 1:]  # (groups, k): each group's first pair's draws
        u_negative = tf.gather(context_weights, negatives)  # (groups, k, d)
        v_grouped = tf.reshape(tf.pad(v, padding), [groups, group, dim])
        negative_logits = tf.matmul(v_grouped, u_negative, transpose_b=True)  # (groups, g, k)
        logits = tf.concat(
            [
                tf.reduce_sum(v * u_true, axis=1, keepdims=True),
                tf.reshape(negative_logits, [groups * group, -1])[:batch],
            ],
            axis=1,
        )
        loss, labels = _negative_sampling_loss(logits)

        # The gradient written out, as in word2vec's C code (d loss / d logit = s(x) - label),
        # and applied as sparse row updates (the same gradient autodiff gives). A shared
        # negative's row gets one update, summed over its group, by a matmul.
        error = (tf.sigmoid(logits) - labels) / tf.cast(batch, logits.dtype)
        error_true = error[:, :1]
        error_negative = tf.reshape(tf.pad(error[:, 1:], padding), tf.shape(negative_logits))
        target_rows = (
            error_true * u_true
            + tf.reshape(tf.matmul(error_negative, u_negative), [groups * group, dim])[:batch]
        )
        negative_rows = tf.matmul(error_negative, v_grouped, transpose_a=True)  # (groups, k, d)
        self.optimizer.apply_gradients(
            [
                (tf.IndexedSlices(target_rows, targets, tf.shape(target_weights)), target_weights),
                (
                    tf.IndexedSlices(
                        tf.concat([error_true * v, tf.reshape(negative_rows, [-1, dim])], 0),
                        tf.concat([contexts[:, 0], tf.reshape(negatives, [-1])], 0),
                        tf.shape(context_weights),
                    ),
                    context_weights,
                ),
            ]
        )
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        self.loss_tracker.update_state(self.pair_loss(*_pairs(data)))
        return {"loss": self.loss_tracker.result()}

    def vectors(self) -> np.ndarray:
        """The target vectors, ``(vocab_size, embedding_dim)`` (what the lookup returns)."""
        return np.asarray(self.target_embedding.embeddings)


def _negative_sampling_loss(logits):
    """``(loss, labels)`` of ``(batch, 1 + k)`` logits whose column 0 is the true context:
    the batch mean of each pair's summed sigmoid cross-entropies."""
    labels = tf.one_hot(tf.zeros(tf.shape(logits)[:1], tf.int32), tf.shape(logits)[1])
    labels = tf.cast(labels, logits.dtype)
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(tf.reduce_sum(losses, axis=1)), labels


def _pairs(data):
    targets, contexts = data[0], data[1]
    return tf.cast(targets, tf.int32), tf.cast(contexts, tf.int32)


class SkipGram(FitTask):
    """word2vec's family: skip-gram pairs from a text corpus, the model's own ``train_step``.

    ``--dataset`` takes a registered corpus (``brown``) or the path of a ``.txt`` file or a
    folder of them; evaluation reports the held-out pair loss and analogy accuracy on the
    package's analogy list.
    """

    label = "word embedding"

    def builder_args(self, spec, info):
        return {"vocab_size": len(info.vocabulary)}

    def dataset_name(self, spec, settings):
        from fdl_keras.data.brown import register_text_corpus
        from fdl_keras.data.registry import _PROVIDERS

        name = super().dataset_name(spec, settings)
        return name if name in _PROVIDERS else register_text_corpus(name)

    def train(self, spec, options):
        from fdl_keras.training.trainer import fit_system

        options = {**options, "dataset": self.dataset_name(spec, options)}
        return fit_system(spec, options)

    def compile(self, spec, model, *, learning_rate=None, total_steps=None, **kwargs):
        from fdl_keras.tasks import check_learning_rate, device_defaults, make_optimizer

        fit = spec.fit
        if fit.schedule == "linear" and fit.optimizer == "sgd":
            # word2vec's rate: linear from its start to 1e-4 of it over the run.
            lr = fit.learning_rate if learning_rate is None else learning_rate
            check_learning_rate(lr)
            rate = lr
            if total_steps:
                rate = keras.optimizers.schedules.PolynomialDecay(
                    lr, total_steps, end_learning_rate=lr * 1e-4
                )
            optimizer = keras.optimizers.SGD(rate, **fit.optimizer_options)
        else:
            optimizer = make_optimizer(spec, learning_rate, total_steps)
        jit, steps_per_execution = device_defaults(
            spec, kwargs.get("jit_compile", "auto"), kwargs.get("steps_per_execution"), total_steps
        )
        model.compile(
            optimizer=optimizer,
            steps_per_execution=steps_per_execution,
            # XLA fuses the gathers, the logits and the row updates: 2-4x faster steps on
            # this CPU, where Keras' "auto" leaves it off.
            jit_compile=True if jit == "auto" else jit,
        )

    def evaluate(self, spec, model, *, settings, limit=None):
        from fdl_keras.data import load_dataset

        data = load_dataset(
            self.dataset_name(spec, settings),
            batch_size=(settings or {}).get("batch_size") or spec.fit.batch_size,
            seed=(settings or {}).get("seed", 0),
            limit=limit if limit is not None else (settings or {}).get("limit"),
        )
        if len(data.info.vocabulary) != model.get_config()["vocab_size"]:
            raise InvalidInputError(
                f"the model has {model.get_config()['vocab_size']} words but "
                f"{data.info.name} gives {len(data.info.vocabulary)}: evaluate on the dataset "
                "and --limit it was trained with"
            )
        if not model.compiled:
            self.compile(spec, model)
        loss = model.evaluate(data.test, verbose=0, return_dict=True)["loss"]
        from fdl_keras.embeddings.analogies import ANALOGIES

        analogies = analogy_accuracy(model.vectors(), data.info.vocabulary, ANALOGIES)
        return {
            "loss": float(loss),
            "analogy_accuracy": analogies["accuracy"],
            "analogies_covered": analogies["covered"],
            "examples": data.info.num_test,
        }

    def contract_step(self, spec, model, x, y):
        if not model.compiled:
            model.compile(optimizer=keras.optimizers.Adam(0.05))
        return model.fit(x, y, epochs=1, batch_size=len(x), verbose=0, shuffle=False).history

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        vocab = model.get_config()["vocab_size"]
        ids = np.linspace(0, vocab - 1, size).astype(np.int32)
        return [ids], f"word ids spread over the {vocab}-word vocabulary"

    def example_batch(self, spec, model, size=8):
        """Real pairs of the spec's corpus, ids folded into the model's vocabulary."""
        from fdl_keras.data import load_dataset

        vocab = model.get_config()["vocab_size"]
        data = load_dataset(spec.dataset, batch_size=size, limit=200)
        targets, contexts = (t.numpy() for t in next(iter(data.train)))
        return targets % vocab, contexts % vocab


register(
    "word2vec_brown",
    chapter=8,
    dataset="brown",
    builder=Word2Vec,
    task=SkipGram(),
    fit=FitConfig(
        optimizer="sgd",
        learning_rate=120.0,
        schedule="linear",
        epochs=5,
        batch_size=4096,
        steps_per_execution=64,
        explosion_factor=None,
        # XLA (see SkipGram.compile) only for runs that repay its compiling: whole
        # runs with it caught up at ~200 steps on a CPU (benchmarks/xla_short_runs.py).
        cpu_jit_compile=True,
        cpu_jit_min_steps=256,
    ),
    # 16 pairs share negatives: 2x faster steps, analogy accuracy within noise of 1 (measured
    # over 3 seeds, benchmarks/RESULTS_embeddings.md).
    defaults={"vocab_size": 13_303, "shared_negatives": 16},
    tiny={"vocab_size": 64, "embedding_dim": 8},
    summary="word2vec skip-gram with negative sampling on the Brown corpus (Mikolov et al. 2013)",
)


# --- using the vectors ------------------------------------------------------------------------


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def nearest_neighbours(
    vectors: np.ndarray, vocabulary: Sequence[str], word: str, k: int = 10
) -> list[tuple[str, float]]:
    """The ``k`` words of highest cosine similarity to ``word`` (itself left out).

    Raises:
        InvalidInputError: ``word`` is not in the vocabulary.
    """
    index = _index(vocabulary)
    if word not in index:
        raise InvalidInputError(f"{word!r} is not in the {len(vocabulary)}-word vocabulary")
    unit = unit_rows(vectors)
    scores = unit @ unit[index[word]]
    scores[index[word]] = -np.inf
    best = np.argsort(-scores)[:k]
    return [(vocabulary[i], float(scores[i])) for i in best]


def analogy_accuracy(
    vectors: np.ndarray, vocabulary: Sequence[str], questions: Iterable[tuple[str, str, str, str]]
) -> dict:
    """3CosAdd accuracy on ``a : b :: c : d`` questions: the answer is the word nearest to
    ``b - a + c`` (unit vectors), the three question words excluded, as word2vec's
    ``compute-accuracy`` and gensim's ``evaluate_word_analogies``. Only questions whose four
    words are in the vocabulary count (``covered``)."""
    index = _index(vocabulary)
    covered = [q for q in questions if all(w in index for w in q)]
    if not covered:
        return {"accuracy": 0.0, "covered": 0, "correct": 0}
    unit = unit_rows(vectors)
    ids = np.array([[index[w] for w in q] for q in covered])
    queries = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
    scores = queries @ unit.T
    rows = np.arange(len(ids))[:, None]
    scores[rows, ids[:, :3]] = -np.inf
    correct = int((scores.argmax(axis=1) == ids[:, 3]).sum())
    return {"accuracy": correct / len(covered), "covered": len(covered), "correct": correct}


def similarities(
    vectors: np.ndarray, vocabulary: Sequence[str], pairs: Iterable[tuple[str, str]]
) -> np.ndarray:
    """Cosine similarity of each word pair (NaN where a word is not in the vocabulary)."""
    index = _index(vocabulary)
    unit = unit_rows(vectors)
    return np.array(
        [
            float(unit[index[a]] @ unit[index[b]]) if a in index and b in index else np.nan
            for a, b in pairs
        ]
    )


def write_projector_files(
    vectors: np.ndarray, vocabulary: Sequence[str], directory: str | Path
) -> tuple[Path, Path]:
    """``vectors.tsv`` and ``metadata.tsv`` for the TensorBoard Embedding Projector
    (projector.tensorflow.org: *Load* both files)."""
    if len(vectors) != len(vocabulary):
        raise InvalidInputError(
            f"{len(vectors)} vectors but {len(vocabulary)} words: pass the model's vocabulary"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vector_file, metadata_file = directory / "vectors.tsv", directory / "metadata.tsv"
    np.savetxt(vector_file, vectors, delimiter="\t", fmt="%.6g")
    metadata_file.write_text("".join(f"{w}\n" for w in vocabulary), encoding="utf-8")
    return vector_file, metadata_file


def tsne_coordinates(vectors: np.ndarray, *, seed: int = 0, perplexity: float = 30.0):
    """2-D t-SNE coordinates of ``vectors`` (scikit-learn, cosine distance)."""
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, (len(vectors) - 1) / 3)
    return TSNE(
        2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed
    ).fit_transform(np.asarray(vectors, np.float64))


def _index(vocabulary: Sequence[str]) -> dict[str, int]:
    return {w: i for i, w in enumerate(vocabulary)}
