"""The layer contract: what every custom layer of :mod:`fdl_keras.layers` must honour.

The layer-level companion of :func:`fdl_keras.testing.check_model_contract`, modelled on
keras-hub's ``TestCase.run_layer_test`` and ``run_serialization_test``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np


def check_layer_contract(
    layer_factory: Callable[[], keras.layers.Layer],
    inputs: np.ndarray | list[np.ndarray],
    tmp_path: Path,
    *,
    atol: float = 1e-5,
) -> dict:
    """Asserts the layer contract for the layer ``layer_factory()`` makes; returns the export
    report.

    1. config: ``from_config(get_config())`` gives an equal config and, with the weights
       copied, identical outputs.
    2. ``.keras``: a functional model wrapping the layer saves and reloads with
       ``keras.saving.load_model`` in safe mode, with the same layer class and identical outputs.
    3. export: that model's SavedModel and ONNX files match Keras to ``atol``.

    Args:
        layer_factory: returns a fresh layer (an RNN cell goes inside ``keras.layers.RNN``).
        inputs: a batch, or a list of batches passed to the layer as positional arguments.
        tmp_path: a folder for the saved files.
        atol: tolerance on the exported runtimes' max absolute difference.
    """
    from fdl_keras.export import export

    arrays = [np.asarray(x) for x in (inputs if isinstance(inputs, (list, tuple)) else [inputs])]
    layer = layer_factory()
    name = type(layer).__name__

    # 1. Config round trip.
    outputs = layer(*arrays)
    config = layer.get_config()
    # A copy: some from_config methods (keras.layers.RNN's) pop entries from the config.
    clone = type(layer).from_config(copy.deepcopy(config))
    assert clone.get_config() == config, (
        f"{name}: from_config(get_config()) has config {clone.get_config()}, expected {config}"
    )
    clone(*arrays)
    assert len(clone.weights) == len(layer.weights), (
        f"{name}: the clone has {len(clone.weights)} weights, the layer {len(layer.weights)}"
    )
    clone.set_weights(layer.get_weights())
    _assert_same(clone(*arrays), outputs, f"{name}: from_config clone with copied weights")

    # 2. .keras round trip of a functional model wrapping the layer, in safe mode.
    symbolic = [
        keras.Input(shape=x.shape[1:], dtype=str(x.dtype), name=f"input_{i + 1}")
        for i, x in enumerate(arrays)
    ]
    # A single input stays unwrapped, as the export runners feed it.
    model = keras.Model(
        symbolic if len(symbolic) > 1 else symbolic[0],
        layer_factory()(*symbolic),
        name=f"{layer.name}_model",
    )
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True is the default
    # The wrapped layer, and the cell inside it for an RNN, must come back as the same classes.
    for original, reloaded in [
        (model.layers[-1], loaded.layers[-1]),
        (getattr(model.layers[-1], "cell", None), getattr(loaded.layers[-1], "cell", None)),
    ]:
        assert type(reloaded) is type(original), (
            f"{name}: load_model rebuilt a {type(reloaded).__name__}, not a "
            f"{type(original).__name__}; register it with fdl_keras.serialization.serializable"
        )
    sample = arrays if len(arrays) > 1 else arrays[0]
    _assert_same(
        loaded.predict_on_batch(sample), model.predict_on_batch(sample), f"{name}: reloaded .keras"
    )

    # 3. SavedModel and ONNX parity.
    report = export(model, tmp_path / "export", sample=arrays, atol=atol, measure_latency=False)
    assert report["passed"], f"{name}: export failed: {report}"
    for runtime in ("saved_model", "onnx"):
        diff = report["runtimes"][runtime]["max_abs_diff"]
        assert diff <= atol, f"{name}: {runtime} differs from Keras by {diff:.3g} > {atol:g}"
    return report


def _assert_same(got, expected, what: str) -> None:
    """Exact equality of two outputs (one tensor, or a structure of them)."""
    got, expected = keras.tree.flatten(got), keras.tree.flatten(expected)
    assert len(got) == len(expected), f"{what}: {len(got)} outputs, expected {len(expected)}"
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(
            np.asarray(a), np.asarray(b), err_msg=f"{what}: outputs differ"
        )
