"""The shared layers of fdl_keras.layers: the layer contract, then one behaviour of each."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_sample_image

from fdl_keras.layers import (
    ExportableGRU,
    FoldTime,
    FusedBatchNorm,
    GroupNorm,
    PackedBidirectional,
    PerImageStandardization,
    ResettingLSTMCell,
    UnfoldTime,
    ZeroPadShortcut,
    classification_head,
    instance_norm,
)
from fdl_keras.layers.contract import check_layer_contract

RNG = np.random.default_rng(0)
LSTM_UNITS = 4
# Episode-start flags of two rollouts of 6 steps: the second episode starts at step 2 and 4.
RESET_AT = (2, 4)


def photos(size: int = 16) -> np.ndarray:
    """Two real RGB images (scikit-learn's sample photos, subsampled), ``(2, size, size, 3)``."""
    images = [
        load_sample_image(f"{name}.jpg")[100::8, 200::8][:size, :size]
        for name in ("china", "flower")
    ]
    return np.stack(images).astype(np.float32) / 255.0


def sequences_with_resets() -> np.ndarray:
    """``(2, 6, 3 + 1)``: 3 features and an episode-start flag that is 1 at ``RESET_AT``."""
    x = RNG.normal(size=(2, 6, 4)).astype(np.float32)
    x[..., -1] = 0.0
    for row, step in enumerate(RESET_AT):
        x[row, step, -1] = 1.0
    return x


def resetting_rnn() -> keras.layers.RNN:
    return keras.layers.RNN(ResettingLSTMCell(LSTM_UNITS), return_sequences=True)


SEQUENCE = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
CASES = {
    "FoldTime": (FoldTime, SEQUENCE),
    "UnfoldTime": (UnfoldTime, [RNG.normal(size=(6, 16)).astype(np.float32), SEQUENCE]),
    "PerImageStandardization": (PerImageStandardization, photos()),
    "ZeroPadShortcut": (
        lambda: ZeroPadShortcut(8, stride=2),
        RNG.normal(size=(2, 8, 8, 4)).astype(np.float32),
    ),
    "ResettingLSTMCell": (resetting_rnn, sequences_with_resets()),
    "instance_norm": (lambda: instance_norm(3, "instance_norm"), photos()),
    "GroupNorm": (lambda: GroupNorm(groups=2), RNG.normal(size=(2, 5, 6, 8)).astype(np.float32)),
    "FusedBatchNorm": (
        lambda: FusedBatchNorm(momentum=0.9, epsilon=1e-5),
        RNG.normal(size=(2, 5, 6, 8)).astype(np.float32),
    ),
    "ExportableGRU": (
        lambda: ExportableGRU(3, return_sequences=True),
        RNG.normal(size=(2, 5, 4)).astype(np.float32),
    ),
    "PackedBidirectional": (
        lambda: PackedBidirectional(keras.layers.LSTM(3, return_sequences=True)),
        RNG.normal(size=(2, 5, 4)).astype(np.float32),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layer_contract(name, tmp_path):
    factory, inputs = CASES[name]
    report = check_layer_contract(factory, inputs, tmp_path)
    assert report["passed"]


def test_fold_then_unfold_restores_the_sequence():
    folded = np.asarray(FoldTime()(SEQUENCE))
    assert folded.shape == (6, 4, 5)
    np.testing.assert_array_equal(folded[1 * 3 + 2], SEQUENCE[1, 2])  # batch-major order
    np.testing.assert_array_equal(np.asarray(UnfoldTime()(folded, SEQUENCE)), SEQUENCE)


def test_resetting_lstm_restarts_from_zero_state_at_an_episode_start():
    x = sequences_with_resets()
    rnn = resetting_rnn()
    outputs = np.asarray(rnn(x))
    plain = keras.layers.RNN(keras.layers.LSTMCell(LSTM_UNITS), return_sequences=True)
    plain(x[..., :-1])
    plain.set_weights(rnn.get_weights())
    for row, step in enumerate(RESET_AT):
        fresh = np.asarray(plain(x[row : row + 1, step:, :-1]))[0]
        np.testing.assert_allclose(outputs[row, step:], fresh, atol=1e-6)
        # Without the reset the state carried over would change the output.
        carried = np.asarray(plain(x[row : row + 1, :, :-1]))[0, step]
        assert np.abs(carried - outputs[row, step]).max() > 1e-3


def test_per_image_standardization_gives_zero_mean_unit_std_per_image():
    y = np.asarray(PerImageStandardization()(photos()))
    np.testing.assert_allclose(y.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(1, 2, 3)), 1.0, atol=1e-4)


def test_zero_pad_shortcut_pads_new_channels_with_zeros():
    x = RNG.normal(size=(2, 8, 8, 4)).astype(np.float32)
    y = np.asarray(ZeroPadShortcut(8, stride=2)(x))
    assert y.shape == (2, 4, 4, 8)
    np.testing.assert_array_equal(y[..., 2:6], x[:, ::2, ::2, :])
    assert not y[..., :2].any() and not y[..., 6:].any()


def test_instance_norm_normalises_each_channel_of_each_image():
    images = photos()
    y = np.asarray(instance_norm(3, "in")(images))
    mean = images.mean(axis=(1, 2), keepdims=True)
    var = images.var(axis=(1, 2), keepdims=True)
    # GroupNormalization's default epsilon is 1e-3; gamma starts at 1 and beta at 0.
    np.testing.assert_allclose(y, (images - mean) / np.sqrt(var + 1e-3), atol=1e-4)


@pytest.mark.parametrize(
    "shape, groups", [((2, 5, 6, 8), 2), ((2, 5, 6, 8), 8), ((2, 5, 6, 8), 1), ((3, 16), 4)]
)
def test_group_norm_equals_keras_group_normalization(shape, groups):
    """Same weights, same outputs (to float32 rounding) as Keras' layer, on activations with
    a large mean (the variance is two-pass, so no cancellation), and under mixed precision."""
    x = (RNG.normal(size=shape) * 3 + 50).astype(np.float32)
    ours, keras_gn = GroupNorm(groups=groups), keras.layers.GroupNormalization(groups=groups)
    ours.build(shape)
    keras_gn.build(shape)
    weights = [RNG.normal(size=w.shape).astype(np.float32) for w in keras_gn.weights]
    ours.set_weights(weights)
    keras_gn.set_weights(weights)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(keras_gn(x)), atol=2e-5)
    half = GroupNorm(groups=groups, dtype="mixed_float16")
    half.build(shape)
    half.set_weights(weights)
    y = half(x)
    assert y.dtype == "float16"
    np.testing.assert_allclose(np.asarray(y, np.float32), np.asarray(keras_gn(x)), atol=2e-2)


@pytest.mark.parametrize("shape", [(16, 5, 6, 8), (32, 10), (8, 5, 6)])
def test_fused_batch_norm_trains_like_keras_batch_normalization(shape):
    """Three training steps of both layers from the same weights: the same outputs, gradients
    and moving statistics (to float32 rounding of activations with a large mean); the fused
    kernel is the one that ran on images; inference is Keras' own."""
    import tensorflow as tf

    x = tf.constant((RNG.normal(size=shape) * 3 + 50).astype(np.float32))
    ours, theirs = FusedBatchNorm(momentum=0.8), keras.layers.BatchNormalization(momentum=0.8)
    ours.build(shape)
    theirs.build(shape)
    weights = [RNG.normal(size=w.shape).astype(np.float32) for w in theirs.weights]
    weights[3] = np.abs(weights[3])  # moving variance
    ours.set_weights(weights)
    theirs.set_weights(weights)

    def step(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.sin(y))
        return [y, *tape.gradient(loss, [x, layer.gamma, layer.beta])]

    for _ in range(3):
        for a, b in zip(step(ours), step(theirs)):
            scale = float(np.abs(np.asarray(b)).max())
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=5e-5 * scale)
    np.testing.assert_allclose(np.asarray(ours.moving_mean), np.asarray(theirs.moving_mean), 1e-6)
    np.testing.assert_allclose(
        np.asarray(ours.moving_variance), np.asarray(theirs.moving_variance), 1e-5
    )
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)

    graph = tf.function(lambda t: ours(t, training=True)).get_concrete_function(x).graph
    # The fused kernel for images; Keras' own computation for other ranks.
    assert ("FusedBatchNormV3" in {op.type for op in graph.get_operations()}) == (len(shape) == 4)
    inference = tf.function(lambda t: ours(t, training=False)).get_concrete_function(x).graph
    assert "FusedBatchNormV3" not in {op.type for op in inference.get_operations()}


