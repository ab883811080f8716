"""Linear algebra primer (Fundamentals of Deep Learning, 2nd ed., chapter 1).

Matrix and vector products with the shape rules spelled out, NumPy/TensorFlow broadcasting,
the four fundamental subspaces of a matrix read off its singular value decomposition,
eigendecomposition with a check of ``A v = lambda v``, and principal component analysis via the
SVD. Every computation is a TensorFlow op (``tf.linalg``); this module adds the checks and the
error messages a reader needs, not new numerics.

Inputs may be Python lists, NumPy arrays or tensors. Anything that is not already a floating
tensor is converted to ``float64``, the precision the book's worked examples (and our tests)
assume.

Reference: G. Strang, "The Fundamental Theorem of Linear Algebra", The American Mathematical
Monthly 100(9), 1993 (the four subspaces); the book's chapter 1, "Fundamentals of Linear Algebra
for Deep Learning".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf

__all__ = [
    "Eigen",
    "FundamentalSpaces",
    "PCAResult",
    "broadcast_shape",
    "check_eigenpairs",
    "column_space",
    "dot",
    "eigen",
    "eigen_residuals",
    "fundamental_spaces",
    "is_symmetric",
    "left_null_space",
    "matmul",
    "matvec",
    "null_space",
    "outer",
    "pca",
    "rank",
    "row_space",
    "singular_value_tolerance",
    "to_tensor",
    "transpose",
]


def to_tensor(x, name: str = "x") -> tf.Tensor:
    """Returns ``x`` as a tensor: floating/complex tensors pass through, anything else is float64.

    Complex input that is not yet a tensor becomes complex128.
    """
    if isinstance(x, tf.Tensor | tf.Variable) and (x.dtype.is_floating or x.dtype.is_complex):
        return tf.convert_to_tensor(x)
    try:
        # Through NumPy so Python floats keep float64 precision (TF would go via float32).
        array = np.asarray(x)
        dtype = np.complex128 if np.iscomplexobj(array) else np.float64
        return tf.convert_to_tensor(array.astype(dtype))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: cannot convert {type(x).__name__} to a float64 tensor") from err


def _require_rank(x: tf.Tensor, rank_: int, op: str, name: str) -> None:
    if x.shape.rank != rank_:
        kind = {1: "a vector (rank 1)", 2: "a matrix (rank 2)"}[rank_]
        raise ValueError(f"{op}: {name} must be {kind}, got shape {tuple(x.shape)}")


# --- Products -------------------------------------------------------------------------------


def matmul(a, b) -> tf.Tensor:
    """Matrix product ``A @ B`` of an (m, n) and an (n, p) matrix, giving (m, p).

    Raises:
        ValueError: if either input is not a matrix or the inner dimensions differ, e.g.
            ``"matmul: A has 3 columns but B has 4 rows"``.
    """
    a, b = to_tensor(a, "A"), to_tensor(b, "B")
    _require_rank(a, 2, "matmul", "A")
    _require_rank(b, 2, "matmul", "B")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul: A has {a.shape[1]} columns but B has {b.shape[0]} rows")
    return tf.linalg.matmul(a, b)


def matvec(a, x) -> tf.Tensor:
    """Matrix-vector product ``A x`` of an (m, n) matrix and an n-vector, giving an m-vector."""
    a, x = to_tensor(a, "A"), to_tensor(x, "x")
    _require_rank(a, 2, "matvec", "A")
    _require_rank(x, 1, "matvec", "x")
    if a.shape[1] != x.shape[0]:
        raise ValueError(f"matvec: A has {a.shape[1]} columns but x has {x.shape[0]} entries")
    return tf.linalg.matvec(a, x)


def dot(u, v) -> tf.Tensor:
    """Inner product ``u . v = sum_i u_i v_i`` of two vectors of equal length (a scalar)."""
    u, v = to_tensor(u, "u"), to_tensor(v, "v")
    _require_rank(u, 1, "dot", "u")
    _require_rank(v, 1, "dot", "v")
    if u.shape[0] != v.shape[0]:
        raise ValueError(f"dot: u has {u.shape[0]} entries but v has {v.shape[0]} entries")
    return tf.tensordot(u, v, axes=1)


def outer(u, v) -> tf.Tensor:
    """Outer product ``u v^T`` of an m-vector and an n-vector: the rank-one (m, n) matrix."""
    u, v = to_tensor(u, "u"), to_tensor(v, "v")
    _require_rank(u, 1, "outer", "u")
    _require_rank(v, 1, "outer", "v")
    return tf.tensordot(u, v, axes=0)


def transpose(a) -> tf.Tensor:
    """Transpose ``A^T`` of a matrix (conjugate transpose is not implied)."""
    a = to_tensor(a, "A")
    _require_rank(a, 2, "transpose", "A")
    return tf.linalg.matrix_transpose(a)


def broadcast_shape(shape_a: Sequence[int], shape_b: Sequence[int]) -> tuple[int, ...]:
    """The shape that broadcasting ``shape_a`` against ``shape_b`` gives (NumPy/TF rules).

    The shapes are aligned on their trailing axes; the shorter is padded on the left with 1s. On
    every axis the two sizes must be equal or one of them must be 1, which is stretched.

    Raises:
        ValueError: naming the first (right-most) axis where the rule breaks, counted from the end
            (``-1`` is the last axis) and as an index into the result.
    """
    a, b = tuple(int(d) for d in shape_a), tuple(int(d) for d in shape_b)
    for shape in (a, b):
        if any(d < 0 for d in shape):
            raise ValueError(f"broadcast_shape: dimensions must be non-negative, got {shape}")
    ndim = max(len(a), len(b))
    padded_a = (1,) * (ndim - len(a)) + a
    padded_b = (1,) * (ndim - len(b)) + b
    result = []
    for axis in range(ndim):
        da, db = padded_a[axis], padded_b[axis]
        if da != db and da != 1 and db != 1:
            raise ValueError(
                f"broadcast_shape: shapes {a} and {b} are incompatible at axis {axis - ndim} "
                f"(axis {axis} of the result): sizes {da} and {db} must be equal or one of them 1"
            )
        result.append(db if da == 1 else da)
    return tuple(result)


# --- The four fundamental subspaces ---------------------------------------------------------


class FundamentalSpaces(NamedTuple):
    """Orthonormal bases (as matrix columns) of the four subspaces of an (m, n) matrix A."""

    rank: int
    column_space: tf.Tensor  # (m, r): range of A
    null_space: tf.Tensor  # (n, n - r): vectors x with A x = 0
    row_space: tf.Tensor  # (n, r): range of A^T
    left_null_space: tf.Tensor  # (m, m - r): vectors y with A^T y = 0


def singular_value_tolerance(singular_values: tf.Tensor, shape: Sequence[int]) -> tf.Tensor:
    """Default cut-off below which a singular value counts as zero: ``max(m, n) * eps * s_max``.

    This is the convention of ``numpy.linalg.matrix_rank`` and LAPACK: the round-off an SVD of a
    matrix of this size and scale can produce.
    """
    dtype = singular_values.dtype
    if tf.size(singular_values) == 0:
        return tf.zeros((), dtype)
    eps = np.finfo(dtype.as_numpy_dtype).eps
    return tf.constant(max(shape) * eps, dtype) * tf.reduce_max(singular_values)


def fundamental_spaces(a, tol: float | None = None) -> FundamentalSpaces:
    """All four fundamental subspaces of ``A`` from one full SVD ``A = U diag(s) V^T``.

    With ``r`` singular values above ``tol`` (default: :func:`singular_value_tolerance`), the
    first ``r`` columns of U span the column space and the rest the left null space; the first
    ``r`` columns of V span the row space and the rest the null space.
    """
    a = to_tensor(a, "A")
    _require_rank(a, 2, "fundamental_spaces", "A")
    s, u, v = tf.linalg.svd(a, full_matrices=True)
    if tol is None:
        tol = singular_value_tolerance(s, a.shape)
    r = int(tf.reduce_sum(tf.cast(s > tol, tf.int32)))
    return FundamentalSpaces(
        rank=r,
        column_space=u[:, :r],
        null_space=v[:, r:],
        row_space=v[:, :r],
        left_null_space=u[:, r:],
    )


def rank(a, tol: float | None = None) -> int:
    """Number of singular values of ``A`` above ``tol`` (the dimension of its column space)."""
    return fundamental_spaces(a, tol).rank


def column_space(a, tol: float | None = None) -> tf.Tensor:
    """Orthonormal basis of the column space (range) of ``A``, shape (m, rank)."""
    return fundamental_spaces(a, tol).column_space


def null_space(a, tol: float | None = None) -> tf.Tensor:
    """Orthonormal basis of the null space of ``A`` (all ``x`` with ``A x = 0``), shape (n, n-r)."""
    return fundamental_spaces(a, tol).null_space


def row_space(a, tol: float | None = None) -> tf.Tensor:
    """Orthonormal basis of the row space of ``A`` (column space of ``A^T``), shape (n, rank)."""
    return fundamental_spaces(a, tol).row_space


def left_null_space(a, tol: float | None = None) -> tf.Tensor:
    """Orthonormal basis of the left null space of ``A`` (``A^T y = 0``), shape (m, m - rank)."""
    return fundamental_spaces(a, tol).left_null_space


# --- Eigendecomposition ---------------------------------------------------------------------


class Eigen(NamedTuple):
    """Eigenvalues and eigenvectors: ``vectors[:, i]`` belongs to ``values[i]``."""

    values: tf.Tensor
    vectors: tf.Tensor


def _require_square(a: tf.Tensor, op: str) -> None:
    if a.shape.rank != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{op}: A must be a square matrix, got shape {tuple(a.shape)}")


def is_symmetric(a, atol: float = 1e-12) -> bool:
    """Whether square ``A`` equals its conjugate transpose to ``atol`` times ``max(1, max|A|)``."""
    a = to_tensor(a, "A")
    _require_square(a, "is_symmetric")
    if tf.size(a) == 0:
        return True
    scale = max(1.0, float(tf.reduce_max(tf.abs(a))))
    return bool(tf.reduce_max(tf.abs(a - tf.linalg.adjoint(a))) <= atol * scale)


def eigen(a, symmetric: bool | None = None) -> Eigen:
    """Eigendecomposition of a square matrix.

    A symmetric matrix (detected with :func:`is_symmetric` unless ``symmetric`` is given) goes to
    ``tf.linalg.eigh``: real eigenvalues in ascending order and orthonormal eigenvectors. Any
    other matrix goes to ``tf.linalg.eig``, whose eigenvalues and eigenvectors are complex (a
    rotation has no real eigenvectors).

    Raises:
        ValueError: if ``A`` is not square, naming its shape.
    """
    a = to_tensor(a, "A")
    _require_square(a, "eigen")
    if symmetric is None:
        symmetric = is_symmetric(a)
    if symmetric:
        values, vectors = tf.linalg.eigh(a)
    else:
        values, vectors = tf.linalg.eig(a)
    return Eigen(values, vectors)


def eigen_residuals(a, values, vectors) -> tf.Tensor:
    """``||A v_i - lambda_i v_i|| / ||v_i||`` for every eigenpair (column ``i`` of ``vectors``)."""
    a = to_tensor(a, "A")
    _require_square(a, "eigen_residuals")
    values, vectors = to_tensor(values, "values"), to_tensor(vectors, "vectors")
    n = a.shape[0]
    if values.shape.rank != 1 or vectors.shape.rank != 2:
        raise ValueError(
            "eigen_residuals: values must be a vector and vectors a matrix, got shapes "
            f"{tuple(values.shape)} and {tuple(vectors.shape)}"
        )
    if vectors.shape[0] != n or vectors.shape[1] != values.shape[0]:
        raise ValueError(
            f"eigen_residuals: A is {n}x{n} so vectors must have {n} rows and one column per "
            f"eigenvalue ({values.shape[0]}), got shape {tuple(vectors.shape)}"
        )
    # tf.linalg.eig returns complex pairs even for a real A: compare in a common dtype.
    tensors = (a, values, vectors)
    wide = any(t.dtype in (tf.float64, tf.complex128) for t in tensors)
    if any(t.dtype.is_complex for t in tensors):
        dtype = tf.complex128 if wide else tf.complex64
    else:
        dtype = tf.float64 if wide else a.dtype
    a, values, vectors = (tf.cast(t, dtype) for t in tensors)
    residual = tf.linalg.matmul(a, vectors) - vectors * values[tf.newaxis, :]
    return tf.norm(tf.abs(residual), axis=0) / tf.norm(tf.abs(vectors), axis=0)


def check_eigenpairs(a, values, vectors, atol: float = 1e-8) -> bool:
    """True when every pair satisfies ``A v = lambda v`` to ``atol`` times ``max(1, ||A||_2)``."""
    residuals = eigen_residuals(a, values, vectors)
    a = to_tensor(a, "A")
    norm = float(tf.reduce_max(tf.linalg.svd(a, compute_uv=False))) if tf.size(a) else 0.0
    return bool(tf.reduce_all(residuals <= atol * max(1.0, norm)))


# --- Principal component analysis -----------------------------------------------------------


class PCAResult(NamedTuple):
    """Principal components (rows), their variances and the data in component coordinates."""

    components: tf.Tensor  # (k, d), orthonormal rows, largest variance first
    explained_variance: tf.Tensor  # (k,), sample variance (divisor n - 1) along each component
    explained_variance_ratio: tf.Tensor  # (k,), share of the total variance
    projected: tf.Tensor  # (n, k), centred data projected on the components
    mean: tf.Tensor  # (d,), the mean that was subtracted


def pca(x, k: int) -> PCAResult:
    """PCA of the rows of ``X`` (n samples, d features) keeping ``k`` components.

    Centre the data, take the thin SVD ``X_c = U diag(s) V^T``: the right singular vectors are the
    principal directions and ``s_i^2 / (n - 1)`` the variance along each. Each component's sign
    is fixed so that its largest-magnitude entry is positive, making the result deterministic.
    """
    x = to_tensor(x, "X")
    _require_rank(x, 2, "pca", "X")
    n, d = x.shape
    if n < 2:
        raise ValueError(f"pca: need at least 2 samples, got X with shape {(n, d)}")
    if not 1 <= k <= min(n, d):
        raise ValueError(f"pca: k must be between 1 and min(n, d) = {min(n, d)}, got k={k}")
    mean = tf.reduce_mean(x, axis=0)
    centred = x - mean
    s, _, v = tf.linalg.svd(centred, full_matrices=False)
    components = tf.linalg.matrix_transpose(v[:, :k])
    # SVD signs are arbitrary; flip each component so its largest |entry| is positive.
    largest = tf.argmax(tf.abs(components), axis=1)
    signs = tf.sign(tf.gather(components, largest, axis=1, batch_dims=1))
    components = components * signs[:, tf.newaxis]
    variance = tf.square(s) / tf.cast(n - 1, s.dtype)
    return PCAResult(
        components=components,
        explained_variance=variance[:k],
        explained_variance_ratio=variance[:k] / tf.reduce_sum(variance),
        projected=tf.linalg.matmul(centred, components, transpose_b=True),
        mean=mean,
    )
