"""Discounted returns and GAE against values computed by hand."""

import numpy as np
import pytest

from fdl_keras.rl.returns import discounted_returns, generalized_advantages, normalize


def test_discounted_returns_bootstrap_from_last_value():
    # G2 = 3 + 0.9 * 10 = 12; G1 = 2 + 0.9 * 12 = 12.8; G0 = 1 + 0.9 * 12.8 = 12.52
    returns = discounted_returns([1.0, 2.0, 3.0], [0, 0, 0], 0.9, last_value=10.0)
    np.testing.assert_allclose(returns, [12.52, 12.8, 12.0], rtol=1e-6)


def test_discounted_returns_stop_at_episode_end():
    # The episode ends at step 1: G1 = 1, G0 = 1 + 0.5; steps 2-3 bootstrap from 2.
    returns = discounted_returns([1.0, 1.0, 1.0, 1.0], [0, 1, 0, 0], 0.5, last_value=2.0)
    np.testing.assert_allclose(returns, [1.5, 1.0, 2.0, 2.0])


def test_discounted_returns_over_parallel_envs():
    rewards = np.array([[1.0, 0.0], [1.0, 1.0]])  # (time, envs)
    dones = np.array([[0, 1], [0, 0]])
    returns = discounted_returns(rewards, dones, 0.5, last_value=np.array([4.0, 0.0]))
    # env 0: G1 = 1 + 2 = 3, G0 = 1 + 1.5 = 2.5; env 1: G1 = 1, G0 = 0 (episode ended there).
    np.testing.assert_allclose(returns, [[2.5, 0.0], [3.0, 1.0]])


def test_gae_by_hand():
    # deltas: d2 = 2 - 0 = 2 (terminal), d1 = 0 + 0.9 * 0 - 1 = -1, d0 = 1 + 0.9 * 1 - 0.5 = 1.4
    # A2 = 2, A1 = -1 + 0.72 * 2 = 0.44, A0 = 1.4 + 0.72 * 0.44 = 1.7168
    advantages, targets = generalized_advantages(
        [1.0, 0.0, 2.0], [0.5, 1.0, 0.0], [0, 0, 1], last_value=5.0, gamma=0.9, lam=0.8
    )
    np.testing.assert_allclose(advantages, [1.7168, 0.44, 2.0], rtol=1e-6)
    np.testing.assert_allclose(targets, [2.2168, 1.44, 2.0], rtol=1e-6)


@pytest.mark.parametrize("dones", [[0, 0, 0, 0], [0, 1, 0, 0]])
def test_gae_limits(dones):
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=4), rng.normal(size=4)
    # lambda = 1: Monte-Carlo returns minus the values.
    advantages, _ = generalized_advantages(rewards, values, dones, 0.7, 0.9, 1.0)
    expected = discounted_returns(rewards, dones, 0.9, last_value=0.7) - values
    np.testing.assert_allclose(advantages, expected, rtol=1e-5, atol=1e-6)
    # lambda = 0: the one-step TD errors.
    advantages, _ = generalized_advantages(rewards, values, dones, 0.7, 0.9, 0.0)
    next_values = np.append(values[1:], 0.7) * (1 - np.asarray(dones))
    np.testing.assert_allclose(advantages, rewards + 0.9 * next_values - values, rtol=1e-5)


def test_normalize():
    x = normalize([1.0, 2.0, 3.0, 4.0])
    assert abs(x.mean()) < 1e-6 and abs(x.std() - 1.0) < 1e-5
