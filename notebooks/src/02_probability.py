# ---
# jupyter:
#   jupytext:
#     formats: ipynb,src//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 2 — Fundamentals of Probability
#
# Probability gives the language for what a network predicts (a distribution over classes) and
# how it is trained (cross-entropy, KL divergence). This notebook follows the chapter with
# `fdl_keras.fundamentals.probability`, built on `tensorflow_probability.distributions`.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from fdl_keras.fundamentals import probability

FAST = os.environ.get("FDL_FAST") == "1"  # shorter loops for the test harness (CI only)
tfd = tfp.distributions

# %% [markdown]
# ## Events, sampling and frequencies
#
# A loaded die is a categorical distribution. The relative frequency of each face in `n`
# seeded samples approaches its probability as `n` grows (the law of large numbers).

# %%
die = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.5])
dist = tfd.Categorical(probs=tf.constant(die))
sizes = [20, 200, 2000] if FAST else [20, 200, 20_000]

fig, axes = plt.subplots(1, len(sizes), figsize=(12, 3), sharey=True)
for ax, n in zip(axes, sizes):
    freq = probability.empirical_distribution(probability.sample(dist, n, seed=0), 6)
    ax.bar(np.arange(1, 7), freq.numpy(), label="frequency")
    ax.plot(np.arange(1, 7), die, "o", color="C3", label="probability")
    ax.set(title=f"n = {n}", xlabel="face")
axes[0].legend()
plt.show()

# %% [markdown]
# ## Conditional probability and Bayes' rule
#
# `P(h | data) = P(data | h) P(h) / P(data)`. The classic surprise: a test that is 99%
# sensitive with a 5% false-positive rate, for a condition 1% of people have. A positive
# result still leaves the condition unlikely, because healthy people vastly outnumber sick.

# %%
prior = [0.01, 0.99]  # P(sick), P(healthy)
p_positive = [0.99, 0.05]  # P(positive | sick), P(positive | healthy)
print("P(positive)         =", float(probability.evidence(prior, p_positive)))
sick_one = float(probability.posterior(prior, p_positive)[0])
print("P(sick | positive)  =", sick_one)
two_tests = [p_positive, p_positive]  # two independent positive results
sick_two = float(probability.posterior(prior, two_tests)[0])
print("P(sick | 2 positive) =", sick_two)
try:
    probability.posterior([0.5, 0.6], p_positive)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# With many hypotheses the posterior becomes a curve. Which bias `θ` does a coin have?
# Start from a uniform prior over a grid of `θ` and update on flips; the posterior narrows
# around the true bias.

# %%
theta = np.linspace(0.0, 1.0, 101)
prior = np.full_like(theta, 1 / len(theta))
coin = tfd.Bernoulli(probs=tf.constant(0.7, tf.float64))
flips = probability.sample(coin, 500, seed=1).numpy()

fig, ax = plt.subplots(figsize=(7, 4))
for n in [0, 5, 20, 100, 500]:
    likelihood = np.where(flips[:n, None] == 1, theta, 1 - theta)
    belief = probability.posterior(prior, likelihood) if n else prior
    ax.plot(theta, belief, label=f"{n} flips")
ax.axvline(0.7, color="grey", ls="--")
ax.set(xlabel="θ = P(heads)", ylabel="posterior probability", title="Learning a coin's bias")
ax.legend()
plt.show()

# %% [markdown]
# ## Expectation and variance by Monte Carlo
#
# `E[f(X)] ≈ (1/n) Σ f(x_i)` for samples `x_i ~ p`. The estimate's standard error
# `sqrt(Var[f(X)] / n)` shrinks like `1/sqrt(n)`. Here `X ~ N(1.5, 2²)` and `f(x) = x²`, whose
# exact mean is `μ² + σ² = 6.25`.

# %%
normal = tfd.Normal(tf.constant(1.5, tf.float64), 2.0)
ns = np.logspace(1, 4 if FAST else 5, 10).astype(int)
estimates = [probability.monte_carlo_estimate(normal, tf.square, int(n), seed=2) for n in ns]
means = np.array([float(e.mean) for e in estimates])
errors = np.array([float(e.standard_error) for e in estimates])

fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(ns, means, yerr=2 * errors, fmt="o-", capsize=3, label="estimate ± 2 SE")
ax.axhline(6.25, color="grey", ls="--", label="exact 6.25")
ax.set(xscale="log", xlabel="samples n", ylabel="E[X²]", title="Monte-Carlo estimate")
ax.legend()
plt.show()
last = estimates[-1]
print(
    f"n = {last.num_samples}: E[X²] ≈ {float(last.mean):.3f} "
    f"± {float(last.standard_error):.3f}, Var[X²] ≈ {float(last.variance):.1f} (exact 68)"
)

# %% [markdown]
# ## Entropy, cross-entropy and KL divergence
#
# * entropy `H(p) = -Σ p_i log p_i`: the average surprise, in bits with log base 2;
# * cross-entropy `H(p, q) = -Σ p_i log q_i`: the cost of coding `p` with a code built for
#   `q`, the loss of every classifier in this book;
# * KL divergence `KL(p‖q) = H(p, q) - H(p) ≥ 0`, zero only when `q = p`, and not symmetric.

