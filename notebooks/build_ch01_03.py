"""Writes the chapter 1-3 notebooks (linear algebra, probability, the neural network).

Usage (from anywhere):
    python notebooks/build_ch01_03.py

The notebooks are generated so their source lives in one reviewable Python file; they are saved
without outputs (nbformat v4, kernel ``python3``). Each runs top to bottom in well under a minute;
with ``FDL_FAST=1`` (what the test harness sets) the sampling and training loops are shortened.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
FAST = os.environ.get("FDL_FAST") == "1"  # shorter loops for the test harness

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(dedent(text).strip())


def setup(imports: str) -> nbformat.NotebookNode:
    """The first code cell: shared setup, then the notebook's own imports."""
    return new_code_cell(SETUP + "\n" + dedent(imports).strip())


# --- Chapter 1 ------------------------------------------------------------------------------

LINEAR_ALGEBRA = [
    md("""
    # Chapter 1 — Fundamentals of Linear Algebra for Deep Learning

    Deep learning is mostly linear algebra: a layer multiplies an input vector by a weight matrix,
    a batch is a matrix, an image batch a rank-4 tensor. This notebook walks through the chapter
    with `fdl_keras.fundamentals.linalg`, a thin layer over `tf.linalg` that spells out the shape
    rules and the checks a reader needs.
    """),
    setup("""
    from fdl_keras.fundamentals import linalg
    """),
    md("""
    ## Data structures and operations

    A vector is a rank-1 tensor, a matrix rank 2. Matrix multiplication `C = A B` needs the
    columns of `A` to match the rows of `B`: `C[i, j] = sum_k A[i, k] B[k, j]`.
    """),
    code("""
    A = np.array([[1.0, 2.0, 3.0],
                  [4.0, 5.0, 6.0]])          # 2 x 3
    B = np.array([[1.0, 0.0],
                  [0.0, 1.0],
                  [1.0, 1.0]])               # 3 x 2
    print("A B =\\n", linalg.matmul(A, B).numpy())
    print("A^T =\\n", linalg.transpose(A).numpy())
    try:
        linalg.matmul(A, A)                  # 2 x 3 times 2 x 3: inner sizes differ
    except ValueError as err:
        print("ValueError:", err)
    """),
    md("""
    A matrix-vector product is a linear combination of the matrix's columns, weighted by the
    vector's entries. The dot product `u . v` and outer product `u v^T` are the two ways to
    multiply vectors.
    """),
    code("""
    x = np.array([2.0, -1.0, 0.5])
    print("A x          =", linalg.matvec(A, x).numpy())
    print("sum x_j A[:,j] =", sum(x[j] * A[:, j] for j in range(3)))
    u, v = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    print("u . u =", float(linalg.dot(u, u)))
    print("u v^T =\\n", linalg.outer(u, v).numpy())
    """),
    md("""
    ### Broadcasting

    Element-wise operations on tensors of different shapes align the shapes on their trailing
    axes; on each axis the sizes must match or one must be 1 (it is stretched). Adding a bias
    vector to every row of a batch is the everyday case.
    """),
    code("""
    for a, b in [((64, 10), (10,)), ((8, 1, 6), (7, 1)), ((32, 28, 28, 3), (3,))]:
        print(f"{a} with {b} -> {linalg.broadcast_shape(a, b)}")
    try:
        linalg.broadcast_shape((64, 10), (64,))
    except ValueError as err:
        print("ValueError:", err)
    """),
    md("""
    ## Matrices as linear transformations

    A 2 x 2 matrix maps the unit circle to an ellipse. For a symmetric matrix the axes of the
    ellipse are its **eigenvectors** and their lengths the **eigenvalues**: `A v = λ v`, the
    directions the matrix only stretches.
    """),
    code("""
    S = np.array([[2.0, 0.8],
                  [0.8, 1.0]])
    values, vectors = linalg.eigen(S)        # symmetric -> tf.linalg.eigh, real and ascending
    print("eigenvalues:", values.numpy())
    print("A v = λ v holds:", linalg.check_eigenpairs(S, values, vectors))

    theta = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(theta), np.sin(theta)])
    ellipse = S @ circle
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(*circle, "--", color="grey", label="unit circle")
    ax.plot(*ellipse, label="S x for |x| = 1")
    for lam, vec in zip(values.numpy(), vectors.numpy().T):
        ax.annotate("", xy=lam * vec, xytext=(0, 0),
                    arrowprops=dict(arrowstyle="->", color="C3", lw=2))
        ax.text(*(lam * vec * 1.1), f"λ={lam:.2f}", color="C3")
    ax.set(xlim=(-2.8, 2.8), ylim=(-2.8, 2.8), aspect="equal")
    ax.set_title("A symmetric matrix stretches along its eigenvectors")
    ax.legend(loc="lower right")
    plt.show()
    """),
    md("""
    A non-symmetric matrix may have no real eigenvectors: a rotation by 90° moves every
    direction. `linalg.eigen` then uses `tf.linalg.eig`, whose eigenvalues are complex (`±i`).
    Non-square matrices have no eigendecomposition at all.
    """),
    code("""
    rotation = np.array([[0.0, -1.0],
                         [1.0, 0.0]])
    values, vectors = linalg.eigen(rotation)
    print("eigenvalues of a rotation:", values.numpy())
    print("pairs check out:", linalg.check_eigenpairs(rotation, values, vectors))
    try:
        linalg.eigen(A)
    except ValueError as err:
        print("ValueError:", err)
    """),
    md("""
    ## The fundamental spaces

    From the SVD `A = U diag(s) V^T`, with `r` singular values above a round-off tolerance:

    | space | basis | dimension |
    |---|---|---|
    | column space (range of A) | first r columns of U | r |
    | left null space (A^T y = 0) | remaining columns of U | m - r |
    | row space (range of A^T) | first r columns of V | r |
    | null space (A x = 0) | remaining columns of V | n - r |
    """),
    code("""
    M = np.array([[1.0, 2.0, 3.0],
                  [2.0, 4.0, 6.0],           # twice row 1
                  [1.0, 0.0, 1.0]])
    spaces = linalg.fundamental_spaces(M)
    print("rank:", spaces.rank)
    null = spaces.null_space.numpy()
    print("null space basis:", null.ravel(), " M @ it =", (M @ null).ravel().round(12))
    left = spaces.left_null_space.numpy()
    print("left null space basis:", left.ravel(), " M^T @ it =", (M.T @ left).ravel().round(12))
    print("singular values:", tf.linalg.svd(M, compute_uv=False).numpy())
    print("rank, default tolerance:", linalg.rank(M), "| with tol=1.0:", linalg.rank(M, tol=1.0))
    """),
    md("""
    ## Principal component analysis

    PCA finds the orthogonal directions of greatest variance: centre the data and take the SVD.
    The right singular vectors are the principal components, `s_i^2 / (n - 1)` the variance
    along each. First a correlated 2-D cloud with its components drawn in:
    """),
    code("""
    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(300, 2)) @ np.array([[1.5, 0.6], [0.0, 0.6]]) + [1.0, -1.0]
    result = linalg.pca(cloud, 2)
    print("explained variance ratio:", result.explained_variance_ratio.numpy().round(3))

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(*cloud.T, s=8, alpha=0.5)
    mean = result.mean.numpy()
    for var, comp in zip(result.explained_variance.numpy(), result.components.numpy()):
        end = mean + 2 * np.sqrt(var) * comp
        ax.annotate("", xy=end, xytext=mean, arrowprops=dict(arrowstyle="->", color="C3", lw=2))
    ax.set_aspect("equal")
    ax.set_title("Principal components (2 standard deviations)")
    plt.show()
    """),
    md("""
    The same method on the 8 x 8 handwritten digits that ship with scikit-learn: 64 pixel
    features projected on the first two components already separate several digits.
    """),
    code("""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data[:600] if FAST else digits.data
    labels = digits.target[: len(X)]
    result = linalg.pca(X, 10)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    points = ax1.scatter(*result.projected.numpy()[:, :2].T, c=labels, cmap="tab10", s=8)
    fig.colorbar(points, ax=ax1, label="digit")
    ax1.set(xlabel="PC 1", ylabel="PC 2", title="Digits projected on two components")
    ratio = result.explained_variance_ratio.numpy()
    ax2.bar(range(1, 11), ratio, label="per component")
    ax2.plot(range(1, 11), np.cumsum(ratio), "o-", color="C3", label="cumulative")
    ax2.set(xlabel="component", ylabel="share of variance", title="Explained variance")
    ax2.legend()
    plt.show()
    """),
]


