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
# # Chapter 3 — The Neural Network (with chapter 4's backpropagation)
#
# From a single artificial neuron `y = f(w · x + b)` to the perceptron, nonlinear neurons, the
# softmax output layer, and a two-layer network trained by backpropagation written out by
# hand and checked against TensorFlow's automatic differentiation. The code is
# `fdl_keras.fundamentals.neurons`.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from fdl_keras.fundamentals import neurons

FAST = os.environ.get("FDL_FAST") == "1"  # shorter loops for the test harness (CI only)

# %% [markdown]
# ## Nonlinear neurons
#
# A neuron computes a weighted sum of its inputs (the logit `z = w · x + b`) and passes it
# through an activation. Sigmoid squashes `z` into (0, 1), tanh into (−1, 1) and is centred on
# zero, and the restricted linear unit (ReLU) `max(0, z)` keeps positive logits unchanged.
# Their derivatives drive learning: the sigmoid's is at most ¼, ReLU's is 0 or 1.

# %%
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

# %% [markdown]
# ## Softmax output layers
#
# For `k` classes the output layer produces `k` logits; softmax turns them into a probability
# vector, `softmax(z)_i = exp(z_i) / Σ_j exp(z_j)`. Adding a constant to every logit changes
# nothing, which is how it is computed stably.

# %%
logits = np.array([2.0, 1.0, 0.1])
print("softmax(z)        =", neurons.softmax(logits).numpy().round(4))
print("softmax(z + 1000) =", neurons.softmax(logits + 1000).numpy().round(4))
print("a sigmoid neuron:", float(neurons.neuron([1.0, 2.0], [0.5, -0.25], 0.1, "sigmoid")))

# %% [markdown]
# ## The perceptron
#
# A linear perceptron outputs `sign(w · x + b)`; its decision boundary is the line
# `w · x + b = 0`. Rosenblatt's learning rule visits the examples and, on each mistake, moves
# the boundary towards it: `w ← w + y x`, `b ← b + y`. On linearly separable data it stops
# after finitely many mistakes.

# %%
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

# %% [markdown]
# No line separates XOR, so the perceptron never stops making mistakes there: the motivation
# for hidden layers.

# %%
xor_x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
xor_y = np.array([-1, 1, 1, -1])
xor_result = neurons.train_perceptron(xor_x, xor_y, max_epochs=10)
print("XOR mistakes per epoch:", xor_result.mistakes_per_epoch)

# %% [markdown]
# ## Training a linear neuron: the delta rule (chapter 4)
#
# The fast-food problem: every day you buy some portions of fish, chips and ketchup and only see
# the total bill. A linear neuron `y = x · w` with squared error `E = ½ Σ (t − y)²` learns the
# prices by gradient descent, `Δw = ε Σ x (t − y)` (the delta rule).

# %%
rng = np.random.default_rng(2)
portions = rng.integers(1, 6, size=(30, 3)).astype(float)
bills = portions @ np.array([150.0, 50.0, 100.0])
weights, errors = neurons.train_linear_neuron(
    portions, bills, learning_rate=1.5e-3, steps=300 if FAST else 800
)
print("learned prices:", weights.numpy().round(3))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(errors)
ax.set(xlabel="step", ylabel="squared error", title="Delta rule on the fast-food problem")
plt.show()

# %% [markdown]
# ## Backpropagation by hand
#
# A two-layer network `x → tanh(x W1 + b1) → softmax(h W2 + b2)` with mean cross-entropy loss.
# The chain rule, from the output back:
#
# * `∂L/∂logits = (softmax − onehot) / n`
# * `∂L/∂W2 = hᵀ ∂L/∂logits`, `∂L/∂b2 = Σ ∂L/∂logits`
# * `∂L/∂h = ∂L/∂logits W2ᵀ`, then `∂L/∂z1 = ∂L/∂h ⊙ f′(z1)`
# * `∂L/∂W1 = xᵀ ∂L/∂z1`, `∂L/∂b1 = Σ ∂L/∂z1`
#
# `neurons.backward` is exactly these lines. `tf.GradientTape` computes the same numbers.

# %%
x, labels = neurons.make_xor(200, noise=0.2, seed=0)
params = neurons.init_two_layer(2, 8, 2, seed=0)
loss, grads = neurons.loss_and_gradients(params, x, labels)
tape_loss, tape_grads = neurons.tape_gradients(params, x, labels)
for name, ours, tape in zip(neurons.TwoLayerParams._fields, grads, tape_grads):
    print(f"{name}: max |hand − tape| = {float(tf.reduce_max(tf.abs(ours - tape))):.1e}")

# %% [markdown]
# ## Gradient descent
#
# Full-batch gradient descent with those hand-written gradients lowers the loss and learns the
# XOR regions a single perceptron cannot.

# %%
params, losses = neurons.train_two_layer(
    x, labels, num_hidden=8, learning_rate=1.0, steps=200 if FAST else 500, seed=0
)
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

# %% [markdown]
# ## What this chapter showed, checked
#
# The claims above as assertions (they hold in the test harness's fast mode too): softmax is
# unchanged by a shift of the logits; the perceptron converges on separable data and keeps
# making mistakes on XOR; the delta rule drives the squared error down and recovers the prices
# (150, 50, 100); the hand-written backpropagation matches `tf.GradientTape`; and gradient
# descent with it lowers the loss and classifies the noisy XOR points.

# %%
assert np.allclose(neurons.softmax(logits).numpy(), neurons.softmax(logits + 1000).numpy())
assert result.converged and result.mistakes_per_epoch[-1] == 0
assert not xor_result.converged and min(xor_result.mistakes_per_epoch) > 0
assert errors[-1] < 1e-3 * errors[0]
assert np.allclose(weights.numpy(), [150.0, 50.0, 100.0], atol=1.0)
for ours, tape in zip(grads, tape_grads):
    assert float(tf.reduce_max(tf.abs(ours - tape))) < 1e-5
assert abs(float(loss) - float(tape_loss)) < 1e-6
assert losses[-1] < 0.5 * losses[0] and accuracy > 0.9
print("chapter 3 checks passed")
