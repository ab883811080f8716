"""French -> English sentence pairs for chapter 9's translation systems.

- ``tatoeba_fr_en``: the manythings.org Tatoeba export (``nmt/tatoeba_manythings/fra-eng.zip``,
  142,787 pairs, CC BY 2.0). Split by a hash of the case-folded French sentence: 2 % test, 1 %
  validation, the rest training. Every pair with the same source sentence lands in the same
  split, so no test source sentence is ever seen in training (Tatoeba repeats a sentence with
  several translations).
- ``multi30k_fr_en``: Multi30k task 1 (``nmt/multi30k/task1/raw/{train,val,test_2016_flickr}``)
  with its official splits; training pairs whose source is also a test source are dropped.

Normalisation: Unicode NFKC (the narrow and plain no-break spaces French puts before ``!?:;``
become spaces), typographic apostrophes become ``'``, zero-width characters go, whitespace is
collapsed. Case and punctuation stay: SentencePiece (:mod:`fdl_keras.sequence.subwords`) learns
one subword vocabulary per language on the training split, and BLEU is scored on detokenised
text. Training batches are bucketed by length (``tf.data``'s ``bucket_by_sequence_length``).

Each batch is ``((source_ids, target_in), target_out)``: the source ends with the end id, the
decoder reads ``<s> y_1 .. y_n`` and predicts ``y_1 .. y_n </s>`` (teacher forcing); 0 pads.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fdl_keras.data.registry import Dataset, DatasetInfo, dataset, find_data
from fdl_keras.errors import InvalidInputError

TEST_PER_MILLE, VALIDATION_PER_MILLE = 20, 10
VOCAB_SIZE = 4000  # per language
MAX_TRAIN_TOKENS = 48  # longer training pairs (0.05 % of Tatoeba) are dropped
BUCKET_BOUNDARIES = (8, 12, 16, 24, 32)
MIN_BUCKETED_BATCHES = 20  # smaller training sets are batched without length buckets
LANGUAGES = ("fr", "en")  # source, target
_CACHE: dict[str, tuple] = {}


@dataclass(frozen=True)
class TranslationInfo(DatasetInfo):
    """:class:`DatasetInfo` with the two subword vocabularies' sizes."""

    source_vocab_size: int = 0
    target_vocab_size: int = 0
    source_language: str = "fr"
    target_language: str = "en"


@dataclass
class TranslationDataset(Dataset):
    """The pipelines plus what decoding needs: the tokenizers and each split's texts and ids."""

    tokenizers: tuple = ()  # (source, target) SubwordTokenizer
    texts: dict = field(default_factory=dict, repr=False)  # split -> (sources, targets)
    ids: dict = field(default_factory=dict, repr=False)  # split -> (source ids, target ids)

    def batch(self, split: str = "test", size: int = 8, start: int = 0) -> tuple:
        """``((source, target_in), target_out)`` padded numpy arrays of ``size`` pairs."""
        sources, targets = self.ids[split]
        return pad_pairs(sources[start : start + size], targets[start : start + size])


def normalize(text: str) -> str:
    """NFKC, plain apostrophes, no zero-width characters, single spaces."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u200b", "")
        text = text.replace("\xad", "")
    return " ".join(text.split())


def split_of(source: str) -> str:
    """``train``, ``validation`` or ``test`` from a stable hash of the case-folded source."""
    digest = hashlib.md5(source.casefold().encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "little") % 1000
    if bucket < TEST_PER_MILLE:
        return "test"
    return "validation" if bucket < TEST_PER_MILLE + VALIDATION_PER_MILLE else "train"


def read_tatoeba(path: Path) -> list[tuple[str, str]]:
    """``(french, english)`` pairs of ``fra.txt`` in the manythings zip, normalised."""
    try:
        with zipfile.ZipFile(path) as archive:
            lines = archive.read("fra.txt").decode("utf-8").splitlines()
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, OSError) as exc:
        raise InvalidInputError(
            f"{path} is not the manythings fra-eng.zip ({type(exc).__name__}); copy it again "
            "(see nmt/MANIFEST.md)"
        ) from None
    pairs = []
    for number, line in enumerate(lines, 1):
        columns = line.split("\t")
        if len(columns) < 2:
            raise InvalidInputError(
                f"{path}: line {number} of fra.txt has no tab-separated translation; the file "
                "is damaged - copy it again"
            )
        english, french = normalize(columns[0]), normalize(columns[1])
        if english and french:
            pairs.append((french, english))
    return pairs


def split_tatoeba(pairs: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    splits: dict[str, list] = {"train": [], "validation": [], "test": []}
    for pair in pairs:
        splits[split_of(pair[0])].append(pair)
    return splits


def read_multi30k(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Multi30k's official splits as ``(french, english)`` pairs; no test source in training."""
    splits = {}
    for split, stem in (("train", "train"), ("validation", "val"), ("test", "test_2016_flickr")):
        sides = []
        for language in LANGUAGES:
            path = folder / f"{stem}.{language}.gz"
            try:
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    sides.append([normalize(line) for line in f.read().splitlines()])
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                raise InvalidInputError(
                    f"{path} is unreadable ({type(exc).__name__}); copy it again (see "
                    "nmt/MANIFEST.md)"
                ) from None
        if len(sides[0]) != len(sides[1]):
            raise InvalidInputError(
                f"{folder}/{stem}: {len(sides[0])} French lines but {len(sides[1])} English; "
                "the files are damaged - copy them again"
            )
        splits[split] = [(f, e) for f, e in zip(*sides) if f and e]
    test_sources = {f.casefold() for f, _ in splits["test"]}
    splits["train"] = [p for p in splits["train"] if p[0].casefold() not in test_sources]
    return splits


