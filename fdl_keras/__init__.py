"""fdl_keras: the systems of *Fundamentals of Deep Learning* (2nd ed.) in Keras 3.

>>> import fdl_keras
>>> [s.name for s in fdl_keras.list_models()][:2]
['mnist_mlp', 'mnist_cnn']
>>> model = fdl_keras.build("mnist_cnn")
>>> result = fdl_keras.train("mnist_cnn", epochs=1)           # doctest: +SKIP
>>> report = fdl_keras.export(result.model, "exports/mnist")  # doctest: +SKIP
"""

from fdl_keras.data import load_dataset
from fdl_keras.errors import (
    DatasetNotFoundError,
    ExportVerificationError,
    FdlError,
    InvalidInputError,
    TrainingDivergedError,
    UnknownDatasetError,
    UnknownModelError,
)
from fdl_keras.export import export
from fdl_keras.registry import ModelSpec, build, get_spec, list_models, load_systems
from fdl_keras.training import train

# Registers every system's Keras classes, so keras.saving.load_model reads fdl_keras models
# after a plain `import fdl_keras`.
load_systems()

__version__ = "0.1.0"

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
    "train",
]
