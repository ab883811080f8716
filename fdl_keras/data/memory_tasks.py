"""Memory tasks of chapter 12: the NTM's copy and repeat-copy tasks and the bAbI QA tasks.

- ``copy`` (Graves et al. 2014, 3.1): a sequence of random 8-bit vectors, a delimiter, then the
  network must write the sequence back. Lengths 1-20, one length per batch, generated in
  ``tf.data`` from ``(seed, epoch, batch)`` alone (a resumed run sees the same batches).
  :func:`copy_batch` makes batches of any length (the 30-50 generalisation test).
- ``repeat_copy`` (3.2): the delimiter step also carries the number of repeats (normalised);
  the network writes the sequence that many times. Lengths 1-10, repeats 1-5.
- ``babi`` (Weston et al. 2015, 1k English set): all 20 tasks jointly, one sequence of words
  per story with the answer marker ``-`` after each question, as in the DNC paper (Graves et al.
  2016); the loss and accuracy count the marker positions only (the third pipeline element is
  that mask as sample weights). Stories are batched by length to cut padding.

Every pipeline yields ``(inputs, targets, sample_weights)``, each batch as long as its longest
sequence. :func:`to_length_classes` pads them at the end (zero inputs, targets and weights) to a
few lengths (:func:`padded_length`), so that a model compiled with XLA, which compiles a program
per input shape, compiles a few instead of one per length; the recurrent networks are causal, so
the padding changes no output at a real step, and the memory task's loss averages over the
weighted steps only (see :class:`fdl_keras.memory.models.MemoryTask`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdl_keras.data.pipeline import EpochOrder, shuffled_indices
from fdl_keras.data.registry import Dataset, DatasetInfo, dataset, find_data, split_indices
from fdl_keras.errors import InvalidInputError

BITS = 8
#: Sequences per epoch of the copy tasks, and of their validation and test splits.
COPY_TRAIN, COPY_VALIDATION, COPY_TEST = 16384, 512, 1024
MAX_REPEATS = 5
PAD, MARKER = "<pad>", "-"
BABI_DIR = "babi"
BABI_FILES = "tasks_1-20_v1-2/en"
NUM_BABI_TASKS = 20


@dataclass(frozen=True)
class CopySetting:
    """Length range (and repeat range) of a copy task."""

    min_length: int
    max_length: int
    min_repeats: int = 1
    max_repeats: int = 1
    repeat: bool = False


COPY_SETTINGS = {
    "copy": CopySetting(1, 20),
    "repeat_copy": CopySetting(1, 10, 1, MAX_REPEATS, repeat=True),
}


def padded_length(steps: int) -> int:
    """The length a batch of ``steps`` steps is padded to: the next multiple of 8 up to 64
    steps, then of an eighth of the next power of two (at most 1/8 of padding beyond 64; eight
    length classes per doubling)."""
    if steps < 1:
        raise InvalidInputError(f"a sequence needs >= 1 step, got {steps}")
    grain = max(8, (1 << (int(steps) - 1).bit_length()) // 8)
    return -(-int(steps) // grain) * grain


def _length_classes(longest: int = 1 << 24) -> np.ndarray:
    """Every value of :func:`padded_length` up to ``longest`` steps, ascending."""
    classes = [padded_length(1)]
    while classes[-1] < longest:
        classes.append(padded_length(classes[-1] + 1))
    return np.array(classes)


def pad_steps(batch, length):
    """``(x, y, weights)`` padded with zeros at the end of the time axis to ``length`` steps."""
    import tensorflow as tf

    extra = length - tf.shape(batch[2])[1]
    return tuple(
        tf.pad(t, tf.concat([[[0, 0], [0, extra]], tf.zeros([tf.rank(t) - 2, 2], tf.int32)], 0))
        for t in batch
    )


def to_length_classes(pipeline):
    """``pipeline`` of ``(x, y, weights)`` batches with each batch padded at the end to
    :func:`padded_length` of its length (zero inputs, targets and weights)."""
    import tensorflow as tf

    classes = tf.constant(_length_classes(), tf.int32)

    def pad(x, y, w):
        steps = tf.shape(w)[1]
        return pad_steps((x, y, w), tf.gather(classes, tf.searchsorted(classes, [steps]))[0])

    return pipeline.map(pad)


def copy_batch(seed, batch_size: int, length, repeats=1, *, repeat_task: bool = False):
    """One batch ``(x, y, weights)`` of the (repeat-)copy task, a function of ``seed`` alone.

    ``x`` is ``(B, T, BITS + 2)``: the bits, then a step with the delimiter channel on (and,
    for repeat copy, ``repeats / MAX_REPEATS`` in the last channel), then blanks while the
    answer is due. ``y`` ``(B, T, BITS)`` holds the sequence repeated ``repeats`` times after
    the delimiter; ``weights`` ``(B, T)`` is 1 there and 0 elsewhere.

    Args:
        seed: a stateless seed (two integers).
        batch_size: sequences in the batch.
        length: the sequence length (int or scalar tensor), repeated ``repeats`` times.
    """
    import tensorflow as tf

    length = tf.cast(length, tf.int32)
    repeats = tf.cast(repeats, tf.int32)
    bits = tf.cast(
        tf.random.stateless_uniform(tf.stack([batch_size, length, BITS]), seed) < 0.5, tf.float32
    )
    answer = length * repeats
    delimiter = tf.concat(
        [
            tf.zeros([batch_size, 1, BITS]),
            tf.ones([batch_size, 1, 1]),
            tf.fill(
                [batch_size, 1, 1],
                tf.cast(repeats, tf.float32) / MAX_REPEATS if repeat_task else 0.0,
            ),
        ],
        axis=-1,
    )
    x = tf.concat(
        [
            tf.pad(bits, [[0, 0], [0, 0], [0, 2]]),
            delimiter,
            tf.zeros(tf.stack([batch_size, answer, BITS + 2])),
        ],
        axis=1,
    )
    y = tf.concat(
        [tf.zeros(tf.stack([batch_size, length + 1, BITS])), tf.tile(bits, [1, repeats, 1])], 1
    )
    weights = tf.concat(
        [tf.zeros(tf.stack([batch_size, length + 1])), tf.ones(tf.stack([batch_size, answer]))], 1
    )
    return x, y, weights


def _copy_split(setting: CopySetting, batches: int, batch_size: int, seed: int, order=None):
    """``batches`` batches of the copy task; with ``order`` new ones every epoch."""
    import tensorflow as tf

    def make(key, index):
        pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(key, tf.int64)])
        lengths = tf.random.stateless_uniform([2], pair, minval=0, maxval=1 << 20, dtype=tf.int64)
        length = setting.min_length + lengths[0] % (setting.max_length - setting.min_length + 1)
        repeats = setting.min_repeats + lengths[1] % (setting.max_repeats - setting.min_repeats + 1)
        return copy_batch(pair, batch_size, length, repeats, repeat_task=setting.repeat)

    if order is None:
        keys = tf.data.Dataset.range(batches)
        indexed = tf.data.Dataset.zip(keys, keys)
    else:
        indexed = shuffled_indices(batches, seed, order)
    return indexed.map(make).prefetch(2)


@dataset("copy", title="NTM copy task (8-bit vectors, lengths 1-20)")
@dataset("repeat_copy", title="NTM repeat-copy task (lengths 1-10, repeats 1-5)")
def load_copy(name, *, batch_size, validation_fraction, seed, limit, augment) -> Dataset:
    """Generated copy-task pipelines: ``limit`` (default 16,384) training sequences per epoch,
    new ones each epoch; fixed validation (512) and test (1,024) sequences, or ``limit`` each
    when fewer."""
    setting = COPY_SETTINGS[name]
    train = COPY_TRAIN if limit is None else limit
    batches = max(1, -(-train // batch_size))
    order = EpochOrder()
    # With a limit, the validation and test splits shrink with it (to one batch at least).
    val_batches = max(1, -(-min(COPY_VALIDATION, train) // batch_size))
    test_batches = max(1, -(-min(COPY_TEST, train) // batch_size))
    sample = copy_batch(
        [seed, 999_999],
        16,
        (setting.min_length + setting.max_length) // 2,
        setting.max_repeats,
        repeat_task=setting.repeat,
    )
    x, y, w = (np.asarray(t) for t in sample)
    info = DatasetInfo(
        name=name,
        source=f"generated in tf.data (seed {seed})",
        num_train=batches * batch_size,
        num_validation=val_batches * batch_size,
        num_test=test_batches * batch_size,
        element_spec=None,
        input_shape=(None, BITS + 2),
        num_classes=BITS,
        title=name.replace("_", "-") + " task",
    )
    return Dataset(
        train=_copy_split(setting, batches, batch_size, seed, order),
        validation=_copy_split(setting, val_batches, batch_size, seed + 1_000_003),
        test=_copy_split(setting, test_batches, batch_size, seed + 2_000_003),
        info=info,
        arrays={"test": (x, y), "test_weights": w, "validation": (x, y)},
        order=order,
    )


# --- bAbI ---------------------------------------------------------------------------------------


@dataclass
class Story:
    """One bAbI story as word tokens, with the answers at the marker positions."""

    task: int
    words: list[str]
    answers: dict[int, str]  # position of a marker -> answer


_WORD = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def parse_babi(path: Path, task: int) -> list[Story]:
    """The stories of one bAbI file; a marker ``-`` follows each question.

    Raises:
        InvalidInputError: a line that is not ``ID text`` or a question line without an answer.
    """
    stories: list[Story] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        head, _, rest = line.partition(" ")
        if not head.isdigit() or not rest:
            raise InvalidInputError(
                f"{path}:{number}: not a bAbI line ('ID text'): {line[:60]!r}; "
                "replace the file with the release's"
            )
        if head == "1" or not stories:
            stories.append(Story(task, [], {}))
        story = stories[-1]
        if "\t" in rest:
            fields = rest.split("\t")
            if len(fields) < 2 or not fields[1].strip():
                raise InvalidInputError(
                    f"{path}:{number}: a question without an answer; replace the file with the "
                    "release's"
                )
            story.words += tokenize(fields[0])
            story.answers[len(story.words)] = fields[1].strip().lower()
            story.words.append(MARKER)
        else:
            story.words += tokenize(rest)
    return stories


def babi_files(split: str) -> list[tuple[int, Path]]:
    """``(task, path)`` of the 20 tasks' ``split`` files (``train`` or ``test``)."""
    folder = find_data(
        "bAbI tasks (1k, English)",
        [BABI_FILES],
        subdir=BABI_DIR,
        hint="the extracted tasks_1-20_v1-2 release (tasks_1-20_v1-2/en/qa*_train.txt, _test.txt)",
    )
    files = []
    for task in range(1, NUM_BABI_TASKS + 1):
        found = sorted(folder.glob(f"qa{task}_*_{split}.txt"))
        if not found:
            raise InvalidInputError(
                f"bAbI task {task}'s {split} file (qa{task}_*_{split}.txt) is missing from "
                f"{folder}; restore the full tasks_1-20_v1-2 release"
            )
        files.append((task, found[0]))
    return files


