"""Training: strategy choice, callbacks and the ``fit`` trainer."""

from fdl_keras.training.callbacks import NaNGuard, run_callbacks
from fdl_keras.training.strategy import STRATEGIES, get_strategy
from fdl_keras.training.trainer import TrainResult, compile_model, train

__all__ = [
    "STRATEGIES",
    "NaNGuard",
    "TrainResult",
    "compile_model",
    "get_strategy",
    "run_callbacks",
    "train",
]
