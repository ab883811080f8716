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
# # Chapter 9, part 1 — tagging, parsing and sentiment
#
# Three systems of chapter 9 on real corpora (NLTK's Penn Treebank sample, its dependency
# version, and Pang & Lee's 2,000 movie reviews), each usable on new text:
#
# - a **window POS tagger** (embeddings of five words with suffix and capitalisation features →
#   dense + batch norm → tag softmax);
# - a **transition dependency parser**: the arc-standard system, its static oracle, Chen &
#   Manning's feed-forward scorer, greedy and **beam-search** decoding and **globally
#   normalised** training with early update (Andor et al. 2016);
# - an **LSTM sentiment** classifier whose padded positions never change an output, exported
#   to ONNX with a dynamic sequence axis.
#
# Full mode reuses the runs of `benchmarks/sequence.py` when they exist (`benchmarks/out/runs`)
# and trains them otherwise (about 15 minutes on 2 CPU cores); fast mode trains tiny models on
# a slice of the data, so its numbers show the mechanics, not the quality.

# %%
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np

import fdl_keras
from fdl_keras.data.reviews import movie_review_texts
from fdl_keras.data.treebank import dependency_sentences, tagged_sentences
from fdl_keras.runs import load_run
from fdl_keras.sequence.apply import classify, parse, tag
from fdl_keras.sequence.text import Vocabulary, tokenize, window_features
from fdl_keras.sequence.transitions import TRANSITIONS, replay, static_oracle

FAST = os.environ.get("FDL_FAST") == "1"  # the test harness runs every notebook in fast mode
WORK = Path(tempfile.mkdtemp(prefix="fdl_nb_"))
BENCH_RUNS = Path("..") / "benchmarks" / "out" / "runs"
if not BENCH_RUNS.is_dir():
    BENCH_RUNS = Path("benchmarks") / "out" / "runs"


def trained_run(name: str, fast_options: dict) -> Path:
    """The benchmark's run of ``name`` (full mode, when present), else a fresh run."""
    ready = BENCH_RUNS / name
    if not FAST and (ready / "metrics.json").is_file():
        return ready
    options = fast_options if FAST else {}
    fdl_keras.train(name, run_dir=WORK / name, verbose=0, **options)
    return WORK / name


# %% [markdown]
# ## Text pipelines
#
# One vocabulary convention for every system, Keras' `StringLookup`'s: id 0 is padding, id 1
# every out-of-vocabulary word. The tagger sees each word through a window of five positions,
# each with its word id, two hashed suffixes and a capitalisation class.

# %%
vocab = Vocabulary.build([tokenize("the cat sat on the mat"), tokenize("the dog sat")])
print(vocab.tokens)
print(vocab.encode(tokenize("The zebra sat")), vocab.lookup_layer()(["the", "zebra", "sat"]))
print(window_features(["The", "zebra", "sat"], vocab)[1])

# %% [markdown]
# ## The POS tagger
#
# Trained on files `wsj_0001`–`wsj_0161`, validated on `wsj_0162`–`0179`, tested on
# `wsj_0180`–`0199`. The most-frequent-tag baseline is the floor a tagger must clear.

# %%
tagger_dir = trained_run("pos_tagger", {"epochs": 1, "limit": 4096, "hidden_units": (64,)})
tagger_metrics = load_run(tagger_dir).metrics["test"]
sentences, split = tagged_sentences()
train_sents = [s for s, p in zip(sentences, split) if p == "train"]
test_sents = [s for s, p in zip(sentences, split) if p == "test"]
commonest: dict[str, dict[str, int]] = {}
for s in train_sents:
    for w, t in s:
        commonest.setdefault(w, {}).setdefault(t, 0)
        commonest[w][t] += 1
gold = [t for s in test_sents for _, t in s]
guess = [
    max(commonest[w], key=commonest[w].get) if w in commonest else "NN"
    for s in test_sents
    for w, _ in s
]
baseline = float(np.mean([g == t for g, t in zip(guess, gold)]))
print(f"tagger accuracy {tagger_metrics['accuracy']:.4f}  most-frequent-tag {baseline:.4f}")
print(tag(tagger_dir, ["Zorblax Industries said profits would soar in 2027 ."])[0])

# %%
predicted = [t for s in tag(tagger_dir, [[w for w, _ in s] for s in test_sents]) for _, t in s]
by_tag: dict[str, list[bool]] = {}
for p, g in zip(predicted, gold):
    by_tag.setdefault(g, []).append(p == g)
