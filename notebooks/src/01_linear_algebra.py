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
# # Chapter 1 — Fundamentals of Linear Algebra for Deep Learning
#
# Deep learning is mostly linear algebra: a layer multiplies an input vector by a weight matrix,
# a batch is a matrix, an image batch a rank-4 tensor. This notebook walks through the chapter
# with `fdl_keras.fundamentals.linalg`, a thin layer over `tf.linalg` that spells out the shape
# rules and the checks a reader needs.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

from fdl_keras.fundamentals import linalg

FAST = os.environ.get("FDL_FAST") == "1"  # shorter loops for the test harness (CI only)

# %% [markdown]
# ## Data structures and operations
#
# A vector is a rank-1 tensor, a matrix rank 2. Matrix multiplication `C = A B` needs the
# columns of `A` to match the rows of `B`: `C[i, j] = sum_k A[i, k] B[k, j]`.

# %%
A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # 2 x 3
B = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # 3 x 2
print("A B =\n", linalg.matmul(A, B).numpy())
print("A^T =\n", linalg.transpose(A).numpy())
try:
    linalg.matmul(A, A)  # 2 x 3 times 2 x 3: inner sizes differ
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# A matrix-vector product is a linear combination of the matrix's columns, weighted by the
# vector's entries. The dot product `u . v` and outer product `u v^T` are the two ways to
# multiply vectors.

# %%
x = np.array([2.0, -1.0, 0.5])
print("A x          =", linalg.matvec(A, x).numpy())
print("sum x_j A[:,j] =", sum(x[j] * A[:, j] for j in range(3)))
u, v = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
print("u . u =", float(linalg.dot(u, u)))
print("u v^T =\n", linalg.outer(u, v).numpy())

# %% [markdown]
# ### Broadcasting
#
# Element-wise operations on tensors of different shapes align the shapes on their trailing
# axes; on each axis the sizes must match or one must be 1 (it is stretched). Adding a bias
# vector to every row of a batch is the everyday case.

# %%
for a, b in [((64, 10), (10,)), ((8, 1, 6), (7, 1)), ((32, 28, 28, 3), (3,))]:
    print(f"{a} with {b} -> {linalg.broadcast_shape(a, b)}")
try:
    linalg.broadcast_shape((64, 10), (64,))
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## Matrices as linear transformations
#
# A 2 x 2 matrix maps the unit circle to an ellipse. For a symmetric matrix the axes of the
# ellipse are its **eigenvectors** and their lengths the **eigenvalues**: `A v = λ v`, the
# directions the matrix only stretches.

# %%
S = np.array([[2.0, 0.8], [0.8, 1.0]])
values, vectors = linalg.eigen(S)  # symmetric -> tf.linalg.eigh, real and ascending
print("eigenvalues:", values.numpy())
print("A v = λ v holds:", linalg.check_eigenpairs(S, values, vectors))

theta = np.linspace(0, 2 * np.pi, 200)
circle = np.stack([np.cos(theta), np.sin(theta)])
ellipse = S @ circle
fig, ax = plt.subplots(figsize=(5, 5))
ax.plot(*circle, "--", color="grey", label="unit circle")
ax.plot(*ellipse, label="S x for |x| = 1")
for lam, vec in zip(values.numpy(), vectors.numpy().T):
    ax.annotate("", xy=lam * vec, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="C3", lw=2))
    ax.text(*(lam * vec * 1.1), f"λ={lam:.2f}", color="C3")
ax.set(xlim=(-2.8, 2.8), ylim=(-2.8, 2.8), aspect="equal")
ax.set_title("A symmetric matrix stretches along its eigenvectors")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# A non-symmetric matrix may have no real eigenvectors: a rotation by 90° moves every
# direction. `linalg.eigen` then uses `tf.linalg.eig`, whose eigenvalues are complex (`±i`).
# Non-square matrices have no eigendecomposition at all.

# %%
rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
rot_values, rot_vectors = linalg.eigen(rotation)
print("eigenvalues of a rotation:", rot_values.numpy())
print("pairs check out:", linalg.check_eigenpairs(rotation, rot_values, rot_vectors))
try:
    linalg.eigen(A)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## The fundamental spaces
#
# From the SVD `A = U diag(s) V^T`, with `r` singular values above a round-off tolerance:
#
# | space | basis | dimension |
# |---|---|---|
# | column space (range of A) | first r columns of U | r |
# | left null space (A^T y = 0) | remaining columns of U | m - r |
# | row space (range of A^T) | first r columns of V | r |
# | null space (A x = 0) | remaining columns of V | n - r |

