"""Text pipelines of chapter 9: tokenisation, vocabularies, tagger windows, length-bucketed batches.

One :class:`Vocabulary` convention serves every chapter-9 system and matches Keras'
``StringLookup(mask_token="", oov_token="[UNK]")``: id 0 is padding (``""``), id 1 is every
out-of-vocabulary word (``"[UNK]"``), real tokens follow by descending training frequency (ties
alphabetical). :meth:`Vocabulary.lookup_layer` returns the equal Keras layer; encoding in NumPy
gives the same ids without a graph (the data providers and the apply functions use it). A
vocabulary saves to and loads from JSON, so a trained run tokenises new text exactly as in
training.
"""

from __future__ import annotations

import functools
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from fdl_keras.errors import InvalidInputError

PAD, OOV = "", "[UNK]"
PAD_ID, OOV_ID = 0, 1

# Lower-cased words with inner apostrophes/hyphens ("there's", "12-part", "'80s"), numbers with
# separators, and punctuation marks (a repeated mark, ``--`` or ``...``, is one token): the
# tokenisation the movie-review corpus was made with. Group 1 is the whole token (``findall``
# then returns it without a match object per token, twice as fast), group 2 the repeated mark.
_TOKEN = re.compile(r"('?[a-z0-9]+(?:[-'.,/][a-z0-9]+)*'?|([^\sa-z0-9])\2*)")


def tokenize(text: str, *, lower: bool = True) -> list[str]:
    """Splits raw ``text`` into word and punctuation tokens (lower-cased by default)."""
    if not isinstance(text, str):
        raise InvalidInputError(f"expected a string of text, got {type(text).__name__}")
    text = text.lower() if lower else text
    tokens: list[str] = []
    append = tokens.append
    for token, _ in _TOKEN.findall(text):
        if token[-1] != "'":
            append(token)
        # A quote around a word ("'great'") is punctuation; "'80s" and "don't" keep theirs.
        elif token[0] == "'" and len(token) > 2:
            tokens += ["'", token[1:-1], "'"]
        elif len(token) > 1 and not token.endswith("s'"):
            tokens += [token[:-1], "'"]
        else:
            append(token)
    return tokens


