"""Chapter 1 linear algebra, checked against NumPy, SciPy and scikit-learn in float64."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
from sklearn.decomposition import PCA

from fdl_keras.fundamentals import linalg

ATOL = 1e-6
M23 = np.ones((2, 3))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def low_rank(rng, m: int, n: int, r: int) -> np.ndarray:
    return rng.normal(size=(m, r)) @ rng.normal(size=(r, n))


def projector(basis) -> np.ndarray:
    """Orthogonal projector onto the span of the columns: bases agree iff projectors do."""
    b = np.asarray(basis)
    return b @ b.T


# --- Products -------------------------------------------------------------------------------


@pytest.mark.parametrize("m, n, p", [(1, 1, 1), (3, 4, 2), (5, 1, 6)])
def test_products_match_numpy(rng, m, n, p):
    a, b = rng.normal(size=(m, n)), rng.normal(size=(n, p))
    u, v = rng.normal(size=n), rng.normal(size=m)
    np.testing.assert_allclose(linalg.matmul(a, b), a @ b, atol=ATOL)
    np.testing.assert_allclose(linalg.matvec(a, u), a @ u, atol=ATOL)
    np.testing.assert_allclose(linalg.dot(u, u), u @ u, atol=ATOL)
    np.testing.assert_allclose(linalg.outer(v, u), np.outer(v, u), atol=ATOL)
    np.testing.assert_allclose(linalg.transpose(a), a.T, atol=ATOL)
    assert linalg.matmul(a, b).dtype == tf.float64


def test_inputs_become_float64_without_losing_precision():
    x = linalg.to_tensor([0.1, 1, 2])
    assert x.dtype == tf.float64 and x.numpy()[0] == 0.1
    assert linalg.to_tensor(tf.constant([1.0], tf.float32)).dtype == tf.float32
    assert linalg.to_tensor(np.array([1j])).dtype == tf.complex128


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: linalg.matmul(M23, np.ones((4, 2))), "A has 3 columns but B has 4 rows"),
        (lambda: linalg.matmul(np.ones(3), np.ones((3, 2))), "A must be a matrix (rank 2)"),
        (lambda: linalg.matvec(M23, np.ones(4)), "A has 3 columns but x has 4 entries"),
        (lambda: linalg.matvec(M23, np.ones((3, 1))), "x must be a vector (rank 1)"),
        (lambda: linalg.dot(np.ones(3), np.ones(4)), "u has 3 entries but v has 4 entries"),
        (lambda: linalg.outer(np.ones((2, 2)), np.ones(2)), "u must be a vector"),
        (lambda: linalg.transpose(np.ones(3)), "A must be a matrix"),
        (lambda: linalg.to_tensor("abc"), "cannot convert"),
    ],
)
def test_product_shape_errors_name_the_dimensions(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "a, b",
    [
        ((), ()),
        ((3,), ()),
        ((2, 3), (3,)),
        ((2, 1), (1, 4)),
        ((5, 1, 3), (4, 1)),
        ((1,), (7, 1, 2)),
        ((0, 3), (1, 3)),
        ((8, 1, 6, 1), (7, 1, 5)),
    ],
)
def test_broadcast_shape_matches_numpy_and_tf(a, b):
    expected = np.broadcast_shapes(a, b)
    assert linalg.broadcast_shape(a, b) == expected
    assert linalg.broadcast_shape(b, a) == expected
    assert tuple(tf.broadcast_static_shape(tf.TensorShape(a), tf.TensorShape(b))) == expected


@pytest.mark.parametrize(
    "a, b, axis, sizes",
    [
        ((2, 3), (4,), "axis -1 (axis 1 of the result)", "sizes 3 and 4"),
        ((2, 3), (3, 3), "axis -2 (axis 0 of the result)", "sizes 2 and 3"),
        ((5, 2, 1), (3, 1), "axis -2 (axis 1 of the result)", "sizes 2 and 3"),
    ],
)
def test_broadcast_shape_errors_name_rule_and_axis(a, b, axis, sizes):
    with pytest.raises(ValueError) as info:
        linalg.broadcast_shape(a, b)
    message = str(info.value)
    assert axis in message and sizes in message and "equal or one of them 1" in message
    with pytest.raises(ValueError):
        np.broadcast_shapes(a, b)  # NumPy agrees these are incompatible


def test_broadcast_shape_rejects_negative_dimensions():
    with pytest.raises(ValueError, match="non-negative"):
        linalg.broadcast_shape((2, -1), (2, 1))


# --- Fundamental subspaces ------------------------------------------------------------------


@pytest.mark.parametrize("m, n, r", [(5, 4, 2), (3, 6, 3), (4, 4, 4), (6, 3, 1)])
def test_fundamental_spaces_match_scipy(rng, m, n, r):
    a = low_rank(rng, m, n, r)
    spaces = linalg.fundamental_spaces(a)
    assert spaces.rank == linalg.rank(a) == np.linalg.matrix_rank(a) == r
    assert spaces.column_space.shape == (m, r) and spaces.left_null_space.shape == (m, m - r)
    assert spaces.row_space.shape == (n, r) and spaces.null_space.shape == (n, n - r)
    np.testing.assert_allclose(
        projector(linalg.column_space(a)), projector(scipy.linalg.orth(a)), atol=ATOL
    )
    np.testing.assert_allclose(
        projector(linalg.row_space(a)), projector(scipy.linalg.orth(a.T)), atol=ATOL
    )
    null = linalg.null_space(a)
    left_null = linalg.left_null_space(a)
    if n > r:
        np.testing.assert_allclose(
            projector(null), projector(scipy.linalg.null_space(a)), atol=ATOL
        )
    if m > r:
        np.testing.assert_allclose(
            projector(left_null), projector(scipy.linalg.null_space(a.T)), atol=ATOL
        )
    # Orthonormal bases, and the defining equations A x = 0 and A^T y = 0.
    for basis in spaces[1:]:
        k = basis.shape[1]
        np.testing.assert_allclose(np.asarray(basis).T @ np.asarray(basis), np.eye(k), atol=ATOL)
    np.testing.assert_allclose(a @ np.asarray(null), 0, atol=ATOL)
    np.testing.assert_allclose(a.T @ np.asarray(left_null), 0, atol=ATOL)
    # Row space and null space together span R^n; column and left null space span R^m.
    np.testing.assert_allclose(projector(spaces.row_space) + projector(null), np.eye(n), atol=ATOL)
    np.testing.assert_allclose(
        projector(spaces.column_space) + projector(left_null), np.eye(m), atol=ATOL
    )


def test_rank_tolerance_and_zero_matrix():
    a = np.diag([1.0, 1e-3, 1e-11])
    assert linalg.rank(a) == np.linalg.matrix_rank(a) == 3
    assert linalg.rank(a, tol=1e-8) == np.linalg.matrix_rank(a, tol=1e-8) == 2
    assert linalg.rank(a, tol=1e-2) == 1
    zero = np.zeros((3, 2))
    assert linalg.rank(zero) == 0
    assert linalg.null_space(zero).shape == (2, 2)
    np.testing.assert_allclose(
        linalg.singular_value_tolerance(tf.constant([2.0, 1.0], tf.float64), (3, 5)),
        5 * np.finfo(np.float64).eps * 2.0,
        rtol=1e-12,
    )


def test_fundamental_spaces_need_a_matrix():
    with pytest.raises(ValueError, match="must be a matrix"):
        linalg.rank(np.ones(3))


# --- Eigendecomposition ---------------------------------------------------------------------


def test_symmetric_eigen_matches_numpy(rng):
    b = rng.normal(size=(5, 5))
    a = b + b.T
    assert linalg.is_symmetric(a)
    values, vectors = linalg.eigen(a)
    assert values.dtype == tf.float64  # eigh: real eigenvalues, ascending
    np.testing.assert_allclose(values, np.linalg.eigvalsh(a), atol=ATOL)
    np.testing.assert_allclose(np.asarray(vectors).T @ np.asarray(vectors), np.eye(5), atol=ATOL)
    assert linalg.check_eigenpairs(a, values, vectors)
    np.testing.assert_allclose(linalg.eigen_residuals(a, values, vectors), 0, atol=1e-10)


def test_general_eigen_matches_numpy(rng):
    a = rng.normal(size=(4, 4))
    assert not linalg.is_symmetric(a)
    values, vectors = linalg.eigen(a)
    assert values.dtype == tf.complex128  # eig: complex in general
    np.testing.assert_allclose(
        np.sort_complex(values.numpy()), np.sort_complex(np.linalg.eigvals(a)), atol=ATOL
    )
    assert linalg.check_eigenpairs(a, values, vectors)


def test_rotation_has_complex_eigenpairs():
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    values, vectors = linalg.eigen(rotation)
    np.testing.assert_allclose(np.sort_complex(values.numpy()), [-1j, 1j], atol=ATOL)
    assert linalg.check_eigenpairs(rotation, values, vectors)


def test_forcing_eigh_or_eig():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(
        np.sort(np.real(linalg.eigen(a, symmetric=False).values)),
        linalg.eigen(a, symmetric=True).values,
        atol=ATOL,
    )


def test_check_eigenpairs_rejects_wrong_pairs():
    a = np.diag([1.0, 2.0, 3.0])
    vectors = np.eye(3)
    assert linalg.check_eigenpairs(a, [1.0, 2.0, 3.0], vectors)
    assert not linalg.check_eigenpairs(a, [1.0, 2.0, 4.0], vectors)
    assert not linalg.check_eigenpairs(a, [1.0, 2.0, 3.0], np.ones((3, 3)))
    residuals = linalg.eigen_residuals(a, [1.0, 2.0, 4.0], vectors)
    np.testing.assert_allclose(residuals, [0.0, 0.0, 1.0], atol=ATOL)


@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 2, 2)])
def test_eigen_rejects_non_square(shape):
    with pytest.raises(ValueError) as info:
        linalg.eigen(np.ones(shape))
    assert "must be a square matrix" in str(info.value) and str(shape) in str(info.value)
    with pytest.raises(ValueError, match="square"):
        linalg.check_eigenpairs(np.ones(shape), [1.0], np.ones((1, 1)))


def test_eigen_residuals_check_shapes():
    with pytest.raises(ValueError, match="one column per eigenvalue"):
        linalg.eigen_residuals(np.eye(3), [1.0, 1.0], np.eye(3))
    with pytest.raises(ValueError, match="values must be a vector"):
        linalg.eigen_residuals(np.eye(2), np.eye(2), np.eye(2))


# --- PCA ------------------------------------------------------------------------------------


def test_pca_matches_sklearn(rng):
    x = rng.normal(size=(60, 5)) @ np.diag([5.0, 3.0, 1.0, 0.5, 0.1]) + 2.0
    result = linalg.pca(x, 3)
    reference = PCA(n_components=3, svd_solver="full").fit(x)
    # Both fix each component's sign so its largest-magnitude entry is positive.
    np.testing.assert_allclose(result.components, reference.components_, atol=ATOL)
    np.testing.assert_allclose(result.explained_variance, reference.explained_variance_, atol=ATOL)
    np.testing.assert_allclose(
        result.explained_variance_ratio, reference.explained_variance_ratio_, atol=ATOL
    )
    np.testing.assert_allclose(result.projected, reference.transform(x), atol=ATOL)
    np.testing.assert_allclose(result.mean, x.mean(axis=0), atol=ATOL)


def test_pca_with_all_components_is_a_rotation(rng):
    x = rng.normal(size=(20, 3))
    result = linalg.pca(x, 3)
    np.testing.assert_allclose(np.sum(result.explained_variance_ratio), 1.0, atol=ATOL)
    np.testing.assert_allclose(
        np.asarray(result.projected) @ np.asarray(result.components) + np.asarray(result.mean),
        x,
        atol=ATOL,
    )
    np.testing.assert_allclose(
        result.explained_variance, np.var(result.projected, axis=0, ddof=1), atol=ATOL
    )


@pytest.mark.parametrize(
    "shape, k, message",
    [
        ((10, 3), 0, "k must be between 1 and min"),
        ((10, 3), 4, "min(n, d) = 3"),
        ((1, 3), 1, "at least 2 samples"),
        ((10,), 1, "X must be a matrix"),
    ],
)
def test_pca_rejects_bad_arguments(shape, k, message):
    with pytest.raises(ValueError) as info:
        linalg.pca(np.ones(shape), k)
    assert message in str(info.value)
