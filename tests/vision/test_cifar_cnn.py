"""The CIFAR-10 CNN: normalisation variants, per-image standardisation, the CIFAR augmentation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fdl_keras
from fdl_keras.data import make_pipeline
from fdl_keras.testing import example_batch
from fdl_keras.vision.cifar_cnn import CifarConvNet, PerImageStandardization


def test_book_architecture_and_norm_layers():
    layers = {
        norm: [type(layer).__name__ for layer in CifarConvNet(norm=norm).layers]
        for norm in ("none", "batch", "group")
    }
    assert layers["none"].count("Conv2D") == 2 and layers["none"].count("Dense") == 3
    assert layers["batch"].count("FusedBatchNorm") == 4  # Keras' arithmetic, fused kernel
    assert layers["group"].count("GroupNorm") == 4  # Keras' arithmetic, ONNX-friendly
    model = fdl_keras.build("cifar_cnn")
    assert model.get_layer("conv_1").kernel.shape == (5, 5, 3, 64)
    assert model.get_layer("conv_2").kernel.shape == (5, 5, 64, 64)
    assert [model.get_layer(n).units for n in ("dense_1", "dense_2", "probabilities")] == [
        384,
        192,
        10,
    ]


def _trained_tiny(name):
    """A tiny ``name`` model after a few Adam steps on real images (so the norm layers' scale
    and offset are no longer 1 and 0), and that batch of images."""
    keras.utils.set_random_seed(0)
    spec = fdl_keras.get_spec(name)
    model = spec.build(**spec.tiny)
    x, y = example_batch(spec, model, size=32)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=5, verbose=0)
    return model, x


def _in_and_out(model, layer, x, training):
    probe = keras.Model(model.inputs, [layer.input, layer.output])
    return [np.asarray(t, np.float64) for t in probe(x, training=training)]


def test_batch_norm_layers_normalise_each_channel_over_the_batch():
    model, x = _trained_tiny("cifar_cnn_bn")
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(layers) == 4
    for layer in layers:
        gamma, beta = (np.asarray(w, np.float64) for w in (layer.gamma, layer.beta))
        assert np.abs(gamma - 1).max() > 1e-3 and np.abs(beta).max() > 1e-3  # trained
        axes = tuple(range(layer.input.ndim - 1))  # all but the channel axis
        # Training mode: batch statistics, so every channel has mean beta and variance
        # gamma^2 v / (v + eps) over the batch, v being the channel's input variance.
        inputs, outputs = _in_and_out(model, layer, x, training=True)
        variance = inputs.var(axis=axes)
        np.testing.assert_allclose(outputs.mean(axis=axes), beta, atol=1e-3, err_msg=layer.name)
        np.testing.assert_allclose(
            outputs.var(axis=axes),
            gamma**2 * variance / (variance + layer.epsilon),
            rtol=1e-2,
            atol=1e-5,
            err_msg=layer.name,
        )
    # Inference mode: the moving statistics. After training-mode passes over the same batch
    # they track its statistics (momentum 0.9), so the inference output is normalised too.
    for _ in range(100):
        model(x, training=True)
    for layer in layers:
        gamma, beta = (np.asarray(w, np.float64) for w in (layer.gamma, layer.beta))
        axes = tuple(range(layer.input.ndim - 1))
        inputs, outputs = _in_and_out(model, layer, x, training=False)
        variance = inputs.var(axis=axes)
        np.testing.assert_allclose(
            np.asarray(layer.moving_mean), inputs.mean(axis=axes), rtol=1e-2, atol=1e-4
        )
        np.testing.assert_allclose(outputs.mean(axis=axes), beta, atol=1e-2, err_msg=layer.name)
        np.testing.assert_allclose(
            outputs.var(axis=axes),
            gamma**2 * variance / (variance + layer.epsilon),
            rtol=3e-2,
            atol=1e-4,
            err_msg=layer.name,
        )


def test_group_norm_layers_normalise_each_group_of_each_image():
    model, x = _trained_tiny("cifar_cnn_gn")
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert len(layers) == 4
    for layer in layers:
        gamma, beta = (np.asarray(w, np.float64) for w in (layer.gamma, layer.beta))
        assert np.abs(gamma - 1).max() > 1e-3 and np.abs(beta).max() > 1e-3  # trained
        inputs, outputs = _in_and_out(model, layer, x, training=False)
        # Undo the per-channel affine map, then split channels into (groups, channels/group):
        # each image's group has mean 0 and variance v / (v + eps) over its pixels.
        groups, channels = model.get_config()["groups"], inputs.shape[-1]  # 4 (tiny)
        shape = (len(x), -1, groups, channels // groups)
        normalised = ((outputs - beta) / gamma).reshape(shape)
        grouped_inputs = inputs.reshape(shape)
        variance = grouped_inputs.var(axis=(1, 3))
        np.testing.assert_allclose(normalised.mean(axis=(1, 3)), 0.0, atol=1e-3, err_msg=layer.name)
        np.testing.assert_allclose(
            normalised.var(axis=(1, 3)),
            variance / (variance + layer.epsilon),
            rtol=1e-2,
            atol=1e-5,
            err_msg=layer.name,
        )
        # Per image: the same image alone gets the same output (no batch statistics).
        alone = _in_and_out(model, layer, x[:1], training=False)[1]
        np.testing.assert_allclose(alone, outputs[:1], rtol=1e-4, atol=1e-5, err_msg=layer.name)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="norm must be one of"):
        CifarConvNet(norm="layer")
    with pytest.raises(ValueError, match="groups=32 must divide"):
        CifarConvNet(norm="group", filters=(8, 8))


def test_per_image_standardization_matches_tensorflow():
    images = np.random.default_rng(0).uniform(size=(4, 6, 6, 3)).astype(np.float32)
    images[1] = 0.5  # a flat image: the floored standard deviation avoids 0/0
    got = np.asarray(PerImageStandardization()(images))
    np.testing.assert_allclose(got, tf.image.per_image_standardization(images), atol=1e-5)


def test_cifar_augmentation_is_deterministic_and_keeps_range():
    x = np.random.default_rng(0).integers(0, 255, (16, 32, 32, 3)).astype(np.uint8)
    y = np.zeros(16, np.int64)

    def run(seed):
        ds = make_pipeline(x, y, batch_size=16, scale=255.0, seed=seed, augment="cifar")
        return next(iter(ds))[0].numpy()

    first = run(3)
    np.testing.assert_array_equal(first, run(3))
    assert not np.array_equal(first, run(4))
    assert first.shape == x.shape and first.min() >= 0.0 and first.max() <= 1.0


def test_contract_batch_falls_back_to_real_images_of_the_models_shape():
    # CIFAR-10 is not on the test machines: the batch comes from MNIST (or digits), resized and
    # repeated to RGB; on a machine with CIFAR-10 it is CIFAR-10 itself.
    spec = fdl_keras.get_spec("cifar_cnn")
    model = spec.build(**spec.tiny)
    x, y = example_batch(spec, model)
    assert x.shape == (8, 32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.05
    assert y.shape == (8,) and set(y) <= set(range(10))
