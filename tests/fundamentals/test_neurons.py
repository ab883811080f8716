"""Chapters 3-4 neurons, perceptron and hand-written backprop, checked against NumPy/SciPy/TF."""

import numpy as np
import pytest
import scipy.special
import tensorflow as tf

from fdl_keras.fundamentals import neurons

ATOL = 1e-6
Z = np.linspace(-6.0, 6.0, 25)


# --- Activations ----------------------------------------------------------------------------


def test_activations_match_numpy():
    np.testing.assert_allclose(neurons.sigmoid(Z), scipy.special.expit(Z), atol=ATOL)
    np.testing.assert_allclose(neurons.tanh(Z), np.tanh(Z), atol=ATOL)
    np.testing.assert_allclose(neurons.relu(Z), np.maximum(Z, 0.0), atol=ATOL)
    logits = np.random.default_rng(0).normal(size=(4, 5)) * 10
    np.testing.assert_allclose(
        neurons.softmax(logits), scipy.special.softmax(logits, axis=-1), atol=ATOL
    )
    np.testing.assert_allclose(
        neurons.softmax(logits, axis=0), scipy.special.softmax(logits, axis=0), atol=ATOL
    )
    # Softmax is shift invariant, so huge logits do not overflow.
    np.testing.assert_allclose(
        neurons.softmax([1000.0, 1001.0]), scipy.special.softmax([0.0, 1.0]), atol=ATOL
    )
    assert neurons.sigmoid(Z).dtype == tf.float64


@pytest.mark.parametrize("name", sorted(neurons.ACTIVATIONS))
def test_activation_derivatives_match_autodiff(name):
    z = tf.constant(np.append(Z, 0.0), tf.float64)  # includes z = 0 for the ReLU kink
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = neurons.ACTIVATIONS[name](z)
    np.testing.assert_allclose(
        neurons.activation_derivative(name, z), tape.gradient(out, z), atol=ATOL
    )


def test_neuron_matches_numpy():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(6, 3)), rng.normal(size=3)
    np.testing.assert_allclose(
        neurons.neuron(x, w, 0.5, "sigmoid"), scipy.special.expit(x @ w + 0.5), atol=ATOL
    )
    np.testing.assert_allclose(
        neurons.neuron(x[0], w, -1.0, "relu"), max(x[0] @ w - 1.0, 0.0), atol=ATOL
    )
    # Python-float weights and bias keep float64 precision.
    np.testing.assert_allclose(neurons.neuron([1.0, 1.0], [0.1, 0.2], 0.3, "relu"), 0.6, rtol=1e-15)


def test_bad_activation_and_shapes_raise():
    with pytest.raises(ValueError, match="activation must be one of"):
        neurons.neuron(np.ones(2), np.ones(2), 0.0, "swish")
    with pytest.raises(ValueError, match="x has 3 features but weights has 2"):
        neurons.neuron(np.ones(3), np.ones(2), 0.0)
    with pytest.raises(ValueError, match="activation must be one of"):
        neurons.activation_derivative("softmax", Z)


# --- Perceptron -----------------------------------------------------------------------------


def test_perceptron_learns_a_separable_set():
    x, y = neurons.make_linearly_separable(60, margin=0.1, seed=0)
    assert x.shape == (60, 2) and set(np.unique(y)) == {-1, 1}
    result = neurons.train_perceptron(x, y)
    assert result.converged and result.mistakes_per_epoch[-1] == 0
    assert result.mistakes_per_epoch[0] > 0
    np.testing.assert_array_equal(neurons.perceptron_predict(x, result.weights, result.bias), y)
    # The learned boundary separates the classes with a positive functional margin.
    margins = y.numpy() * (x.numpy() @ result.weights.numpy() + result.bias.numpy())
    assert margins.min() > 0


def test_perceptron_rule_step_by_step():
    # Example 1 (-1 at (1, 0)) scores 0 at w = 0, b = 0: a mistake, so w = (-1, 0), b = -1.
    # Example 2 (+1 at (-1, 0)) then scores 1 - 1 = 0: a mistake, so w = (-2, 0), b = 0.
    # The second epoch scores -2 and +2 against the labels' signs: no mistakes, done.
    x = np.array([[1.0, 0.0], [-1.0, 0.0]])
    y = np.array([-1, 1])
    result = neurons.train_perceptron(x, y, learning_rate=1.0)
    np.testing.assert_allclose(result.weights, [-2.0, 0.0], atol=ATOL)
    np.testing.assert_allclose(result.bias, 0.0, atol=ATOL)
    assert result.mistakes_per_epoch == [2, 0] and result.converged


def test_perceptron_cannot_learn_xor():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([-1, 1, 1, -1])
    result = neurons.train_perceptron(x, y, max_epochs=20)
    assert not result.converged and len(result.mistakes_per_epoch) == 20


