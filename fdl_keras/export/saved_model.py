"""SavedModel export: the ``serve`` endpoint Keras writes with ``model.export``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def export_saved_model(model, path: str | Path) -> Path:
    """Writes ``model`` as a TensorFlow SavedModel with a ``serve`` signature."""
    model.export(str(path), format="tf_saved_model", verbose=False)
    return Path(path)


def saved_model_runner(path: str | Path):
    """Loads a SavedModel and returns ``run(inputs) -> list of numpy outputs``."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) == 1:
            out = loaded.serve(inputs[0])
        else:
            try:  # Keras writes a multi-input functional model's endpoint as serve([x1, x2])
                out = loaded.serve(list(inputs))
            except TypeError:
                out = loaded.serve(*inputs)
        out = out if isinstance(out, (list, tuple)) else [out]
        return [np.asarray(o) for o in out]

    return run
