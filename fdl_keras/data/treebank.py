"""The Penn Treebank sample (NLTK ``treebank.zip``) and its dependency version
(``dependency_treebank.zip``): POS-tagger windows and parser oracle transitions.

Both corpora hold the same 3,914 sentences in 199 files (``wsj_0001`` … ``wsj_0199``). Splits are
by file and fixed: ``wsj_0180``–``wsj_0199`` are the test set, the ``validation_fraction`` of the
rest with the highest numbers validate (default ``wsj_0162``–``wsj_0179``), the others train.
Empty elements (``-NONE-`` traces) are dropped from the tagged sentences, leaving the 45 Penn tags.

- ``treebank``: one example per token: ``(window int32 [4, 5], tag int32)``, the window's word
  ids, hashed suffixes and shape classes (:func:`fdl_keras.sequence.text.window_features`);
  ``info.vocabulary`` is the word vocabulary (lower-cased, digits as ``0``, words seen twice
  or more in training; 0 padding, 1 OOV), ``info.class_names`` the tags.
- ``dependency_treebank``: one example per oracle transition: ``(features int32 [36],
  transition int32)`` (:mod:`fdl_keras.sequence.transitions`); ``info.vocabulary`` is the word
  vocabulary with ``<root>``; :func:`parser_vocabularies` also gives the tag vocabulary.
  Non-projective training trees (the static oracle cannot build them) are left out of training.
"""

from __future__ import annotations

import functools
import re
import zipfile
from pathlib import Path

import numpy as np

from fdl_keras.data.registry import Dataset, dataset, find_data, split_dataset
from fdl_keras.errors import InvalidInputError

TEST_FROM = 180  # wsj_0180 .. wsj_0199
_LEAF = re.compile(r"\(([^\s()]+) ([^\s()]+)\)")


def _zip(name: str) -> Path:
    return find_data(
        f"NLTK {name}", [f"{name}.zip"], subdir="nltk_data/corpora", hint=f"{name}.zip (NLTK)"
    )


def _per_corpus(corpus: str):
    """``functools.lru_cache`` whose key also holds the corpus file (path and modification
    time): another ``FDL_DATA_DIR`` or a replaced file is read again, never served stale."""

    def wrap(fn):
        cached = functools.lru_cache(maxsize=4)(lambda key, *args: fn(*args))

        @functools.wraps(fn)
        def call(*args):
            path = _zip(corpus)
            return cached((str(path), path.stat().st_mtime), *args)

        return call

    return wrap


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{path} is not a readable zip ({exc}); copy it again") from exc


_PARENTHESIS = re.compile(r"[()]")


def _trees(text: str):
    """The top-level bracketed trees of ``text`` (only its parentheses are visited)."""
    depth, start = 0, 0
    for match in _PARENTHESIS.finditer(text):
        i = match.start()
        if text[i] == "(":
            start = i if depth == 0 else start
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                yield text[start : i + 1]


@functools.lru_cache(maxsize=2)
def _tagged(path: str):
    with _open(Path(path)) as archive:
        names = sorted(n for n in archive.namelist() if re.search(r"combined/wsj_\d+\.mrg$", n))
        sentences, files = [], []
        for name in names:
            for tree in _trees(archive.read(name).decode("utf-8", errors="replace")):
                leaves = [(w, t) for t, w in _LEAF.findall(tree) if t != "-NONE-"]
                if leaves:
                    sentences.append(tuple(leaves))
                    files.append(_number(name))
    if not sentences:
        raise InvalidInputError(f"{path} holds no treebank/combined/*.mrg trees; copy it again")
    return tuple(sentences), np.array(files)