# --- Chapter 2 ------------------------------------------------------------------------------

PROBABILITY = [
    md("""
    # Chapter 2 — Fundamentals of Probability

    Probability gives the language for what a network predicts (a distribution over classes) and
    how it is trained (cross-entropy, KL divergence). This notebook follows the chapter with
    `fdl_keras.fundamentals.probability`, built on `tensorflow_probability.distributions`.
    """),
    setup("""
    import tensorflow_probability as tfp

    from fdl_keras.fundamentals import probability

    tfd = tfp.distributions
    """),
    md("""
    ## Events, sampling and frequencies

    A loaded die is a categorical distribution. The relative frequency of each face in `n`
    seeded samples approaches its probability as `n` grows (the law of large numbers).
    """),
    code("""
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
    """),
    md("""
    ## Conditional probability and Bayes' rule

    `P(h | data) = P(data | h) P(h) / P(data)`. The classic surprise: a test that is 99%
    sensitive with a 5% false-positive rate, for a condition 1% of people have. A positive
    result still leaves the condition unlikely, because healthy people vastly outnumber sick.
    """),
    code("""
    prior = [0.01, 0.99]                     # P(sick), P(healthy)
    p_positive = [0.99, 0.05]                # P(positive | sick), P(positive | healthy)
    print("P(positive)         =", float(probability.evidence(prior, p_positive)))
    print("P(sick | positive)  =", float(probability.posterior(prior, p_positive)[0]))
    two_tests = [p_positive, p_positive]     # two independent positive results
    print("P(sick | 2 positive) =", float(probability.posterior(prior, two_tests)[0]))
    try:
        probability.posterior([0.5, 0.6], p_positive)
    except ValueError as err:
        print("ValueError:", err)
    """),
    md("""
    With many hypotheses the posterior becomes a curve. Which bias `θ` does a coin have?
    Start from a uniform prior over a grid of `θ` and update on flips; the posterior narrows
    around the true bias.
    """),
    code("""
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
    """),
    md("""
    ## Expectation and variance by Monte Carlo

    `E[f(X)] ≈ (1/n) Σ f(x_i)` for samples `x_i ~ p`. The estimate's standard error
    `sqrt(Var[f(X)] / n)` shrinks like `1/sqrt(n)`. Here `X ~ N(1.5, 2²)` and `f(x) = x²`, whose
    exact mean is `μ² + σ² = 6.25`.
    """),
    code("""
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
    print(f"n = {last.num_samples}: E[X²] ≈ {float(last.mean):.3f} "
          f"± {float(last.standard_error):.3f}, Var[X²] ≈ {float(last.variance):.1f} (exact 68)")
    """),
    md("""
    ## Entropy, cross-entropy and KL divergence

    * entropy `H(p) = -Σ p_i log p_i`: the average surprise, in bits with log base 2;
    * cross-entropy `H(p, q) = -Σ p_i log q_i`: the cost of coding `p` with a code built for
      `q`, the loss of every classifier in this book;
    * KL divergence `KL(p‖q) = H(p, q) - H(p) ≥ 0`, zero only when `q = p`, and not symmetric.
    """),
    code("""
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
    """),
    md("""
    ## Continuous distributions: the Gaussian

    For `N(μ, σ²)` the differential entropy is `½ log(2πeσ²)` and the KL divergence between two
    Gaussians has a closed form:

    `KL(N_p ‖ N_q) = log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²) / (2σ_q²) − ½`,

    quadratic in the mean shift. The variational autoencoder of chapter 10 uses exactly this term.
    """),
    code("""
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
    """),
    md("""
    A diagonal Gaussian is a product of independent univariate ones, so its entropy and KL are
    sums over the dimensions. A Monte-Carlo estimate of `E_p[log p(x) − log q(x)]` agrees with
    the closed form within its standard error.
    """),
    code("""
    loc_p, scale_p = [0.0, 1.0, -1.0], [1.0, 0.5, 2.0]
    loc_q, scale_q = [0.5, 1.0, 0.0], [1.0, 1.0, 1.5]
    exact = float(probability.diag_gaussian_kl_divergence(loc_p, scale_p, loc_q, scale_q))
    p = tfd.MultivariateNormalDiag(tf.constant(loc_p, tf.float64), tf.constant(scale_p, tf.float64))
    q = tfd.MultivariateNormalDiag(tf.constant(loc_q, tf.float64), tf.constant(scale_q, tf.float64))
    mc = probability.monte_carlo_estimate(p, lambda z: p.log_prob(z) - q.log_prob(z),
                                          num_samples=5_000 if FAST else 50_000, seed=3)
    print(f"closed form KL = {exact:.4f}, Monte Carlo = {float(mc.mean):.4f} "
          f"± {float(mc.standard_error):.4f}")
    """),
]


