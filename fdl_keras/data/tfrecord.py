"""Data beyond memory: any registered dataset written to TFRecord shards, and read back.

``fdl data to-tfrecord DATASET DIR --shards N`` (:func:`write_tfrecords`) runs the dataset's
own pipelines once (unaugmented, normalised, the training split in its epoch-0 order) and writes
``DIR/{train,validation,test}-SSSSS-of-NNNNN.tfrecord`` with ``DIR/dataset.json`` (the
:class:`DatasetInfo` and the shard counts), through a temporary folder renamed at the end, so an
interrupted conversion never leaves a half-written ``DIR``. Example ``i`` of a split goes to
shard ``i mod N``.

``--dataset tfrecord:DIR`` (:func:`load_tfrecords`) trains from them: the shards of a split are
read in parallel with ``interleave`` (AUTOTUNE, deterministic), so with no shuffle the
examples come back in the written order; the training split is shuffled per epoch as a function
of ``(seed, epoch)`` (the shard order, then a seeded shuffle buffer), so a resumed run sees the
same batches. A shard damaged after it was written surfaces as TensorFlow's ``DataLossError``
mid-epoch; :func:`describe_data_loss` names the damaged file (the CLI turns it into one line).
``num_workers``/``worker_index`` give each worker its own shards (for input pipelines that split
by file; the auto-shard policy is then set OFF explicitly, since the sharding is done here).
``fdl train --strategy multiworker`` reads every shard on every worker and splits each global
batch instead (:mod:`fdl_keras.training.multiworker`), which keeps a step identical to one
process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

from fdl_keras.data.pipeline import EpochOrder
from fdl_keras.data.registry import Dataset, DatasetInfo, load_dataset
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError

PREFIX = "tfrecord:"
INFO_FILE = "dataset.json"
SPLITS = ("train", "validation", "test")
SAMPLE_SIZE = 256  # examples per split kept in memory for export checks and plots
SHUFFLE_BUFFER = 10_000
_LOADED: set[Path] = set()  # shard folders read in this process, for describe_data_loss


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def check_shards_target(directory: str | Path, shards: int, overwrite: bool = False) -> Path:
    """``directory`` as a path once ``shards`` >= 1 and the folder is free (or ``overwrite``).

    Raises:
        InvalidInputError: ``shards`` < 1, or ``directory`` exists without ``overwrite``.
    """
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise InvalidInputError(f"shards must be an integer >= 1, got {shards!r}")
    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise InvalidInputError(
            f"{directory} exists; pass --overwrite to replace it, or choose another folder"
        )
    return directory


def write_tfrecords(
    name: str,
    directory: str | Path,
    *,
    shards: int = 8,
    seed: int = 0,
    limit: int | None = None,
    batch_size: int = 256,
    overwrite: bool = False,
) -> dict:
    """Writes dataset ``name`` to TFRecord shards in ``directory`` (see the module docstring);
    returns what ``dataset.json`` holds.

    Raises:
        InvalidInputError: ``shards`` < 1, or ``directory`` exists (pass ``overwrite``).
    """
    import tensorflow as tf

    directory = check_shards_target(directory, shards, overwrite)
    data = load_dataset(name, batch_size=batch_size, seed=seed, limit=limit, augment=None)
    data.set_epoch(0)
    partial = directory.with_name(f".{directory.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    counts, specs = {}, None
    for split in SPLITS:
        writers = [
            tf.io.TFRecordWriter(str(partial / shard_name(split, i, shards))) for i in range(shards)
        ]
        count = 0
        for batch in getattr(data, split):
            x, y = batch[0], batch[1]
            specs = specs or [_spec(x), _spec(y)]
            for xi, yi in zip(x.numpy(), y.numpy()):
                writers[count % shards].write(_example(xi, yi))
                count += 1
        for writer in writers:
            writer.close()
        counts[split] = count
    info = data.info
    manifest = {
        "dataset": name,
        "seed": seed,
        "limit": limit,
        "shards": shards,
        "counts": counts,
        "features": specs,
        "info": {
            "name": info.name,
            "source": info.source,
            "input_shape": list(info.input_shape) if info.input_shape else None,
            "num_classes": info.num_classes,
            "class_names": list(info.class_names) if info.class_names else None,
            "title": info.title,
        },
    }
    (partial / INFO_FILE).write_text(json.dumps(manifest, indent=2))
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(partial, directory)
    return manifest


def _spec(tensor) -> dict:
    return {"shape": list(tensor.shape[1:]), "dtype": tensor.dtype.name}


def _example(x: np.ndarray, y: np.ndarray) -> bytes:
    import tensorflow as tf

    feature = {
        "x": tf.train.Feature(bytes_list=tf.train.BytesList(value=[x.tobytes()])),
        "y": tf.train.Feature(bytes_list=tf.train.BytesList(value=[np.asarray(y).tobytes()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def read_manifest(directory: str | Path) -> dict:
    """``DIR/dataset.json``, checked: every shard it names is there.

    Raises:
        DatasetNotFoundError: no ``dataset.json`` or a shard is missing (one line, the fix).
    """
    directory = Path(directory).expanduser()
    path = directory / INFO_FILE
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} not found: write TFRecord shards with "
            f"`fdl data to-tfrecord DATASET {directory}`"
        )
    try:
        manifest = json.loads(path.read_text())
        shards, counts = int(manifest["shards"]), manifest["counts"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"{path} is damaged ({type(exc).__name__}); write the shards again with "
            "`fdl data to-tfrecord`"
        ) from None
    for split in SPLITS:
        for i in range(shards):
            if not (directory / shard_name(split, i, shards)).is_file():
                raise DatasetNotFoundError(
                    f"{directory / shard_name(split, i, shards)} is missing ({counts[split]} "
                    f"{split} examples in {shards} shards); write the shards again"
                )
    return manifest


def worker_shards(files: list[str], num_workers: int, worker_index: int) -> list[str]:
    """The shards worker ``worker_index`` of ``num_workers`` reads: every ``num_workers``-th."""
    if not 0 <= worker_index < num_workers:
        raise InvalidInputError(f"worker index {worker_index} outside 0..{num_workers - 1}")
    if len(files) < num_workers:
        raise InvalidInputError(
            f"{len(files)} shards cannot feed {num_workers} workers; write at least "
            f"{num_workers} shards (`fdl data to-tfrecord ... --shards {num_workers}`)"
        )
    return files[worker_index::num_workers]


def load_tfrecords(
    directory: str | Path,
    *,
    batch_size: int = 128,
    seed: int = 0,
    shuffle: bool = True,
    augment: str | None = None,
    num_workers: int = 1,
    worker_index: int = 0,
) -> Dataset:
    """The shards in ``directory`` as train/validation/test pipelines (module docstring).

    ``augment`` applies an augmentation policy (``shift``, ``cifar``) to the training split,
    keyed by ``(seed, epoch * n + position)`` as in memory.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    directory = Path(directory).expanduser()
    manifest = read_manifest(directory)
    _LOADED.add(directory)
    shards, counts = manifest["shards"], manifest["counts"]
    (x_spec, y_spec) = manifest["features"]
    features = {
        "x": tf.io.FixedLenFeature([], tf.string),
        "y": tf.io.FixedLenFeature([], tf.string),
    }

    def parse(record):
        parsed = tf.io.parse_single_example(record, features)
        x = tf.io.decode_raw(parsed["x"], x_spec["dtype"])
        y = tf.io.decode_raw(parsed["y"], y_spec["dtype"])
        return tf.reshape(x, x_spec["shape"]), tf.reshape(y, y_spec["shape"])

    augment_batch = None
    if augment:
        from fdl_keras.data.augment import augment_fn

        augment_batch = augment_fn(augment, seed)
    order = EpochOrder()

    def read(files):
        return files.interleave(
            tf.data.TFRecordDataset,
            cycle_length=shards,
            block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        ).map(parse, num_parallel_calls=tf.data.AUTOTUNE)

    def split_pipeline(split: str, shuffled: bool):
        files = [str(directory / shard_name(split, i, shards)) for i in range(shards)]
        if num_workers > 1:
            files = worker_shards(files, num_workers, worker_index)
        count = counts[split] if num_workers == 1 else None
        augmented = split == "train" and augment_batch is not None
        if split == "train" and (shuffled or augmented):

            def one_epoch(_):
                epoch = order.next_pass()
                key = tf.stack([tf.constant(seed, tf.int64), epoch])
                file_order = tf.constant(files)
                if shuffled:
                    file_order = tf.random.experimental.stateless_shuffle(file_order, seed=key)
                examples = read(tf.data.Dataset.from_tensor_slices(file_order))
                if shuffled:  # fixed buffer seed; the epoch's shard order varies the result
                    examples = examples.shuffle(SHUFFLE_BUFFER, seed=seed)
                examples = examples.batch(batch_size)
                if augmented:
                    examples = examples.enumerate().map(
                        lambda b, xy: augment_batch(epoch * counts[split] + b * batch_size, *xy),
                        num_parallel_calls=tf.data.AUTOTUNE,
                    )
                return examples

            ds = tf.data.Dataset.range(1).flat_map(one_epoch)
        else:
            ds = read(tf.data.Dataset.from_tensor_slices(files)).batch(batch_size)
        if count is not None:  # a stated length: Keras' fit takes no extra step (pipeline.py)
            ds = ds.apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))
        options = tf.data.Options()
        # Sharding, where wanted, is done above by file: tf.distribute must not shard again.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(options).prefetch(tf.data.AUTOTUNE)

    train = split_pipeline("train", shuffle)
    validation = split_pipeline("validation", False)
    test = split_pipeline("test", False)
    arrays = {}
    for split, ds in (("validation", validation), ("test", test)):
        for x, y in ds.unbatch().take(SAMPLE_SIZE).batch(SAMPLE_SIZE):
            arrays[split] = (x.numpy(), y.numpy())
    meta = manifest["info"]
    info = DatasetInfo(
        name=f"{PREFIX}{directory}",
        source=f"TFRecord shards of {manifest['dataset']} in {directory}",
        num_train=counts["train"],
        num_validation=counts["validation"],
        num_test=counts["test"],
        element_spec=train.element_spec,
        input_shape=tuple(meta["input_shape"]) if meta["input_shape"] else None,
        num_classes=meta["num_classes"],
        class_names=tuple(meta["class_names"]) if meta["class_names"] else (),
        title=f"{meta['title']} (TFRecord)",
    )
    uses_order = shuffle or augment_batch is not None
    return Dataset(train, validation, test, info, arrays, order if uses_order else None)