def test_perceptron_rejects_bad_input():
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        neurons.train_perceptron(np.ones((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="x must be \\(n, d\\) and y \\(n,\\)"):
        neurons.train_perceptron(np.ones((3, 2)), [1, -1])
    with pytest.raises(ValueError, match="too few points"):
        neurons.make_linearly_separable(50, margin=5.0)


# --- Linear neuron and the delta rule -------------------------------------------------------


def test_delta_rule_solves_the_fast_food_problem():
    rng = np.random.default_rng(2)
    portions = rng.integers(1, 6, size=(30, 3)).astype(float)  # fish, chips, ketchup
    prices = portions @ np.array([150.0, 50.0, 100.0])
    # Below 2 / lambda_max(X^T X) (about 2e-3 here) every step lowers the error.
    weights, errors = neurons.train_linear_neuron(portions, prices, learning_rate=1.5e-3, steps=800)
    np.testing.assert_allclose(weights, np.linalg.lstsq(portions, prices)[0], atol=ATOL)
    assert np.all(np.diff(errors) <= 1e-9)  # monotone, up to round-off once converged
    assert errors[-1] < 1e-9 * errors[0]
    with pytest.raises(ValueError, match="targets \\(n,\\)"):
        neurons.train_linear_neuron(portions, prices[:5])


# --- Two-layer network: hand-written backprop -----------------------------------------------


def numpy_forward(params, x, f):
    w1, b1, w2, b2 = (np.asarray(p) for p in params)
    h = f(x @ w1 + b1)
    logits = h @ w2 + b2
    return logits, scipy.special.softmax(logits, axis=1)


def test_forward_and_loss_match_numpy():
    x, labels = neurons.make_xor(40, seed=3)
    params = neurons.init_two_layer(2, 5, 2, seed=1)
    cache = neurons.forward(params, x, "tanh")
    logits, probs = numpy_forward(params, x.numpy(), np.tanh)
    np.testing.assert_allclose(cache.logits, logits, atol=ATOL)
    np.testing.assert_allclose(cache.probs, probs, atol=ATOL)
    expected = -np.mean(np.log(probs[np.arange(40), labels.numpy()]))
    np.testing.assert_allclose(
        neurons.cross_entropy_loss(cache.logits, labels), expected, atol=ATOL
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_hand_written_backprop_matches_gradient_tape(activation):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 3))
    labels = rng.integers(0, 4, size=16)
    params = neurons.init_two_layer(3, 6, 4, seed=2)
    # Non-zero biases so their gradients flow through every term.
    params = params._replace(b1=tf.constant(rng.normal(size=6)), b2=tf.constant(rng.normal(size=4)))
    loss, grads = neurons.loss_and_gradients(params, x, labels, activation)
    tape_loss, tape_grads = neurons.tape_gradients(params, x, labels, activation)
    np.testing.assert_allclose(loss, tape_loss, atol=1e-12)
    for name, ours, reference in zip(
        neurons.TwoLayerParams._fields, grads, tape_grads, strict=True
    ):
        assert ours.shape == getattr(params, name).shape
        np.testing.assert_allclose(ours, reference, atol=1e-10, err_msg=name)


def test_backprop_matches_finite_differences():
    rng = np.random.default_rng(5)
    x, labels = rng.normal(size=(8, 2)), rng.integers(0, 3, size=8)
    params = neurons.init_two_layer(2, 4, 3, seed=3)
    _, grads = neurons.loss_and_gradients(params, x, labels, "sigmoid")
    w1 = params.w1.numpy()
    eps = 1e-6
    numeric = np.zeros_like(w1)
    for index in np.ndindex(*w1.shape):
        shifted = []
        for sign in (1, -1):
            w = w1.copy()
            w[index] += sign * eps
            logits = neurons.forward(params._replace(w1=tf.constant(w)), x, "sigmoid").logits
            shifted.append(float(neurons.cross_entropy_loss(logits, labels)))
        numeric[index] = (shifted[0] - shifted[1]) / (2 * eps)
    np.testing.assert_allclose(grads.w1, numeric, atol=ATOL)


def test_gradient_descent_lowers_the_loss_and_learns_xor():
    x, labels = neurons.make_xor(120, noise=0.15, seed=0)
    params, losses = neurons.train_two_layer(
        x, labels, num_hidden=8, learning_rate=1.0, steps=150, seed=0
    )
    assert len(losses) == 150
    assert losses[-1] < 0.2 * losses[0]
    assert np.mean(np.diff(losses) <= 1e-12) > 0.95  # (almost) monotone descent
    accuracy = np.mean(neurons.predict(params, x).numpy() == labels.numpy())
    assert accuracy > 0.95


def test_make_xor_labels():
    x, labels = neurons.make_xor(50, noise=0.0, seed=1)
    np.testing.assert_array_equal(labels, (x[:, 0] * x[:, 1] < 0).numpy().astype(int))


def test_forward_rejects_wrong_input_width():
    params = neurons.init_two_layer(3, 4, 2)
    with pytest.raises(ValueError, match="x must be \\(n, 3\\) to match W1"):
        neurons.forward(params, np.ones((5, 2)))
