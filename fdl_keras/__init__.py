"""fdl_keras: the systems of *Fundamentals of Deep Learning* (2nd ed.) in Keras 3.

>>> import fdl_keras
>>> [s.name for s in fdl_keras.list_models()][:2]
['mnist_mlp', 'cifar_cnn']
>>> model = fdl_keras.build("mnist_cnn")
>>> result = fdl_keras.train("mnist_cnn", epochs=1)           # doctest: +SKIP
>>> report = fdl_keras.export(result.model, "exports/mnist")  # doctest: +SKIP

``import fdl_keras`` registers every system's Keras classes, so ``keras.saving.load_model``
reads fdl_keras ``.keras`` files afterwards. The ``fdl`` command imports the package in a light
mode (``FDL_LIGHT_IMPORT=1``, set by :mod:`fdl_cli`) that defers TensorFlow until a command needs
it; the public names below then load on first use.
"""

import importlib
import os

from fdl_keras.errors import (
    DatasetNotFoundError,
    ExportVerificationError,
    FdlError,
    InvalidInputError,
    TrainingDivergedError,
    UnknownDatasetError,
    UnknownModelError,
)

__version__ = "0.1.0"

#: Public names and the modules that hold them (imported on first use in light mode).
_LAZY = {
    "ModelSpec": "fdl_keras.registry",
    "build": "fdl_keras.registry",
    "get_spec": "fdl_keras.registry",
    "list_models": "fdl_keras.registry",
    "load_systems": "fdl_keras.registry",
    "load_dataset": "fdl_keras.data",
    "export": "fdl_keras.export",
    "train": "fdl_keras.training",
    "load_run": "fdl_keras.runs",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in ("data", "export", "generative", "rl", "training", "vision", "tasks", "runs"):
        return importlib.import_module(f"fdl_keras.{name}")
    raise AttributeError(f"module 'fdl_keras' has no attribute {name!r}")


if os.environ.get("FDL_LIGHT_IMPORT") != "1":
    from fdl_keras.data import load_dataset
    from fdl_keras.export import export
    from fdl_keras.registry import ModelSpec, build, get_spec, list_models, load_systems
    from fdl_keras.runs import load_run
    from fdl_keras.training import train

    load_systems()

__all__ = [
    "DatasetNotFoundError",
    "ExportVerificationError",
    "FdlError",
    "InvalidInputError",
    "ModelSpec",
    "TrainingDivergedError",
    "UnknownDatasetError",
    "UnknownModelError",
    "build",
    "export",
    "get_spec",
    "list_models",
    "load_dataset",
    "load_run",
    "train",
]
