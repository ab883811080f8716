"""Each addressing step of the NTM and the DNC against a small NumPy reference."""

import numpy as np
import pytest
import tensorflow as tf

from fdl_keras.memory import addressing as A

EPS = A.EPSILON
rng = np.random.default_rng(0)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def run(fn, *arrays):
    out = fn(*(tf.constant(np.asarray(a, np.float32)) for a in arrays))
    return tuple(o.numpy() for o in out) if isinstance(out, tuple) else out.numpy()


def test_content_weighting_is_softmax_of_strength_times_cosine():
    memory, keys, beta = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 2, 3)), [[1.0, 4.0]] * 2
    cos = np.einsum("bhw,bnw->bhn", keys, memory) / (
        np.linalg.norm(keys, axis=-1)[..., None] * np.linalg.norm(memory, axis=-1)[:, None]
    )
    expected = softmax(np.asarray(beta)[..., None] * cos)
    np.testing.assert_allclose(run(A.content_weighting, memory, keys, beta), expected, atol=1e-5)


def test_cosine_similarity_of_zero_memory_is_finite():
    out = run(A.cosine_similarity, np.zeros((1, 4, 3)), np.zeros((1, 1, 3)))
    assert np.isfinite(out).all() and np.abs(out).max() == 0


def test_interpolation():
    c, p, g = rng.random((1, 2, 4)), rng.random((1, 2, 4)), [[0.25, 1.0]]
    np.testing.assert_allclose(
        run(A.interpolate, c, p, g),
        0.25 * c * [[[1], [0]]] + 0.75 * p * [[[1], [0]]] + c * [[[0], [1]]],
        atol=1e-6,
    )


@pytest.mark.parametrize("radius", [1, 2])
def test_shift_is_circular_convolution(radius):
    n = 7
    w = softmax(rng.normal(size=(3, 2, n)))
    s = softmax(rng.normal(size=(3, 2, 2 * radius + 1)))
    expected = np.zeros_like(w)
    for i in range(n):  # w~(i) = sum_j w(j) s(i - j mod N), s over offsets -R..R
        for j in range(n):
            d = (i - j) % n
            d = d - n if d > n // 2 else d
            if -radius <= d <= radius:
                expected[..., i] += w[..., j] * s[..., d + radius]
    np.testing.assert_allclose(run(A.circular_shift, w, s), expected, atol=1e-6)


def test_shift_by_plus_one_moves_the_weighting_forward_and_wraps():
    w = np.eye(5)[[4]][None]  # all weight on the last slot
    out = run(A.circular_shift, w, [[[0.0, 0.0, 1.0]]])
    np.testing.assert_array_equal(out, np.eye(5)[[0]][None])


def test_sharpening():
    w, gamma = softmax(rng.normal(size=(2, 1, 6))), [[3.0], [1.0]]
    powered = (w + EPS) ** np.asarray(gamma)[..., None]
    np.testing.assert_allclose(
        run(A.sharpen, w, gamma), powered / powered.sum(-1, keepdims=True), atol=1e-6
    )
    # Gradients stay finite at exact zeros (the eps inside the power).
    w0 = tf.constant([[[1.0, 0.0, 0.0]]])
    g = tf.constant([[2.0]])
    with tf.GradientTape() as tape:
        tape.watch([w0, g])
        y = A.sharpen(w0, g)[..., 0]
    assert all(np.isfinite(d.numpy()).all() for d in tape.gradient(y, [w0, g]))


def test_write_erases_then_adds():
    memory, w = rng.normal(size=(1, 4, 3)), softmax(rng.normal(size=(1, 1, 4)))
    e, a = rng.random((1, 1, 3)), rng.normal(size=(1, 1, 3))
    expected = memory * (1 - w[0, 0][:, None] * e[0]) + w[0, 0][:, None] * a[0]
    np.testing.assert_allclose(run(A.write_memory, memory, w, e, a)[0], expected[0], atol=1e-6)
    np.testing.assert_allclose(run(A.read_memory, memory, w)[0, 0], w[0, 0] @ memory[0], atol=1e-6)


def test_usage_update():
    u, ww = rng.random((2, 5)), softmax(rng.normal(size=(2, 5)))
    wr, f = softmax(rng.normal(size=(2, 3, 5))), rng.random((2, 3))
    psi = np.prod(1 - f[..., None] * wr, axis=1)
    np.testing.assert_allclose(
        run(A.update_usage, u, ww, wr, f), (u + ww - u * ww) * psi, atol=1e-6
    )


