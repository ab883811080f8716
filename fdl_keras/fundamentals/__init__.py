"""Chapters 1-6: linear algebra, probability, neurons, training and optimizers.

Submodules load on first use (``fdl_keras.fundamentals.probability`` imports
tensorflow-probability, which the rest of the package does not need at start-up).
"""

import importlib

__all__ = ["feedforward", "linalg", "neurons", "optimizers", "probability", "training"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
