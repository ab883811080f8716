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
# # Chapter 9, part 2 — translation with attention and the Transformer
#
# French → English on the Tatoeba pairs (manythings.org, 142,787 pairs):
#
# - a **pipeline**: normalisation, one SentencePiece subword vocabulary per language, start and
#   end tokens, a split by source sentence (no test source is ever seen in training), length
#   buckets;
# - **seq2seq with attention** (Sutskever et al. 2014; Bahdanau et al. 2015; Luong et al. 2015):
#   a bidirectional GRU encoder, a GRU decoder and a Luong or Bahdanau score;
# - the **Transformer** (Vaswani et al. 2017) with sinusoidal positions, padding and causal masks,
#   label smoothing, the warm-up schedule and a key/value cache for incremental decoding;
# - **greedy and beam search** with length normalisation, scored with sacreBLEU;
# - the encoder and one decoder step **exported to ONNX**, decoded in onnxruntime with exactly
#   the Keras tokens.
#
# This notebook trains each model for a short, fixed wall-clock budget on a CPU (60 s in the
# full run), so the translations are rough; `benchmarks/translation.py` (results in
# `benchmarks/RESULTS_translation.md`) runs the longer comparison.

# %%
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import fdl_keras
from fdl_keras.data import load_dataset
from fdl_keras.sequence.decoding import (
    beam_search,
    keras_runtime,
    onnx_runtime,
    translate_ids,
)
from fdl_keras.sequence.translate import export_translator, translate
from fdl_keras.sequence.translation_task import bleu_chrf

FAST = os.environ.get("FDL_FAST") == "1"  # the test harness runs every notebook in fast mode
WORK = tempfile.mkdtemp(prefix="fdl_nb_")  # runs and exports of this notebook go here
tf.get_logger().setLevel("ERROR")  # no SavedModel "assets written" lines
BUDGET_S = 5 if FAST else 60  # training seconds per model
LIMIT = 1024 if FAST else None  # training pairs (None: all 138,511)
EVAL = 32 if FAST else 400  # test sentences scored
BEAM_EVAL = 16 if FAST else 100  # of them decoded with beam search too

# %% [markdown]
# ## The data
#
# Pairs are split by a hash of the case-folded French sentence, so every translation of a test
# sentence is in the test split. SentencePiece learns 4,000 subwords per language on the training
# split; ids 0–3 are padding, unknown, start and end.

# %%
data = load_dataset("tatoeba_fr_en", batch_size=64, limit=LIMIT)
source_tok, target_tok = data.tokenizers
print(data.info.num_train, "training pairs,", data.info.num_test, "test pairs")
for fr, en in list(zip(*data.texts["test"]))[:3]:
    print(f"{fr!r} -> {en!r}")
    print("   ", source_tok.pieces(source_tok.encode([fr])[0]))
lengths = [len(ids) for ids in data.ids["train"][0]]
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.hist(lengths, bins=range(0, 40), color="tab:blue")
ax.set(xlabel="French subwords per sentence", ylabel="pairs", title="Training sentence lengths")
plt.show()

# %% [markdown]
# ## Training both models for the same wall-clock budget
#
# `fdl_keras.train` is the package's trainer (resumable run dir with `run.json`, `history.csv`,
# `model.keras`, `metrics.json`, and here the two SentencePiece models). A callback stops each
# run after `BUDGET_S` seconds and records the loss after every batch.


