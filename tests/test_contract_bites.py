"""The model contract bites: deliberately broken toy systems fail it, a healthy one passes.

Each toy is registered for the length of one test (``fdl_keras.registry.register``) and removed
again, so the registry-wide tests never see it.
"""

import importlib

import keras
import numpy as np
import pytest

from fdl_keras import registry
from fdl_keras.serialization import ConfigModel, serializable
from fdl_keras.testing import check_model_contract

export_module = importlib.import_module("fdl_keras.export")  # the package attribute is export()


@serializable
class ToyClassifier(ConfigModel):
    """A small MLP classifier of 8x8 digits: the healthy system."""

    def __init__(self, image_shape=(8, 8, 1), num_classes=10, units=8, **kwargs):
        arguments = dict(locals())

        # === Functional Model ===
        images = keras.Input(shape=tuple(image_shape), name="image")
        x = keras.layers.Flatten(name="flatten")(images)
        x = self.hidden(x, units)
        logits = keras.layers.Dense(num_classes, name="logits")(x)
        super().__init__(inputs=images, outputs=logits, **kwargs)

        # === Config ===
        self._remember(arguments)

    @staticmethod
    def hidden(x, units):
        return keras.layers.Dense(units, activation="relu", name="hidden")(x)


@serializable
class DisconnectedClassifier(ToyClassifier):
    """A classifier with a layer whose kernel is trainable but gets no gradient: its output is
    multiplied by zero before it joins the network (a frozen or disconnected model)."""

    @staticmethod
    def hidden(x, units):
        connected = keras.layers.Dense(units, activation="relu", name="hidden")(x)
        cut = keras.layers.Dense(units, name="disconnected")(x)
        cut = keras.layers.Rescaling(0.0, name="times_zero")(cut)
        return keras.layers.Add(name="join")([connected, cut])


@serializable
class ForgetfulClassifier(ToyClassifier):
    """A classifier whose ``.keras`` file does not say how it was compiled, so a reloaded copy
    has lost its optimizer state."""

    def get_compile_config(self):
        return None


@pytest.fixture
def toy():
    """``toy(builder)`` registers ``builder`` as a digits classifier and returns its spec."""
    names = []

    def register(builder):
        name = f"toy_{builder.__name__.lower()}"
        registry.register(name, chapter=0, builder=builder, dataset="digits")
        names.append(name)
        return registry.get_spec(name)

    try:
        yield register
    finally:
        for name in names:
            registry._REGISTRY.pop(name, None)


def test_healthy_toy_passes(toy, tmp_path):
    report = check_model_contract(toy(ToyClassifier), tmp_path)
    assert report["passed"]


def test_disconnected_layer_fails(toy, tmp_path):
    with pytest.raises(AssertionError, match=r"left \['disconnected/kernel', 'disconnected/bias'"):
        check_model_contract(toy(DisconnectedClassifier), tmp_path)


def test_lost_optimizer_state_fails(toy, tmp_path):
    with pytest.raises(AssertionError, match="the .keras file lost the compiled optimizer"):
        check_model_contract(toy(ForgetfulClassifier), tmp_path)


def test_onnx_drift_at_batch_one_only_fails(toy, tmp_path, monkeypatch):
    # onnxruntime standing in for a conversion that is wrong for a batch of one only: export
    # verifies its batch of 8 and passes, the contract's batch-1 check must not.
    real = export_module.onnx_runner

    def drifting_at_batch_one(path):
        run = real(path)

        def drifting(inputs):
            outputs = run(inputs)
            return [o + np.float32(1e-3) for o in outputs] if len(inputs[0]) == 1 else outputs

        return drifting

    monkeypatch.setattr(export_module, "onnx_runner", drifting_at_batch_one)
    with pytest.raises(AssertionError, match=r"onnx differs from Keras by 0.001 .* at batch 1"):
        check_model_contract(toy(ToyClassifier), tmp_path)


@pytest.mark.parametrize("name", ["drqn_flickering_cartpole", "unreal_pixel_cartpole"])
def test_recurrent_samples_start_from_zero_and_carried_states(name):
    spec = registry.get_spec(name)
    model = spec.build(**spec.tiny)
    inputs, source = spec.export_sample(model)
    state = inputs[-1]  # the LSTM's h and c
    assert not state[:4].any(), "the first half starts from a zero state"
    assert np.abs(state[4:]).max(axis=1).min() > 0, "the second half carries a non-zero state"
    assert "carried" in source
