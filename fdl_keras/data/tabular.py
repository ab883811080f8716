"""Tabular data sets for chapter 11: one that ships with scikit-learn, one with a known answer.

- ``breast_cancer``: the Wisconsin diagnostic breast-cancer set bundled with scikit-learn
  (569 tumours, 30 real-valued features, malignant/benign; no download).
- ``synthetic_tabular``: 8 standard-normal features of which only the first three decide the
  class, ``logit = 2.5 x0 - 2 x1 + 1.5 x2`` (plus Gaussian label noise). Importance methods
  must rank ``x0, x1, x2`` first and give the others nothing, which is what the tests check.

Both are standardised with the training split's mean and deviation; the test split is fixed
(20 %, seed 0) whatever the training seed, so a run's test score is comparable with others.
:func:`tabular_arrays` gives the raw arrays and feature names to scikit-learn baselines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fdl_keras.data.pipeline import EpochOrder, make_pipeline
from fdl_keras.data.registry import Dataset, dataset, split_dataset, split_indices
from fdl_keras.errors import UnknownDatasetError

TABULAR_DATASETS = ("breast_cancer", "synthetic_tabular")
TEST_FRACTION = 0.2
#: The informative features of ``synthetic_tabular`` and their logit coefficients.
SYNTHETIC_COEFFICIENTS = (2.5, -2.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0)
SYNTHETIC_SIZE = 2000
SYNTHETIC_NOISE = 0.5


@dataclass(frozen=True)
class TabularArrays:
    """A tabular set as standardised float32 arrays, with its names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    source: str


def synthetic_tabular(n: int = SYNTHETIC_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples of the known-answer set: ``y = [2.5 x0 - 2 x1 + 1.5 x2 + noise > 0]``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(SYNTHETIC_COEFFICIENTS))).astype(np.float32)
    logit = x @ np.asarray(SYNTHETIC_COEFFICIENTS, np.float32)
    y = (logit + SYNTHETIC_NOISE * rng.standard_normal(n) > 0).astype(np.int32)
    return x, y


def _raw(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...], str]:
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        return (
            bunch.data.astype(np.float32),
            bunch.target.astype(np.int32),
            tuple(str(f) for f in bunch.feature_names),
            tuple(str(c) for c in bunch.target_names),
            "scikit-learn load_breast_cancer (embedded)",
        )
    if name == "synthetic_tabular":
        x, y = synthetic_tabular()
        names = tuple(f"x{i}" for i in range(x.shape[1]))
        return x, y, names, ("negative", "positive"), "generated (fdl_keras.data.tabular)"
    raise UnknownDatasetError(
        f"unknown tabular dataset {name!r}; choose one of {', '.join(TABULAR_DATASETS)}"
    )


def tabular_arrays(name: str) -> TabularArrays:
    """The fixed train/test split of ``name``, standardised with the training statistics."""
    x, y, features, classes, source = _raw(name)
    order = np.random.default_rng(0).permutation(len(x))
    n_test = int(round(len(x) * TEST_FRACTION))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-8
    return TabularArrays(
        ((x[train] - mean) / std).astype(np.float32),
        y[train],
        ((x[test] - mean) / std).astype(np.float32),
        y[test],
        features,
        classes,
        source,
    )


@dataset("breast_cancer", title="Wisconsin breast cancer (embedded)", files="nothing (embedded)")
@dataset("synthetic_tabular", title="synthetic tabular, 3 informative features", files="nothing")
def load_tabular(
    name: str,
    *,
    batch_size: int,
    validation_fraction: float,
    seed: int,
    limit: int | None,
    augment: str | None,
) -> Dataset:
    """A tabular classification set as ``(features, label)`` pipelines (``augment`` unused)."""
    del augment
    arrays = tabular_arrays(name)
    train_idx, val_idx = split_indices(
        len(arrays.x_train), validation_fraction=validation_fraction, seed=seed, limit=limit
    )
    splits = {
        "train": (arrays.x_train[train_idx], arrays.y_train[train_idx]),
        "validation": (arrays.x_train[val_idx], arrays.y_train[val_idx]),
        "test": (arrays.x_test, arrays.y_test),
    }
    order = EpochOrder()

    def pipe(split: str, **kw):
        x, y = splits[split]
        return make_pipeline(x, y, batch_size=batch_size, seed=seed, **kw)

    def pipeline(split: str, shuffle: bool):
        return pipe(split, shuffle=True, order=order) if shuffle else pipe(split)

    return split_dataset(
        splits,
        pipeline,
        order=order,
        name=name,
        source=arrays.source,
        input_shape=(arrays.x_train.shape[1],),
        num_classes=len(arrays.class_names),
        class_names=arrays.class_names,
        title=name,
    )
