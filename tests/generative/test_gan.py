"""DCGAN: the custom train_step on real MNIST, loss scaling under mixed precision, sample grids."""

import keras
import numpy as np
import pytest
import tensorflow as tf

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
    assert min(moved) > 0  # every generator weight (kernels, BN scales and offsets) learned
    assert gan.optimizer is gan.g_optimizer and gan.d_optimizer is not gan.g_optimizer


def test_generator_steps_lower_g_loss_against_a_frozen_discriminator(mnist_images):
    """The generator's half of train_step on its own: Adam steps on g_loss = -log D(G(z)) that
    only touch the generator fool a fixed discriminator better and better."""
    keras.utils.set_random_seed(0)
    gan = fdl_keras.build("dcgan", **TINY)
    gan.compile(learning_rate=1e-3)
    gan.fit(mnist_images[:256], epochs=1, batch_size=64, verbose=0)  # a discriminator to fool
    latent = tf.constant(gan.noise_inputs(64, seed=3))
    g_weights = gan.generator.trainable_weights
    d_before = [w.numpy().copy() for w in gan.discriminator.weights]
    optimizer = gan.g_optimizer  # Adam(1e-3, beta_1=0.5), built for the generator

    def g_loss():
        # The generator in training mode (batch statistics, as in train_step) and the
        # discriminator in inference mode (no dropout): a fixed function of the generator.
        logits = gan.discriminator(gan.generator(latent, training=True), training=False)
        return gan.cross_entropy(tf.ones_like(logits), logits)

    @tf.function
    def generator_step():
        with tf.GradientTape() as tape:
            loss = g_loss()
        optimizer.apply_gradients(zip(tape.gradient(loss, g_weights), g_weights))

    losses = [float(g_loss())]
    for _ in range(3):
        for _ in range(5):
            generator_step()
        losses.append(float(g_loss()))
    # Here: 0.70, 0.62, 0.56, 0.50 (each 5 steps).
    assert np.all(np.diff(losses) < 0), losses
    assert losses[-1] < 0.8 * losses[0], losses
    for a, w in zip(d_before, gan.discriminator.weights):  # the discriminator stayed frozen
        np.testing.assert_array_equal(a, w.numpy())


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
