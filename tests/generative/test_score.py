"""Score model: denoising score matching on real MNIST and annealed Langevin dynamics."""

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.generative import annealed_langevin_dynamics, noise_levels, reverse_diffusion
from fdl_keras.generative.score import sample

TINY = fdl_keras.get_spec("ncsn").tiny


def test_denoising_score_matching_loss_falls(mnist_images):
    keras.utils.set_random_seed(0)
    net = fdl_keras.build("ncsn", **TINY)
    net.compile(learning_rate=3e-3)
    assert net.optimizer.use_ema  # by default; off here, where a few steps are all there is
    net.compile(learning_rate=3e-3, ema_momentum=None)
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
    for options in ({"sampler": "langevin", "steps_per_level": 2}, {"num_steps": 3}):
        a = sample(net, 5, seed=3, batch_size=2, **options)
        b = sample(net, 5, seed=3, batch_size=2, **options)
        assert a.shape == (5, 28, 28, 1) and np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a[:2], a[2:4])
    with pytest.raises(ValueError, match="sampler must be one of"):
        sample(net, 1, sampler="euler")


@pytest.mark.parametrize("corrector_steps", [0, 1])
def test_reverse_diffusion_samples_a_gaussian(corrector_steps):
    # Data N(mu, s^2) per pixel: the score of its sigma-blurred version is known exactly.
    mu, s = 0.3, 0.5

    def score(x, sigma):
        return (mu - x) / (s**2 + sigma[:, :, None, None] ** 2)

    sigmas = noise_levels(10.0, 0.01, 100)
    prior = 10.0 * np.random.default_rng(0).standard_normal((2000, 4, 4, 1), dtype=np.float32)
    x = reverse_diffusion(score, prior, sigmas, corrector_steps=corrector_steps, seed=1)
    assert x.mean() == pytest.approx(mu, abs=0.01)
    # The predictor's discretisation widens the result (by 3 % at 100 levels); the corrector
    # removes most of that.
    assert x.std() == pytest.approx(s, rel=0.04 if corrector_steps == 0 else 0.02)
    # Without any data the prior's spread (10) would survive; one point collapses to it.
    point = reverse_diffusion(
        lambda x, sigma: (mu - x) / sigma[:, :, None, None] ** 2, prior[:4], sigmas, seed=1
    )
    np.testing.assert_allclose(point, mu, atol=1e-5)