@functools.lru_cache(maxsize=2)
def read_babi(files: tuple) -> tuple[list[Story], list[Story]]:
    """Train and test stories of ``files`` (``(task, path, size, mtime)`` of
    ``babi_files("train") + babi_files("test")``), parsed once per process and file version."""
    files = tuple((t, p) for t, p, *_ in files)
    half = len(files) // 2
    stories = [
        [s for t, p in part for s in parse_babi(p, t)] for part in (files[:half], files[half:])
    ]
    return stories[0], stories[1]


def encode(stories: list[Story], index: dict[str, int]):
    """Token ids, answer ids and answer masks of ``stories`` (ragged lists of arrays)."""
    tokens, answers, weights = [], [], []
    for story in stories:
        ids = np.array([index[w] for w in story.words], np.int32)
        target = np.zeros(len(ids), np.int32)
        weight = np.zeros(len(ids), np.float32)
        for position, answer in story.answers.items():
            target[position] = index[answer]
            weight[position] = 1.0
        tokens.append(ids)
        answers.append(target)
        weights.append(weight)
    return tokens, answers, weights


def pad(sequences: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """Sequences padded with zeros at the end to ``length`` (default: the longest)."""
    length = length or max(len(s) for s in sequences)
    out = np.zeros((len(sequences), length), sequences[0].dtype)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


def length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length (sorted by length, then chunked)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _babi_split(encoded, rows: np.ndarray, batch_size: int, seed: int, order=None):
    """A pipeline of length-bucketed, padded batches of the stories ``rows``."""
    import tensorflow as tf

    tokens, answers, weights = encoded
    lengths = np.array([len(tokens[i]) for i in rows])
    groups = [rows[g] for g in length_batches(lengths, batch_size)]
    flat = {k: [] for k in ("x", "y", "w")}
    offsets, shapes = [], []
    start = 0
    for group in groups:
        longest = max(len(tokens[i]) for i in group)
        for key, source in (("x", tokens), ("y", answers), ("w", weights)):
            flat[key].append(pad([source[i] for i in group], longest).reshape(-1))
        offsets.append(start)
        shapes.append((len(group), longest))
        start += len(group) * longest
    values = {k: tf.constant(np.concatenate(v)) for k, v in flat.items()}
    offsets_t, shapes_t = tf.constant(offsets, tf.int64), tf.constant(shapes, tf.int64)

    def batch(_, index):
        begin, shape = offsets_t[index], shapes_t[index]
        size = shape[0] * shape[1]
        return tuple(tf.reshape(values[k][begin : begin + size], shape) for k in ("x", "y", "w"))

    if order is None:
        keys = tf.data.Dataset.range(len(groups))
        indexed = tf.data.Dataset.zip(keys, keys)
    else:
        indexed = shuffled_indices(len(groups), seed, order)
    return indexed.map(batch).prefetch(2)


@dataset(
    "babi",
    title="bAbI QA tasks 1-20 (1k, English), jointly",
    files="babi/tasks_1-20_v1-2/en/qa*_{train,test}.txt",
)
def load_babi(name, *, batch_size, validation_fraction, seed, limit, augment) -> Dataset:
    """All 20 bAbI tasks jointly: stories as word ids with answer markers; ``limit`` keeps that
    many training stories. ``arrays`` holds the test stories padded, with their task numbers."""
    files = babi_files("train") + babi_files("test")
    stamps = tuple((t, p, p.stat().st_size, p.stat().st_mtime_ns) for t, p in files)
    train_stories, test_stories = read_babi(stamps)
    words = sorted(
        {w for s in train_stories + test_stories for w in [*s.words, *s.answers.values()]}
        - {MARKER}
    )
    vocabulary = (PAD, MARKER, *words)
    index = {w: i for i, w in enumerate(vocabulary)}
    train_enc, test_enc = encode(train_stories, index), encode(test_stories, index)
    train_rows, val_rows = split_indices(
        len(train_stories), validation_fraction=validation_fraction, seed=seed, limit=limit
    )
    test_rows = np.arange(len(test_stories))
    if limit is not None:  # a proportional test share of every task
        share = min(1.0, limit / len(train_stories))
        tasks = np.array([s.task for s in test_stories])
        rng = np.random.default_rng(seed)
        test_rows = np.sort(
            np.concatenate(
                [
                    rng.permutation(rows)[: max(1, round(len(rows) * share))]
                    for rows in (np.flatnonzero(tasks == t) for t in range(1, 21))
                ]
            )
        )
    order = EpochOrder()
    x_test = pad([test_enc[0][i] for i in test_rows])
    arrays = {
        "test": (x_test, pad([test_enc[1][i] for i in test_rows])),
        "test_weights": pad([test_enc[2][i] for i in test_rows]),
        "test_tasks": np.array([test_stories[i].task for i in test_rows]),
    }
    questions = int(sum(test_enc[2][i].sum() for i in test_rows))
    info = DatasetInfo(
        name=name,
        source=str(babi_files("train")[0][1].parent),
        num_train=len(train_rows),
        num_validation=len(val_rows),
        num_test=questions,
        input_shape=(None,),
        num_classes=len(vocabulary),
        vocabulary=vocabulary,
        title="bAbI 1k, 20 tasks jointly (test examples count questions)",
    )
    return Dataset(
        train=_babi_split(train_enc, train_rows, batch_size, seed, order),
        validation=_babi_split(train_enc, val_rows, batch_size, seed) if len(val_rows) else None,
        test=_babi_split(test_enc, test_rows, batch_size, seed),
        info=info,
        arrays=arrays,
        order=order,
    )


__all__ = [
    "BITS",
    "COPY_SETTINGS",
    "copy_batch",
    "load_babi",
    "load_copy",
    "padded_length",
    "parse_babi",
    "to_length_classes",
]
