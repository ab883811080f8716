"""Probability primer (Fundamentals of Deep Learning, 2nd ed., chapter 2).

Information measures for discrete distributions and Gaussians, Bayes' rule over a finite set of
hypotheses, and Monte-Carlo estimates from seeded samples. The distributions are
``tensorflow_probability`` objects; this module validates the inputs, names the formulas and
keeps the units (nats by default, bits with ``base=2``).

Formulas (natural log; divide by ``log(base)`` for other units):

* entropy ``H(p) = -sum_i p_i log p_i`` (with ``0 log 0 = 0``)
* cross-entropy ``H(p, q) = -sum_i p_i log q_i = H(p) + KL(p || q)``
* KL divergence ``KL(p || q) = sum_i p_i log(p_i / q_i)``, non-negative, zero iff ``p = q``
* univariate Gaussian ``N(mu, sigma^2)``: ``H = 1/2 log(2 pi e sigma^2)`` and
  ``KL(N_p || N_q) = log(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2``
* diagonal Gaussian: the sums of the univariate terms over the dimensions.

Reference: T. M. Cover and J. A. Thomas, "Elements of Information Theory" (2nd ed., 2006),
chapter 2; the book's chapter 2, "Fundamentals of Probability".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf
import tensorflow_probability as tfp

from fdl_keras.fundamentals.linalg import to_tensor

tfd = tfp.distributions

__all__ = [
    "MCEstimate",
    "cross_entropy",
    "diag_gaussian_cross_entropy",
    "diag_gaussian_entropy",
    "diag_gaussian_kl_divergence",
    "empirical_distribution",
    "entropy",
    "evidence",
    "kl_divergence",
    "monte_carlo_estimate",
    "normal_cross_entropy",
    "normal_entropy",
    "normal_kl_divergence",
    "posterior",
    "sample",
    "validate_probabilities",
]


# --- Validation -----------------------------------------------------------------------------


def validate_probabilities(p, name: str = "p", atol: float = 1e-6) -> tf.Tensor:
    """Returns ``p`` as a tensor after checking it is a distribution over its last axis.

    Raises:
        ValueError: if ``p`` is a scalar, has a negative or non-finite entry, or does not sum to 1
            (within ``atol``) along its last axis.
    """
    p = to_tensor(p, name)
    if p.shape.rank is None or p.shape.rank == 0:
        raise ValueError(f"{name}: probabilities must have at least one axis, got a scalar")
    if not bool(tf.reduce_all(tf.math.is_finite(p))):
        raise ValueError(f"{name}: probabilities must be finite, got {p.numpy()}")
    if bool(tf.reduce_any(p < 0)):
        raise ValueError(
            f"{name}: probabilities must be non-negative, got minimum {float(tf.reduce_min(p))}"
        )
    sums = tf.reduce_sum(p, axis=-1)
    worst = float(tf.reduce_max(tf.abs(sums - 1.0)))
    if worst > atol:
        raise ValueError(
            f"{name}: probabilities must sum to 1 (within {atol}) over the last axis, "
            f"got sum(s) {sums.numpy()}"
        )
    return p


def _validate_scale(scale, name: str) -> tf.Tensor:
    scale = to_tensor(scale, name)
    if not bool(tf.reduce_all(scale > 0)):
        raise ValueError(f"{name}: standard deviations must be positive, got {scale.numpy()}")
    return scale


def _same_support(p: tf.Tensor, q: tf.Tensor, op: str) -> None:
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"{op}: p has {p.shape[-1]} outcomes but q has {q.shape[-1]} outcomes")


def _in_base(nats: tf.Tensor, base: float | None) -> tf.Tensor:
    return nats if base is None else nats / tf.constant(math.log(base), nats.dtype)


# --- Discrete distributions -----------------------------------------------------------------


def entropy(p, base: float | None = None) -> tf.Tensor:
    """Entropy ``H(p) = -sum_i p_i log p_i`` of a discrete distribution (batched)."""
    p = validate_probabilities(p, "p")
    return _in_base(tfd.Categorical(probs=p).entropy(), base)


def cross_entropy(p, q, base: float | None = None) -> tf.Tensor:
    """Cross-entropy ``H(p, q) = -sum_i p_i log q_i``: cost of coding ``p`` with ``q``'s code."""
    p, q = validate_probabilities(p, "p"), validate_probabilities(q, "q")
    _same_support(p, q, "cross_entropy")
    return _in_base(tfd.Categorical(probs=p).cross_entropy(tfd.Categorical(probs=q)), base)


