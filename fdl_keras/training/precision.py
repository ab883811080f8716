"""Mixed-precision training (Micikevicius et al. 2018) through Keras' dtype policies.

``--precision mixed_float16`` or ``mixed_bfloat16`` builds and trains the model under that
Keras dtype policy: layers compute in 16 bits and keep float32 variables; with float16, Keras'
``compile`` wraps the optimizer in ``LossScaleOptimizer`` and the package's own ``train_step`` s
scale their losses with ``optimizer.scale_loss`` (losses are computed in float32). The model a
run saves (``model.keras``) and exports is rebuilt under float32 with the trained weights, so
its outputs, its SavedModel and its ONNX graph stay float32 whatever the training precision.
float16 pays off on GPUs with tensor cores; on CPUs without 16-bit matrix units it is slower
(``benchmarks/RESULTS_speed.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fdl_keras.errors import InvalidInputError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def check_precision(name: str) -> str:
    if name not in PRECISIONS:
        raise InvalidInputError(
            f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}"
        )
    return name


@contextlib.contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Builds inside this context use the dtype policy ``name``; the previous one is restored."""
    import keras

    check_precision(name)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_copy(model, build):
    """``build()`` (under float32) holding ``model``'s weights and, where they match, the state
    of its optimizer (the inner one of a ``LossScaleOptimizer``)."""
    import keras

    with precision_policy("float32"):
        copy = build()
    copy.set_weights(model.get_weights())
    optimizer = getattr(model, "optimizer", None)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    if optimizer is not None and getattr(copy, "optimizer", None) is not None:
        target = copy.optimizer
        if not target.built:
            target.build(copy.trainable_variables)
        if [v.shape for v in target.variables] == [v.shape for v in optimizer.variables]:
            for mine, theirs in zip(target.variables, optimizer.variables):
                mine.assign(theirs)
    return copy