def allocation_reference(u):
    u = EPS + (1 - EPS) * np.asarray(u, np.float64)
    a = np.zeros_like(u)
    for b in range(len(u)):
        phi = np.argsort(u[b], kind="stable")
        prod = 1.0
        for j in phi:
            a[b, j] = (1 - u[b, j]) * prod
            prod *= u[b, j]
    return a


def test_allocation_matches_the_sorted_reference():
    u = rng.random((4, 9))
    np.testing.assert_allclose(run(A.allocation_weighting, u), allocation_reference(u), atol=1e-6)


def test_allocation_orders_by_usage_with_a_known_answer():
    # Sorted by usage: slot 1 (0.1), slot 2 (0.5), slot 0 (0.9).
    out = run(A.allocation_weighting, [[0.9, 0.1, 0.5]])[0]
    np.testing.assert_allclose(out, [0.1 * 0.1 * 0.5, 0.9, 0.5 * 0.1], atol=1e-5)
    assert list(np.argsort(-out)) == [1, 2, 0]  # the least used slot is allocated first
    # Ties: the lower index counts as less used (stable sort); a free slot takes everything.
    tie = run(A.allocation_weighting, [[1.0, 0.0, 0.0, 1.0]])[0]
    np.testing.assert_allclose(tie, allocation_reference([[1.0, 0.0, 0.0, 1.0]])[0], atol=1e-6)
    assert tie[1] > 0.99 and tie[2] < 1e-5


def link_reference(link, w, p):
    n = len(w)
    out = np.zeros_like(link)
    for i in range(n):
        for j in range(n):
            if i != j:
                out[i, j] = (1 - w[i] - w[j]) * link[i, j] + w[i] * p[j]
    return out


def test_link_matrix_uses_w_plus_w_transpose_and_zeroes_the_diagonal():
    link = rng.random((2, 5, 5))
    w, p = softmax(rng.normal(size=(2, 5))) * 0.9, softmax(rng.normal(size=(2, 5)))
    out = run(A.update_link, link, w, p)
    for b in range(2):
        np.testing.assert_allclose(out[b], link_reference(link[b], w[b], p[b]), atol=1e-6)
    assert np.all(np.diagonal(out, axis1=1, axis2=2) == 0)
    # The book's pairwise_add bug (w[i] + w[i] in place of w[i] + w[j]) gives another matrix.
    buggy = (1 - 2 * w[0][:, None]) * link[0] + np.outer(w[0], p[0])
    np.fill_diagonal(buggy, 0)
    assert np.abs(out[0] - buggy).max() > 1e-2


def test_precedence_and_directional_reads():
    p, w = softmax(rng.normal(size=(1, 4))), softmax(rng.normal(size=(1, 4))) * 0.5
    np.testing.assert_allclose(run(A.update_precedence, p, w), (1 - w.sum()) * p + w, atol=1e-6)
    link, wr = rng.random((1, 4, 4)), softmax(rng.normal(size=(1, 2, 4)))
    forward, backward = run(A.directional_weights, link, wr)
    np.testing.assert_allclose(forward[0], wr[0] @ link[0].T, atol=1e-6)
    np.testing.assert_allclose(backward[0], wr[0] @ link[0], atol=1e-6)


def test_link_follows_the_write_order():
    """Writing slots 2, 0, 3 in turn: forward from 2 reaches 0, backward from 3 reaches 0."""
    n = 4
    link, p = np.zeros((1, n, n), np.float32), np.zeros((1, n), np.float32)
    for slot in (2, 0, 3):
        w = np.eye(n, dtype=np.float32)[[slot]]
        link = run(A.update_link, link, w, p)
        p = run(A.update_precedence, p, w)
    forward, backward = run(A.directional_weights, link, np.eye(n)[[[2, 3]]])
    assert forward[0, 0].argmax() == 0 and backward[0, 1].argmax() == 0


def test_every_step_computes_in_the_dtype_it_is_given():
    # A float64 memory network (the reference a float32 one and its exports are compared with)
    # runs every step in float64: no float32 constant gets mixed in.
    u = rng.random((2, 6))
    w = softmax(rng.normal(size=(2, 6)))
    allocation = A.allocation_weighting(tf.constant(u))
    link = A.update_link(tf.constant(rng.random((2, 6, 6))), tf.constant(w), tf.constant(w))
    assert allocation.dtype == link.dtype == tf.float64
    np.testing.assert_allclose(allocation.numpy(), allocation_reference(u), rtol=1e-12)
