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
# # Chapter 6 — Beyond Gradient Descent
#
# Plain minibatch SGD crawls through the long, flat ravines of a deep network's cost surface.
# Momentum accumulates a velocity along the consistent direction; AdaGrad, RMSProp and Adam
# scale each parameter's step by the history of its gradients. This notebook races the
# chapter's optimizers on the MNIST feed-forward network (learning rate 0.01, minibatches of
# 100, the book's setting) from the same initial weights over the same minibatches, then
# repeats Goodfellow, Vinyals & Saxe's linear-interpolation experiment.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np

from fdl_keras.data import first_available, load_dataset
from fdl_keras.fundamentals import optimizers

FAST = os.environ.get("FDL_FAST") == "1"  # tiny data and budgets for the test harness (CI only)
dataset, why_not = first_available("mnist", "digits")
print("dataset:", dataset, "| fast mode:", FAST)
if why_not:
    print("MNIST not available, using scikit-learn digits:", why_not)

# %% [markdown]
# ## The optimizer race
#
# Each optimizer is a Keras optimizer (`optimizers.OPTIMIZERS`). The cost logged is that of
# every minibatch; the curve is its running mean over the last `window` steps, and a run
# *reaches the target* when that mean falls to 0.1. Fast mode keeps about a thousand training
# examples and a few hundred steps; `benchmarks/optimizer_study.py` runs full MNIST until the
# target (results in `benchmarks/RESULTS_fundamentals.md`).

# %%
study = optimizers.optimizer_study(
    tuple(optimizers.OPTIMIZERS),
    learning_rate=0.01,
    max_steps=150 if FAST else 3000,
    window=50 if FAST else 100,
    target=0.1,
    dataset=dataset,
    batch_size=100,
)
plt.figure(figsize=(8, 4))
for name, run in study.runs.items():
    plt.plot(np.arange(1, len(run.smoothed) + 1), run.smoothed, label=name)
plt.axhline(study.target, color="gray", linestyle="--", linewidth=0.8)
plt.yscale("log")
plt.xlabel("step")
plt.ylabel(f"cost (mean of {study.window} steps)")
plt.legend()
plt.title("Training cost per optimizer, lr 0.01")
plt.show()

print(f"{'optimizer':10s} {'steps to 0.1':>13s} {'steps run':>10s} {'final cost':>11s}")
for row in study.table():
    reached = row["steps_to_target"] if row["steps_to_target"] is not None else "-"
    print(
        f"{row['optimizer']:10s} {reached!s:>13s} {row['steps_run']:10d} {row['final_cost']:11.3f}"
    )

# %% [markdown]
# At this learning rate plain SGD is by far the slowest, and momentum (with or without
# Nesterov's look-ahead) is several times faster. The book reports about 2,000 against 18,000
# steps on full MNIST; the full benchmark here measured 2,115 against 15,295
# (`benchmarks/RESULTS_fundamentals.md`). Adam starts fastest; RMSProp's first steps at this
# rate (ten times its usual 0.001) throw the cost up before it recovers.
#
# ## Linear interpolation between the initial and the trained weights
#
# Goodfellow, Vinyals & Saxe (2014) evaluate the cost along the straight line
# `theta(alpha) = (1 - alpha) theta_0 + alpha theta_1` from the initial weights (`alpha = 0`)
# to the trained ones (`alpha = 1`) and beyond. For these networks the curve falls smoothly to
# a minimum near `alpha = 1`: no bumps, so no troublesome local minima on the way.

# %%
data = load_dataset(dataset, batch_size=100, seed=0)
batches = [(x.numpy(), y.numpy()) for x, y in data.train.take(3 if FAST else 50)]
alphas = np.round(np.linspace(-1, 2, 16 if FAST else 31), 6)  # 0 and 1 are on the grid
plt.figure(figsize=(7, 4))
curves = {}
for name in ("sgd", "momentum", "adam"):
    curves[name] = curve = optimizers.linear_interpolation(
        study.model, study.initial_weights, study.runs[name].weights, batches, alphas
    )
    plt.plot(curve.alphas, curve.losses, label=f"{name} (min at alpha={curve.best_alpha:.1f})")
plt.axvline(0, color="gray", linewidth=0.8)
plt.axvline(1, color="gray", linewidth=0.8)
plt.yscale("log")
plt.xlabel("alpha")
plt.ylabel("training cost")
plt.legend()
plt.title("Cost along (1 - alpha) theta_0 + alpha theta_1")
plt.show()

# %% [markdown]
# A model that has not finished training (plain SGD in a short budget) has its minimum past
# `alpha = 1`: the line still points downhill at the trained weights.

# %% [markdown]
# ## What this chapter showed, checked
#
# The race's headline: momentum and Adam get the training cost down faster than plain SGD. In
# the full run both reach the target cost 0.1 in fewer steps than SGD (which may not reach it
# at all within the budget); in the test harness's short fast run, where nothing reaches the
# target, both end the race at a lower cost than SGD. Along the interpolation line every
# trained network is better than its initial weights (`alpha = 1` below `alpha = 0`).

# %%
runs = study.runs
for name in ("momentum", "adam"):
    assert runs[name].smoothed[-1] < runs["sgd"].smoothed[-1], name
    if not FAST:
        reached = runs[name].steps_to_target
        sgd_steps = runs["sgd"].steps_to_target
        assert reached is not None, f"{name} did not reach {study.target}"
        assert sgd_steps is None or reached < sgd_steps, (name, reached, sgd_steps)
for name, curve in curves.items():
    at = dict(zip(curve.alphas, curve.losses))
    assert at[1.0] < at[0.0], name
print("chapter 6 checks passed:", {name: run.steps_to_target for name, run in runs.items()})