common = sorted(by_tag, key=lambda t: -len(by_tag[t]))[:15]
fig, ax = plt.subplots(figsize=(8, 3))
ax.bar(common, [np.mean(by_tag[t]) for t in common])
ax.set_ylim(0, 1.05)
ax.set_ylabel("held-out accuracy")
ax.set_title("POS tagger: accuracy of the 15 commonest tags")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The arc-standard parser
#
# The static oracle turns each tree into the `2n` transitions that build it; replaying them
# gives the tree back, for every projective tree of the treebank (all 3,914 are projective).

# %%
dep_sents, dep_split = dependency_sentences()
words, tags_, heads = dep_sents[0]
oracle = static_oracle(heads)
print(" ".join(TRANSITIONS[t] for t in oracle[:12]), "...")
reproduced = all(replay(len(h), static_oracle(h)) == list(h) for _, _, h in dep_sents)
print("oracle reproduces every tree:", reproduced)

# %%
parser_dir = trained_run(
    "dependency_parser",
    {"epochs": 1, "limit": 2000, "hidden_units": 32, "word_dim": 16, "tag_dim": 8},
)
parser_metrics = load_run(parser_dir).metrics["test"]
for key in ("uas_local", "uas_beam8_local", "uas_global", "uas_beam8_global"):
    if key in parser_metrics:  # local: softmax-trained; global: after beam training
        print(f"{key:>16}: {parser_metrics[key]:.4f}")

# %%
(parsed,) = parse(parser_dir, ["The new rules will force banks to raise more capital ."], beam=8)
fig, ax = plt.subplots(figsize=(9, 2.6))
for i, (w, t, h) in enumerate(parsed, start=1):
    ax.text(i, 0, f"{w}\n{t}", ha="center", va="top", fontsize=9)
    start, end = (h, i) if h else (i, i)
    height = 0.3 + 0.15 * abs(end - start)
    if h:
        xs = np.linspace(start, end, 30)
        ax.plot(xs, height * np.sin(np.linspace(0, np.pi, 30)), color="tab:blue")
        ax.annotate("", (end, 0.02), (end, 0.12), arrowprops={"arrowstyle": "->"})
    else:
        ax.annotate("ROOT", (i, 0.02), (i, 1.4), ha="center", arrowprops={"arrowstyle": "->"})
ax.set_xlim(0.3, len(parsed) + 0.7)
ax.set_ylim(-0.5, 1.6)
ax.axis("off")
ax.set_title("beam-8 parse of a new sentence (arcs from head to dependent)")
plt.show()

# %% [markdown]
# ## LSTM sentiment
#
# The embedding's mask (id 0) makes the LSTM skip padding and the pooling ignore it: a review
# gets the same output alone and padded inside a batch.

# %%
sentiment_dir = trained_run(
    "lstm_sentiment", {"epochs": 1, "limit": 128, "lstm_units": 8, "embedding_dim": 16}
)
sentiment_run = load_run(sentiment_dir)
model = sentiment_run.model
texts, labels, review_split = movie_review_texts()
print(f"held-out accuracy {sentiment_run.metrics['test']['accuracy']:.4f}")
for r, text in zip(
    classify(sentiment_dir, ["A moving , beautifully acted film .", "a dull , lifeless mess"]),
    ("moving", "dull"),
):
    print(text, r["label"], round(r["probability"], 3))

ids = np.array([[5, 17, 230, 9, 0, 0, 0, 0]], np.int32)
alone = model.predict_on_batch(ids[:, :4])
padded = model.predict_on_batch(ids)
print("padding changes nothing:", np.allclose(alone, padded, atol=1e-6))

# %%
history = sentiment_run.history
fig, ax = plt.subplots(figsize=(6, 3))
for key in ("accuracy", "val_accuracy"):
    if key in history:
        ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key)
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy")
ax.legend()
ax.set_title("LSTM sentiment training")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What this chapter showed, checked
#
# The static oracle rebuilds every tree; the tagger clears the most-frequent-tag baseline;
# padding never changes the sentiment model's output; beam search was run beside greedy. Full
# mode checks the quality figures of `benchmarks/RESULTS_sequence.md`: the tagger at least 4
# points above the most-frequent-tag baseline, the locally trained parser above 80 % UAS with
# beam 8 no worse than greedy, the sentiment model above 80 % on the held-out reviews.

# %%
assert reproduced
assert np.allclose(alone, padded, atol=1e-6)
assert 0 <= parser_metrics["uas"] <= 1 and "uas_beam8" in parser_metrics
if FAST:
    assert tagger_metrics["accuracy"] > 0.5
else:
    assert tagger_metrics["accuracy"] > baseline + 0.04
    assert parser_metrics["uas_local"] > 0.8
    assert parser_metrics["uas_beam8_local"] >= parser_metrics["uas_local"]
    assert sentiment_run.metrics["test"]["accuracy"] > 0.8