# %%
p_heads = np.linspace(0.001, 0.999, 200)
coins = np.stack([p_heads, 1 - p_heads], axis=1)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(p_heads, probability.entropy(coins, base=2))
ax.set(xlabel="P(heads)", ylabel="H (bits)", title="Entropy of a coin")
plt.show()

p = [0.7, 0.2, 0.1]
q = [0.4, 0.4, 0.2]
print(f"H(p)    = {float(probability.entropy(p, base=2)):.4f} bits")
print(f"H(p, q) = {float(probability.cross_entropy(p, q, base=2)):.4f} bits")
print(f"KL(p‖q) = {float(probability.kl_divergence(p, q, base=2)):.4f} bits")
print(f"KL(q‖p) = {float(probability.kl_divergence(q, p, base=2)):.4f} bits  (not symmetric)")

# %% [markdown]
# ## Continuous distributions: the Gaussian
#
# For `N(μ, σ²)` the differential entropy is `½ log(2πeσ²)` and the KL divergence between two
# Gaussians has a closed form:
#
# `KL(N_p ‖ N_q) = log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²) / (2σ_q²) − ½`,
#
# quadratic in the mean shift. The variational autoencoder of chapter 10 uses exactly this term.

# %%
shift = np.linspace(-3, 3, 121)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
x = np.linspace(-5, 6, 400)
for mu, sigma in [(0.0, 1.0), (1.5, 1.0), (0.0, 2.0)]:
    density = tfd.Normal(tf.constant(mu, tf.float64), sigma).prob(x)
    ax1.plot(x, density, label=f"N({mu}, {sigma}²)")
ax1.set(title="Gaussian densities", xlabel="x")
ax1.legend()
for sigma_q in [0.5, 1.0, 2.0]:
    kl = probability.normal_kl_divergence(shift, 1.0, 0.0, sigma_q)
    ax2.plot(shift, kl, label=f"σ_q = {sigma_q}")
ax2.set(title="KL(N(Δμ, 1) ‖ N(0, σ_q²))", xlabel="mean shift Δμ", ylabel="KL (nats)")
ax2.set_ylim(0, 8)
ax2.legend()
plt.show()

# %% [markdown]
# A diagonal Gaussian is a product of independent univariate ones, so its entropy and KL are
# sums over the dimensions. A Monte-Carlo estimate of `E_p[log p(x) − log q(x)]` agrees with
# the closed form within its standard error.

# %%
loc_p, scale_p = [0.0, 1.0, -1.0], [1.0, 0.5, 2.0]
loc_q, scale_q = [0.5, 1.0, 0.0], [1.0, 1.0, 1.5]
exact = float(probability.diag_gaussian_kl_divergence(loc_p, scale_p, loc_q, scale_q))
p_dist = tfd.MultivariateNormalDiag(
    tf.constant(loc_p, tf.float64), tf.constant(scale_p, tf.float64)
)
q_dist = tfd.MultivariateNormalDiag(
    tf.constant(loc_q, tf.float64), tf.constant(scale_q, tf.float64)
)
mc = probability.monte_carlo_estimate(
    p_dist,
    lambda z: p_dist.log_prob(z) - q_dist.log_prob(z),
    num_samples=5_000 if FAST else 50_000,
    seed=3,
)
print(
    f"closed form KL = {exact:.4f}, Monte Carlo = {float(mc.mean):.4f} "
    f"± {float(mc.standard_error):.4f}"
)

# %% [markdown]
# ## What this chapter showed, checked
#
# The claims above as assertions (they hold in the test harness's fast mode too): with the
# most samples the die's frequencies are within a few hundredths of its probabilities; a single
# positive test leaves the condition unlikely (about 17%) and a second raises it; the coin's
# posterior after 500 flips peaks near the true bias 0.7; the Monte-Carlo estimate of `E[X²]`
# is within three standard errors of 6.25; KL divergence is positive, asymmetric and equals
# `H(p, q) − H(p)`; and the Monte-Carlo KL of the diagonal Gaussians matches the closed form.

# %%
assert np.abs(freq.numpy() - die).max() < 0.05
assert 0.1 < sick_one < 0.2 < sick_two
assert abs(theta[np.argmax(belief)] - 0.7) < 0.1
assert abs(float(last.mean) - 6.25) < 3 * float(last.standard_error)
kl_pq = float(probability.kl_divergence(p, q, base=2))
kl_qp = float(probability.kl_divergence(q, p, base=2))
cross = float(probability.cross_entropy(p, q, base=2))
assert kl_pq > 0 and kl_qp > 0 and abs(kl_pq - kl_qp) > 0.01
assert abs(cross - float(probability.entropy(p, base=2)) - kl_pq) < 1e-6
assert abs(exact - float(mc.mean)) < 4 * float(mc.standard_error)
print("chapter 2 checks passed")
