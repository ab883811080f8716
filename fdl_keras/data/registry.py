"""The dataset registry: one provider per dataset name, one info object, one lookup order.

A provider is a function registered with ``@dataset("name")`` that returns a :class:`Dataset`
(train/validation/test ``tf.data`` pipelines plus a :class:`DatasetInfo`). Image sets, text
corpora, translation pairs, bAbI and synthetic tasks are all providers; the trainer, the tests
and export only call :func:`load_dataset`. Providers that read files find them with
:func:`find_data` (``FDL_DATA_DIR`` first, then the Keras cache), which raises the same one-line
:class:`~fdl_keras.errors.DatasetNotFoundError` for every set.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras import config
from fdl_keras.checks import checked_arguments
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError, UnknownDatasetError

FAST_LIMIT = 1024  # training examples kept in FDL_FAST mode


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset's pipelines yield and where the data came from.

    ``element_spec`` is the train pipeline's ``(inputs, targets)`` spec. ``input_shape`` (one
    example's input), ``num_classes``/``class_names`` and ``vocabulary`` are set where the set
    has them; tasks derive builder arguments from these fields.
    """

    name: str
    source: str
    num_train: int
    num_validation: int
    num_test: int
    element_spec: Any = None
    input_shape: tuple[int, ...] | None = None
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] | None = None
    title: str = ""


@dataclass
class Dataset:
    """Train/validation/test ``tf.data.Dataset`` s of ``(inputs, targets)`` batches, plus the
    normalised validation and test arrays (for export checks and plots)."""

    train: Any
    validation: Any
    test: Any
    info: DatasetInfo
    arrays: dict = field(default_factory=dict, repr=False)
    order: Any = field(default=None, repr=False)  # the train split's EpochOrder, if shuffled

    def set_epoch(self, epoch: int) -> None:
        """Makes the next pass over ``train`` epoch ``epoch``'s order (exact resume)."""
        if self.order is not None:
            self.order.set(epoch)

    def sample_batch(self, size: int = 8, split: str = "test") -> tuple[Any, Any]:
        """``size`` normalised examples of ``split`` as numpy arrays (for export checks, plots)."""
        x, y = self.arrays[split]
        return x[:size], y[:size]


def split_dataset(
    splits: dict[str, tuple[Any, Any]],
    pipeline: Callable[..., Any],
    *,
    order: Any,
    arrays: dict[str, tuple[Any, Any]] | None = None,
    **info_fields: Any,
) -> Dataset:
    """The :class:`Dataset` of ``splits`` (``{"train", "validation", "test"}: (x, y)``):
    ``pipeline(split, shuffle=...)`` makes each split's ``tf.data`` pipeline (a split with no
    examples gets none), ``info_fields`` (name, source, input_shape, ...) fill the
    :class:`DatasetInfo` with the split sizes and the train spec, and ``arrays`` are the
    validation and test arrays kept for checks (default: those of ``splits``). The assembly
    every in-memory provider shares."""
    train = pipeline("train", shuffle=True)

    def pipe(split: str):
        return pipeline(split, shuffle=False) if len(splits[split][1]) else None

    info = DatasetInfo(
        num_train=len(splits["train"][1]),
        num_validation=len(splits["validation"][1]),
        num_test=len(splits["test"][1]),
        element_spec=train.element_spec,
        **info_fields,
    )
    return Dataset(
        train=train,
        validation=pipe("validation"),
        test=pipe("test"),
        info=info,
        arrays=arrays or {s: splits[s] for s in ("validation", "test")},
        order=order,
    )


@dataclass(frozen=True)
class Provider:
    """A registered dataset: its loader and a one-line description."""

    name: str
    load: Callable[..., Dataset]
    title: str
    files: str  # what to put in FDL_DATA_DIR, shown in errors and the README


_PROVIDERS: dict[str, Provider] = {}


def dataset(name: str, *, title: str = "", files: str = "") -> Callable:
    """Registers ``loader(name, *, batch_size, validation_fraction, seed, limit, augment)`` as
    the provider of dataset ``name``. Stack it to register one loader for several sets."""

    def decorator(loader: Callable[..., Dataset]) -> Callable[..., Dataset]:
        if name in _PROVIDERS and _PROVIDERS[name].load is not loader:
            raise ValueError(f"dataset {name!r} is registered twice")
        _PROVIDERS[name] = Provider(name, loader, title or name, files)
        return loader

    return decorator