def _prepared(name: str, splits_of) -> tuple:
    """``(splits, tokenizers, ids)`` of ``name``, memoised in the process; the tokenizers are
    trained on the training split once and cached on disk by a fingerprint of that split."""
    if name in _CACHE:
        return _CACHE[name]
    splits = splits_of()
    tokenizers = _tokenizers(name, splits["train"])
    ids = {
        split: tuple(t.encode([p[side] for p in pairs]) for side, t in enumerate(tokenizers))
        for split, pairs in splits.items()
    }
    _CACHE[name] = (splits, tokenizers, ids)
    return _CACHE[name]


def _tokenizers(name: str, train: list[tuple[str, str]]) -> tuple:
    from fdl_keras import config
    from fdl_keras.sequence.subwords import load_tokenizer, train_tokenizer

    digest = hashlib.md5()
    for french, english in train:
        digest.update(f"{french}\t{english}\n".encode())
    folder = config.keras_cache_dir().parent / "fdl_keras" / "sentencepiece"
    stem = f"{name}-{VOCAB_SIZE}-{digest.hexdigest()[:12]}"
    tokenizers = []
    for side, language in enumerate(LANGUAGES):
        path = folder / f"{stem}.{language}.model"
        if path.is_file():
            try:
                tokenizers.append(load_tokenizer(path))
                continue
            except InvalidInputError:
                pass  # a damaged cache file is trained again
        tokenizer = train_tokenizer([p[side] for p in train], VOCAB_SIZE)
        try:
            tokenizer.save(path)
        except OSError:
            pass  # a read-only cache only costs training again next time
        tokenizers.append(tokenizer)
    return tuple(tokenizers)


def pad_pairs(sources, targets) -> tuple:
    """Numpy ``((source, target_in), target_out)`` from id lists (without start/end ids)."""
    from fdl_keras.sequence.subwords import BOS_ID, EOS_ID

    src = [list(s) + [EOS_ID] for s in sources]
    tgt = [[BOS_ID, *t, EOS_ID] for t in targets]
    source = np.zeros((len(src), max(map(len, src))), np.int32)
    target = np.zeros((len(tgt), max(map(len, tgt))), np.int32)
    for i, (s, t) in enumerate(zip(src, tgt)):
        source[i, : len(s)], target[i, : len(t)] = s, t
    return (source, target[:, :-1]), target[:, 1:]


def _pipeline(sources, targets, batch_size: int, *, shuffle_seed: int | None, order=None):
    """Length-bucketed ``((source, target_in), target_out)`` batches, shuffled when seeded: in
    epoch ``e``'s order of ``order`` (an :class:`~fdl_keras.data.pipeline.EpochOrder`), so that
    a resumed run sees the batches the uninterrupted one saw."""
    import tensorflow as tf

    from fdl_keras.data.pipeline import shuffled_indices
    from fdl_keras.sequence.subwords import BOS_ID, EOS_ID

    def padded(rows):
        lengths = np.fromiter(map(len, rows), np.int32, len(rows))
        array = np.zeros((len(rows), lengths.max()), np.int32)
        # Row-major: the mask's True cells take the rows' ids in order.
        array[np.arange(array.shape[1]) < lengths[:, None]] = np.fromiter(
            itertools.chain.from_iterable(rows), np.int32, int(lengths.sum())
        )
        return array, lengths

    (src, src_len), (tgt, tgt_len) = (
        padded([list(s) + [EOS_ID] for s in sources]),
        padded([[BOS_ID, *t, EOS_ID] for t in targets]),
    )
    src, src_len, tgt, tgt_len = (tf.constant(a) for a in (src, src_len, tgt, tgt_len))
    # Shuffling indices (not padded rows) keeps the full-size shuffle cheap.
    if shuffle_seed is not None:
        data = shuffled_indices(len(sources), shuffle_seed, order).map(lambda key, i: i)
    else:
        data = tf.data.Dataset.range(len(sources))

    def row(i):
        i = tf.cast(i, tf.int32)
        return src[i, : src_len[i]], tgt[i, : tgt_len[i]]

    data = data.map(row)
    lengths = np.maximum(src_len.numpy(), tgt_len.numpy())
    if shuffle_seed is not None and len(sources) >= MIN_BUCKETED_BATCHES * batch_size:
        # Full batches only, so the number of batches per epoch is known (each pair's bucket
        # depends on its length alone) and the trainer can use ``model.fit``.
        buckets = np.searchsorted(BUCKET_BOUNDARIES, lengths, side="right")
        batches = int(sum(n // batch_size for n in np.bincount(buckets)))
        data = data.bucket_by_sequence_length(
            lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]),
            bucket_boundaries=list(BUCKET_BOUNDARIES),
            bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
            drop_remainder=True,
        )
        data = data.apply(tf.data.experimental.assert_cardinality(batches))
    else:
        data = data.padded_batch(batch_size)
    data = data.map(lambda s, t: ((s, t[:, :-1]), t[:, 1:]))
    return data.prefetch(tf.data.AUTOTUNE)


