"""The shared model-contract check, applied to every registry entry by the test suite.

Modelled on keras-hub's ``TestCase.run_model_saving_test``: each system passes the same checks with
its tiny config (``ModelSpec.tiny``).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from fdl_keras.registry import ModelSpec


def example_batch(spec: ModelSpec, model, size: int = 8) -> tuple:
    """A real ``(inputs, targets)`` batch for ``model`` from its system's task.

    Classifiers get real images and labels (a stand-in set, resized, when the spec's dataset is
    not on this machine), reconstructions their images twice, samplers ``(noise, images)``,
    policies ``(observations of their environment, None)``.
    """
    return spec.example_batch(model, size)


def check_model_contract(spec: ModelSpec, tmp_path: Path, *, atol: float = 1e-5) -> dict:
    """Asserts the model contract of DESIGN.md for ``spec`` and returns the export report.

    1. config: ``get_config()`` equals the constructor arguments; ``from_config`` round-trips.
    2. ``.keras`` save + ``load_model`` in safe mode gives the same class and identical outputs.
    3. one ``fit`` step on a real batch leaves loss and weights finite.
    4. inference is deterministic (two calls agree exactly).
    5. ``export`` writes SavedModel and ONNX matching Keras to ``atol``.
    """
    import keras

    from fdl_keras.export import export

    keras.utils.set_random_seed(0)
    model = spec.build(**spec.tiny)

    # 1. Config is exactly the constructor arguments.
    config = model.get_config()
    params = inspect.signature(type(model).__init__).parameters
    expected = {k: p.default for k, p in params.items() if k not in ("self", "kwargs")}
    expected.update(
        {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in {**spec.defaults, **spec.tiny}.items()
        }
    )
    for key, value in expected.items():
        got = config[key]
        assert _same(got, value), (
            f"{spec.name}: get_config()[{key!r}] = {got!r}, expected {value!r}"
        )
    assert set(config) == set(expected) | {"name", "trainable"}, sorted(config)
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()

    # 2. .keras round trip in safe mode.
    x, y = example_batch(spec, model)
    path = tmp_path / f"{spec.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True is the default
    assert type(loaded) is type(model)
    _assert_same_outputs(loaded.predict_on_batch(x), model.predict_on_batch(x))

    # 3. One training step of the family's own loss on real data stays finite.
    history = spec.contract_step(model, x, y)
    assert all(np.isfinite(v[0]) for v in history.values()), history
    assert all(np.isfinite(np.asarray(w)).all() for w in model.weights)

    # 4. Deterministic inference (dropout off, no sampling inside the graph).
    _assert_same_outputs(model.predict_on_batch(x), model.predict_on_batch(x))

    # 5. Export parity.
    report = export(model, tmp_path / "export", sample=x, atol=atol, measure_latency=False)
    assert report["passed"], report
    for runtime in ("saved_model", "onnx"):
        assert report["runtimes"][runtime]["max_abs_diff"] <= atol, report
    return report


def _assert_same_outputs(a, b) -> None:
    """Exact equality of two model outputs (one array, or a list of them for several outputs)."""
    import keras

    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return tuple(a) == tuple(b)
    return a == b
