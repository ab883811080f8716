"""Text corpora for word2vec: the Brown corpus and any plain-text file or folder.

``load_dataset("brown")`` reads NLTK's ``brown.zip`` (``FDL_DATA_DIR/nltk_data/corpora/``; the
tags are dropped, words lower-cased, tokens without a letter or digit left out), builds a
vocabulary with a minimum count, and returns skip-gram pipelines: every batch is
``(target ids, context ids)`` with the context's first column the true context word and the
others negatives. ``load_dataset(PATH)`` does the same for a user's text (a ``.txt`` file, or a
folder of them; one sentence per line) once :func:`register_text_corpus` has named it, which
the word2vec task does for ``fdl train word2vec_brown --dataset PATH``.

Everything per pair happens in ``tf.data`` (Mikolov et al. 2013, and the word2vec C code):
subsampling of frequent words (keep probability ``(sqrt(f / (s T)) + 1) (s T) / f``), dynamic
windows (each target draws its window ``b`` uniformly from ``1..window``), and negatives drawn
from a table of word ids in proportion to ``count ** 0.75``. A training epoch's pairs are made
at once, by vectorised ops over the whole text (no Python loop per pair or per sentence), then
shuffled and cut into batches.

References: Mikolov et al., "Distributed Representations of Words and Phrases and their
Compositionality", NIPS 2013; Francis & Kucera, Brown Corpus Manual (1979).
"""

from __future__ import annotations

import functools
import itertools
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdl_keras.data.pipeline import EpochOrder
from fdl_keras.data.registry import _PROVIDERS, Dataset, DatasetInfo, dataset, find_data
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError

BROWN_HINT = "brown.zip (NLTK's package) or its unzipped brown/ folder"
WORD = re.compile(r"[^\W_]", re.UNICODE)  # a token counts as a word when it has a letter/digit
TEXT_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True)
class SkipGramConfig:
    """How skip-gram pairs are drawn (word2vec's defaults, as gensim's ``Word2Vec``)."""

    min_count: int = 5
    window: int = 5
    negatives: int = 5
    sample: float = 1e-3
    power: float = 0.75
    table_size: int = 1_000_000

    def check(self) -> None:
        for what in ("min_count", "window", "table_size"):
            if getattr(self, what) < 1:
                raise InvalidInputError(f"{what} must be >= 1, got {getattr(self, what)}")
        if self.negatives < 0:
            raise InvalidInputError(f"negatives must be >= 0, got {self.negatives}")
        if not self.sample >= 0:
            raise InvalidInputError(
                f"sample must be >= 0 (0 turns subsampling off), got {self.sample}"
            )


SKIPGRAM = SkipGramConfig()
#: An epoch's pairs are made in this many parts, the next made while training uses this one.
EPOCH_PARTS = 8


# --- reading text ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _read_brown_cached(path: str, mtime: float) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(s) for s in _read_brown(Path(path)))


