"""Chapter 2 probability, checked against SciPy and closed forms in float64."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
import tensorflow_probability as tfp

from fdl_keras.fundamentals import probability

tfd = tfp.distributions
ATOL = 1e-6

P = np.array([0.1, 0.2, 0.3, 0.4])
Q = np.array([0.25, 0.25, 0.4, 0.1])


def gaussian_kl(mp, sp, mq, sq):
    return np.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5


def gaussian_cross_entropy(mp, sp, mq, sq):
    return 0.5 * np.log(2 * np.pi * sq**2) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2)


# --- Discrete distributions -----------------------------------------------------------------


@pytest.mark.parametrize("base", [None, 2, 10])
def test_discrete_measures_match_scipy(base):
    scale = 1.0 if base is None else np.log(base)
    np.testing.assert_allclose(
        probability.entropy(P, base=base), scipy.stats.entropy(P, base=base), atol=ATOL
    )
    np.testing.assert_allclose(
        probability.kl_divergence(P, Q, base=base), scipy.stats.entropy(P, Q, base=base), atol=ATOL
    )
    np.testing.assert_allclose(
        probability.cross_entropy(P, Q, base=base), -np.sum(P * np.log(Q)) / scale, atol=ATOL
    )


def test_discrete_measures_are_batched_and_consistent():
    p = np.stack([P, Q, np.full(4, 0.25)])
    h = probability.entropy(p)
    np.testing.assert_allclose(h, scipy.stats.entropy(p, axis=-1), atol=ATOL)
    np.testing.assert_allclose(h[2], np.log(4), atol=ATOL)  # uniform is the maximum
    np.testing.assert_allclose(
        probability.cross_entropy(p, Q), h + probability.kl_divergence(p, Q), atol=ATOL
    )
    np.testing.assert_allclose(probability.kl_divergence(p, p), 0.0, atol=ATOL)
    assert h.dtype == tf.float64


def test_zero_probabilities():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    np.testing.assert_allclose(probability.entropy(p), np.log(2), atol=ATOL)  # 0 log 0 = 0
    np.testing.assert_allclose(
        probability.kl_divergence(p, q), scipy.stats.entropy(p, q), atol=ATOL
    )
    assert np.isinf(probability.kl_divergence(q, p))  # q puts mass where p has none
    assert np.isinf(probability.cross_entropy(q, p))


@pytest.mark.parametrize(
    "bad, message",
    [
        ([0.5, 0.6], "sum to 1"),
        ([[0.5, 0.5], [0.3, 0.3]], "sum to 1"),
        ([-0.1, 1.1], "non-negative"),
        ([np.nan, 1.0], "finite"),
        (1.0, "at least one axis"),
    ],
)
@pytest.mark.parametrize(
    "measure",
    [
        probability.entropy,
        lambda p: probability.cross_entropy(p, np.full(np.shape(p)[-1:], 0.5)),
        lambda p: probability.kl_divergence(np.full(np.shape(p)[-1:], 0.5), p),
        probability.validate_probabilities,
    ],
)
def test_invalid_probabilities_raise(measure, bad, message):
    with pytest.raises(ValueError, match=message):
        measure(bad)


def test_validate_probabilities_tolerance():
    probability.validate_probabilities([0.5, 0.5 + 1e-9])
    with pytest.raises(ValueError, match=r"within 1e-12"):
        probability.validate_probabilities([0.5, 0.5 + 1e-9], atol=1e-12)


def test_support_sizes_must_agree():
    with pytest.raises(ValueError, match="p has 4 outcomes but q has 2 outcomes"):
        probability.kl_divergence(P, [0.5, 0.5])
    with pytest.raises(ValueError, match="p has 4 outcomes but q has 2 outcomes"):
        probability.cross_entropy(P, [0.5, 0.5])


# --- Gaussians ------------------------------------------------------------------------------


def test_normal_measures_match_closed_form():
    mp, sp = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    mq, sq = np.array([0.5, 1.0, 1.0]), np.array([2.0, 0.5, 1.5])
    np.testing.assert_allclose(
        probability.normal_entropy(mp, sp), scipy.stats.norm(mp, sp).entropy(), atol=ATOL
    )
    np.testing.assert_allclose(
        probability.normal_entropy(0.0, 1.0, base=2), 0.5 * np.log2(2 * np.pi * np.e), atol=ATOL
    )
    np.testing.assert_allclose(
        probability.normal_kl_divergence(mp, sp, mq, sq), gaussian_kl(mp, sp, mq, sq), atol=ATOL
    )
    np.testing.assert_allclose(
        probability.normal_cross_entropy(mp, sp, mq, sq),
        gaussian_cross_entropy(mp, sp, mq, sq),
        atol=ATOL,
    )
    np.testing.assert_allclose(probability.normal_kl_divergence(1.0, 2.0, 1.0, 2.0), 0.0, atol=ATOL)


def test_normal_kl_against_numerical_integration():
    x = np.linspace(-20, 20, 200_001)
    p, q = scipy.stats.norm(0.3, 0.8), scipy.stats.norm(-0.5, 1.3)
    integral = np.trapezoid(p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), x)
    np.testing.assert_allclose(
        probability.normal_kl_divergence(0.3, 0.8, -0.5, 1.3), integral, atol=ATOL
    )


def test_diag_gaussian_measures_sum_over_dimensions():
    mp, sp = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    mq, sq = np.array([0.5, 1.0, 1.0]), np.array([2.0, 0.5, 1.5])
    np.testing.assert_allclose(
        probability.diag_gaussian_entropy(mp, sp),
        scipy.stats.multivariate_normal(mp, np.diag(sp**2)).entropy(),
        atol=ATOL,
    )
    np.testing.assert_allclose(
        probability.diag_gaussian_kl_divergence(mp, sp, mq, sq),
        np.sum(gaussian_kl(mp, sp, mq, sq)),
        atol=ATOL,
    )
    np.testing.assert_allclose(
        probability.diag_gaussian_cross_entropy(mp, sp, mq, sq),
        np.sum(gaussian_cross_entropy(mp, sp, mq, sq)),
        atol=ATOL,
    )
    batch = probability.diag_gaussian_kl_divergence(np.stack([mp, mq]), np.stack([sp, sq]), mq, sq)
    np.testing.assert_allclose(batch, [np.sum(gaussian_kl(mp, sp, mq, sq)), 0.0], atol=ATOL)


@pytest.mark.parametrize("scale", [0.0, -1.0, [1.0, 0.0]])
def test_gaussian_scales_must_be_positive(scale):
    with pytest.raises(ValueError, match="standard deviations must be positive"):
        probability.normal_entropy(0.0, scale)
    with pytest.raises(ValueError, match="must be positive"):
        probability.normal_kl_divergence(0.0, 1.0, 0.0, scale)
    with pytest.raises(ValueError, match="must be positive"):
        probability.diag_gaussian_entropy([0.0, 0.0], np.broadcast_to(scale, (2,)))


def test_diag_gaussian_dimensions_must_agree():
    with pytest.raises(ValueError, match="last axes"):
        probability.diag_gaussian_entropy([0.0, 0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="p is 3-dimensional but q is 2-dimensional"):
        probability.diag_gaussian_kl_divergence(np.zeros(3), np.ones(3), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="p is 3-dimensional but q is 2-dimensional"):
        probability.diag_gaussian_cross_entropy(np.zeros(3), np.ones(3), np.zeros(2), np.ones(2))


# --- Bayes' rule ----------------------------------------------------------------------------


def test_posterior_matches_bayes_rule():
    prior = np.array([0.7, 0.2, 0.1])
    likelihood = np.array([0.1, 0.5, 0.9])
    joint = prior * likelihood
    np.testing.assert_allclose(probability.evidence(prior, likelihood), joint.sum(), atol=ATOL)
    np.testing.assert_allclose(
        probability.posterior(prior, likelihood), joint / joint.sum(), atol=ATOL
    )


def test_posterior_over_many_observations_equals_sequential_updates():
    prior = np.array([0.5, 0.3, 0.2])
    heads = np.array([0.3, 0.5, 0.8])  # P(heads | coin h)
    flips = np.array([1, 1, 0, 1, 1, 1, 0, 1])
    likelihood = np.where(flips[:, None] == 1, heads, 1 - heads)
    belief = prior
    for row in likelihood:
        belief = np.asarray(probability.posterior(belief, row))
    np.testing.assert_allclose(probability.posterior(prior, likelihood), belief, atol=ATOL)
    np.testing.assert_allclose(
        probability.evidence(prior, likelihood), np.sum(prior * likelihood.prod(axis=0)), atol=ATOL
    )


def test_posterior_survives_underflow():
    # 3000 observations: the raw likelihood products underflow (to 0 or a subnormal), so the
    # naive normalisation gives nan or a wrong answer; log space does not.
    likelihood = np.tile([[0.6, 0.5]], (3000, 1))
    with np.errstate(all="ignore"):
        naive = 0.5 * likelihood.prod(axis=0)
        assert not np.allclose(naive / naive.sum(), [1.0, 0.0], atol=0.1)
    np.testing.assert_allclose(probability.posterior([0.5, 0.5], likelihood), [1.0, 0.0], atol=ATOL)


def test_zero_prior_stays_zero():
    np.testing.assert_allclose(probability.posterior([0.0, 1.0], [0.9, 0.1]), [0.0, 1.0], atol=ATOL)


@pytest.mark.parametrize(
    "prior, likelihood, message",
    [
        ([0.5, 0.6], [0.5, 0.5], "prior: probabilities must sum to 1"),
        ([-0.5, 1.5], [0.5, 0.5], "prior: probabilities must be non-negative"),
        ([[0.5, 0.5]], [0.5, 0.5], "prior must be a vector"),
        ([0.5, 0.5], [0.5, -0.1], "non-negative"),
        ([0.5, 0.5], [0.5, 0.5, 0.5], r"shape \(2,\) or \(num_observations, 2\)"),
        ([0.5, 0.5], [0.0, 0.0], "evidence P\\(data\\) is 0"),
        ([1.0, 0.0], [0.0, 0.7], "evidence P\\(data\\) is 0"),
    ],
)
def test_posterior_rejects_invalid_input(prior, likelihood, message):
    with pytest.raises(ValueError, match=message):
        probability.posterior(prior, likelihood)


# --- Sampling and Monte Carlo ---------------------------------------------------------------


def test_sampling_is_reproducible():
    normal = tfd.Normal(tf.constant(0.0, tf.float64), 1.0)
    first = probability.sample(normal, 5, seed=7)
    tf.random.normal([3])  # unrelated random ops do not change stateless samples
    np.testing.assert_array_equal(first, probability.sample(normal, 5, seed=7))
    assert not np.allclose(first, probability.sample(normal, 5, seed=8))
    with pytest.raises(ValueError, match="positive"):
        probability.sample(normal, 0)


def test_monte_carlo_estimate_is_the_sample_mean_and_variance():
    normal = tfd.Normal(tf.constant(1.5, tf.float64), 2.0)
    estimate = probability.monte_carlo_estimate(normal, tf.square, num_samples=20_000, seed=3)
    values = np.square(probability.sample(normal, 20_000, seed=3))
    np.testing.assert_allclose(estimate.mean, values.mean(), atol=ATOL)
    np.testing.assert_allclose(estimate.variance, values.var(ddof=1), rtol=ATOL)
    np.testing.assert_allclose(
        estimate.standard_error, values.std(ddof=1) / np.sqrt(20_000), rtol=ATOL
    )
    # E[X^2] = mu^2 + sigma^2 = 6.25, within a few standard errors.
    assert abs(float(estimate.mean) - 6.25) < 4 * float(estimate.standard_error)
    # Var[X^2] for a Gaussian: 4 mu^2 sigma^2 + 2 sigma^4 = 68.
    np.testing.assert_allclose(estimate.variance, 68.0, rtol=0.05)


def test_monte_carlo_kl_agrees_with_closed_form():
    p = tfd.Normal(tf.constant(0.3, tf.float64), 0.8)
    q = tfd.Normal(tf.constant(-0.5, tf.float64), 1.3)
    estimate = probability.monte_carlo_estimate(
        p, lambda x: p.log_prob(x) - q.log_prob(x), num_samples=20_000, seed=1
    )
    exact = float(probability.normal_kl_divergence(0.3, 0.8, -0.5, 1.3))
    assert abs(float(estimate.mean) - exact) < 4 * float(estimate.standard_error)


def test_monte_carlo_identity_and_vector_events():
    mvn = tfd.MultivariateNormalDiag(tf.constant([1.0, -1.0], tf.float64), [0.5, 2.0])
    estimate = probability.monte_carlo_estimate(mvn, num_samples=10_000, seed=2)
    assert estimate.mean.shape == (2,) and estimate.num_samples == 10_000
    assert np.all(np.abs(estimate.mean - np.array([1.0, -1.0])) < 4 * estimate.standard_error)
    with pytest.raises(ValueError, match="at least 2 samples"):
        probability.monte_carlo_estimate(mvn, num_samples=1)


def test_empirical_distribution_matches_bincount_and_converges():
    categorical = tfd.Categorical(probs=tf.constant(P, tf.float64))
    samples = probability.sample(categorical, 20_000, seed=5)
    freq = probability.empirical_distribution(samples, 4)
    np.testing.assert_allclose(freq, np.bincount(samples.numpy(), minlength=4) / 20_000, atol=ATOL)
    np.testing.assert_allclose(freq, P, atol=0.02)
    with pytest.raises(ValueError, match=r"lie in 0\.\.3"):
        probability.empirical_distribution([0, 4], 4)
    with pytest.raises(ValueError, match="integers"):
        probability.empirical_distribution([0.0, 1.0], 4)