@functools.lru_cache(maxsize=2)
def _dependency(path: str):
    with _open(Path(path)) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".dp"))
        sentences, files = [], []
        for name in names:
            text = archive.read(name).decode("utf-8", errors="replace")
            for block in re.split(r"\n\s*\n", text.strip()):
                rows = [line.split("\t") for line in block.splitlines() if line.strip()]
                if not rows:
                    continue
                try:
                    words, tags, heads = zip(*((r[0], r[1], int(r[2])) for r in rows))
                except (IndexError, ValueError) as exc:
                    raise InvalidInputError(f"{path}: {name} has a bad line ({exc})") from exc
                sentences.append((words, tags, heads))
                files.append(_number(name))
    if not sentences:
        raise InvalidInputError(f"{path} holds no dependency_treebank/*.dp files; copy it again")
    return tuple(sentences), np.array(files)


def _number(name: str) -> int:
    return int(re.search(r"wsj_(\d+)", name).group(1))


def file_split(files: np.ndarray, validation_fraction: float = 0.1) -> np.ndarray:
    """``"train"``/``"validation"``/``"test"`` for each file number (see the module docstring)."""
    if not 0.0 <= validation_fraction < 1.0:
        raise InvalidInputError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    val_from = TEST_FROM - int(round((TEST_FROM - 1) * validation_fraction))
    return np.where(files >= TEST_FROM, "test", np.where(files >= val_from, "validation", "train"))


def tagged_sentences(validation_fraction: float = 0.1):
    """``(sentences, split)``: every treebank sentence as ``((word, tag), ...)`` (no traces),
    and its split."""
    sentences, files = _tagged(str(_zip("treebank")))
    return list(sentences), file_split(files, validation_fraction)


def dependency_sentences(validation_fraction: float = 0.1):
    """``(sentences, split)``: every dependency-treebank sentence as ``(words, tags, heads)``
    (``heads[i]`` is word ``i + 1``'s head, 0 for ROOT), and its split."""
    sentences, files = _dependency(str(_zip("dependency_treebank")))
    return list(sentences), file_split(files, validation_fraction)


@_per_corpus("treebank")
def tagger_vocabulary(validation_fraction: float = 0.1):
    """``(word vocabulary, tags)`` of the tagger's training split."""
    from fdl_keras.sequence.text import Vocabulary, normalise_word

    sentences, split = tagged_sentences(validation_fraction)
    train = [[normalise_word(w) for w, _ in s] for s, p in zip(sentences, split) if p == "train"]
    tags = sorted({t for s in sentences for _, t in s})
    return Vocabulary.build(train, min_count=2), tuple(tags)


@_per_corpus("dependency_treebank")
def parser_vocabularies(validation_fraction: float = 0.1):
    """``(word vocabulary, tag vocabulary)`` of the parser (both hold ``<root>``)."""
    from fdl_keras.sequence.text import OOV, PAD, Vocabulary, normalise_word
    from fdl_keras.sequence.transitions import ROOT

    sentences, split = dependency_sentences(validation_fraction)
    train = [s for s, p in zip(sentences, split) if p == "train"]
    words = Vocabulary.build([[normalise_word(w) for w in s[0]] for s in train], min_count=2)
    tags = sorted({t for s in sentences for t in s[1]})
    return Vocabulary([PAD, OOV, ROOT, *words.tokens[2:]]), Vocabulary([PAD, OOV, ROOT, *tags])