def test_fused_batch_norm_under_mixed_precision_returns_the_compute_dtype():
    x = (RNG.normal(size=(4, 3, 3, 2)) * 2 + 5).astype(np.float32)
    half = FusedBatchNorm(dtype="mixed_float16")
    y = half(x, training=True)
    assert y.dtype == "float16" and half.moving_mean.dtype == "float32"
    full = np.asarray(keras.layers.BatchNormalization()(x, training=True))
    np.testing.assert_allclose(np.asarray(y, np.float32), full, atol=1e-2)


def test_classification_head_gives_probabilities_or_logits():
    features = keras.Input(shape=(16,), name="features")
    probabilities = keras.Model(features, classification_head(features, 5))
    logits = keras.Model(features, classification_head(features, 5, None, dropout=0.5))
    assert probabilities.layers[-1].name == "probabilities"
    assert [layer.name for layer in logits.layers[1:]] == ["dropout", "logits"]
    logits.get_layer("logits").set_weights(probabilities.get_layer("probabilities").get_weights())

    x = RNG.normal(size=(8, 16)).astype(np.float32)
    p = np.asarray(probabilities.predict_on_batch(x))
    z = np.asarray(logits.predict_on_batch(x))  # dropout is off in inference
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-6)
    kernel, bias = logits.get_layer("logits").get_weights()
    np.testing.assert_allclose(z, x @ kernel + bias, atol=1e-5)
    assert (z < 0).any()  # raw scores, not probabilities
    np.testing.assert_allclose(p, np.asarray(keras.ops.softmax(z)), atol=1e-6)


