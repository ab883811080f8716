"""Neurons, perceptrons and backpropagation by hand (Fundamentals of Deep Learning, ch. 3-4).

Chapter 3 ("The Neural Network") builds the artificial neuron ``y = f(w . x + b)``, shows that a
linear perceptron is a neuron with a step activation, and introduces sigmoid, tanh and ReLU
neurons and the softmax output layer. Chapter 4 ("Training Feed-Forward Neural Networks") trains
a linear neuron with the delta rule (the "fast-food problem") and derives backpropagation.

The backward pass below is written out by hand on purpose: that derivation is the chapter's
teaching point. Everywhere else the book's code would use automatic differentiation, and so do
we; :func:`tape_gradients` computes the same gradients with ``tf.GradientTape`` as the check.

Reference: F. Rosenblatt, "The perceptron: a probabilistic model for information storage and
organization in the brain", Psychological Review 65(6), 1958; D. E. Rumelhart, G. E. Hinton and
R. J. Williams, "Learning representations by back-propagating errors", Nature 323, 1986.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

from fdl_keras.fundamentals.linalg import to_tensor

__all__ = [
    "ACTIVATIONS",
    "ForwardCache",
    "PerceptronResult",
    "TwoLayerParams",
    "activation_derivative",
    "backward",
    "cross_entropy_loss",
    "forward",
    "init_two_layer",
    "loss_and_gradients",
    "make_linearly_separable",
    "make_xor",
    "neuron",
    "perceptron_predict",
    "predict",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "tape_gradients",
    "train_linear_neuron",
    "train_perceptron",
    "train_two_layer",
]


# --- Activations (chapter 3) ----------------------------------------------------------------


def sigmoid(z) -> tf.Tensor:
    """Logistic neuron ``1 / (1 + exp(-z))``: squashes the logit into (0, 1)."""
    return tf.math.sigmoid(to_tensor(z, "z"))


def tanh(z) -> tf.Tensor:
    """Tanh neuron: S-shaped like the sigmoid but zero-centred, range (-1, 1)."""
    return tf.math.tanh(to_tensor(z, "z"))


def relu(z) -> tf.Tensor:
    """Restricted linear unit ``max(0, z)``."""
    return tf.nn.relu(to_tensor(z, "z"))


def softmax(z, axis: int = -1) -> tf.Tensor:
    """Softmax ``exp(z_i) / sum_j exp(z_j)`` along ``axis``: a probability vector over classes."""
    return tf.nn.softmax(to_tensor(z, "z"), axis=axis)


ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
}


def _activation(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def _as_dtype(value, dtype: tf.DType) -> tf.Tensor:
    # Through to_tensor: tf.cast of a Python float would round it to float32 first.
    return tf.cast(to_tensor(value), dtype)


def activation_derivative(name: str, z) -> tf.Tensor:
    """``f'(z)`` for a named activation, written via the output where that is cheaper.

    sigmoid: ``s (1 - s)``; tanh: ``1 - t^2``; ReLU: ``1`` for ``z > 0`` else ``0`` (the
    sub-gradient TensorFlow also uses at ``z = 0``).
    """
    z = to_tensor(z, "z")
    f = _activation(name)
    if name == "sigmoid":
        s = f(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - tf.square(f(z))
    return tf.cast(z > 0, z.dtype)


def neuron(x, weights, bias, activation: str = "sigmoid") -> tf.Tensor:
    """One neuron ``f(x . w + b)``; ``x`` is one input (d,) or a batch (n, d)."""
    x, weights = to_tensor(x, "x"), to_tensor(weights, "weights")
    if x.shape[-1] != weights.shape[0]:
        raise ValueError(f"neuron: x has {x.shape[-1]} features but weights has {weights.shape[0]}")
    logit = tf.tensordot(x, tf.cast(weights, x.dtype), axes=1) + _as_dtype(bias, x.dtype)
    return _activation(activation)(logit)


# --- The perceptron (chapter 3) -------------------------------------------------------------


class PerceptronResult(NamedTuple):
    """A trained perceptron and how training went."""

    weights: tf.Tensor  # (d,)
    bias: tf.Tensor  # scalar
    mistakes_per_epoch: list[int]
    converged: bool  # True when the last epoch made no mistake


def perceptron_predict(x, weights, bias) -> tf.Tensor:
    """Perceptron output ``sign(w . x + b)`` as labels in {-1, +1} (``+1`` on the boundary)."""
    x = to_tensor(x, "x")
    logit = tf.tensordot(x, _as_dtype(weights, x.dtype), axes=1) + _as_dtype(bias, x.dtype)
    return tf.where(logit >= 0, 1, -1)


def train_perceptron(x, y, learning_rate: float = 1.0, max_epochs: int = 100) -> PerceptronResult:
    """Rosenblatt's perceptron learning rule on inputs ``x`` (n, d) and labels ``y`` in {-1, +1}.

    Visit the examples in order; whenever one is misclassified (``y_i (w . x_i + b) <= 0``)
    move the boundary towards it: ``w += lr y_i x_i`` and ``b += lr y_i``. On linearly separable
    data this stops after finitely many mistakes (Novikoff's theorem); training ends after the
    first epoch without one, or after ``max_epochs``.
    """
    x = to_tensor(x, "x")
    y = tf.cast(tf.convert_to_tensor(y), x.dtype)
    if x.shape.rank != 2 or y.shape.rank != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"train_perceptron: x must be (n, d) and y (n,), got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    if not bool(tf.reduce_all((y == 1) | (y == -1))):
        raise ValueError("train_perceptron: labels must be -1 or +1")
    weights = tf.zeros([x.shape[1]], x.dtype)
    bias = tf.zeros([], x.dtype)
    examples = list(zip(tf.unstack(x), tf.unstack(y), strict=True))
    mistakes_per_epoch: list[int] = []
    for _ in range(max_epochs):
        mistakes = 0
        for xi, yi in examples:
            if yi * (tf.tensordot(weights, xi, axes=1) + bias) <= 0:
                weights = weights + learning_rate * yi * xi
                bias = bias + learning_rate * yi
                mistakes += 1
        mistakes_per_epoch.append(mistakes)
        if mistakes == 0:
            break
    return PerceptronResult(weights, bias, mistakes_per_epoch, mistakes_per_epoch[-1] == 0)


def make_linearly_separable(
    num_samples: int = 100, margin: float = 0.1, seed: int = 0
) -> tuple[tf.Tensor, tf.Tensor]:
    """2-D points in [-1, 1]^2 labelled +1/-1 by the line ``x_2 = 0.5 x_1 + 0.1``.

    Points closer than ``margin`` to the line are dropped, so the classes are separated by a gap
    and the perceptron converges quickly.
    """
    candidates = tf.random.stateless_uniform(
        [8 * num_samples, 2], seed=[seed, 1], minval=-1.0, maxval=1.0, dtype=tf.float64
    )
    # Signed distance to the line 0.5 x_1 - x_2 + 0.1 = 0.
    normal = tf.constant([0.5, -1.0], tf.float64)
    distance = (tf.linalg.matvec(candidates, normal) + 0.1) / tf.norm(normal)
    keep = tf.abs(distance) >= margin
    x = tf.boolean_mask(candidates, keep)[:num_samples]
    if x.shape[0] < num_samples:
        raise ValueError(f"make_linearly_separable: margin {margin} leaves too few points")
    y = tf.where(tf.boolean_mask(distance, keep)[:num_samples] > 0, 1, -1)
    return x, y


# --- The linear neuron and the delta rule (chapter 4) ---------------------------------------


def train_linear_neuron(
    x, targets, learning_rate: float = 0.01, steps: int = 500, weights=None
) -> tuple[tf.Tensor, list[float]]:
    """Batch gradient descent on a linear neuron ``y = x w`` with squared error.

    Error ``E = 1/2 sum_i (t_i - y_i)^2``; the delta rule is ``dw = lr sum_i x_i (t_i - y_i)``,
    i.e. ``-lr dE/dw``. Returns the final weights and the error before each step.
    """
    x, targets = to_tensor(x, "x"), to_tensor(targets, "targets")
    if x.shape.rank != 2 or targets.shape != (x.shape[0],):
        raise ValueError(
            f"train_linear_neuron: x must be (n, d) and targets (n,), got {tuple(x.shape)} "
            f"and {tuple(targets.shape)}"
        )
    w = tf.zeros([x.shape[1]], x.dtype) if weights is None else to_tensor(weights, "weights")
    errors = []
    for _ in range(steps):
        residual = targets - tf.linalg.matvec(x, w)
        errors.append(float(0.5 * tf.reduce_sum(tf.square(residual))))
        w = w + learning_rate * tf.linalg.matvec(x, residual, transpose_a=True)
    return w, errors


# --- A two-layer network, forward and backward by hand (chapter 4) --------------------------


class TwoLayerParams(NamedTuple):
    """Weights of ``x -> f(x W1 + b1) -> softmax(h W2 + b2)`` (also used for their gradients)."""

    w1: tf.Tensor  # (d, hidden)
    b1: tf.Tensor  # (hidden,)
    w2: tf.Tensor  # (hidden, classes)
    b2: tf.Tensor  # (classes,)


class ForwardCache(NamedTuple):
    """Intermediate values of the forward pass that the backward pass reuses."""

    x: tf.Tensor  # (n, d) inputs
    z1: tf.Tensor  # (n, hidden) hidden logits
    h: tf.Tensor  # (n, hidden) hidden activations
    logits: tf.Tensor  # (n, classes)
    probs: tf.Tensor  # (n, classes) softmax outputs


def init_two_layer(
    num_inputs: int, num_hidden: int, num_outputs: int, seed: int = 0, dtype=tf.float64
) -> TwoLayerParams:
    """Random normal weights scaled by ``1 / sqrt(fan_in)`` and zero biases."""

    def weight(shape: list[int], stream: int) -> tf.Tensor:
        w = tf.random.stateless_normal(shape, seed=[seed, stream], dtype=dtype)
        return w / tf.sqrt(tf.cast(shape[0], dtype))

    return TwoLayerParams(
        w1=weight([num_inputs, num_hidden], 1),
        b1=tf.zeros([num_hidden], dtype),
        w2=weight([num_hidden, num_outputs], 2),
        b2=tf.zeros([num_outputs], dtype),
    )


def forward(params: TwoLayerParams, x, activation: str = "tanh") -> ForwardCache:
    """Forward pass, keeping every intermediate for :func:`backward`."""
    x = tf.cast(to_tensor(x, "x"), params.w1.dtype)
    if x.shape.rank != 2 or x.shape[1] != params.w1.shape[0]:
        raise ValueError(
            f"forward: x must be (n, {params.w1.shape[0]}) to match W1, got {tuple(x.shape)}"
        )
    z1 = tf.linalg.matmul(x, params.w1) + params.b1
    h = _activation(activation)(z1)
    logits = tf.linalg.matmul(h, params.w2) + params.b2
    return ForwardCache(x, z1, h, logits, tf.nn.softmax(logits))


def cross_entropy_loss(logits, labels) -> tf.Tensor:
    """Mean softmax cross-entropy ``-1/n sum_i log softmax(logits_i)[label_i]``."""
    logits = to_tensor(logits, "logits")
    targets = tf.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(targets, logits))


def backward(
    params: TwoLayerParams, cache: ForwardCache, labels, activation: str = "tanh"
) -> TwoLayerParams:
    """Gradients of :func:`cross_entropy_loss` with respect to every parameter, by hand.

    The chain rule, layer by layer from the output back (the chapter's derivation):

    * softmax + cross-entropy: ``dL/dlogits = (probs - onehot) / n``
    * output layer: ``dL/dW2 = h^T dlogits``, ``dL/db2 = sum_i dlogits_i``
    * back through W2: ``dL/dh = dlogits W2^T``
    * back through the activation: ``dL/dz1 = dL/dh * f'(z1)`` (elementwise)
    * hidden layer: ``dL/dW1 = x^T dz1``, ``dL/db1 = sum_i dz1_i``
    """
    n = cache.x.shape[0]
    targets = tf.one_hot(labels, cache.probs.shape[-1], dtype=cache.probs.dtype)
    d_logits = (cache.probs - targets) / tf.cast(n, cache.probs.dtype)
    d_w2 = tf.linalg.matmul(cache.h, d_logits, transpose_a=True)
    d_b2 = tf.reduce_sum(d_logits, axis=0)
    d_h = tf.linalg.matmul(d_logits, params.w2, transpose_b=True)
    d_z1 = d_h * activation_derivative(activation, cache.z1)
    d_w1 = tf.linalg.matmul(cache.x, d_z1, transpose_a=True)
    d_b1 = tf.reduce_sum(d_z1, axis=0)
    return TwoLayerParams(d_w1, d_b1, d_w2, d_b2)


def loss_and_gradients(
    params: TwoLayerParams, x, labels, activation: str = "tanh"
) -> tuple[tf.Tensor, TwoLayerParams]:
    """Loss and hand-derived gradients: one forward and one backward pass."""
    cache = forward(params, x, activation)
    loss = cross_entropy_loss(cache.logits, labels)
    return loss, backward(params, cache, labels, activation)


def tape_gradients(
    params: TwoLayerParams, x, labels, activation: str = "tanh"
) -> tuple[tf.Tensor, TwoLayerParams]:
    """The same loss and gradients from ``tf.GradientTape``: the reference for :func:`backward`."""
    with tf.GradientTape() as tape:
        tape.watch(list(params))
        loss = cross_entropy_loss(forward(params, x, activation).logits, labels)
    return loss, TwoLayerParams(*tape.gradient(loss, list(params)))


def train_two_layer(
    x,
    labels,
    num_hidden: int = 8,
    learning_rate: float = 1.0,
    steps: int = 300,
    activation: str = "tanh",
    seed: int = 0,
) -> tuple[TwoLayerParams, list[float]]:
    """Full-batch gradient descent with the hand-written gradients; returns params and losses.

    ``losses[t]`` is the loss before update ``t``.
    """
    x = to_tensor(x, "x")
    labels = tf.convert_to_tensor(labels)
    num_classes = int(tf.reduce_max(labels)) + 1
    params = init_two_layer(x.shape[1], num_hidden, max(num_classes, 2), seed, x.dtype)
    losses = []
    for _ in range(steps):
        loss, grads = loss_and_gradients(params, x, labels, activation)
        losses.append(float(loss))
        params = TwoLayerParams(
            *(p - learning_rate * g for p, g in zip(params, grads, strict=True))
        )
    return params, losses


def predict(params: TwoLayerParams, x, activation: str = "tanh") -> tf.Tensor:
    """Most probable class for each row of ``x``."""
    return tf.argmax(forward(params, x, activation).logits, axis=-1)


def make_xor(
    num_samples: int = 200, noise: float = 0.15, seed: int = 0
) -> tuple[tf.Tensor, tf.Tensor]:
    """Noisy XOR: points around the four corners of [-1, 1]^2, class 1 where ``x_1 x_2 < 0``.

    No single neuron separates the classes; one hidden layer does (the book's motivation for
    going beyond the perceptron).
    """
    corners = tf.constant([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], tf.float64)
    which = tf.random.stateless_uniform([num_samples], [seed, 1], maxval=4, dtype=tf.int32)
    jitter = noise * tf.random.stateless_normal([num_samples, 2], [seed, 2], dtype=tf.float64)
    x = tf.gather(corners, which) + jitter
    labels = tf.cast(tf.gather(corners[:, 0] * corners[:, 1] < 0, which), tf.int32)
    return x, labels
