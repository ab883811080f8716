"""Score model: denoising score matching on real MNIST and annealed Langevin dynamics."""

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.generative import annealed_langevin_dynamics, noise_levels
from fdl_keras.generative.score import sample

TINY = fdl_keras.get_spec("ncsn").tiny


def test_denoising_score_matching_loss_falls(mnist_images):
    keras.utils.set_random_seed(0)
    net = fdl_keras.build("ncsn", **TINY)
    net.compile(learning_rate=3e-3)
    before = net.evaluate(mnist_images[:256], batch_size=128, verbose=0, return_dict=True)
    net.fit(mnist_images, epochs=2, batch_size=64, verbose=0)
    after = net.evaluate(mnist_images[:256], batch_size=128, verbose=0, return_dict=True)
    assert after["loss"] < 0.8 * before["loss"], (before, after)
    np.testing.assert_allclose(net.sigmas, np.geomspace(1.0, 0.01, TINY["num_levels"]), rtol=1e-6)


def test_annealed_langevin_removes_the_noise():
    # Data = one image x*: the score of x* blurred by sigma is (x* - x) / sigma^2.
    target = np.random.default_rng(0).uniform(size=(1, 8, 8, 1)).astype(np.float32)

    def score(x, sigma):
        return (target - x) / sigma[:, :, None, None] ** 2

    start = np.random.default_rng(1).uniform(size=(16, 8, 8, 1)).astype(np.float32)
    sigmas = noise_levels(1.0, 0.01, 10)
    noisy = annealed_langevin_dynamics(score, start, sigmas, steps_per_level=30, denoise=False)
    clean = annealed_langevin_dynamics(score, start, sigmas, steps_per_level=30, denoise=True)
    assert np.abs(start - target).mean() > 0.2
    # The last level leaves noise of about sigma_L = 0.01; Tweedie's step removes it.
    assert (noisy - target).std() == pytest.approx(0.01, rel=0.2)
    assert np.abs(clean - target).max() < 1e-5


def test_sampling_is_seeded_and_batched():
    net = fdl_keras.build("ncsn", **TINY)
    a = sample(net, 5, seed=3, batch_size=2, steps_per_level=2)
    b = sample(net, 5, seed=3, batch_size=2, steps_per_level=2)
    assert a.shape == (5, 28, 28, 1) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:2], a[2:4])
