"""Training a registered generative system (a :class:`~fdl_keras.tasks.Generative` task)."""

from __future__ import annotations

from typing import Any

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import get_spec
from fdl_keras.tasks import Generative
from fdl_keras.training.trainer import TrainResult, train


def train_generative(name: str, **kwargs: Any) -> TrainResult:
    """Trains the generative system ``name`` (``vae``, ``dcgan``, ``ncsn``) on its dataset.

    :func:`fdl_keras.train` (seeded, resumable from ``run_dir/backup``, ``history.csv``,
    ``model.keras``, ``metrics.json`` with the model's losses on the test split), after checking
    that ``name`` is a generative system; ``kwargs`` are that function's.

    Raises:
        InvalidInputError: ``name`` is not a generative system.
        TrainingDivergedError: a logged loss became NaN or infinite.
    """
    if not isinstance(get_spec(name).task, Generative):
        raise InvalidInputError(f"{name} is not a generative system; use fdl_keras.train")
    return train(name, **kwargs)
