"""DCGAN: the custom train_step on real MNIST, loss scaling under mixed precision, sample grids."""

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.generative import GAN, SampleGrid

TINY = fdl_keras.get_spec("dcgan").tiny


def test_discriminator_learns_and_generator_moves(mnist_images):
    keras.utils.set_random_seed(0)
    gan = fdl_keras.build("dcgan", **TINY)
    gan.compile(learning_rate=1e-3)
    before = gan.evaluate(mnist_images[:256], batch_size=128, verbose=0, return_dict=True)
    weights = [w.numpy().copy() for w in gan.generator.trainable_weights]
    history = gan.fit(mnist_images, epochs=2, batch_size=64, verbose=0)
    after = gan.evaluate(mnist_images[:256], batch_size=128, verbose=0, return_dict=True)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert after["d_loss"] < before["d_loss"], (before, after)
    moved = [np.abs(a - w.numpy()).max() for a, w in zip(weights, gan.generator.trainable_weights)]
    assert max(moved) > 0
    assert gan.optimizer is gan.g_optimizer and gan.d_optimizer is not gan.g_optimizer


def test_mixed_precision_scales_both_losses(mnist_images):
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        gan = GAN(**TINY)
        gan.compile()
        assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
        history = gan.fit(mnist_images[:64], epochs=1, batch_size=32, verbose=0)
        assert all(np.isfinite(v).all() for v in history.history.values())
        samples = gan.predict(gan.noise_inputs(2), verbose=0)
        assert samples.dtype == np.float32 and np.all((samples >= 0) & (samples <= 1))
    finally:
        keras.mixed_precision.set_global_policy(policy)


def test_sample_grid_per_epoch(mnist_images, tmp_path):
    gan = GAN(**TINY)
    gan.compile()
    grid = SampleGrid(num_samples=9, seed=1, directory=tmp_path)
    gan.fit(mnist_images[:64], epochs=2, batch_size=32, verbose=0, callbacks=[grid])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "samples_epoch_001.png",
        "samples_epoch_002.png",
    ]
    assert grid.grids[1].shape == (3 * 29 + 1, 3 * 29 + 1)
    np.testing.assert_array_equal(  # the fixed noise: the last grid is today's samples
        grid.grids[1][1:29, 1:29], gan.predict(gan.noise_inputs(9, seed=1), verbose=0)[0, ..., 0]
    )


def test_generator_rejects_shape_it_cannot_reach():
    with pytest.raises(ValueError, match="divisible by 4"):
        GAN(image_shape=(30, 30, 1))
