"""The LSTM sentiment model: padding never changes an output, dynamic-length ONNX export."""

import numpy as np
import pytest

from fdl_keras.sequence.sentiment import LSTMSentiment, MaskedGlobalMaxPooling1D


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return LSTMSentiment(vocabulary_size=50, embedding_dim=6, lstm_units=5)


@pytest.mark.parametrize(
    "settings",
    [{"pooling": "max_mean"}, {"pooling": "max", "bidirectional": False}, {"pooling": "mean"}],
)
def test_a_padded_position_never_changes_an_output(settings):
    import keras

    keras.utils.set_random_seed(1)
    model = LSTMSentiment(vocabulary_size=50, embedding_dim=6, lstm_units=5, **settings)
    rng = np.random.default_rng(0)
    lengths = [3, 7, 12, 1]
    ids = np.zeros((4, 12), np.int32)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, 50, n)
    padded = model.predict_on_batch(ids)
    for extra in (5, 40):
        more = np.concatenate([ids, np.zeros((4, extra), np.int32)], axis=1)
        np.testing.assert_allclose(model.predict_on_batch(more), padded, atol=1e-6)
    # Each review alone, unpadded, gets the output it got inside the padded batch.
    for i, n in enumerate(lengths):
        alone = model.predict_on_batch(ids[i : i + 1, :n])
        np.testing.assert_allclose(alone, padded[i : i + 1], atol=1e-6)


def test_masked_max_pooling_known_answer_and_layer_contract(tmp_path):
    from fdl_keras.layers.contract import check_layer_contract

    x = np.array([[[1.0, -2.0], [5.0, -1.0], [9.0, 9.0]]], np.float32)
    mask = np.array([[True, True, False]])
    np.testing.assert_array_equal(MaskedGlobalMaxPooling1D()(x, mask=mask).numpy(), [[5.0, -1.0]])
    np.testing.assert_array_equal(MaskedGlobalMaxPooling1D()(x).numpy(), [[9.0, 9.0]])
    empty = MaskedGlobalMaxPooling1D()(x, mask=np.zeros((1, 3), bool)).numpy()
    np.testing.assert_array_equal(empty, [[0.0, 0.0]])
    check_layer_contract(MaskedGlobalMaxPooling1D, x, tmp_path)


def test_onnx_export_has_a_dynamic_sequence_axis(model, tmp_path):
    import onnxruntime

    import fdl_keras

    rng = np.random.default_rng(2)
    sample = rng.integers(1, 50, (3, 9)).astype(np.int32)
    sample[0, 5:] = 0
    report = fdl_keras.export(model, tmp_path, sample=[sample], measure_latency=False)
    assert report["passed"]
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    (onnx_input,) = session.get_inputs()
    assert not isinstance(onnx_input.shape[1], int), onnx_input.shape  # a named, free axis
    for length in (4, 23):
        ids = rng.integers(1, 50, (2, length)).astype(np.int32)
        ids[1, length // 2 :] = 0
        got = session.run(None, {onnx_input.name: ids})[0]
        np.testing.assert_allclose(got, model.predict_on_batch(ids), atol=1e-5)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="pooling must be one of"):
        LSTMSentiment(pooling="last")
    with pytest.raises(ValueError, match="dropout must be in"):
        LSTMSentiment(dropout=1.5)
