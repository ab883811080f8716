"""TensorBoard logging needs the ``tensorboard`` package: say so before training starts."""

from __future__ import annotations

import importlib.util

from fdl_keras.errors import InvalidInputError


def check_tensorboard() -> None:
    """Raises a one-line error when ``tensorboard`` is not installed."""
    if importlib.util.find_spec("tensorboard") is None:
        raise InvalidInputError(
            "--tensorboard needs the tensorboard package: pip install tensorboard (or drop "
            "the option)"
        )