def describe_data_loss(exc: Exception) -> str:
    """One line for a ``DataLossError`` met while reading: which shard is damaged, and the fix.

    Reads every shard of the folders loaded in this process (only after a failure) to find the
    first whose records fail their checksums.
    """
    import tensorflow as tf

    reason = _reason(exc)
    for directory in sorted(_LOADED):
        for path in sorted(directory.glob("*.tfrecord")):
            try:
                for _ in tf.data.TFRecordDataset(str(path)):
                    pass
            except tf.errors.DataLossError as found:
                try:
                    dataset = json.loads((directory / INFO_FILE).read_text())["dataset"]
                except (OSError, ValueError, KeyError):
                    dataset = "DATASET"
                return (
                    f"{path} is damaged ({_reason(found)}); write the shards again with "
                    f"`fdl data to-tfrecord {dataset} {directory} --overwrite`"
                )
    return f"damaged input data ({reason}); check the dataset's files and write them again"


def _reason(exc: Exception) -> str:
    """TensorFlow's message without its op and device decorations."""
    text = str(getattr(exc, "message", exc)).strip().splitlines()[0]
    text = re.sub(r"\{\{.*?\}\}|\[.*?\]|\bname:\s*$", "", text)
    return " ".join(text.split()) or type(exc).__name__
