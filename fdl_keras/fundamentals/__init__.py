"""Chapters 1-6: linear algebra, probability, neurons, training and optimizers."""

from fdl_keras.fundamentals import linalg, neurons, probability

__all__ = ["linalg", "neurons", "probability"]