def kl_divergence(p, q, base: float | None = None) -> tf.Tensor:
    """KL divergence ``KL(p || q) = sum_i p_i log(p_i / q_i)``; infinite if q misses p's support."""
    p, q = validate_probabilities(p, "p"), validate_probabilities(q, "q")
    _same_support(p, q, "kl_divergence")
    return _in_base(tfd.kl_divergence(tfd.Categorical(probs=p), tfd.Categorical(probs=q)), base)


# --- Gaussians ------------------------------------------------------------------------------


def _normal(loc, scale, suffix: str = "") -> tfd.Normal:
    scale = _validate_scale(scale, "scale" + suffix)
    return tfd.Normal(loc=tf.cast(to_tensor(loc, "loc" + suffix), scale.dtype), scale=scale)


def _diag_gaussian(loc, scale_diag, suffix: str = "") -> tfd.MultivariateNormalDiag:
    scale_diag = _validate_scale(scale_diag, "scale_diag" + suffix)
    loc = tf.cast(to_tensor(loc, "loc" + suffix), scale_diag.dtype)
    if loc.shape.rank == 0 or loc.shape[-1] != scale_diag.shape[-1]:
        raise ValueError(
            f"diagonal Gaussian: loc{suffix} has shape {tuple(loc.shape)} but scale_diag{suffix} "
            f"has shape {tuple(scale_diag.shape)}; the last axes (the dimension) must agree"
        )
    return tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale_diag)


def _same_dimension(p: tfd.Distribution, q: tfd.Distribution, op: str) -> None:
    dp, dq = p.event_shape[-1], q.event_shape[-1]
    if dp != dq:
        raise ValueError(f"{op}: p is {dp}-dimensional but q is {dq}-dimensional")


def normal_entropy(loc, scale, base: float | None = None) -> tf.Tensor:
    """Differential entropy ``1/2 log(2 pi e sigma^2)`` of ``N(loc, scale^2)`` (any loc)."""
    return _in_base(_normal(loc, scale).entropy(), base)


def normal_cross_entropy(loc_p, scale_p, loc_q, scale_q, base: float | None = None) -> tf.Tensor:
    """Cross-entropy ``H(N_p, N_q) = H(N_p) + KL(N_p || N_q)`` of two univariate Gaussians."""
    p, q = _normal(loc_p, scale_p, "_p"), _normal(loc_q, scale_q, "_q")
    return _in_base(p.cross_entropy(q), base)


def normal_kl_divergence(loc_p, scale_p, loc_q, scale_q, base: float | None = None) -> tf.Tensor:
    """``KL(N_p || N_q) = log(s_q/s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2``."""
    p, q = _normal(loc_p, scale_p, "_p"), _normal(loc_q, scale_q, "_q")
    return _in_base(tfd.kl_divergence(p, q), base)


def diag_gaussian_entropy(loc, scale_diag, base: float | None = None) -> tf.Tensor:
    """Entropy of ``N(loc, diag(scale_diag^2))``: ``sum_d 1/2 log(2 pi e sigma_d^2)``."""
    return _in_base(_diag_gaussian(loc, scale_diag).entropy(), base)


def diag_gaussian_cross_entropy(
    loc_p, scale_p, loc_q, scale_q, base: float | None = None
) -> tf.Tensor:
    """Cross-entropy of two diagonal Gaussians: the sum of the per-dimension univariate terms."""
    p, q = _diag_gaussian(loc_p, scale_p, "_p"), _diag_gaussian(loc_q, scale_q, "_q")
    _same_dimension(p, q, "diag_gaussian_cross_entropy")
    return _in_base(p.cross_entropy(q), base)


def diag_gaussian_kl_divergence(
    loc_p, scale_p, loc_q, scale_q, base: float | None = None
) -> tf.Tensor:
    """KL divergence of two diagonal Gaussians: the sum of the per-dimension univariate KLs."""
    p, q = _diag_gaussian(loc_p, scale_p, "_p"), _diag_gaussian(loc_q, scale_q, "_q")
    _same_dimension(p, q, "diag_gaussian_kl_divergence")
    return _in_base(tfd.kl_divergence(p, q), base)


# --- Bayes' rule ----------------------------------------------------------------------------


def _log_joint(prior, likelihood) -> tf.Tensor:
    """``log P(h) + sum_n log P(x_n | h)`` for each hypothesis ``h``."""
    prior = validate_probabilities(prior, "prior")
    if prior.shape.rank != 1:
        raise ValueError(f"prior must be a vector over hypotheses, got shape {tuple(prior.shape)}")
    likelihood = tf.cast(to_tensor(likelihood, "likelihood"), prior.dtype)
    if likelihood.shape.rank not in (1, 2) or likelihood.shape[-1] != prior.shape[0]:
        raise ValueError(
            f"likelihood must have shape ({prior.shape[0]},) or (num_observations, "
            f"{prior.shape[0]}) to match the prior's {prior.shape[0]} hypotheses, "
            f"got {tuple(likelihood.shape)}"
        )
    if not bool(tf.reduce_all(tf.math.is_finite(likelihood) & (likelihood >= 0))):
        raise ValueError(f"likelihood values must be finite and non-negative, got {likelihood}")
    log_likelihood = tf.math.log(likelihood)
    if likelihood.shape.rank == 2:  # independent observations multiply
        log_likelihood = tf.reduce_sum(log_likelihood, axis=0)
    return tf.math.log(prior) + log_likelihood