def list_datasets() -> list[Provider]:
    """Every registered dataset, by name."""
    return [_PROVIDERS[k] for k in sorted(_PROVIDERS)]


def get_provider(name: str) -> Provider:
    """The provider of ``name``; an unknown name lists the closest ones."""
    if name in _PROVIDERS:
        return _PROVIDERS[name]
    close = difflib.get_close_matches(name, list(_PROVIDERS), n=2, cutoff=0.3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UnknownDatasetError(
        f"unknown dataset {name!r}; {hint}choose one of {', '.join(sorted(_PROVIDERS))}"
    )


def check_limit(limit: int | None) -> None:
    """Refuses a ``limit`` (training examples to keep) below 1; ``None`` keeps them all."""
    if limit is not None and limit < 1:
        raise InvalidInputError(f"limit must be >= 1 training examples, got {limit}")


@checked_arguments
def load_dataset(
    name: str | Path,
    *,
    batch_size: int = 128,
    validation_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    augment: str | None = None,
) -> Dataset:
    """Loads the registered dataset ``name`` as batched ``tf.data`` pipelines.

    Args:
        name: a registered dataset (``fdl_keras.data.list_datasets()``; a text file or folder
            once :func:`fdl_keras.data.brown.register_text_corpus` has named it).
        batch_size: examples per batch.
        validation_fraction: share of the training split held out (seeded) for validation.
        seed: shuffle, split and augmentation seed.
        limit: keep at most this many training examples (and a proportional test share);
            ``FDL_FAST=1`` sets it to 1,024 when not given.
        augment: augmentation policy applied to the training split only (``shift``, ``cifar``).

    Raises:
        UnknownDatasetError: no provider has that name.
        DatasetNotFoundError: the files are not in ``FDL_DATA_DIR`` nor the cache, and cannot
            be downloaded.
        InvalidInputError: an argument of the wrong type, ``batch_size`` < 1, ``limit`` < 1 or
            a fraction outside [0, 1).
    """
    name = str(name)  # a registered text file may come as a Path
    if name.startswith("tfrecord:"):  # shards written by `fdl data to-tfrecord`
        from fdl_keras.data.tfrecord import load_tfrecords

        if limit is not None and not config.fast_mode():
            raise InvalidInputError(
                "--limit does not apply to TFRecord shards (their size is fixed when written); "
                "write them with `fdl data to-tfrecord DATASET DIR --limit N`"
            )
        return load_tfrecords(
            name.removeprefix("tfrecord:"), batch_size=batch_size, seed=seed, augment=augment
        )
    provider = get_provider(name)
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    check_limit(limit)
    if not 0.0 <= validation_fraction < 1.0:
        raise InvalidInputError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    if limit is None and config.fast_mode():
        limit = FAST_LIMIT
    return provider.load(
        name,
        batch_size=batch_size,
        validation_fraction=validation_fraction,
        seed=seed,
        limit=limit,
        augment=augment,
    )


def find_data(
    title: str, candidates: Sequence[str], *, subdir: str, hint: str, cached: Sequence[str] = ()
) -> Path:
    """The first of ``candidates`` (paths relative to ``FDL_DATA_DIR/subdir``, then to the Keras
    cache for ``cached``) that exists.

    Raises:
        DatasetNotFoundError: one line naming the set, the folder searched, the files to put
            there (``hint``) and the setting.
    """
    root = config.data_dir()
    if root is not None:
        for candidate in candidates:
            path = root / subdir / candidate
            if path.exists():
                return path
    for candidate in cached:
        path = config.keras_cache_dir() / candidate
        if path.exists():
            return path
    where = f"FDL_DATA_DIR={root}" if root else "FDL_DATA_DIR is not set"
    raise DatasetNotFoundError(
        f"{title} not found ({where}): put {hint} in <dir>/{subdir}/ and set FDL_DATA_DIR=<dir>"
    )


def split_indices(
    n: int, *, validation_fraction: float, seed: int, limit: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train, validation)`` index arrays over ``n`` training examples."""
    order = np.random.default_rng(seed).permutation(n)
    if limit is not None:
        order = order[:limit]
    n_val = int(round(len(order) * validation_fraction))
    return order[n_val:], order[:n_val]
