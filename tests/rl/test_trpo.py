"""TRPO: conjugate gradient, tfp KL, and a natural-gradient step that respects the trust region."""

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'")

import tensorflow as tf  # noqa: E402

from fdl_keras.rl import train_agent  # noqa: E402
from fdl_keras.rl.trpo import conjugate_gradient, mean_kl  # noqa: E402


def test_conjugate_gradient_solves_a_positive_definite_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = (m @ m.T + 0.5 * np.eye(6)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    x = conjugate_gradient(lambda v: tf.linalg.matvec(a, v), tf.constant(b), iterations=20)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)


def test_mean_kl_of_categoricals_by_hand():
    old = np.log(np.array([[0.5, 0.5], [0.9, 0.1]], np.float32))
    new = np.log(np.array([[0.25, 0.75], [0.9, 0.1]], np.float32))
    expected = (0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)) / 2  # second row: 0
    assert float(mean_kl(old, new)) == pytest.approx(expected, rel=1e-5)


def test_trpo_improves_within_the_trust_region():
    result = train_agent("trpo_cartpole", total_steps=8_192, seed=0, verbose=0)
    returns = np.asarray(result["episode_returns"])
    assert returns[-10:].mean() > 2 * returns[:10].mean(), returns
    metrics = result["agent"].metrics
    assert metrics["kl"] <= result["agent"].config["max_kl"] or not metrics["step_accepted"]