def test_layers_stay_importable_from_their_old_modules():
    from fdl_keras.rl import networks
    from fdl_keras.vision import cifar_cnn, resnet

    assert networks.FoldTime is FoldTime and networks.UnfoldTime is UnfoldTime
    assert networks.ResettingLSTMCell is ResettingLSTMCell
    assert resnet.ZeroPadShortcut is ZeroPadShortcut
    assert cifar_cnn.PerImageStandardization is PerImageStandardization


# Token ids (0 = padding) padded on the right, on the left, inside, and a row of padding only.
PADDED_IDS = np.array(
    [[3, 7, 2, 9, 4, 5], [6, 1, 8, 0, 0, 0], [0, 0, 4, 4, 2, 7], [5, 0, 3, 0, 0, 9], [0] * 6]
)


def same_as_keras(theirs, ours, call):
    """Copies ``theirs``' weights into ``ours`` and asserts that ``call(layer)`` (a list of
    outputs) and the gradients of a weighted sum of it agree; returns both layers' outputs."""
    import tensorflow as tf

    call(theirs), call(ours)  # builds both
    ours.set_weights(theirs.get_weights())
    results = []
    for layer in (theirs, ours):
        with tf.GradientTape() as tape:
            outputs = call(layer)
            loss = sum(tf.reduce_sum(o * tf.range(1.0, 1.0 + o.shape[-1])) for o in outputs)
        gradients = tape.gradient(loss, layer.weights)
        results.append(([o.numpy() for o in outputs], [g.numpy() for g in gradients]))
    (theirs_out, theirs_grads), (ours_out, ours_grads) = results
    for ours_array, theirs_array in zip(ours_out, theirs_out, strict=True):
        np.testing.assert_allclose(ours_array, theirs_array, atol=1e-6)
    for ours_grad, theirs_grad in zip(ours_grads, theirs_grads, strict=True):
        np.testing.assert_allclose(ours_grad, theirs_grad, atol=1e-5)
    return theirs_out, ours_out


