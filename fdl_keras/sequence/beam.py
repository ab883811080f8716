"""Greedy and beam-search decoding of the transition parser, and globally normalised training
over the beam with early update.

Decoding runs every sentence of a batch in lockstep: at each step the scorer scores all live
configurations of all sentences in one call. A hypothesis' score is the sum of its transitions'
scores: log-probabilities for a locally normalised scorer, raw scores (logits) for a globally
normalised one. Beam size 1 is greedy decoding.

Global training (Andor et al. 2016, section 3): a path's score is the sum of the scorer's
logits along it and the loss of a sentence is ``-score(gold) + log Σ exp(score(path))`` over
the beam's paths and the gold path. With early update (Collins & Roark 2004) the sum stops at
the first step where the gold path falls off the beam; otherwise it runs over the final beam.
The scores are recomputed under a ``GradientTape`` from the recorded features, so the gradient
flows through every step of every path.

Written by hand: Keras' and keras-hub's beam samplers decode token sequences of a language
model, not parser configurations with a legality mask.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fdl_keras.errors import InvalidInputError
from fdl_keras.sequence.transitions import Configuration, features, static_oracle


@dataclass
class Hypothesis:
    """A partial parse: its configuration, summed score, whether it is the gold prefix, and
    (when training) the features and transitions that led to it."""

    config: Configuration
    score: float = 0.0
    gold: bool = True
    history: list = field(default_factory=list)


_SCORERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Models trained globally normalised (their decoding sums raw scores).
GLOBALLY_NORMALISED: weakref.WeakSet = weakref.WeakSet()


def _scorer(model):
    import tensorflow as tf

    fn = _SCORERS.get(model)
    if fn is None:
        fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        _SCORERS[model] = fn
    return lambda x: np.asarray(fn(np.asarray(x, dtype=np.int32)))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def beam_search(
    model,
    sentences: Sequence[tuple[Sequence[int], Sequence[int]]],
    *,
    beam: int = 1,
    normalise: bool = True,
    gold: Sequence[Sequence[int]] | None = None,
) -> list[dict]:
    """Parses ``sentences`` (``(word_ids, tag_ids)`` with ROOT at position 0) with beam search.

    Args:
        model: the transition scorer (its output: one score per transition).
        beam: hypotheses kept per sentence (1: greedy).
        normalise: score transitions by log-softmax (a locally trained scorer); False sums the
            raw scores (a globally normalised one).
        gold: the oracle transitions of each sentence: record the paths and stop a sentence
            at the step its gold path falls off the beam (early update), for training.

    Returns:
        one dict per sentence: ``heads`` (the best parse's heads of words 1..n), ``score``, and
        with ``gold``: ``paths`` (the histories of the beam's hypotheses), ``gold_path`` and
        ``gold_index`` (the gold path's position in ``paths``, or -1 when it is appended).
    """
    if beam < 1:
        raise InvalidInputError(f"beam must be >= 1, got {beam}")
    score = _scorer(model)
    record = gold is not None
    words = [[int(i) for i in w] for w, _ in sentences]
    tags = [[int(i) for i in t] for _, t in sentences]
    beams = [[Hypothesis(Configuration(len(w) - 1))] for w in words]
    results: list[dict | None] = [None] * len(sentences)
    active = [s for s in range(len(sentences)) if beams[s][0].config.n > 0]
    for s in range(len(sentences)):
        if s not in active:
            raise InvalidInputError(f"sentence {s} has no words; give at least one token")
    step = 0
    while active:
        live = [(s, i, h) for s in active for i, h in enumerate(beams[s])]
        feats = np.array([features(h.config, words[s], tags[s]) for s, _, h in live])
        scores = score(feats)
        if normalise:
            scores = _log_softmax(scores)
        candidates: dict[int, list] = {s: [] for s in active}
        for k, (s, i, h) in enumerate(live):
            for t in np.flatnonzero(h.config.legal()):
                candidates[s].append((-(h.score + float(scores[k, t])), i, int(t), k))
        still = []
        for s in active:
            chosen = sorted(candidates[s])[:beam]
            children = Counter(i for _, i, _, _ in chosen)
            new = []
            for neg, i, t, k in chosen:
                parent = beams[s][i]
                children[i] -= 1
                # A parent's last child takes its configuration (this step's beam is dropped
                # after it); the others copy it. Greedy decoding never copies.
                config = parent.config if children[i] == 0 else parent.config.copy()
                config.apply(t)
                new.append(
                    Hypothesis(
                        config,
                        -neg,
                        parent.gold and record and gold[s][step] == t,
                        parent.history + [(feats[k], t)] if record else [],
                    )
                )
            if record and not any(h.gold for h in new):
                # Early update: the gold prefix fell off; extend it by its next transition.
                parent = next(h for h in beams[s] if h.gold)
                k = next(k for k, (s2, _, h) in enumerate(live) if s2 == s and h is parent)
                gold_path = parent.history + [(feats[k], gold[s][step])]
                results[s] = _result(new, gold_path=gold_path)
                continue
            beams[s] = new
            if new[0].config.terminal():
                results[s] = _result(new, record=record)
            else:
                still.append(s)
        active = still
        step += 1
    return results


def _result(hyps: list[Hypothesis], *, gold_path=None, record: bool = True) -> dict:
    best = hyps[0]
    out = {"heads": best.config.heads[1:], "score": best.score}
    if record:
        out["paths"] = [h.history for h in hyps]
        index = next((i for i, h in enumerate(hyps) if h.gold), -1)
        out["gold_index"] = index if gold_path is None else -1
        out["gold_path"] = gold_path if gold_path is not None else hyps[index].history
    return out


def greedy_decode(
    model, sentences: Sequence[tuple[Sequence[int], Sequence[int]]]
) -> list[list[int]]:
    """Greedy arc-standard decoding: at each step the legal transition with the highest score
    (a plain loop, the reference that ``beam_search(beam=1)`` must equal)."""
    score = _scorer(model)
    out = []
    for word_ids, tag_ids in sentences:
        config = Configuration(len(word_ids) - 1)
        word_ids, tag_ids = [int(i) for i in word_ids], [int(i) for i in tag_ids]
        while not config.terminal():
            z = score(np.array([features(config, word_ids, tag_ids)]))[0]
            z = np.where(config.legal(), z, -np.inf)
            config.apply(int(np.argmax(z)))
        out.append(config.heads[1:])
    return out


def encode_sentences(sentences, vocabularies=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(word_ids, tag_ids)`` with ROOT first of ``(words, tags, ...)`` sentences."""
    from fdl_keras.data.treebank import parser_ids, parser_vocabularies

    words, tags = vocabularies or parser_vocabularies()
    return [parser_ids(s[0], s[1], words, tags) for s in sentences]


def decode_sentences(
    model, sentences, *, beam: int = 1, vocabularies=None, normalise: bool | None = None
) -> list[list[int]]:
    """Heads of ``(words, tags, ...)`` sentences: greedy (``beam=1``) or beam search, summing
    log-probabilities (``normalise``; the default for a locally trained scorer) or raw scores
    (the default after :func:`train_global`)."""
    encoded = encode_sentences(sentences, vocabularies)
    if normalise is None:
        normalise = model not in GLOBALLY_NORMALISED
    return [r["heads"] for r in beam_search(model, encoded, beam=beam, normalise=normalise)]


def attachment_score(predicted: Sequence[Sequence[int]], sentences) -> float:
    """Unlabelled attachment score: the share of words (punctuation included) whose head is
    right (``sentences`` are ``(words, tags, heads)``)."""
    right = total = 0
    for heads, sentence in zip(predicted, sentences, strict=True):
        gold = sentence[2]
        right += sum(int(p == g) for p, g in zip(heads, gold, strict=True))
        total += len(gold)
    return right / max(total, 1)


def global_loss(model, results: list[dict]):
    """The globally normalised loss (mean over sentences) of the paths :func:`beam_search`
    recorded, computed from the model's current scores (differentiable)."""
    import tensorflow as tf

    feats, transitions, segments, gold_segment, sentence_paths = [], [], [], [], []
    path = 0
    for r in results:
        paths = list(r["paths"])
        gold_index = r["gold_index"]
        if gold_index < 0:
            paths.append(r["gold_path"])
            gold_index = len(paths) - 1
        sentence_paths.append((path, path + len(paths)))
        gold_segment.append(path + gold_index)
        for p in paths:
            for f, t in p:
                feats.append(f)
                transitions.append(t)
                segments.append(path)
            path += 1
    logits = model(np.array(feats, dtype=np.int32), training=True)
    picked = tf.gather(logits, np.array(transitions), axis=1, batch_dims=1)
    path_scores = tf.math.unsorted_segment_sum(picked, np.array(segments), path)
    losses = [
        tf.reduce_logsumexp(path_scores[a:b]) - path_scores[g]
        for (a, b), g in zip(sentence_paths, gold_segment)
    ]
    return tf.reduce_mean(tf.stack(losses))


def train_global(
    model,
    *,
    beam: int = 8,
    epochs: int = 1,
    batch_sentences: int = 32,
    learning_rate: float = 1e-4,
    limit: int | None = None,
    seed: int = 0,
    sentences=None,
) -> dict[str, list[float]]:
    """Fine-tunes the scorer globally normalised over the beam with early update.

    Returns one value per update of ``loss`` (the batch's loss before its update),
    ``early_updates`` (the share of its sentences whose gold path fell off the beam) and
    ``survived`` (the mean share of the gold path that stayed on the beam).
    After training the model is marked globally normalised: decoding sums raw scores.
    """
    import keras
    import tensorflow as tf

    from fdl_keras.data.treebank import dependency_sentences
    from fdl_keras.sequence.transitions import is_projective

    if epochs < 1 or batch_sentences < 1:
        raise InvalidInputError(
            f"epochs and batch_sentences must be >= 1, got {epochs}, {batch_sentences}"
        )
    if sentences is None:
        all_sentences, split = dependency_sentences()
        sentences = [s for s, p in zip(all_sentences, split) if p == "train"][: limit or None]
    sentences = [s for s in sentences if is_projective(s[2])]
    encoded = encode_sentences(sentences)
    gold = [static_oracle(s[2]) for s in sentences]
    optimizer = keras.optimizers.Adam(learning_rate)
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "early_updates": [], "survived": []}
    for _ in range(epochs):
        order = rng.permutation(len(sentences))
        for start in range(0, len(order), batch_sentences):
            batch = order[start : start + batch_sentences]
            results = beam_search(
                model,
                [encoded[i] for i in batch],
                beam=beam,
                normalise=False,
                gold=[gold[i] for i in batch],
            )
            with tf.GradientTape() as tape:
                loss = global_loss(model, results)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            history["loss"].append(float(loss))
            kept = [
                len(r["gold_path"]) / (2 * len(sentences[i][2])) for r, i in zip(results, batch)
            ]
            history["early_updates"].append(float(np.mean([k < 1 for k in kept])))
            history["survived"].append(float(np.mean(kept)))
    GLOBALLY_NORMALISED.add(model)
    return history


__all__ = [
    "Hypothesis",
    "attachment_score",
    "beam_search",
    "decode_sentences",
    "encode_sentences",
    "global_loss",
    "greedy_decode",
    "train_global",
]
