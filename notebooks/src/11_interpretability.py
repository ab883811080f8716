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
# # Chapter 11 — interpretability
#
# Why did the network answer that? Four families of answers, on the package's own models:
#
# - **interpretable baselines**: a decision tree, a random forest and a logistic regression
#   (scikit-learn) whose importances can be read off, beside a Keras MLP on the same tumours;
# - **permutation importance and partial dependence** (Breiman 2001; Friedman 2001) of the Keras
#   model through a scikit-learn adapter, so `sklearn.inspection` works on it unchanged;
# - **LIME** (Ribeiro et al. 2016) and **SHAP** (Lundberg & Lee 2017) on tabular rows, on
#   images (the MNIST CNN, checked by a deletion test) and on text;
# - **extractive rationales** (Lei, Barzilay & Jaakkola 2016): a generator picks a few words of
#   a movie review, an encoder predicts the sentiment from those words alone.

# %%
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars from lime

import keras
import matplotlib.pyplot as plt
import numpy as np
import shap
from IPython.display import HTML, display

import fdl_keras
from fdl_keras.data import first_available, load_dataset
from fdl_keras.data.tabular import tabular_arrays
from fdl_keras.interpret import adapter, attributions, html
from fdl_keras.interpret.baselines import TabularMLP, fit_baselines
from fdl_keras.interpret.rationale import RationaleEncoder, RationaleModel

FAST = os.environ.get("FDL_FAST") == "1"  # the test harness runs every notebook in fast mode
WORK = tempfile.mkdtemp(prefix="fdl_nb_")
keras.utils.set_random_seed(0)

# %% [markdown]
# ## 1. Interpretable baselines on the breast-cancer set
#
# 569 tumours, 30 measurements each (scikit-learn's embedded copy of the Wisconsin set),
# standardised with the training statistics; 20 % held out for the test.

# %%
cancer = tabular_arrays("breast_cancer")
baselines = fit_baselines(cancer.x_train, cancer.y_train, cancer.x_test, cancer.y_test)
mlp_run = fdl_keras.train(
    "tabular_mlp", epochs=10 if FAST else 40, run_dir=f"{WORK}/tabular_mlp", verbose=0
)
mlp = mlp_run.model
for name, b in baselines.items():
    print(f"{name:20s} test accuracy {b.accuracy:.3f}")
print(f"{'tabular_mlp (Keras)':20s} test accuracy {mlp_run.test_metrics['accuracy']:.3f}")

# %% [markdown]
# The tree's splits, the forest's impurity decrease and the regression's standardised
# coefficients each rank the features; permutation importance asks the MLP the same question —
# how much test accuracy is lost when one column is shuffled.