# %%
class Budget(keras.callbacks.Callback):
    """Stops training after ``seconds`` and records each batch's loss."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start, self.losses = seconds, None, []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])
        self.start = self.start or time.perf_counter()
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


small = {"seq2seq_attention_fr_en": {}, "transformer_fr_en": {}}
if FAST:
    small = {
        "seq2seq_attention_fr_en": {"embedding_dim": 32, "units": 32},
        "transformer_fr_en": {"d_model": 32, "num_heads": 2, "ff_dim": 64, "num_layers": 1},
    }
runs, curves = {}, {}
for name, overrides in small.items():
    budget = Budget(BUDGET_S)
    result = fdl_keras.train(
        name,
        epochs=1 if FAST else 20,
        limit=LIMIT,
        run_dir=f"{WORK}/{name}",
        callbacks=[budget],
        verbose=0,
        **overrides,
    )
    runs[name], curves[name] = result, np.array(budget.losses)
    print(f"{name}: {len(budget.losses)} steps, test {result.test_metrics}")

fig, ax = plt.subplots(figsize=(6, 3))
for name, losses in curves.items():
    ax.plot(losses, label=name)  # Keras reports the running mean of the epoch
ax.set(xlabel="training step", ylabel="loss (running mean)", title=f"{BUDGET_S} s of training each")
ax.legend()
plt.show()

# %% [markdown]
# ## Greedy and beam search, scored with sacreBLEU
#
# Beam search keeps the best `beam` partial translations and ranks finished ones by
# log P / ((5 + |Y|) / 6)^0.6 (Wu et al. 2016); beam 1 is greedy decoding.

# %%
sources, references = (list(t[:EVAL]) for t in data.texts["test"])
ids = data.ids["test"][0][:EVAL]
scores = {"copy the source": bleu_chrf(sources, references)}
for name, result in runs.items():
    runtime = keras_runtime(result.model)
    cap = result.model.get_config().get("max_length")
    greedy_ids = translate_ids(runtime, ids, cap=cap)
    beam_ids = translate_ids(runtime, ids[:BEAM_EVAL], beam=4, cap=cap)
    one_by_one = translate_ids(runtime, ids[:10], batch_size=1, cap=cap)
    assert translate_ids(runtime, ids[:10], beam=1, cap=cap) == one_by_one  # beam 1 = greedy
    scores[f"{name} greedy"] = bleu_chrf(target_tok.decode(greedy_ids), references)
    scores[f"{name} greedy (first {BEAM_EVAL})"] = bleu_chrf(
        target_tok.decode(greedy_ids[:BEAM_EVAL]), references[:BEAM_EVAL]
    )
    scores[f"{name} beam 4 (first {BEAM_EVAL})"] = bleu_chrf(
        target_tok.decode(beam_ids), references[:BEAM_EVAL]
    )
for what, s in scores.items():
    print(f"{what:<45} BLEU {s['bleu']:5.1f}  chrF {s['chrf']:5.1f}")
examples = ["Je suis fatigué.", "Il fait froid ce matin.", "Où est la gare ?"]
for name in runs:
    print(name, translate(runs[name].run_dir, examples, beam=4))

# %% [markdown]
# ## Where the decoder looks
#
# The seq2seq decoder step returns its attention weights over the source subwords; the
# Transformer's the last cross-attention layer's, averaged over heads.

# %%
sentence = "Je ne sais pas ce que tu veux dire."
source_ids = source_tok.encode([sentence])[0] + [3]
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (name, result) in zip(axes, runs.items()):
    cap = result.model.get_config().get("max_length")
    out, attention = beam_search(
        keras_runtime(result.model),
        np.array([source_ids], np.int32),
        beam=1,
        cap=cap,
        return_attention=True,
    )
    words = target_tok.pieces(out) + ["</s>"]
    ax.imshow(attention[: len(words)], cmap="viridis", aspect="auto")
    ax.set_xticks(
        range(len(source_ids)), source_tok.pieces(source_ids[:-1]) + ["</s>"], rotation=90
    )
    ax.set_yticks(range(len(words)), words)
    ax.set_title(name)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Outside Keras: the encoder and one decoder step in onnxruntime
#
# `export_translator` exports the encoder and the decoder step (SavedModel and ONNX, each
# verified against Keras) beside the run; the same decoding loop then runs on onnxruntime.

# %%
equal, speeds = {}, {}
for name, result in runs.items():
    folder = export_translator(result.run_dir)
    cap = result.model.get_config().get("max_length")
    in_keras, in_onnx = keras_runtime(result.model), onnx_runtime(folder)
    n = 10 if FAST else 100
    tokens = {}
    for runtime in (in_keras, in_onnx):
        translate_ids(runtime, ids[:1], batch_size=1, cap=cap)  # warm up
        start = time.perf_counter()
        tokens[runtime.name] = translate_ids(runtime, ids[:n], batch_size=1, cap=cap)
        speeds[(name, runtime.name)] = n / (time.perf_counter() - start)
    equal[name] = tokens["keras"] == tokens["onnx"]
    print(
        f"{name}: identical tokens on {n} sentences: {equal[name]}; greedy sentences/s at "
        f"batch 1: Keras {speeds[(name, 'keras')]:.1f}, onnxruntime {speeds[(name, 'onnx')]:.1f}"
    )

# %% [markdown]
# ## What this chapter showed, checked

# %%
for name, losses in curves.items():
    assert np.isfinite(losses).all(), name
    k = max(1, len(losses) // 5)
    # The loss fell (fast mode's 16 steps sit inside the Transformer's 1,000-step warm-up).
    if not (FAST and name == "transformer_fr_en"):
        assert losses[-k:].mean() < losses[:k].mean(), name
assert all(equal.values())  # onnxruntime decodes exactly the Keras tokens
if not FAST:
    # 60 s of training take each model at least half a nat per token below its start.
    for name, losses in curves.items():
        k = len(losses) // 5
        assert losses[-k:].mean() < losses[:k].mean() - 0.5, name
print("checked")
