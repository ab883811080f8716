"""Package settings, read from the environment.

- ``FDL_DATA_DIR``: folder searched first for datasets (MNIST IDX files, Keras ``.npz`` files,
  CIFAR-10 batches, NLTK corpora ...).
- ``FDL_OFFLINE=1``: never try to download; a dataset that is not local raises at once.
- ``FDL_FAST=1``: tiny data and epochs, for notebooks and smoke runs.
"""

from __future__ import annotations

import os
from pathlib import Path

TRUE_VALUES = {"1", "true", "yes", "on"}
#: ``tf.distribute`` strategies by name (fdl_keras.training.strategy builds them).
STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


def data_dir() -> Path | None:
    """The folder named by ``FDL_DATA_DIR``, or None when the setting is empty."""
    value = os.environ.get("FDL_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def offline() -> bool:
    """True when ``FDL_OFFLINE`` forbids downloads."""
    return os.environ.get("FDL_OFFLINE", "").strip().lower() in TRUE_VALUES


def fast_mode() -> bool:
    """True when ``FDL_FAST`` asks for tiny data and epochs."""
    return os.environ.get("FDL_FAST", "").strip().lower() in TRUE_VALUES


def keras_cache_dir() -> Path:
    """Where ``keras.utils.get_file`` keeps downloaded datasets."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"
