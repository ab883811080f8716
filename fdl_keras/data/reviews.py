"""Sentiment corpora: Pang & Lee's movie reviews (NLTK ``movie_reviews.zip``) and Keras' IMDB.

``movie_reviews``: 2,000 reviews (1,000 ``neg`` = 0, 1,000 ``pos`` = 1; Pang & Lee, "A
Sentimental Education", ACL 2004), read straight from the NLTK zip. The split is by file and
fixed: files ``cv900``–``cv999`` of each class are the test set (200), the ``validation_fraction``
of the rest with the highest numbers (default ``cv810``–``cv899``, 180) validate, the others
(1,620) train. Batches are ``(ids int32 [batch, time], label int32 [batch])``: token ids of the
:mod:`fdl_keras.sequence.text` convention (0 padding, 1 OOV), each review cut to its last
:data:`MAX_LENGTH` tokens (the verdict usually closes a review), each batch padded at the
end to its longest review; the training split
is bucketed by length. ``info.vocabulary`` is the id → token list, built from the training files
only (tokens seen twice or more, at most :data:`VOCABULARY_SIZE`).

New text is encoded exactly as the pipelines encode the corpus with :func:`encode_reviews`
(tokenise with :func:`fdl_keras.sequence.text.tokenize`, look up, truncate, pad);
:func:`movie_review_texts` returns the raw texts, labels and split of every review.

``imdb``: Keras' ``imdb.npz`` when it is local (``FDL_DATA_DIR/imdb/`` or the Keras cache); ids
are re-based to the same convention (0 padding, 1 OOV, word rank r → id r + 1).
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import numpy as np

from fdl_keras.data.registry import Dataset, dataset, find_data, split_dataset
from fdl_keras.errors import InvalidInputError

MAX_LENGTH = 400  # tokens kept per review: its last 400 (the median review has ~ 700)
VOCABULARY_SIZE = 20000
MIN_COUNT = 2
CLASS_NAMES = ("neg", "pos")
TEST_FROM = 900  # files cv900..cv999 of each class are the test set
ZIP_HINT = "movie_reviews.zip (NLTK's corpus package)"


def reviews_zip() -> Path:
    """The path of ``movie_reviews.zip`` (``FDL_DATA_DIR/nltk_data/corpora/``)."""
    return find_data(
        "movie reviews corpus",
        ["movie_reviews.zip"],
        subdir="nltk_data/corpora",
        hint=ZIP_HINT,
    )


@functools.lru_cache(maxsize=2)
def _read_corpus(path: str) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(
                n
                for n in archive.namelist()
                if n.endswith(".txt") and n.split("/")[-2] in CLASS_NAMES
            )
            texts = tuple(archive.read(n).decode("utf-8", errors="replace") for n in names)
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        raise InvalidInputError(f"{path} is not a readable zip ({exc}); copy it again") from exc
    if len(names) != 2000:
        raise InvalidInputError(f"{path} holds {len(names)} reviews, expected 2000; copy it again")
    labels = np.array([CLASS_NAMES.index(n.split("/")[-2]) for n in names], dtype=np.int32)
    return tuple(names), texts, labels


def _file_number(name: str) -> int:
    return int(Path(name).name[2:5])  # cv123_4567.txt -> 123


def movie_review_texts(
    validation_fraction: float = 0.1,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every review's raw text, label (0 neg, 1 pos) and split (``"train"``, ``"validation"``,
    ``"test"``), in file order (``neg/cv000`` … ``pos/cv999``)."""
    if not 0.0 <= validation_fraction < 1.0:
        raise InvalidInputError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    names, texts, labels = _read_corpus(str(reviews_zip()))
    number = np.array([_file_number(n) for n in names])
    val_from = TEST_FROM - int(round(TEST_FROM * validation_fraction))
    split = np.where(
        number >= TEST_FROM, "test", np.where(number >= val_from, "validation", "train")
    )
    return list(texts), labels.copy(), split


@functools.lru_cache(maxsize=2)
def _corpus_tokens(path: str) -> tuple[tuple[str, ...], ...]:
    """Every review of the zip at ``path``, tokenised once a process (the vocabulary and the
    encoded arrays both need it)."""
    from fdl_keras.sequence.text import tokenize

    return tuple(tuple(tokenize(t)) for t in _read_corpus(path)[1])


@functools.lru_cache(maxsize=4)
def _vocabulary(path: str, validation_fraction: float):
    from fdl_keras.sequence.text import Vocabulary

    _, _, split = movie_review_texts(validation_fraction)
    tokens = _corpus_tokens(path)
    train = [t for t, s in zip(tokens, split, strict=True) if s == "train"]
    return Vocabulary.build(train, max_size=VOCABULARY_SIZE, min_count=MIN_COUNT)


def review_vocabulary(validation_fraction: float = 0.1):
    """The :class:`~fdl_keras.sequence.text.Vocabulary` of the training reviews."""
    return _vocabulary(str(reviews_zip()), validation_fraction)


def encode_reviews(texts, vocabulary=None, max_length: int = MAX_LENGTH) -> np.ndarray:
    """int32 ``[len(texts), max_length]`` ids of raw ``texts``, exactly as the pipelines encode
    the corpus: tokenised, looked up (unknown words → 1), cut to the last ``max_length``
    tokens, padded with 0 at the end."""
    from fdl_keras.sequence.text import check_texts, tokenize

    if max_length < 1:
        raise InvalidInputError(f"max_length must be >= 1, got {max_length}")
    vocabulary = vocabulary or review_vocabulary()
    texts = check_texts(texts)
    return _encode_tokens([tokenize(t) for t in texts], vocabulary, max_length)


