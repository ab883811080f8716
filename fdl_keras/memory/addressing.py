"""Memory addressing of the Neural Turing Machine and the Differentiable Neural Computer.

Pure TensorFlow functions on batched tensors, written by hand because no maintained library has
them for Keras 3 (DeepMind's ``dnc`` is TF1/Sonnet 1). Every step is unit-tested against a small
NumPy reference (``tests/memory/test_addressing.py``). Shapes: ``B`` batch, ``H`` heads, ``N``
memory slots, ``W`` word size.

References:
    Graves, Wayne, Danihelka, "Neural Turing Machines", arXiv:1410.5401 (2014), section 3.3.
    Graves et al., "Hybrid computing using a neural network with dynamic external memory",
    Nature 538 (2016), Methods ("Differentiable neural computer").

Every op here converts to ONNX: the sort of the allocation weighting is ``tf.math.top_k`` (ONNX
``TopK``), the exclusive cumulative product a masked sum of logarithms, the circular shift
static slices.
"""

from __future__ import annotations

import tensorflow as tf

#: Added to norms, weightings and usages so that divisions, logarithms and powers stay finite.
EPSILON = 1e-6


def cosine_similarity(memory: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """``K(k, M[i]) = k.M[i] / (|k| |M[i]| + eps)`` for memory ``(B, N, W)`` and keys
    ``(B, H, W)``; returns ``(B, H, N)``."""
    dot = tf.matmul(keys, memory, transpose_b=True)
    key_norm = tf.sqrt(tf.reduce_sum(keys * keys, axis=-1, keepdims=True) + EPSILON)
    memory_norm = tf.sqrt(tf.reduce_sum(memory * memory, axis=-1) + EPSILON)
    return dot / (key_norm * memory_norm[:, None, :] + EPSILON)


def content_weighting(memory: tf.Tensor, keys: tf.Tensor, strengths: tf.Tensor) -> tf.Tensor:
    """Content addressing: ``softmax_i(beta * K(k, M[i]))``; ``strengths`` is ``(B, H)``,
    each >= 0 (NTM eq. 5, DNC's ``C(M, k, beta)``)."""
    return tf.nn.softmax(strengths[..., None] * cosine_similarity(memory, keys), axis=-1)


def interpolate(content: tf.Tensor, previous: tf.Tensor, gate: tf.Tensor) -> tf.Tensor:
    """NTM eq. 7: ``g w_c + (1 - g) w_{t-1}``; ``gate`` is ``(B, H)`` in [0, 1]."""
    gate = gate[..., None]
    return gate * content + (1.0 - gate) * previous


def circular_shift(weights: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """NTM eq. 8, the circular convolution ``w~(i) = sum_j w(j) s(i - j mod N)``.

    ``shift`` is ``(B, H, 2R + 1)``, a distribution over the offsets ``-R .. R`` (index ``k`` is
    offset ``k - R``): offset ``d`` moves the weighting ``d`` slots forward.
    """
    width = shift.shape[-1]
    radius = width // 2
    rolled = [_roll(weights, k - radius) for k in range(width)]
    return tf.add_n([shift[..., k : k + 1] * rolled[k] for k in range(width)])


def _roll(weights: tf.Tensor, offset: int) -> tf.Tensor:
    """``roll(w, d)[i] = w[i - d mod N]`` with static slices (no ``Roll`` op needed in ONNX)."""
    size = weights.shape[-1]
    offset %= size
    if offset == 0:
        return weights
    return tf.concat([weights[..., size - offset :], weights[..., : size - offset]], axis=-1)


def sharpen(weights: tf.Tensor, gamma: tf.Tensor) -> tf.Tensor:
    """NTM eq. 9: ``w^gamma / sum w^gamma`` with ``gamma`` ``(B, H)`` >= 1; ``eps`` keeps the
    power's gradient finite where a weight is 0."""
    powered = tf.pow(weights + EPSILON, gamma[..., None])
    return powered / tf.reduce_sum(powered, axis=-1, keepdims=True)


def read_memory(memory: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Read vectors ``r = M^T w``: memory ``(B, N, W)``, weights ``(B, H, N)`` -> ``(B, H, W)``."""
    return tf.matmul(weights, memory)


def write_memory(
    memory: tf.Tensor, weights: tf.Tensor, erase: tf.Tensor, add: tf.Tensor
) -> tf.Tensor:
    """Erase then add (NTM eqs. 3-4, DNC's ``M_t``), for one or more write heads.

    ``weights`` ``(B, H, N)``, ``erase`` (in [0, 1]) and ``add`` ``(B, H, W)``. With several heads
    the erasures multiply and the additions sum, as in the NTM paper.
    """
    keep = tf.reduce_prod(1.0 - weights[..., None] * erase[:, :, None, :], axis=1)
    return memory * keep + tf.matmul(weights, add, transpose_a=True)


# --- DNC: dynamic memory allocation ------------------------------------------------------------


def update_usage(
    usage: tf.Tensor, write_weights: tf.Tensor, read_weights: tf.Tensor, free_gates: tf.Tensor
) -> tf.Tensor:
    """DNC usage ``u_t = (u + w^w - u * w^w) * psi`` with retention
    ``psi = prod_i (1 - f_i w^r_i)``; ``usage`` and ``write_weights`` ``(B, N)`` (previous
    step), ``read_weights`` ``(B, R, N)``, ``free_gates`` ``(B, R)``."""
    retention = tf.reduce_prod(1.0 - free_gates[..., None] * read_weights, axis=1)
    return (usage + write_weights - usage * write_weights) * retention


def allocation_weighting(usage: tf.Tensor) -> tf.Tensor:
    """DNC allocation ``a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]``, ``phi`` the slots sorted
    by ascending usage (ties: lower index first); ``usage`` ``(B, N)``.

    The usage is first mapped to ``eps + (1 - eps) u`` (as DeepMind's implementation does), so
    the exclusive cumulative product is ``exp`` of an exclusive cumulative sum of logarithms; the
    sort is ``top_k`` of the negated usage and the result is put back in slot order with the
    permutation's one-hot matrix.
    """
    size = usage.shape[-1]
    usage = EPSILON + (1.0 - EPSILON) * usage
    _, order = tf.math.top_k(-usage, k=size, sorted=True)  # ascending usage, stable
    sorted_usage = tf.gather(usage, order, batch_dims=1)
    # Exclusive cumulative product = exp(sum_{i<j} log u_i): a strictly lower triangular sum.
    before = tf.constant(
        [[1.0 if i < j else 0.0 for j in range(size)] for i in range(size)], usage.dtype
    )
    products = tf.exp(tf.matmul(tf.math.log(sorted_usage), before))
    sorted_allocation = (1.0 - sorted_usage) * products
    permutation = tf.one_hot(order, size, dtype=usage.dtype)  # (B, j, slot)
    return tf.matmul(sorted_allocation[:, None, :], permutation)[:, 0, :]


def write_weighting(
    content: tf.Tensor,
    allocation: tf.Tensor,
    allocation_gate: tf.Tensor,
    write_gate: tf.Tensor,
) -> tf.Tensor:
    """DNC ``w^w = g^w (g^a a + (1 - g^a) c^w)``: ``content``/``allocation`` ``(B, N)``, gates
    ``(B,)``."""
    mixed = allocation_gate[:, None] * allocation + (1.0 - allocation_gate[:, None]) * content
    return write_gate[:, None] * mixed


# --- DNC: temporal memory linkage --------------------------------------------------------------


def update_link(link: tf.Tensor, write_weights: tf.Tensor, precedence: tf.Tensor) -> tf.Tensor:
    """DNC link ``L[i, j] = (1 - w[i] - w[j]) L[i, j] + w[i] p[j]`` with the diagonal zeroed.

    ``link`` ``(B, N, N)``; ``write_weights`` (this step) and ``precedence`` (the previous step's)
    ``(B, N)``. ``w[i] + w[j]`` is the pairwise sum ``w + w^T`` (the book's ``pairwise_add``
    returned ``w + w``).
    """
    pairwise = write_weights[:, :, None] + write_weights[:, None, :]
    link = (1.0 - pairwise) * link + write_weights[:, :, None] * precedence[:, None, :]
    size = link.shape[-1]
    off_diagonal = tf.constant(
        [[0.0 if i == j else 1.0 for j in range(size)] for i in range(size)], link.dtype
    )
    return link * off_diagonal


def update_precedence(precedence: tf.Tensor, write_weights: tf.Tensor) -> tf.Tensor:
    """DNC ``p_t = (1 - sum_i w[i]) p_{t-1} + w``."""
    return (1.0 - tf.reduce_sum(write_weights, axis=-1, keepdims=True)) * precedence + write_weights


def directional_weights(link: tf.Tensor, read_weights: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """DNC forward ``f_i = L w^r_i`` and backward ``b_i = L^T w^r_i`` weightings, each
    ``(B, R, N)`` for ``read_weights`` ``(B, R, N)``."""
    forward = tf.matmul(read_weights, link, transpose_b=True)  # sum_j L[n, j] w[j]
    backward = tf.matmul(read_weights, link)  # sum_j L[j, n] w[j]
    return forward, backward


__all__ = [
    "EPSILON",
    "allocation_weighting",
    "circular_shift",
    "content_weighting",
    "cosine_similarity",
    "directional_weights",
    "interpolate",
    "read_memory",
    "sharpen",
    "update_link",
    "update_precedence",
    "update_usage",
    "write_memory",
    "write_weighting",
]