def _load(
    name: str,
    splits_of,
    source: str,
    title: str,
    *,
    batch_size: int,
    seed: int,
    limit: int | None,
    augment: str | None,
) -> TranslationDataset:
    if augment:
        raise InvalidInputError(f"{name} has no augmentation; got augment={augment!r}")
    splits, tokenizers, ids = _prepared(name, splits_of)
    keep = {"train": _short(ids["train"])}
    if limit is not None:
        order = np.random.default_rng(seed).permutation(keep["train"])[:limit]
        keep["train"] = np.sort(order)
        share = max(64, limit // 10)
        keep["validation"] = np.arange(min(share, len(splits["validation"])))
        keep["test"] = np.arange(min(share, len(splits["test"])))
    texts, kept_ids = {}, {}
    for split, pairs in splits.items():
        rows = keep.get(split, np.arange(len(pairs)))
        texts[split] = ([pairs[i][0] for i in rows], [pairs[i][1] for i in rows])
        kept_ids[split] = tuple([ids[split][side][i] for i in rows] for side in (0, 1))
    from fdl_keras.data.pipeline import EpochOrder

    order = EpochOrder()
    pipelines = {
        split: _pipeline(
            *kept_ids[split],
            batch_size,
            shuffle_seed=seed if split == "train" else None,
            order=order,
        )
        for split in splits
    }
    info = TranslationInfo(
        name=name,
        source=source,
        num_train=len(kept_ids["train"][0]),
        num_validation=len(kept_ids["validation"][0]),
        num_test=len(kept_ids["test"][0]),
        element_spec=pipelines["train"].element_spec,
        title=title,
        source_vocab_size=tokenizers[0].vocab_size,
        target_vocab_size=tokenizers[1].vocab_size,
    )
    data = TranslationDataset(
        pipelines["train"],
        pipelines["validation"],
        pipelines["test"],
        info,
        order=order,
        tokenizers=tokenizers,
        texts=texts,
        ids=kept_ids,
    )
    data.arrays = {split: data.batch(split, 64) for split in ("validation", "test")}
    return data


def _short(ids: tuple) -> np.ndarray:
    sources, targets = ids
    return np.array(
        [
            i
            for i, (s, t) in enumerate(zip(sources, targets))
            if max(len(s), len(t)) + 2 <= MAX_TRAIN_TOKENS
        ],
        np.int64,
    )


@dataset(
    "tatoeba_fr_en",
    title="Tatoeba French-English pairs (manythings.org, 2017-09-29)",
    files="nmt/tatoeba_manythings/fra-eng.zip",
)
def load_tatoeba(name, *, batch_size=64, validation_fraction=0.1, seed=0, limit=None, augment=None):
    """Tatoeba fr -> en; ``validation_fraction`` is not used (the split is by source hash)."""
    path = find_data(
        "Tatoeba fr-en pairs",
        ["tatoeba_manythings/fra-eng.zip"],
        subdir="nmt",
        hint="tatoeba_manythings/fra-eng.zip (manythings.org/anki)",
    )
    return _load(
        name,
        lambda: split_tatoeba(read_tatoeba(path)),
        str(path),
        "Tatoeba fr-en",
        batch_size=batch_size,
        seed=seed,
        limit=limit,
        augment=augment,
    )


@dataset(
    "multi30k_fr_en",
    title="Multi30k task 1 French-English image captions",
    files="nmt/multi30k/task1/raw/{train,val,test_2016_flickr}.{fr,en}.gz",
)
def load_multi30k(
    name, *, batch_size=64, validation_fraction=0.1, seed=0, limit=None, augment=None
):
    """Multi30k fr -> en with its official splits (``validation_fraction`` is not used)."""
    folder = find_data(
        "Multi30k",
        ["multi30k/task1/raw"],
        subdir="nmt",
        hint="multi30k/task1/raw/{train,val,test_2016_flickr}.{fr,en}.gz",
    )
    return _load(
        name,
        lambda: read_multi30k(folder),
        str(folder),
        "Multi30k fr-en",
        batch_size=batch_size,
        seed=seed,
        limit=limit,
        augment=augment,
    )


__all__ = [
    "TranslationDataset",
    "TranslationInfo",
    "normalize",
    "pad_pairs",
    "read_multi30k",
    "read_tatoeba",
    "split_of",
]
