"""The CIFAR-10 CNN: normalisation variants, per-image standardisation, the CIFAR augmentation."""

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
    assert layers["batch"].count("BatchNormalization") == 4
    assert layers["group"].count("GroupNormalization") == 4
    model = fdl_keras.build("cifar_cnn")
    assert model.get_layer("conv_1").kernel.shape == (5, 5, 3, 64)
    assert model.get_layer("conv_2").kernel.shape == (5, 5, 64, 64)
    assert [model.get_layer(n).units for n in ("dense_1", "dense_2", "probabilities")] == [
        384,
        192,
        10,
    ]


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
