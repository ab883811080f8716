"""The LSTM sentiment model: padding never changes an output, dynamic-length ONNX export."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

from fdl_keras.sequence.sentiment import (
    BestValidationWeights,
    LSTMSentiment,
    MaskedGlobalMaxPooling1D,
    WordDropout,
)


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return LSTMSentiment(vocabulary_size=50, embedding_dim=6, lstm_units=5)


@pytest.mark.parametrize(
    "settings",
    [
        {"pooling": "max_mean"},
        {"pooling": "max", "bidirectional": False},
        {"pooling": "mean", "word_dropout": 0.0},
        {"word_dropout": 0.25},
    ],
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
    # In float16 (traced, as in training) padding is still never the maximum, even below -6e4,
    # and no constant overflows the dtype on the way (warnings are errors here).
    low = np.array([[[-6.0e4, -2.0], [-6.5e4, -1.0], [9.0, 9.0]]], np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traced = tf.function(MaskedGlobalMaxPooling1D(dtype="float16"))
        half = traced(low, mask=mask).numpy()
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, [[-6.0e4, -1.0]])
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
    with pytest.raises(ValueError, match="word_dropout must be in"):
        LSTMSentiment(word_dropout=-0.1)


def test_word_dropout_replaces_only_real_tokens_while_training(tmp_path):
    from fdl_keras.layers.contract import check_layer_contract

    ids = np.full((64, 50), 7, np.int32)
    ids[:, 40:] = 0
    layer = WordDropout(0.3, seed=0)
    np.testing.assert_array_equal(layer(ids).numpy(), ids)  # inference: the identity
    dropped = layer(ids, training=True).numpy()
    np.testing.assert_array_equal(dropped[:, 40:], 0)  # padding (the mask) is untouched
    assert set(np.unique(dropped[:, :40])) == {1, 7}  # a real token becomes OOV (1) or stays
    assert 0.25 < (dropped[:, :40] == 1).mean() < 0.35
    check_layer_contract(lambda: WordDropout(0.3, seed=0), ids, tmp_path)
    with pytest.raises(ValueError, match="rate must be in"):
        WordDropout(1.0)


def test_best_validation_weights_puts_back_the_best_epoch():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    keep = BestValidationWeights()
    keep.set_model(model)
    snapshots = []
    for epoch, accuracy in enumerate([0.5, 0.8, 0.7, 0.8]):
        model.set_weights([np.full((2, 1), epoch, "float32"), np.zeros(1, "float32")])
        snapshots.append(model.get_weights())
        keep.on_epoch_end(epoch, {"val_accuracy": accuracy})
    keep.on_train_end()
    assert keep.best_epoch == 1  # the first of equal bests
    np.testing.assert_array_equal(model.get_weights()[0], snapshots[1][0])
    # No validation split: nothing is kept and the weights stay.
    silent = BestValidationWeights()
    silent.set_model(model)
    silent.on_epoch_end(0, {"accuracy": 0.9})
    silent.on_train_end()
    assert silent.best_epoch is None
    np.testing.assert_array_equal(model.get_weights()[0], snapshots[1][0])