# %%
M = np.array(
    [
        [1.0, 2.0, 3.0],
        [2.0, 4.0, 6.0],  # twice row 1
        [1.0, 0.0, 1.0],
    ]
)
spaces = linalg.fundamental_spaces(M)
print("rank:", spaces.rank)
null = spaces.null_space.numpy()
print("null space basis:", null.ravel(), " M @ it =", (M @ null).ravel().round(12))
left = spaces.left_null_space.numpy()
print("left null space basis:", left.ravel(), " M^T @ it =", (M.T @ left).ravel().round(12))
print("singular values:", tf.linalg.svd(M, compute_uv=False).numpy())
print("rank, default tolerance:", linalg.rank(M), "| with tol=1.0:", linalg.rank(M, tol=1.0))

# %% [markdown]
# ## Principal component analysis
#
# PCA finds the orthogonal directions of greatest variance: centre the data and take the SVD.
# The right singular vectors are the principal components, `s_i^2 / (n - 1)` the variance
# along each. First a correlated 2-D cloud with its components drawn in:

# %%
rng = np.random.default_rng(0)
cloud = rng.normal(size=(300, 2)) @ np.array([[1.5, 0.6], [0.0, 0.6]]) + [1.0, -1.0]
cloud_pca = linalg.pca(cloud, 2)
print("explained variance ratio:", cloud_pca.explained_variance_ratio.numpy().round(3))

fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(*cloud.T, s=8, alpha=0.5)
mean = cloud_pca.mean.numpy()
for var, comp in zip(cloud_pca.explained_variance.numpy(), cloud_pca.components.numpy()):
    end = mean + 2 * np.sqrt(var) * comp
    ax.annotate("", xy=end, xytext=mean, arrowprops=dict(arrowstyle="->", color="C3", lw=2))
ax.set_aspect("equal")
ax.set_title("Principal components (2 standard deviations)")
plt.show()

# %% [markdown]
# The same method on the 8 x 8 handwritten digits that ship with scikit-learn: 64 pixel
# features projected on the first two components already separate several digits.

# %%
digits = load_digits()
X = digits.data[:600] if FAST else digits.data
labels = digits.target[: len(X)]
digits_pca = linalg.pca(X, 10)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
points = ax1.scatter(*digits_pca.projected.numpy()[:, :2].T, c=labels, cmap="tab10", s=8)
fig.colorbar(points, ax=ax1, label="digit")
ax1.set(xlabel="PC 1", ylabel="PC 2", title="Digits projected on two components")
ratio = digits_pca.explained_variance_ratio.numpy()
ax2.bar(range(1, 11), ratio, label="per component")
ax2.plot(range(1, 11), np.cumsum(ratio), "o-", color="C3", label="cumulative")
ax2.set(xlabel="component", ylabel="share of variance", title="Explained variance")
ax2.legend()
plt.show()

# %% [markdown]
# ## What this chapter showed, checked
#
# The claims above, as assertions (they hold in the test harness's fast mode too): the
# eigenpairs satisfy `A v = λ v` and lie along the ellipse's axes, a rotation has the complex
# eigenvalues `±i`, the rank-2 matrix `M` has a one-dimensional null space that it maps to zero,
# and PCA's components are orthonormal with the variance sorted from the largest down — on the
# digits, two components out of 64 already hold more than a fifth of it.

# %%
assert linalg.check_eigenpairs(S, values, vectors)
assert np.allclose(np.sort(np.abs(rot_values.numpy().imag)), [1.0, 1.0])
assert spaces.rank == 2 and null.shape == (3, 1)
assert np.allclose(M @ null, 0.0, atol=1e-9) and np.allclose(M.T @ left, 0.0, atol=1e-9)
for found in (cloud_pca, digits_pca):
    components = found.components.numpy()
    assert np.allclose(components @ components.T, np.eye(len(components)), atol=1e-6)
    assert np.all(np.diff(found.explained_variance.numpy()) <= 1e-9)
assert cloud_pca.explained_variance_ratio.numpy()[0] > 0.8
assert ratio[:2].sum() > 0.2 and np.cumsum(ratio)[-1] <= 1.0 + 1e-9
print("chapter 1 checks passed")