class Vocabulary:
    """Token ↔ id mapping with padding id 0 and OOV id 1 (Keras ``StringLookup`` convention).

    Args:
        tokens: the id → token list; must start with ``""`` and ``"[UNK]"``.
    """

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tokens[:2] != [PAD, OOV]:
            raise InvalidInputError(
                f"a vocabulary starts with the padding and OOV tokens {[PAD, OOV]}, "
                f"got {tokens[:2]}"
            )
        if len(set(tokens)) != len(tokens):
            raise InvalidInputError("a vocabulary lists each token once")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        *,
        max_size: int | None = None,
        min_count: int = 1,
    ) -> Vocabulary:
        """The vocabulary of ``sequences``: tokens seen ``min_count`` times or more, the
        ``max_size - 2`` most frequent (ties alphabetical) after padding and OOV."""
        if max_size is not None and max_size < 3:
            raise InvalidInputError(f"max_size must be >= 3 (padding, OOV, a word), got {max_size}")
        counts = Counter(t for seq in sequences for t in seq)
        counts.pop(PAD, None)
        counts.pop(OOV, None)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            ranked = ranked[: max_size - 2]
        return cls([PAD, OOV, *ranked])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """int32 ids of ``tokens``; unknown tokens get :data:`OOV_ID`."""
        return np.array([self.index.get(t, OOV_ID) for t in tokens], dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[int(i)] for i in ids]

    def lookup_layer(self):
        """The equal ``keras.layers.StringLookup`` (strings → the same ids)."""
        import keras

        return keras.layers.StringLookup(
            vocabulary=self.tokens[2:], mask_token=PAD, oov_token=OOV, num_oov_indices=1
        )

    def to_json(self) -> list[str]:
        return list(self.tokens)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.tokens))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        path = Path(path)
        if not path.is_file():
            raise InvalidInputError(f"vocabulary file {path} not found; train the run again")
        try:
            return cls(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise InvalidInputError(f"vocabulary file {path} is damaged ({exc}); retrain") from exc


_DIGIT = re.compile(r"[0-9]")


@functools.lru_cache(maxsize=1 << 17)
def normalise_word(word: str) -> str:
    """The form a word is looked up in: lower-cased, every digit replaced by ``0``."""
    return _DIGIT.sub("0", word.lower())


# --- Tagger windows ---------------------------------------------------------------------------

WINDOW = 2  # words each side of the tagged one
SUFFIX_BUCKETS = 2048  # hashed 2- and 3-letter suffixes; ids 0 (no word) and 1 are reserved
NUM_SHAPES = 13  # 0: no word; 1-6 the shape classes below; 7-12 the same at sentence start
FEATURE_ROWS = ("word", "suffix2", "suffix3", "shape")


def word_shape(word: str) -> int:
    """1 lower, 2 Capitalised, 3 ALL CAPS, 4 has a digit, 5 no letter or digit, 6 mixed case."""
    if any(c.isdigit() for c in word):
        return 4
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return 5
    if all(c.islower() for c in letters):
        return 1
    if all(c.isupper() for c in letters):
        return 3 if len(letters) > 1 else 2
    return 2 if letters[0].isupper() and all(c.islower() for c in letters[1:]) else 6


def suffix_id(word: str, k: int) -> int:
    """A stable hash bucket (CRC-32, not Python's salted ``hash``) of ``word``'s last ``k``
    letters, in ``[2, SUFFIX_BUCKETS)``."""
    key = f"{k}:{word.lower()[-k:]}".encode()
    return 2 + zlib.crc32(key) % (SUFFIX_BUCKETS - 2)


def window_features(words: Sequence[str], vocabulary: Vocabulary) -> np.ndarray:
    """int32 ``[len(words), 4, 2 * WINDOW + 1]``: for each word, the word ids, hashed 2- and
    3-letter suffixes and shape classes of the window centred on it (0 beyond the sentence).

    This is the book's tagger input (a window of words) plus the suffix and capitalisation
    features that carry unknown words.
    """
    n, width = len(words), 2 * WINDOW + 1
    index = vocabulary.index
    rows = [(index.get(word, OOV_ID), *rest) for word, *rest in map(_word_features, words)]
    if not rows:
        return np.zeros((0, len(FEATURE_ROWS), width), dtype=np.int32)
    per_word = np.zeros((n + 2 * WINDOW, len(FEATURE_ROWS)), dtype=np.int32)
    per_word[WINDOW : WINDOW + n] = rows
    per_word[WINDOW, 3] += 6  # the first word's shape: "at sentence start"
    windows = np.lib.stride_tricks.sliding_window_view(per_word, width, axis=0)
    return np.ascontiguousarray(windows)  # [n, rows, width]


@functools.lru_cache(maxsize=1 << 17)
def _word_features(word: str) -> tuple[str, int, int, int]:
    """A word's lookup form, hashed 2- and 3-letter suffixes and shape class: worked out once
    per distinct word (a treebank repeats each of its words ~9 times)."""
    return normalise_word(word), suffix_id(word, 2), suffix_id(word, 3), word_shape(word)


def array_pipeline(x, y, *, batch_size: int, shuffle: bool = False, seed: int = 0, order=None):
    """A ``tf.data`` pipeline of ``(x, y)`` batches over arrays (ids stay integers), shuffled
    per epoch from ``(seed, epoch)`` when ``shuffle``."""
    import tensorflow as tf

    from fdl_keras.data.pipeline import EpochOrder, shuffled_indices

    if not shuffle:
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(2)
    xs, ys = tf.constant(x), tf.constant(y)
    ds = shuffled_indices(len(x), seed, order or EpochOrder(), batch_size=batch_size)
    ds = ds.map(lambda key, i: (tf.gather(xs, i), tf.gather(ys, i)))
    return ds.prefetch(tf.data.AUTOTUNE)


def pad_sequences(sequences: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """int32 ``[n, length]`` array: each sequence truncated to ``length`` and padded with 0 at
    the end (``length`` defaults to the longest)."""
    if length is None:
        length = max((len(s) for s in sequences), default=0)
    out = np.zeros((len(sequences), max(length, 1)), dtype=np.int32)
    for i, seq in enumerate(sequences):
        seq = np.asarray(seq[:length], dtype=np.int32)
        out[i, : len(seq)] = seq
    return out


def sequence_pipeline(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    order=None,
    bucket_boundaries: Sequence[int] | None = None,
):
    """A ``tf.data`` pipeline of ``(ids [batch, time], y)`` batches over padded arrays.

    Each batch is cut to its longest real sequence. With ``bucket_boundaries`` (training),
    examples are grouped by length with ``tf.data``'s ``bucket_by_sequence_length`` so a batch
    holds sequences of similar length (less padding). Shuffling is per epoch from
    ``(seed, epoch)`` (:class:`~fdl_keras.data.pipeline.EpochOrder`), so resumed runs see the same
    batches.
    """
    import tensorflow as tf

    from fdl_keras.data.pipeline import EpochOrder, shuffled_indices

    x = np.asarray(x, dtype=np.int32)
    lengths = np.maximum((x != PAD_ID).sum(axis=1), 1).astype(np.int32)
    ids, labels, lens = tf.constant(x), tf.constant(y), tf.constant(lengths)
    if shuffle:
        ds = shuffled_indices(len(x), seed, order or EpochOrder()).map(lambda key, i: i)
    else:
        ds = tf.data.Dataset.range(len(x))

    def element(i):
        i = tf.cast(i, tf.int32)
        return ids[i, : lens[i]], labels[i]

    ds = ds.map(element, num_parallel_calls=tf.data.AUTOTUNE)
    if bucket_boundaries:
        ds = ds.bucket_by_sequence_length(
            lambda seq, _: tf.shape(seq)[0],
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padded_shapes=([None], list(np.shape(y)[1:]) or []),
        )
    else:
        ds = ds.padded_batch(batch_size, padded_shapes=([None], list(np.shape(y)[1:]) or []))
    return ds.prefetch(tf.data.AUTOTUNE)


def length_boundaries(lengths: Sequence[int], buckets: int = 4) -> list[int]:
    """Bucket boundaries at the length quantiles of ``lengths`` (distinct, increasing)."""
    qs = np.quantile(np.asarray(lengths), np.linspace(0, 1, buckets + 1)[1:-1])
    return sorted({int(q) + 1 for q in qs})


def check_texts(texts: Sequence[str] | str, what: str = "texts") -> list[str]:
    """``texts`` as a list of non-empty strings, or a one-line error."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise InvalidInputError(f"no {what} given; pass at least one non-empty line of text")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InvalidInputError(f"{what}[{i}] is a {type(t).__name__}, not a string")
        if not t.strip():
            raise InvalidInputError(f"{what}[{i}] is empty; remove empty lines or give text")
    return texts


__all__ = [
    "FEATURE_ROWS",
    "NUM_SHAPES",
    "SUFFIX_BUCKETS",
    "WINDOW",
    "array_pipeline",
    "normalise_word",
    "suffix_id",
    "window_features",
    "word_shape",
    "OOV",
    "OOV_ID",
    "PAD",
    "PAD_ID",
    "Vocabulary",
    "check_texts",
    "length_boundaries",
    "pad_sequences",
    "sequence_pipeline",
    "tokenize",
]