# %%
importance = adapter.permutation_importance(
    mlp, cancer.x_test, cancer.y_test, n_repeats=3 if FAST else 10
)
top = np.argsort(-baselines["random_forest"].importance)[:10]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
names = [cancer.feature_names[i] for i in top]
for ax, (title, values) in zip(
    axes,
    [
        ("random forest (impurity)", baselines["random_forest"].importance[top]),
        ("logistic regression |coef|", baselines["logistic_regression"].importance[top]),
        ("MLP permutation importance", importance.importances_mean[top]),
    ],
):
    ax.barh(names[::-1], values[::-1])
    ax.set_title(title, fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Partial dependence of the Keras model
#
# `PartialDependenceDisplay` draws the average predicted probability of *benign* as one
# feature sweeps its range (thin lines: individual tumours).

# %%
worst = [cancer.feature_names.index(n) for n in ("worst radius", "worst concave points")]
fig, ax = plt.subplots(figsize=(8, 3.2))
adapter.plot_partial_dependence(
    mlp, cancer.x_test, worst, feature_names=list(cancer.feature_names), ax=ax, kind="both"
)
plt.show()

# %% [markdown]
# ## 3. SHAP and LIME on tabular rows
#
# Kernel SHAP splits each prediction into per-feature contributions that add up exactly to the
# prediction minus the average prediction; the beeswarm shows them for many tumours at once.

# %%
rows = cancer.x_test[: 8 if FAST else 40]
explanation = attributions.shap_tabular(
    mlp,
    cancer.x_train,
    rows,
    feature_names=cancer.feature_names,
    nsamples=200 if FAST else "auto",
    max_background=20 if FAST else 50,
)
probability = adapter.predict_probabilities(mlp)(rows)[:, -1]
additivity_error = np.abs(explanation.values.sum(1) + explanation.base_values - probability).max()
print(f"max |sum of SHAP values - (f(x) - E f)| = {additivity_error:.2e}")
shap.plots.beeswarm(explanation, max_display=10, show=False)
plt.gcf().set_size_inches(7, 4)
plt.show()

# %%
lime = attributions.lime_tabular(
    mlp,
    cancer.x_train,
    cancer.x_test[0],
    feature_names=cancer.feature_names,
    class_names=cancer.class_names,
    num_samples=500 if FAST else 3000,
)
fig = lime.explanation.as_pyplot_figure(label=lime.label)
fig.set_size_inches(7, 3.5)
plt.show()

# %% [markdown]
# ### A known answer
#
# On `synthetic_tabular` only `x0`, `x1`, `x2` decide the class (logit `2.5 x0 - 2 x1 +
# 1.5 x2`). Each method must find exactly those.

# %%
synthetic = tabular_arrays("synthetic_tabular")
known = TabularMLP(input_shape=(8,), hidden_units=(32,), dropout=0.0)
known.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
known.fit(synthetic.x_train, synthetic.y_train, epochs=15, batch_size=64, verbose=0)
synthetic_importance = adapter.permutation_importance(
    known, synthetic.x_test, synthetic.y_test, n_repeats=5
).importances_mean
synthetic_lime = attributions.lime_tabular(
    known, synthetic.x_train, synthetic.x_test[0], label=1, num_samples=1500
).weights
print("permutation importance", np.round(synthetic_importance, 3))
print("LIME weights          ", np.round(synthetic_lime, 3))

# %% [markdown]
# ## 4. Images: SHAP and LIME on the MNIST CNN, and the deletion test
#
# Each pixel's attribution for the predicted digit: SHAP's partition explainer (a blacked-out
# pixel is "absent") and LIME with 4x4 superpixels. The deletion test blacks out the most
# attributed pixels first: the faster accuracy falls, the better the explanation found the
# pixels the CNN relies on (a random order is the floor). Full mode: one epoch of the book's
# CNN on 12,000 MNIST images and 30 test digits (`benchmarks/interpret_attributions.py` uses
# more).

# %%
# Fast mode: scikit-learn's 8x8 digits (embedded, quick); full mode: MNIST when it is here.
digits_set = "digits" if FAST else first_available("mnist", "digits")[0]
patch = 2 if digits_set == "digits" else 4  # LIME superpixels of patch x patch pixels
cnn_run = fdl_keras.train(
    "mnist_cnn",
    dataset=digits_set,
    epochs=1,
    limit=1024 if FAST else 12000,
    run_dir=f"{WORK}/mnist_cnn",
    verbose=0,
    **({"filters": (8, 16), "dense_units": 64} if FAST else {}),
)
cnn = cnn_run.model
x_test, y_test = load_dataset(digits_set, batch_size=256).arrays["test"]
f = attributions.predict_probabilities(cnn)
right = np.flatnonzero(np.argmax(f(x_test[:300]), axis=1) == y_test[:300])[: 6 if FAST else 30]
images, labels = x_test[right], y_test[right]
maps = {
    "SHAP": attributions.shap_image(cnn, images, labels=labels, max_evals=200 if FAST else 500),
    "LIME": np.stack(
        [
            attributions.lime_image(
                cnn, im, label=int(lb), patch=patch, num_samples=100 if FAST else 300
            )[0]
            for im, lb in zip(images, labels)
        ]
    ),
    "random": np.random.default_rng(0).uniform(size=images.shape[:3]),
}
fractions = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
curves = {
    k: attributions.deletion_curve(cnn, images, labels, m, fractions) for k, m in maps.items()
}
fig, axes = plt.subplots(1, 4, figsize=(12, 3))
for name, curve in curves.items():
    axes[0].plot(fractions, curve, marker="o", label=name)
axes[0].set(xlabel="fraction of pixels removed", ylabel="accuracy", title="deletion test")
axes[0].legend()
axes[1].imshow(images[0, ..., 0], cmap="gray")
axes[1].set_title(f"digit {labels[0]}")
for ax, name in zip(axes[2:], ("SHAP", "LIME")):
    bound = np.abs(maps[name][0]).max()
    ax.imshow(maps[name][0], cmap="bwr", vmin=-bound, vmax=bound)
    ax.set_title(f"{name} (red: for {labels[0]})")
for ax in axes[1:]:
    ax.axis("off")
fig.tight_layout()
plt.show()
area = {k: float(np.trapezoid(c, fractions)) for k, c in curves.items()}
print({k: round(v / fractions[-1], 3) for k, v in area.items()}, "(area under the curve)")

# %% [markdown]
# ## 5. Text: rationales on movie reviews
#
# The encoder alone, given every word, is the full-text model; the rationale model's generator
# chooses which words its encoder may read. Lei et al. price the fraction of words kept
# (`lambda1`) and each switch between kept and dropped (`lambda2`); the registered system
# instead keeps a fixed 20 % of each review's words (`budget=0.2`, a Gumbel-top-k sample
# while training, the most probable words at inference) and still pays `lambda2` for
# switches. Its generator is also taught, by a cross-entropy, the 20 % of words that carry
# most of the encoder's full-text evidence for the true class (`attribution_weight=1.0`: the
# supervision of FRESH, Jain et al. 2020). Both read the first 400 tokens of each review (full
# mode; 100 in fast mode), and the rationale encoder starts from the full-text weights.
# `benchmarks/interpret_rationale.py` runs this at full length.

# %%
reviews = load_dataset("movie_reviews", batch_size=32, limit=200 if FAST else None)
vocabulary = reviews.info.vocabulary
length = 100 if FAST else 400


def cut(ds):
    return ds.map(lambda x, y: (x[:, :length], y))


def all_words(ds):
    return cut(ds).map(lambda x, y: ((x, keras.ops.cast(x != 0, "float32")[..., None]), y))


full = RationaleEncoder(len(vocabulary), 2, name="full_text")
full.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
full.fit(all_words(reviews.train), epochs=1 if FAST else 3, verbose=0)
full_accuracy = full.evaluate(all_words(reviews.test), verbose=0)[1]
rationale = RationaleModel(
    len(vocabulary), budget=0.2, sparsity=0.0, coherence=0.18, attribution_weight=1.0
)
rationale.encoder.set_weights(full.get_weights())
rationale.compile(learning_rate=2e-3)
rationale.fit(cut(reviews.train), epochs=1 if FAST else 4, verbose=0)
scores = rationale.evaluate(cut(reviews.test), verbose=0, return_dict=True)
print(
    f"full text {full_accuracy:.3f}; rationale {scores['accuracy']:.3f} "
    f"keeping {scores['kept']:.1%} of the words"
)

# %%
ids, y = reviews.arrays["test"]
ids = ids[[0, -1], :length]
prediction, z = rationale.rationales(ids)
captions = [
    f"label {reviews.info.class_names[t]}, predicted {reviews.info.class_names[p.argmax()]}"
    for t, p in zip(y[[0, -1]], prediction)
]
page = html.rationale_page(
    [[vocabulary[i] for i in row if i] for row in ids],
    [zi[: int((row != 0).sum())] for zi, row in zip(z, ids)],
    captions,
)
display(HTML(page.split("<body")[1].split(">", 1)[1]))

# %% [markdown]
# LIME on the same review for the full-text model: words that push towards the predicted
# sentiment in green, against it in red.

# %%
from fdl_keras.data.reviews import encode_reviews, review_vocabulary  # noqa: E402


def classify(texts):
    x = encode_reviews(texts, review_vocabulary(), max_length=length)
    return np.asarray(full.predict_on_batch([x, (x != 0)[..., None].astype("float32")]))


text = " ".join(vocabulary[i] for i in ids[0] if i)
lime_words, tokens = attributions.lime_text(classify, text, num_samples=200 if FAST else 1000)
display(HTML(html.highlight(tokens, lime_words.weights)))

# %% [markdown]
# ## What this chapter showed, checked

# %%
assert additivity_error < 1e-3  # SHAP values add up to f(x) - E[f(x)]
assert set(np.argsort(-synthetic_importance)[:3]) == {0, 1, 2}  # permutation importance
assert set(np.argsort(-np.abs(synthetic_lime))[:3]) == {0, 1, 2}  # LIME
assert mlp_run.test_metrics["accuracy"] > 0.9
assert scores["kept"] <= 0.2 + 1e-6  # the budget: at most 20 % of each review's words
if not FAST:
    # the explanations found the pixels the CNN uses: accuracy falls faster than at random
    assert area["SHAP"] < area["random"] and area["LIME"] < area["random"]
    assert scores["accuracy"] > 0.6