def read_brown(path: Path | str) -> list[list[str]]:
    """The Brown corpus' sentences as lower-cased word lists (tags and punctuation dropped).

    ``path`` is NLTK's ``brown.zip`` or its unzipped ``brown/`` folder; a file read once is
    kept in memory for the process.

    Raises:
        InvalidInputError: the zip is damaged or holds no Brown text files.
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return [list(s) for s in _read_brown_cached(str(path), mtime)]


def _read_brown(path: Path) -> list[list[str]]:
    texts: list[str] = []
    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
            texts = [p.read_text("latin-1") for p in files]
        else:
            with zipfile.ZipFile(path) as archive:
                names = sorted(
                    n for n in archive.namelist() if re.fullmatch(r"brown/c[a-r]\d\d", n)
                )
                texts = [archive.read(n).decode("latin-1") for n in names]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise InvalidInputError(
            f"{path} is damaged ({type(exc).__name__}: {reason}): download NLTK's brown.zip again"
        ) from None
    if not texts:
        raise InvalidInputError(
            f"{path} holds no Brown corpus files (brown/ca01 ...): download NLTK's brown.zip again"
        )
    sentences = []
    # word/TAG -> the lower-cased word, "" when it is not a word (punctuation): worked out once
    # per distinct token (~60,000 of the corpus' 1.16 million; 1.8x faster than every time).
    words_of: dict[str, str] = {}
    for text in texts:
        for line in text.split("\n"):
            words = []
            for token in line.split():
                word = words_of.get(token)
                if word is None:
                    word = token.rsplit("/", 1)[0].lower()
                    word = words_of[token] = word if WORD.search(word) else ""
                if word:
                    words.append(word)
            if words:
                sentences.append(words)
    return sentences


def read_text(path: Path | str) -> list[list[str]]:
    """Sentences of a plain-text file, or of every ``.txt`` file under a folder: one sentence
    per non-empty line, lower-cased words (letters/digits, inner apostrophes and hyphens kept).

    Raises:
        DatasetNotFoundError: ``path`` does not exist.
        InvalidInputError: no text files, unreadable or binary files, or no words at all.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(f"text corpus {path} not found: pass a .txt file or a folder")
    files = sorted(path.rglob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise InvalidInputError(f"{path} holds no .txt files: put plain-text files in it")
    sentences = []
    for file in files:
        try:
            text = file.read_text("utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            raise InvalidInputError(
                f"{file} is not readable UTF-8 text ({type(exc).__name__}); pass plain text files"
            ) from None
        for line in text.splitlines():
            words = TEXT_TOKEN.findall(line.lower())
            if words:
                sentences.append(words)
    if not sentences:
        raise InvalidInputError(f"{path} holds no words: pass a file with text in it")
    return sentences


# --- vocabulary and tables ---------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Words kept (count >= ``min_count``), most frequent first, and their counts."""

    words: tuple[str, ...]
    counts: np.ndarray

    @classmethod
    def build(cls, sentences: list[list[str]], min_count: int = 5) -> Vocabulary:
        counter = Counter(w for s in sentences for w in s)
        kept = sorted(
            (w for w, c in counter.items() if c >= min_count), key=lambda w: (-counter[w], w)
        )
        if not kept:
            raise InvalidInputError(
                f"no word occurs {min_count} times or more in the {sum(counter.values())} words "
                "given: pass more text"
            )
        return cls(tuple(kept), np.array([counter[w] for w in kept], np.int64))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def encode(self, sentences: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, row_lengths)``: the in-vocabulary words of every sentence, concatenated
        (sentences with none left out)."""
        index = self.index
        ids = np.array(
            [index.get(w, -1) for w in itertools.chain.from_iterable(sentences)], np.int64
        )
        lengths = np.fromiter(map(len, sentences), np.int64, len(sentences))
        kept = ids >= 0
        rows = np.repeat(np.arange(len(sentences)), lengths)[kept]
        row_lengths = np.bincount(rows, minlength=len(sentences)).astype(np.int64)
        return ids[kept].astype(np.int32), row_lengths[row_lengths > 0]


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling: the probability of keeping each occurrence of a word."""
    if sample <= 0:
        return np.ones(len(counts), np.float32)
    threshold = sample * counts.sum()
    keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.minimum(keep, 1.0).astype(np.float32)


def unigram_table(counts: np.ndarray, power: float = 0.75, size: int = 1_000_000) -> np.ndarray:
    """word2vec's negative-sampling table: word ``i`` fills a share ``count_i ** power`` of it,
    so a uniform draw from the table is a draw from the unigram distribution to that power."""
    weights = counts.astype(np.float64) ** power
    ends = np.round(np.cumsum(weights) / weights.sum() * size).astype(np.int64)
    return np.repeat(np.arange(len(counts), dtype=np.int32), np.diff(ends, prepend=0))


# --- the tf.data pipeline ----------------------------------------------------------------------


def skipgram_pipeline(
    ids: np.ndarray,
    row_lengths: np.ndarray,
    *,
    keep: np.ndarray,
    table: np.ndarray,
    config: SkipGramConfig = SKIPGRAM,
    batch_size: int = 4096,
    seed: int = 0,
    shuffle: bool = True,
    order=None,
):
    """Batches of ``(targets, contexts)``: ``targets`` ``(batch,)`` int32, ``contexts``
    ``(batch, 1 + negatives)`` int32 whose first column is the true context word.

    With ``shuffle`` (training) every pass is a new epoch: each occurrence is subsampled and
    draws its window anew, the epoch's pairs are shuffled and draw new negatives. The pipeline
    has a stated length: every epoch is the same number of full batches, the first epoch's
    pair count rounded up (pairs vary by a fraction of a percent between epochs; a short epoch
    repeats a few of its own pairs, a long one leaves a few out), so
    Keras can run many steps per call. Without ``shuffle`` every pass gives the same pairs, in
    corpus order, the last batch short (a fixed evaluation set). Epoch ``e``'s pairs are a
    function of ``(seed, e)`` alone, ``e`` read from ``order`` (an
    :class:`~fdl_keras.data.pipeline.EpochOrder`, made here when not given), so a resumed run
    sees the batches the uninterrupted one saw.

    Raises:
        InvalidInputError: the text gives no pair at all (no sentence of two kept words).
    """
    import tensorflow as tf

    if len(ids) == 0:
        raise InvalidInputError("the text gives no skip-gram pairs: pass more text")
    words = tf.constant(ids, tf.int32)
    sentence = tf.constant(np.repeat(np.arange(len(row_lengths)), row_lengths), tf.int32)
    keep_t, table_t = tf.constant(keep), tf.constant(table)
    offsets = tf.constant([d for d in range(-config.window, config.window + 1) if d != 0])

    def epoch_pairs(seeds, words=words, sentence=sentence):
        """All ``(target, context)`` pairs of one pass over ``words`` (sentence ids
        ``sentence``), in text order (vectorised over the whole text: one ``(kept words,
        2 window)`` grid of neighbours, masked)."""
        kept = tf.random.stateless_uniform(tf.shape(words), seed=seeds[0])
        kept = kept < tf.gather(keep_t, words)
        flat, rows = tf.boolean_mask(words, kept), tf.boolean_mask(sentence, kept)
        n = tf.shape(flat)[0]
        spans = tf.random.stateless_uniform(
            [n], seed=seeds[1], minval=1, maxval=config.window + 1, dtype=tf.int32
        )
        other = tf.range(n)[:, None] + offsets[None, :]
        inside = (other >= 0) & (other < n)
        other = tf.clip_by_value(other, 0, tf.maximum(n - 1, 0))
        valid = (
            inside
            & (tf.gather(rows, other) == rows[:, None])
            & (tf.abs(offsets)[None, :] <= spans[:, None])
        )
        targets = tf.boolean_mask(tf.broadcast_to(flat[:, None], tf.shape(other)), valid)
        return targets, tf.boolean_mask(tf.gather(flat, other), valid)

    def with_negatives(targets, positives, seed_):
        draws = tf.random.stateless_uniform(
            [tf.shape(targets)[0], config.negatives], seed=seed_, maxval=len(table), dtype=tf.int32
        )
        return targets, tf.concat([positives[:, None], tf.gather(table_t, draws)], axis=1)

    def split(key):
        return tf.random.experimental.stateless_split(tf.stack([key, seed]), 4)

    if not shuffle:  # a fixed set: drawn once, here
        targets, contexts = with_negatives(*epoch_pairs(split(0)), split(0)[3])
        if int(tf.size(targets)) == 0:
            raise InvalidInputError("the text gives no skip-gram pairs: pass more text")
        # The batches of ``from_tensor_slices(...).batch``, cut as whole slices: 5x faster a
        # pass than batching the pairs one by one (0.14 against 0.77 s on the Brown corpus).
        starts = tf.range(0, tf.size(targets), batch_size)
        return tf.data.Dataset.from_tensor_slices(starts).map(
            lambda s: (targets[s : s + batch_size], contexts[s : s + batch_size])
        )

    first = int(tf.size(epoch_pairs(split(0))[0]))
    if first == 0:
        raise InvalidInputError("the text gives no skip-gram pairs: pass more text")
    steps = -(-first // batch_size)
    # An epoch is made in parts (each a random share of the sentences, its pairs shuffled),
    # the next part while the step trains on this one: only the first part's making stalls
    # training, not the whole epoch's (0.6 s an epoch on the Brown corpus, on 2 cores).
    parts = max(1, min(EPOCH_PARTS, len(row_lengths), steps))
    text = tf.RaggedTensor.from_row_lengths(words, tf.constant(row_lengths, tf.int64))
    part_ends = tf.constant(np.linspace(0, len(row_lengths), parts + 1).round().astype(np.int64))
    part_steps = tf.constant([steps // parts + (i < steps % parts) for i in range(parts)])

    def part_batches(sentences, seeds, i):
        """Part ``i`` of an epoch: full batches of its sentences' pairs, shuffled, cycled or
        cut to its share of the epoch's steps, with new negatives."""
        part = tf.gather(text, sentences[part_ends[i] : part_ends[i + 1]])
        seeds = [
            tf.random.experimental.stateless_fold_in(seeds[j], tf.cast(i, tf.int32))
            for j in range(4)
        ]
        targets, positives = epoch_pairs(
            seeds, part.flat_values, tf.cast(part.value_rowids(), tf.int32)
        )
        # A part with no pair at all (only one-word sentences kept) takes the whole text's.
        targets, positives = tf.cond(
            tf.size(targets) > 0, lambda: (targets, positives), lambda: epoch_pairs(seeds)
        )
        n = tf.size(targets)
        size = part_steps[i] * batch_size
        index = tf.random.experimental.stateless_shuffle(tf.range(n), seeds[2])
        index = tf.gather(index, tf.range(size) % n)
        targets, contexts = with_negatives(
            tf.gather(targets, index), tf.gather(positives, index), seeds[3]
        )
        return (
            tf.reshape(targets, [part_steps[i], batch_size]),
            tf.reshape(contexts, [part_steps[i], batch_size, 1 + config.negatives]),
        )

    def epoch_batches(_):
        seeds = split(tf.cast(order.next_pass() % (2**31 - 1), tf.int32))
        sentences = tf.random.experimental.stateless_shuffle(
            tf.range(len(row_lengths), dtype=tf.int64), seeds[0]
        )
        made = tf.data.Dataset.range(parts).map(lambda i: part_batches(sentences, seeds, i))
        return made.prefetch(1).flat_map(lambda t, c: tf.data.Dataset.from_tensor_slices((t, c)))

    if order is None:
        order = EpochOrder()
    ds = tf.data.Dataset.range(1).flat_map(epoch_batches)  # one pass: the epoch ``order`` is in
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return ds.prefetch(tf.data.AUTOTUNE)


# --- providers ---------------------------------------------------------------------------------


def corpus_dataset(
    name: str,
    sentences: list[list[str]],
    *,
    source: str,
    title: str,
    batch_size: int,
    validation_fraction: float,
    seed: int,
    limit: int | None,
    config: SkipGramConfig = SKIPGRAM,
) -> Dataset:
    """Skip-gram pipelines over ``sentences``: a seeded ``validation_fraction`` of the
    sentences is held out as the (fixed) test pairs; ``limit`` keeps that many sentences.

    ``arrays`` holds ``"sentences"`` (the training sentences, for a reference model such as
    gensim's) and ``"test"`` (word ids, for export checks).
    """
    config.check()
    order = np.random.default_rng(seed).permutation(len(sentences))
    if limit is not None:
        order = order[:limit]
    n_test = int(round(len(order) * validation_fraction))
    train_sentences = [sentences[i] for i in np.sort(order[n_test:])]
    test_sentences = [sentences[i] for i in np.sort(order[:n_test])]
    vocabulary = Vocabulary.build(train_sentences, config.min_count)
    keep = keep_probabilities(vocabulary.counts, config.sample)
    table = unigram_table(vocabulary.counts, config.power, config.table_size)
    train_ids, train_rows = vocabulary.encode(train_sentences)
    test_ids, test_rows = vocabulary.encode(test_sentences)
    if len(test_rows) == 0:  # no held-out text: evaluate on a fixed pass over the training text
        test_ids, test_rows = train_ids, train_rows
    common = dict(keep=keep, table=table, config=config, batch_size=batch_size, seed=seed)
    order = EpochOrder()
    train = skipgram_pipeline(train_ids, train_rows, shuffle=True, order=order, **common)
    test = skipgram_pipeline(test_ids, test_rows, shuffle=False, **common)
    info = DatasetInfo(
        name=name,
        source=source,
        num_train=int(train.cardinality()) * batch_size,
        num_validation=0,
        num_test=int(sum(len(t) for t, _ in test)),
        element_spec=train.element_spec,
        input_shape=(),
        vocabulary=vocabulary.words,
        title=title,
    )
    words = np.arange(len(vocabulary), dtype=np.int32)
    return Dataset(
        train,
        None,
        test,
        info,
        arrays={
            "test": (words, words),
            "sentences": train_sentences,
            "counts": vocabulary.counts,
        },
        order=order,
    )


@dataset("brown", title="Brown corpus (1,161,192 words, 500 texts)", files=BROWN_HINT)
def load_brown(name, *, batch_size, validation_fraction, seed, limit, augment=None) -> Dataset:
    """The Brown corpus as skip-gram pairs (Francis & Kucera 1961)."""
    path = find_data(
        "the Brown corpus",
        ["brown.zip", "brown"],
        subdir="nltk_data/corpora",
        hint=BROWN_HINT,
    )
    return corpus_dataset(
        name,
        read_brown(path),
        source=str(path),
        title="Brown corpus",
        batch_size=batch_size,
        validation_fraction=validation_fraction,
        seed=seed,
        limit=limit,
    )


def register_text_corpus(path: str | Path) -> str:
    """Registers the text file or folder ``path`` as a dataset named by the path (as given) and
    returns that name, so ``load_dataset(path)`` gives its skip-gram pipelines.

    Raises:
        DatasetNotFoundError: nothing is at ``path``.
    """
    name = str(path)
    if name in _PROVIDERS:
        return name
    if not Path(name).expanduser().exists():
        raise DatasetNotFoundError(
            f"{name} is neither a registered dataset nor a text file or folder: pass brown, a "
            ".txt file or a folder of them"
        )

    def load_text(name, *, batch_size, validation_fraction, seed, limit, augment=None):
        return corpus_dataset(
            name,
            read_text(name),
            source=str(Path(name).expanduser().resolve()),
            title=f"text of {name}",
            batch_size=batch_size,
            validation_fraction=validation_fraction,
            seed=seed,
            limit=limit,
        )

    dataset(name, title=f"plain text {name}", files="a .txt file or a folder of them")(load_text)
    return name


__all__ = [
    "SKIPGRAM",
    "SkipGramConfig",
    "Vocabulary",
    "keep_probabilities",
    "load_brown",
    "read_brown",
    "read_text",
    "register_text_corpus",
    "skipgram_pipeline",
    "unigram_table",
]
