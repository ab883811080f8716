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
# # Chapter 4 — Training Feed-Forward Neural Networks
#
# A network big enough to be useful is big enough to memorise a small training set. This
# notebook follows the chapter's remedies with `fdl_keras.fundamentals.training`: hold out
# validation and test data, stop training when the validation cost stops improving, and
# regularise the MNIST feed-forward network (784-256-256-10) with L2 weight decay, dropout and
# max-norm constraints.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib.pyplot as plt
import numpy as np

import fdl_keras
from fdl_keras.data import first_available, load_arrays
from fdl_keras.fundamentals import training

FAST = os.environ.get("FDL_FAST") == "1"  # tiny data and budgets for the test harness (CI only)
dataset, why_not = first_available("mnist", "digits")
print("dataset:", dataset, "| fast mode:", FAST)
if why_not:
    print("MNIST not available, using scikit-learn digits:", why_not)

# %% [markdown]
# ## Train, validation and test sets
#
# The training set fits the weights, the validation set chooses hyperparameters and when to
# stop, and the test set is looked at once, at the end. `split_dataset` makes the three
# disjoint, seeded (the same seed gives the same split) and *stratified*: each keeps the class
# proportions of the whole.

# %%
((x_all, y_all), _), source = load_arrays(dataset)
if FAST:
    x_all, y_all = x_all[:3000], y_all[:3000]
x_all = x_all.astype("float32") / x_all.max()
if x_all.ndim == 3:
    x_all = x_all[..., None]
splits = training.split_dataset(x_all, y_all, validation_fraction=0.1, test_fraction=0.1, seed=0)
parts = {"train": splits.train, "validation": splits.validation, "test": splits.test}
plt.figure(figsize=(8, 3))
for i, (name, (x, y)) in enumerate(parts.items()):
    print(f"{name:10s} {len(x):6d} examples")
    share = np.bincount(y, minlength=10) / len(y)
    plt.bar(np.arange(10) + (i - 1) * 0.27, share, width=0.27, label=name)
plt.xticks(range(10))
plt.xlabel("digit")
plt.ylabel("share of the split")
plt.title("Stratified: every split has the same class proportions")
plt.legend()
plt.show()

# %% [markdown]
# ## Overfitting and early stopping
#
# Train the unregularised network on a small slice of the training split with Adam. The
# training cost keeps falling; the validation cost bottoms out and then climbs as the network
# memorises. `fit_with_early_stopping` wraps `keras.callbacks.EarlyStopping` with
# `restore_best_weights=True`: after `patience` epochs without improvement it stops and puts
# back the weights of the best epoch.

# %%
n_small = 300 if FAST else 1000
x_small, y_small = splits.train[0][:n_small], splits.train[1][:n_small]

keras.utils.set_random_seed(0)
model = fdl_keras.build("mnist_mlp", image_shape=x_all.shape[1:], dropout=0.0)
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
stopped = training.fit_with_early_stopping(
    model,
    (x_small, y_small),
    splits.validation,
    epochs=30 if FAST else 100,
    patience=5,
    batch_size=32,
)
h = stopped.history
plt.figure(figsize=(7, 3.5))
plt.plot(h["loss"], label="training cost")
plt.plot(h["val_loss"], label="validation cost")
plt.axvline(stopped.best_epoch, color="green", linestyle="--", label="best epoch (restored)")
if stopped.stopped_epoch is not None:
    plt.axvline(stopped.stopped_epoch, color="gray", linestyle=":", label="stopped")
plt.xlabel("epoch")
plt.ylabel("cross-entropy")
plt.legend()
plt.show()
print(
    f"best epoch {stopped.best_epoch + 1}, stopped after epoch "
    f"{(stopped.stopped_epoch or len(h['loss']) - 1) + 1}"
)
print(
    "validation cost now:",
    model.evaluate(*splits.validation, verbose=0)[0],
    "= best:",
    stopped.best_value,
)

# %% [markdown]
# ## Regularisation
#
# `regularization_study` trains the same network from the same initial weights on the same
# small training set, once per variant (`training.REGULARIZERS`):
#
# - **L2** adds `lambda * sum(w**2)` to the cost, pulling every weight towards zero;
# - **dropout** (p = 0.5) silences a random half of the hidden units at each step, so no unit
#   can rely on a particular other one;
# - **max-norm** caps the L2 norm of each unit's incoming weight vector.
#
# Each variant is validated on as many held-out examples as it trains on.

# %%
print({name: training.REGULARIZERS[name] for name in training.DEFAULT_VARIANTS})
histories = training.regularization_study(
    train_size=200 if FAST else 1000, epochs=12 if FAST else 50, dataset=dataset
)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for name, h in histories.items():
    (line,) = axes[1].plot(h["val_cross_entropy"], label=name)
    axes[0].plot(h["cross_entropy"], color=line.get_color(), label=name)
axes[0].set_title("training cost (dropout active while training)")
axes[1].set_title("validation cost")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.set_yscale("log")
    ax.legend()
axes[0].set_ylabel("cross-entropy")
plt.show()

print(f"{'variant':10s} {'val cost: min':>14s} {'final':>7s} {'final val acc':>14s}")
for name, h in histories.items():
    print(
        f"{name:10s} {min(h['val_cross_entropy']):14.3f} {h['val_cross_entropy'][-1]:7.3f}"
        f" {h['val_accuracy'][-1]:14.3f}"
    )

# %% [markdown]
# In the full setting (1,000 examples, 50 epochs: run without `FDL_FAST`) the unregularised
# network's validation cost turns upward once its training cost is near zero, while L2,
# dropout and max-norm end lower. The fast run (200 examples, 12 epochs) stops about where
# overfitting begins, so there the regularised variants, which learn more slowly, can still be
# behind: a regulariser pays off only once the plain network starts to memorise, which is also
# why early stopping and regularisation are used together.

# %% [markdown]
# ## What this chapter showed, checked
#
# In every mode: the three splits are disjoint in size and stratified (each class's share
# differs between splits by at most a point), and early stopping put back the weights of the
# best epoch, so the validation cost now equals the best one seen. In the full setting also the
# chapter's claim about regularisation: the unregularised network's validation cost ends above
# its own minimum (it overfits) and above the final validation cost of every regularised variant.

# %%
sizes = [len(part[1]) for part in parts.values()]
assert sum(sizes) == len(y_all)
shares = np.array([np.bincount(y, minlength=10) / len(y) for _, y in parts.values()])
assert np.abs(shares - shares.mean(axis=0)).max() < 0.01
assert abs(model.evaluate(*splits.validation, verbose=0)[0] - stopped.best_value) < 1e-4
assert abs(min(stopped.history["val_loss"]) - stopped.best_value) < 1e-9
final = {name: h["val_cross_entropy"][-1] for name, h in histories.items()}
if not FAST:
    plain = histories["none"]["val_cross_entropy"]
    assert plain[-1] > 1.2 * min(plain), "the unregularised network should overfit"
    for name in ("l2", "dropout", "max_norm"):
        assert final[name] < final["none"], (name, final)
print("chapter 4 checks passed:", {name: round(value, 3) for name, value in final.items()})