@pytest.mark.parametrize(
    "rnn, merge_mode",
    [(keras.layers.LSTM, "concat"), (keras.layers.GRU, "sum"), (keras.layers.LSTM, "mul")],
)
def test_packed_bidirectional_equals_keras_bidirectional_for_any_padding(rnn, merge_mode):
    embedding = keras.layers.Embedding(10, 4, mask_zero=True)
    x = embedding(PADDED_IDS)
    theirs = keras.layers.Bidirectional(rnn(3, return_sequences=True), merge_mode=merge_mode)
    ours = PackedBidirectional(rnn(3, return_sequences=True), merge_mode=merge_mode)
    (theirs_out,), (ours_out,) = same_as_keras(theirs, ours, lambda layer: [layer(x)])
    assert np.abs(theirs_out[PADDED_IDS == 0]).max() == 0.0  # padded steps output 0 in both
    # The padding changes nothing: the right-padded review alone gives the same steps.
    alone = ours(embedding(PADDED_IDS[1:2, :3])).numpy()
    np.testing.assert_allclose(alone[0], ours_out[1, :3], atol=1e-6)


def test_packed_bidirectional_lstm_exports_as_native_onnx_lstm_ops(tmp_path):
    import onnx

    from fdl_keras.export import export

    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    outputs = PackedBidirectional(keras.layers.LSTM(3, return_sequences=True))(x)
    report = export(keras.Model(ids, outputs), tmp_path, sample=PADDED_IDS.astype("int32"))
    assert report["passed"] and report["runtimes"]["onnx"]["max_abs_diff"] <= 1e-5
    op_types = {node.op_type for node in onnx.load(tmp_path / "model.onnx").graph.node}
    assert "LSTM" in op_types and "Loop" not in op_types, sorted(op_types)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_exportable_gru_equals_keras_gru(go_backwards, return_sequences):
    """Same outputs, final state and gradients as keras.layers.GRU on the same weights."""
    x = RNG.normal(size=(3, 6, 4)).astype(np.float32)
    state = RNG.normal(size=(3, 5)).astype(np.float32)
    kwargs = dict(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    theirs, ours = keras.layers.GRU(5, **kwargs), ExportableGRU(5, **kwargs)
    same_as_keras(theirs, ours, lambda layer: layer(x, initial_state=state))


def test_exportable_gru_exports_as_a_native_onnx_gru_op(tmp_path):
    """Keras' own GRU becomes a Loop in ONNX; ExportableGRU one bidirectional GRU op."""
    import onnx

    from fdl_keras.export import export

    def op_types(gru, folder):
        ids = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(10, 4)(ids)
        outputs = keras.layers.Bidirectional(gru(3, return_sequences=True))(x)
        report = export(keras.Model(ids, outputs), folder, sample=PADDED_IDS.astype("int32"))
        assert report["passed"] and report["runtimes"]["onnx"]["max_abs_diff"] <= 1e-5
        return {node.op_type for node in onnx.load(folder / "model.onnx").graph.node}

    ours = op_types(ExportableGRU, tmp_path / "ours")
    assert "GRU" in ours and "Loop" not in ours, sorted(ours)
    assert "Loop" in op_types(keras.layers.GRU, tmp_path / "keras")
