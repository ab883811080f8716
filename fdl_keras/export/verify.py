"""Export verification: every runtime must reproduce Keras on the same real batch.

Checks ``onnx.checker``, the reloaded SavedModel and onnxruntime against the Keras model to an
absolute tolerance, and times batch-1 inference in each runtime.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from fdl_keras.errors import InvalidInputError


def as_model_inputs(model, sample, *, what: str = "sample") -> list[np.ndarray]:
    """Checks ``sample`` against ``model.inputs`` and returns one array per input.

    Raises:
        InvalidInputError: wrong number of inputs, wrong shape, non-numeric dtype or NaN/inf.
    """
    arrays = list(sample) if isinstance(sample, (list, tuple)) else [sample]
    name = getattr(model, "name", "model")
    if len(arrays) != len(model.inputs):
        raise InvalidInputError(
            f"{what} has {len(arrays)} arrays but {name} takes {len(model.inputs)} inputs "
            f"({', '.join(t.name for t in model.inputs)}); pass one array per input"
        )
    checked = []
    for array, tensor in zip(arrays, model.inputs):
        array = np.asarray(array)
        expected = tuple(tensor.shape)
        fits = array.ndim == len(expected) and all(
            e is None or e == a for e, a in zip(expected, array.shape)
        )
        if not fits:
            wanted = "(" + ", ".join("batch" if e is None else str(e) for e in expected) + ")"
            raise InvalidInputError(
                f"{what} for input '{tensor.name}' has shape {array.shape} but {name} expects "
                f"{wanted}; pass a batch from the data the model was built for"
            )
        if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
            raise InvalidInputError(
                f"{what} for input '{tensor.name}' has dtype {array.dtype}; pass numbers "
                f"({tensor.dtype})"
            )
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise InvalidInputError(
                f"{what} for input '{tensor.name}' contains NaN/inf; verify on finite real data"
            )
        checked.append(array.astype(tensor.dtype))
    return checked


def max_abs_diff(reference: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    """Largest absolute difference over all outputs (inf when shapes disagree)."""
    if len(reference) != len(outputs):
        return float("inf")
    worst = 0.0
    for r, o in zip(reference, outputs):
        o = np.asarray(o)
        if r.shape != o.shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(r.astype(np.float64) - o.astype(np.float64)))))
    return worst


def latency_ms(
    run: Callable[[list[np.ndarray]], object],
    inputs: list[np.ndarray],
    repeats: int = 30,
    warmup: int = 3,
    *,
    budget_s: float | None = None,
    min_repeats: int = 5,
) -> float:
    """Median wall time of ``run(inputs)`` in milliseconds, over ``repeats`` timed runs after
    ``warmup`` untimed ones.

    ``budget_s`` caps the timed runs' total: timing stops once it is spent and ``min_repeats``
    runs are done, so a large network (ResNet-50 at batch 1 on a slow CPU: ~150 ms a run) is
    not timed 30 times where a report only needs its order of magnitude.
    """
    for _ in range(warmup):
        run(inputs)
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats:
        start = time.perf_counter()
        run(inputs)
        elapsed = time.perf_counter() - start
        times.append(elapsed * 1e3)
        spent += elapsed
        if budget_s is not None and spent >= budget_s and len(times) >= min_repeats:
            break
    return statistics.median(times)


def keras_runner(model) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    """``run(inputs)`` for the Keras model in inference mode (compiled predict function)."""

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        out = model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])
        out = out if isinstance(out, (list, tuple)) else [out]
        return [np.asarray(o) for o in out]

    return run
