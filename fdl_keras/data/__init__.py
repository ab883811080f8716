"""Datasets: one registry of providers (``@dataset``), each giving ``tf.data`` pipelines.

``load_dataset(name)`` returns train/validation/test pipelines (seeded shuffle, batch, cache,
prefetch, normalisation) and a :class:`DatasetInfo` describing them, for every registered set:
``fdl_keras.data.list_datasets()`` names them. Providers live beside their data: ``images.py``
(mnist, fashion_mnist, cifar10, digits), ``photos.py`` (scikit-learn's photographs).
"""

from __future__ import annotations

from fdl_keras.data import (  # noqa: F401 - registers the providers
    brown,
    images,
    memory_tasks,
    photos,
    reviews,
    tabular,
    translation,
    treebank,
)
from fdl_keras.data.images import IMAGE_DATASETS, SOURCES, load_arrays, read_idx
from fdl_keras.data.pipeline import check_images, make_pipeline
from fdl_keras.data.registry import (
    FAST_LIMIT,
    Dataset,
    DatasetInfo,
    dataset,
    find_data,
    get_provider,
    list_datasets,
    load_dataset,
)


def first_available(*names: str) -> tuple[str, str]:
    """The first of ``names`` that can be loaded, and why the ones before it could not.

    ``first_available("mnist", "digits")`` is how the demo and notebooks fall back to the embedded
    digits set on a machine without MNIST (or with damaged MNIST files: the reason names them).
    """
    from fdl_keras.errors import DatasetNotFoundError, InvalidInputError

    reasons = []
    for name in names:
        try:
            load_dataset(name, limit=1, batch_size=1)
            return name, "; ".join(reasons)
        except (DatasetNotFoundError, InvalidInputError) as exc:  # missing, or damaged files
            reasons.append(str(exc))
    raise DatasetNotFoundError(" | ".join(reasons))


__all__ = [
    "FAST_LIMIT",
    "IMAGE_DATASETS",
    "SOURCES",
    "Dataset",
    "DatasetInfo",
    "check_images",
    "dataset",
    "find_data",
    "first_available",
    "get_provider",
    "list_datasets",
    "load_arrays",
    "load_dataset",
    "make_pipeline",
    "read_idx",
]