def evidence(prior, likelihood) -> tf.Tensor:
    """``P(data) = sum_h P(h) P(data | h)``, the normaliser in Bayes' rule."""
    return tf.exp(tf.reduce_logsumexp(_log_joint(prior, likelihood)))


def posterior(prior, likelihood) -> tf.Tensor:
    """Bayes' rule over discrete hypotheses: ``P(h | data) = P(data | h) P(h) / P(data)``.

    Args:
        prior: ``P(h)``, shape (H,); must be non-negative and sum to 1.
        likelihood: ``P(data | h)`` for each hypothesis, shape (H,), or (N, H) for N independent
            observations (their likelihoods multiply). Non-negative; need not sum to 1.

    The product is formed in log space, so many observations do not underflow.

    Raises:
        ValueError: on an invalid prior or likelihood, or when the evidence is zero (no
            hypothesis with prior mass can explain the data).
    """
    log_joint = _log_joint(prior, likelihood)
    if not bool(tf.math.is_finite(tf.reduce_logsumexp(log_joint))):
        raise ValueError("posterior: the evidence P(data) is 0; no hypothesis explains the data")
    return tf.nn.softmax(log_joint)


# --- Sampling and Monte Carlo ---------------------------------------------------------------


class MCEstimate(NamedTuple):
    """A Monte-Carlo estimate of ``E[f(X)]`` with its spread."""

    mean: tf.Tensor  # 1/n sum_i f(x_i)
    variance: tf.Tensor  # unbiased sample variance of f(x_i), divisor n - 1
    standard_error: tf.Tensor  # sqrt(variance / n): the spread of `mean` itself
    num_samples: int


def sample(distribution: tfd.Distribution, num_samples: int, seed: int = 0) -> tf.Tensor:
    """``num_samples`` draws from a TFP distribution, reproducible from the integer ``seed``.

    The seed is turned into a stateless ``(seed, 0)`` pair, so the same call gives the same
    samples whatever random ops ran before it.
    """
    if num_samples < 1:
        raise ValueError(f"sample: num_samples must be positive, got {num_samples}")
    return distribution.sample(num_samples, seed=tf.constant([seed, 0], tf.int32))


def monte_carlo_estimate(
    distribution: tfd.Distribution,
    f: Callable[[tf.Tensor], tf.Tensor] | None = None,
    num_samples: int = 10_000,
    seed: int = 0,
) -> MCEstimate:
    """Estimates ``E[f(X)]`` and ``Var[f(X)]`` for ``X ~ distribution`` from seeded samples.

    ``f`` defaults to the identity. The estimate of the mean is
    ``tfp.monte_carlo.expectation``; its standard error shrinks as ``1 / sqrt(num_samples)``.
    """
    if num_samples < 2:
        raise ValueError(f"monte_carlo_estimate: need at least 2 samples, got {num_samples}")
    f = f if f is not None else tf.identity
    samples = sample(distribution, num_samples, seed)
    values = f(samples)
    mean = tfp.monte_carlo.expectation(f, samples)
    # tfp.stats.variance divides by n; rescale to the unbiased estimator.
    n = tf.cast(num_samples, values.dtype)
    variance = tfp.stats.variance(values, sample_axis=0) * n / (n - 1)
    return MCEstimate(mean, variance, tf.sqrt(variance / n), num_samples)


def empirical_distribution(samples, num_outcomes: int) -> tf.Tensor:
    """Relative frequency of each outcome ``0 .. num_outcomes - 1`` among integer samples."""
    samples = tf.convert_to_tensor(samples)
    if not samples.dtype.is_integer:
        raise ValueError(f"empirical_distribution: samples must be integers, got {samples.dtype}")
    if bool(tf.reduce_any((samples < 0) | (samples >= num_outcomes))):
        raise ValueError(
            f"empirical_distribution: samples must lie in 0..{num_outcomes - 1}, got "
            f"min {int(tf.reduce_min(samples))} and max {int(tf.reduce_max(samples))}"
        )
    counts = tf.math.bincount(
        tf.cast(tf.reshape(samples, [-1]), tf.int32),
        minlength=num_outcomes,
        maxlength=num_outcomes,
        dtype=tf.float64,
    )
    return counts / tf.reduce_sum(counts)