def parser_ids(words, tags, word_vocabulary, tag_vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Word and tag ids of a sentence with ROOT at position 0 (the features' lookup tables)."""
    from fdl_keras.sequence.text import normalise_word
    from fdl_keras.sequence.transitions import ROOT

    word_ids = word_vocabulary.encode([ROOT, *(normalise_word(w) for w in words)])
    return word_ids, tag_vocabulary.encode([ROOT, *tags])


@_per_corpus("treebank")
def _tagger_arrays(validation_fraction: float) -> dict:
    from fdl_keras.sequence.text import window_features

    sentences, split = tagged_sentences(validation_fraction)
    vocabulary, tags = tagger_vocabulary(validation_fraction)
    tag_index = {t: i for i, t in enumerate(tags)}
    arrays = {}
    for s in ("train", "validation", "test"):
        chosen = [sent for sent, p in zip(sentences, split) if p == s]
        x = [window_features([w for w, _ in sent], vocabulary) for sent in chosen]
        y = [np.array([tag_index[t] for _, t in sent], dtype=np.int32) for sent in chosen]
        arrays[s] = (np.concatenate(x), np.concatenate(y))
    return arrays


@_per_corpus("dependency_treebank")
def _parser_arrays(validation_fraction: float) -> dict:
    from fdl_keras.sequence.transitions import is_projective, oracle_examples

    sentences, split = dependency_sentences(validation_fraction)
    words, tags = parser_vocabularies(validation_fraction)
    arrays = {}
    for s in ("train", "validation", "test"):
        xs, ys = [], []
        for (w, t, heads), p in zip(sentences, split):
            if p == s and is_projective(heads):
                x, y = oracle_examples(heads, *parser_ids(w, t, words, tags))
                xs.append(x)
                ys.append(y)
        arrays[s] = (np.concatenate(xs), np.concatenate(ys))
    return arrays


def _limited(arrays: dict, limit: int | None) -> dict:
    if limit is None:
        return arrays
    shares = {"train": 1.0, "validation": 0.25, "test": 0.25}
    return {
        s: (x[: max(1, int(limit * shares[s]))], y[: max(1, int(limit * shares[s]))])
        for s, (x, y) in arrays.items()
    }


def _dataset(name, title, source, arrays, info_fields, *, batch_size, seed) -> Dataset:
    from fdl_keras.data.pipeline import EpochOrder
    from fdl_keras.sequence.text import array_pipeline

    order = EpochOrder()

    def pipeline(split, shuffle):
        if shuffle:
            return array_pipeline(
                *arrays[split], batch_size=batch_size, shuffle=True, seed=seed, order=order
            )
        return array_pipeline(*arrays[split], batch_size=batch_size)

    return split_dataset(
        arrays,
        pipeline,
        order=order,
        name=name,
        source=source,
        input_shape=tuple(arrays["train"][0].shape[1:]),
        title=title,
        **info_fields,
    )


@dataset(
    "treebank",
    title="Penn Treebank sample (NLTK), POS windows",
    files="nltk_data/corpora/treebank.zip (NLTK's corpus package)",
)
def load_treebank(name, *, batch_size, validation_fraction, seed, limit, augment=None) -> Dataset:
    if augment:
        raise InvalidInputError(f"{name} has no augmentation; drop augment={augment!r}")
    vocabulary, tags = tagger_vocabulary(validation_fraction)
    arrays = _tagger_arrays(validation_fraction)
    return _dataset(
        name,
        "Penn Treebank sample (POS)",
        str(_zip("treebank")),
        _limited(arrays, limit),
        {"num_classes": len(tags), "class_names": tags, "vocabulary": tuple(vocabulary.tokens)},
        batch_size=batch_size,
        seed=seed,
    )


@dataset(
    "dependency_treebank",
    title="Dependency-parsed Penn Treebank sample (NLTK), oracle transitions",
    files="nltk_data/corpora/dependency_treebank.zip (NLTK's corpus package)",
)
def load_dependency_treebank(
    name, *, batch_size, validation_fraction, seed, limit, augment=None
) -> Dataset:
    from fdl_keras.sequence.transitions import TRANSITIONS

    if augment:
        raise InvalidInputError(f"{name} has no augmentation; drop augment={augment!r}")
    words, _ = parser_vocabularies(validation_fraction)
    arrays = _parser_arrays(validation_fraction)
    return _dataset(
        name,
        "Dependency treebank (arc-standard oracle)",
        str(_zip("dependency_treebank")),
        _limited(arrays, limit),
        {
            "num_classes": len(TRANSITIONS),
            "class_names": TRANSITIONS,
            "vocabulary": tuple(words.tokens),
        },
        batch_size=batch_size,
        seed=seed,
    )


__all__ = [
    "dependency_sentences",
    "file_split",
    "load_dependency_treebank",
    "load_treebank",
    "parser_ids",
    "parser_vocabularies",
    "tagged_sentences",
    "tagger_vocabulary",
]