def _encode_tokens(token_lists, vocabulary, max_length: int) -> np.ndarray:
    from fdl_keras.sequence.text import pad_sequences

    return pad_sequences([vocabulary.encode(t)[-max_length:] for t in token_lists], max_length)


def _sequence_dataset(name, title, source, x, y, split, vocabulary, *, batch_size, seed, limit):
    from fdl_keras.data.pipeline import EpochOrder
    from fdl_keras.sequence.text import length_boundaries, sequence_pipeline

    arrays = {s: (x[split == s], y[split == s]) for s in ("train", "validation", "test")}
    if limit is not None:
        # A class-balanced prefix of each split, so tiny runs still see both labels.
        for s, share in (("train", 1.0), ("validation", 0.25), ("test", 0.25)):
            xs, ys = arrays[s]
            half = max(1, int(limit * share) // 2)
            keep = np.sort(np.concatenate([np.flatnonzero(ys == c)[:half] for c in (0, 1)]))
            arrays[s] = (xs[keep], ys[keep])
    order = EpochOrder()
    lengths = (arrays["train"][0] != 0).sum(axis=1)
    boundaries = length_boundaries(lengths) if len(lengths) > 8 else None

    def pipeline(split, shuffle):
        if shuffle:
            return sequence_pipeline(
                *arrays[split],
                batch_size=batch_size,
                shuffle=True,
                seed=seed,
                order=order,
                bucket_boundaries=boundaries,
            )
        return sequence_pipeline(*arrays[split], batch_size=batch_size)

    return split_dataset(
        arrays,
        pipeline,
        order=order,
        name=name,
        source=source,
        input_shape=(None,),
        num_classes=2,
        class_names=CLASS_NAMES,
        vocabulary=tuple(vocabulary.tokens),
        title=title,
    )


@dataset(
    "movie_reviews",
    title="Movie reviews (Pang & Lee 2004), 2,000 polarity-labelled reviews",
    files="nltk_data/corpora/movie_reviews.zip (NLTK's corpus package)",
)
def load_movie_reviews(
    name, *, batch_size, validation_fraction, seed, limit, augment=None
) -> Dataset:
    if augment:
        raise InvalidInputError(f"{name} has no augmentation; drop augment={augment!r}")
    _, labels, split = movie_review_texts(validation_fraction)
    vocabulary = review_vocabulary(validation_fraction)
    # encode_reviews(texts, vocabulary), on the corpus' tokens the vocabulary was built from.
    x = _encode_tokens(_corpus_tokens(str(reviews_zip())), vocabulary, MAX_LENGTH)
    return _sequence_dataset(
        name,
        "Movie reviews (Pang & Lee 2004)",
        str(reviews_zip()),
        x,
        labels,
        split,
        vocabulary,
        batch_size=batch_size,
        seed=seed,
        limit=limit,
    )


@dataset(
    "imdb",
    title="IMDB reviews (Keras' imdb.npz), 25,000 + 25,000",
    files="imdb/imdb.npz (and optionally imdb_word_index.json) from keras.datasets.imdb",
)
def load_imdb(name, *, batch_size, validation_fraction, seed, limit, augment=None) -> Dataset:
    """Keras' IMDB arrays when local; ids re-based to 0 padding / 1 OOV (rank r → r + 1)."""
    import json

    from fdl_keras.sequence.text import OOV, PAD, Vocabulary, pad_sequences

    if augment:
        raise InvalidInputError(f"{name} has no augmentation; drop augment={augment!r}")
    path = find_data(
        "IMDB reviews", ["imdb.npz"], subdir="imdb", hint="imdb.npz", cached=["imdb.npz"]
    )
    try:
        with np.load(path, allow_pickle=True) as f:
            x_train, y_train, x_test, y_test = (
                f[k] for k in ("x_train", "y_train", "x_test", "y_test")
            )
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(
            f"{path} is not a readable imdb.npz ({exc}); copy it again"
        ) from exc
    words = [f"<word{r}>" for r in range(1, VOCABULARY_SIZE - 1)]
    index_file = path.with_name("imdb_word_index.json")
    if index_file.is_file():
        ranked = sorted(json.loads(index_file.read_text()).items(), key=lambda kv: kv[1])
        words = [w for w, _ in ranked[: VOCABULARY_SIZE - 2]]
    vocabulary = Vocabulary([PAD, OOV, *words])

    def rebase(seqs):
        out = []
        for seq in seqs:
            # The file stores frequency ranks r >= 1 (load_data adds index_from=3 later).
            ids = np.asarray(seq, dtype=np.int64) + 1
            out.append(np.where(ids < len(vocabulary), ids, 1)[-MAX_LENGTH:])
        return pad_sequences(out, MAX_LENGTH)

    x = np.concatenate([rebase(x_train), rebase(x_test)])
    y = np.concatenate([y_train, y_test]).astype(np.int32)
    n_train = len(y_train)
    n_val = int(round(n_train * validation_fraction))
    split = np.array(
        ["train"] * (n_train - n_val) + ["validation"] * n_val + ["test"] * len(y_test)
    )
    # keras' training file is sorted by label: validate on a seeded share, not the tail.
    perm = np.random.default_rng(seed).permutation(n_train)
    x[:n_train], y[:n_train] = x[perm], y[perm]
    return _sequence_dataset(
        name,
        "IMDB reviews",
        str(path),
        x,
        y,
        split,
        vocabulary,
        batch_size=batch_size,
        seed=seed,
        limit=limit,
    )


__all__ = [
    "CLASS_NAMES",
    "MAX_LENGTH",
    "encode_reviews",
    "load_imdb",
    "load_movie_reviews",
    "movie_review_texts",
    "review_vocabulary",
    "reviews_zip",
]
