"""Mixed-precision training (Micikevicius et al. 2018) through Keras' dtype policies.

``--precision mixed_float16`` or ``mixed_bfloat16`` builds and trains the model under that
Keras dtype policy: layers compute in 16 bits and keep float32 variables; with float16, Keras'
``compile`` wraps the optimizer in ``LossScaleOptimizer`` and the package's own ``train_step`` s
scale their losses with ``optimizer.scale_loss`` (losses are computed in float32). The model a
run saves (``model.keras``) and exports is rebuilt under float32 with the trained weights, so
its outputs, its SavedModel and its ONNX graph stay float32 whatever the training precision.
float16 pays off on GPUs with tensor cores. A CPU without float16 matrix instructions
(AVX512_FP16, AMX-FP16) converts it: on two AMD EPYC cores every system's training step was
1.0-6.7x slower than in float32, so a float16 run on such a machine prints a one-line warning.
bfloat16 is native on CPUs with AVX512_BF16 or AMX: there the plain convolutional networks
trained 1.1-1.8x faster per step and the others no faster or slower
(``benchmarks/cpu_precision.py``, ``benchmarks/RESULTS_speed.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from fdl_keras.errors import InvalidInputError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


#: CPU flags (Linux ``/proc/cpuinfo``) of native 16-bit matrix instructions.
FLOAT16_FLAGS = ("avx512_fp16", "amx_fp16")
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags() -> frozenset[str]:
    """The CPU's flags from ``/proc/cpuinfo`` (empty where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def slow_precision_warning(name: str) -> str | None:
    """A one-line warning when training in ``name`` is known to be much slower than float32
    here: float16 with no GPU/TPU and no float16 matrix instructions; else ``None``."""
    from fdl_keras.tasks import accelerator_present

    if name != "mixed_float16" or accelerator_present():
        return None
    flags = cpu_flags()
    if flags & set(FLOAT16_FLAGS):
        return None
    native = sorted(flags & set(BFLOAT16_FLAGS))
    instead = (
        f"--precision mixed_bfloat16 (native here: {', '.join(native)}) or float32"
        if native
        else "float32 (mixed_bfloat16 is native only with AVX512_BF16 or AMX)"
    )
    return (
        "mixed_float16 on this CPU (no GPU, no float16 matrix instructions) trains 1.0-6.7x "
        f"slower than float32 (benchmarks/RESULTS_speed.md); use {instead}"
    )


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
    """``build()`` (under float32) holding ``model``'s weights and the state of each of its
    optimizers (the inner one of a ``LossScaleOptimizer``): ``optimizer`` over the trainable
    variables, or those the model names in ``optimizer_variables()`` (a GAN's two)."""
    import keras

    from fdl_keras.training.backup import optimizer_variables

    with precision_policy("float32"):
        copy = build()
    copy.set_weights(model.get_weights())
    if getattr(copy, "optimizer", None) is None:  # not compiled: no optimizer state to carry
        return copy
    for attribute, variables in optimizer_variables(copy).items():
        source, target = getattr(model, attribute, None), getattr(copy, attribute, None)
        if isinstance(source, keras.optimizers.LossScaleOptimizer):
            source = source.inner_optimizer
        if source is None or target is None or not source.built:
            continue
        if not target.built:
            target.build(variables)
        if [v.shape for v in target.variables] == [v.shape for v in source.variables]:
            for mine, theirs in zip(target.variables, source.variables):
                mine.assign(theirs)
    return copy
