"""fdl_keras.losses.SparseCrossentropy and a classifier spec's label smoothing."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.errors import InvalidInputError
from fdl_keras.losses import SparseCrossentropy

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(16, 10)).astype("float32")
PROBS = keras.ops.convert_to_numpy(keras.ops.softmax(LOGITS))
LABELS = RNG.integers(0, 10, size=16)


@pytest.mark.parametrize("from_logits", [False, True])
def test_without_smoothing_it_is_keras_sparse_crossentropy(from_logits):
    y_pred = LOGITS if from_logits else PROBS
    ours = SparseCrossentropy(from_logits=from_logits)(LABELS, y_pred)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    np.testing.assert_allclose(float(ours), float(keras_loss(LABELS, y_pred)), rtol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_shape", [(16,), (16, 1)])
def test_smoothing_is_keras_categorical_smoothing_of_the_one_hot_labels(from_logits, label_shape):
    y_pred = LOGITS if from_logits else PROBS
    ours = SparseCrossentropy(0.1, from_logits=from_logits)(LABELS.reshape(label_shape), y_pred)
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=0.1)
    expected = keras_loss(np.eye(10, dtype="float32")[LABELS], y_pred)
    np.testing.assert_allclose(float(ours), float(expected), rtol=1e-6)
    # It differs from the unsmoothed loss: the smoothing is really applied.
    plain = SparseCrossentropy(from_logits=from_logits)(LABELS, y_pred)
    assert abs(float(ours) - float(plain)) > 1e-3


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_smoothing_outside_zero_one_is_refused(value):
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        SparseCrossentropy(value)


def test_config_round_trip():
    loss = SparseCrossentropy(0.2, from_logits=True, name="ls")
    config = loss.get_config()
    assert config == {
        "name": "ls",
        "reduction": "sum_over_batch_size",
        "label_smoothing": 0.2,
        "from_logits": True,
    }
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, SparseCrossentropy) and again.get_config() == config


def test_a_classifier_spec_trains_with_its_label_smoothing_and_reloads(tmp_path):
    spec = fdl_keras.get_spec("mnist_fast")
    assert spec.fit.label_smoothing > 0
    model = spec.build(**spec.tiny)
    spec.task.compile(spec, model)
    assert isinstance(model.loss, SparseCrossentropy)
    assert model.loss.label_smoothing == spec.fit.label_smoothing
    x = RNG.uniform(size=(32, 28, 28, 1)).astype("float32")
    y = RNG.integers(0, 10, size=32)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")  # safe mode on
    assert loaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(
        loaded.evaluate(x, y, verbose=0)[0], model.evaluate(x, y, verbose=0)[0], rtol=1e-5
    )
    # A fresh process that only imports the package restores the loss too.
    script = (
        "import sys, fdl_keras, keras; "
        "m = keras.saving.load_model(sys.argv[1]); print(type(m.loss).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.keras")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "SparseCrossentropy", out.stderr[-2000:]


def test_label_smoothing_on_a_non_classifier_is_refused():
    spec = fdl_keras.get_spec("autoencoder_mnist")
    spec = dataclasses.replace(spec, fit=dataclasses.replace(spec.fit, label_smoothing=0.1))
    model = spec.build(**spec.tiny)
    with pytest.raises(InvalidInputError, match="label_smoothing applies to classifiers only"):
        spec.compile(model)
    # Refused for a family with its own loss too (checked once, for every family).
    spec = fdl_keras.get_spec("transformer_fr_en")
    spec = dataclasses.replace(spec, fit=dataclasses.replace(spec.fit, label_smoothing=0.1))
    with pytest.raises(InvalidInputError, match="label_smoothing applies to classifiers only"):
        spec.compile(None)