# --- Chapters 3-4 ---------------------------------------------------------------------------

NEURAL_NETWORK = [
    md("""
    # Chapter 3 — The Neural Network (with chapter 4's backpropagation)

    From a single artificial neuron `y = f(w · x + b)` to the perceptron, nonlinear neurons, the
    softmax output layer, and a two-layer network trained by backpropagation written out by
    hand and checked against TensorFlow's automatic differentiation. The code is
    `fdl_keras.fundamentals.neurons`.
    """),
    setup("""
    from fdl_keras.fundamentals import neurons
    """),
    md("""
    ## Nonlinear neurons

    A neuron computes a weighted sum of its inputs (the logit `z = w · x + b`) and passes it
    through an activation. Sigmoid squashes `z` into (0, 1), tanh into (−1, 1) and is centred on
    zero, and the restricted linear unit (ReLU) `max(0, z)` keeps positive logits unchanged.
    Their derivatives drive learning: the sigmoid's is at most ¼, ReLU's is 0 or 1.
    """),
    code("""
    z = np.linspace(-5, 5, 201)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    for name, f in neurons.ACTIVATIONS.items():
        ax1.plot(z, f(z), label=name)
        ax2.plot(z, neurons.activation_derivative(name, z), label=f"{name}'")
    ax1.set(title="Activations", xlabel="z", ylim=(-1.5, 3))
    ax2.set(title="Derivatives", xlabel="z")
    for ax in (ax1, ax2):
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend()
    plt.show()
    """),
    md("""
    ## Softmax output layers

    For `k` classes the output layer produces `k` logits; softmax turns them into a probability
    vector, `softmax(z)_i = exp(z_i) / Σ_j exp(z_j)`. Adding a constant to every logit changes
    nothing, which is how it is computed stably.
    """),
    code("""
    logits = np.array([2.0, 1.0, 0.1])
    print("softmax(z)        =", neurons.softmax(logits).numpy().round(4))
    print("softmax(z + 1000) =", neurons.softmax(logits + 1000).numpy().round(4))
    print("a sigmoid neuron:", float(neurons.neuron([1.0, 2.0], [0.5, -0.25], 0.1, "sigmoid")))
    """),
    md("""
    ## The perceptron

    A linear perceptron outputs `sign(w · x + b)`; its decision boundary is the line
    `w · x + b = 0`. Rosenblatt's learning rule visits the examples and, on each mistake, moves
    the boundary towards it: `w ← w + y x`, `b ← b + y`. On linearly separable data it stops
    after finitely many mistakes.
    """),
    code("""
    x, y = neurons.make_linearly_separable(100, margin=0.1, seed=0)
    result = neurons.train_perceptron(x, y)
    print("mistakes per epoch:", result.mistakes_per_epoch, " converged:", result.converged)

    w, b = result.weights.numpy(), float(result.bias)
    xs = np.linspace(-1, 1, 2)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(*x.numpy()[y.numpy() > 0].T, marker="+", s=50, label="+1")
    ax.scatter(*x.numpy()[y.numpy() < 0].T, marker="o", s=20, label="−1")
    ax.plot(xs, -(w[0] * xs + b) / w[1], "k-", label="learned boundary")
    ax.plot(xs, 0.5 * xs + 0.1, "k:", label="true boundary")
    ax.set(xlim=(-1, 1), ylim=(-1, 1), title="Perceptron decision boundary")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    plt.show()
    """),
    md("""
    No line separates XOR, so the perceptron never stops making mistakes there: the motivation
    for hidden layers.
    """),
    code("""
    xor_x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    xor_y = np.array([-1, 1, 1, -1])
    print("XOR mistakes per epoch:", neurons.train_perceptron(xor_x, xor_y, max_epochs=10)
          .mistakes_per_epoch)
    """),
    md("""
    ## Training a linear neuron: the delta rule (chapter 4)

    The fast-food problem: every day you buy some portions of fish, chips and ketchup and only see
    the total bill. A linear neuron `y = x · w` with squared error `E = ½ Σ (t − y)²` learns the
    prices by gradient descent, `Δw = ε Σ x (t − y)` (the delta rule).
    """),
    code("""
    rng = np.random.default_rng(2)
    portions = rng.integers(1, 6, size=(30, 3)).astype(float)
    bills = portions @ np.array([150.0, 50.0, 100.0])
    weights, errors = neurons.train_linear_neuron(portions, bills, learning_rate=1.5e-3,
                                                  steps=300 if FAST else 800)
    print("learned prices:", weights.numpy().round(3))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(errors)
    ax.set(xlabel="step", ylabel="squared error", title="Delta rule on the fast-food problem")
    plt.show()
    """),
    md("""
    ## Backpropagation by hand

    A two-layer network `x → tanh(x W1 + b1) → softmax(h W2 + b2)` with mean cross-entropy loss.
    The chain rule, from the output back:

    * `∂L/∂logits = (softmax − onehot) / n`
    * `∂L/∂W2 = hᵀ ∂L/∂logits`, `∂L/∂b2 = Σ ∂L/∂logits`
    * `∂L/∂h = ∂L/∂logits W2ᵀ`, then `∂L/∂z1 = ∂L/∂h ⊙ f′(z1)`
    * `∂L/∂W1 = xᵀ ∂L/∂z1`, `∂L/∂b1 = Σ ∂L/∂z1`

    `neurons.backward` is exactly these lines. `tf.GradientTape` computes the same numbers.
    """),
    code("""
    x, labels = neurons.make_xor(200, noise=0.2, seed=0)
    params = neurons.init_two_layer(2, 8, 2, seed=0)
    loss, grads = neurons.loss_and_gradients(params, x, labels)
    tape_loss, tape_grads = neurons.tape_gradients(params, x, labels)
    for name, ours, tape in zip(neurons.TwoLayerParams._fields, grads, tape_grads):
        print(f"{name}: max |hand − tape| = {float(tf.reduce_max(tf.abs(ours - tape))):.1e}")
    """),
    md("""
    ## Gradient descent

    Full-batch gradient descent with those hand-written gradients lowers the loss and learns the
    XOR regions a single perceptron cannot.
    """),
    code("""
    params, losses = neurons.train_two_layer(x, labels, num_hidden=8, learning_rate=1.0,
                                             steps=200 if FAST else 500, seed=0)
    accuracy = np.mean(neurons.predict(params, x).numpy() == labels.numpy())
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.1%}")

    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 121), np.linspace(-2, 2, 121)), axis=-1)
    regions = neurons.predict(params, grid.reshape(-1, 2)).numpy().reshape(grid.shape[:2])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax1.plot(losses)
    ax1.set(xlabel="step", ylabel="cross-entropy", title="Training loss")
    ax2.contourf(grid[..., 0], grid[..., 1], regions, alpha=0.3, cmap="coolwarm")
    ax2.scatter(*x.numpy().T, c=labels.numpy(), cmap="coolwarm", s=12, edgecolors="k", lw=0.3)
    ax2.set(title="Decision regions of the two-layer network")
    ax2.set_aspect("equal")
    plt.show()
    """),
]

NOTEBOOKS = {
    "01_linear_algebra.ipynb": LINEAR_ALGEBRA,
    "02_probability.ipynb": PROBABILITY,
    "03_neural_network.ipynb": NEURAL_NETWORK,
}


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"  # stable ids: rebuilding does not churn the diff
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        nbformat.write(build(cells), path, version=4)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells)")


if __name__ == "__main__":
    main()
