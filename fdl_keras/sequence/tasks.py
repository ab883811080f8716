"""The tasks of chapter 9's tagger, parser and sentiment model (see :mod:`fdl_keras.tasks`).

All three train with ``model.fit`` on integer-id pipelines and save, beside ``model.keras``,
``vocabulary.json``: the vocabularies and settings that turn raw text into the model's input,
so :mod:`fdl_keras.sequence.apply` in a new process tokenises exactly as training did. The
parser also saves ``pos_tagger.json``, NLTK's averaged perceptron trained on the same files,
which tags new sentences for the parser's tag features.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.tasks import EXPORT_SAMPLE_SIZE, Classification

TEXT_FILE = "vocabulary.json"
POS_TAGGER_FILE = "pos_tagger.json"
CONTRACT_LENGTH = 24  # tokens per review in the contract's batch (an LSTM over 400 is slow)
EXPORT_LENGTH = 48  # tokens per review that export verifies on


class TextTask(Classification):
    """Integer-id inputs, a class per example, and the vocabulary saved in the run dir."""

    label = "text"
    classes_arg = "num_classes"

    def builder_args(self, spec, info):
        return {"vocabulary_size": len(info.vocabulary), self.classes_arg: info.num_classes}

    def train(self, spec, options):
        from fdl_keras.training.trainer import fit_system

        result = fit_system(spec, options)
        self.save_text_files(spec, Path(result.run_dir), result.data)
        return result

    def text_settings(self, spec, data) -> dict[str, Any]:
        return {"words": list(data.info.vocabulary), "classes": list(data.info.class_names)}

    def save_text_files(self, spec, run_dir: Path, data) -> None:
        from fdl_keras.runs import write_json

        write_json(run_dir / TEXT_FILE, {"system": spec.name, **self.text_settings(spec, data)})

    def prepare(self, model, x: np.ndarray, length: int | None = None) -> np.ndarray:
        """``x`` fitted to ``model``: ids beyond its tables → OOV."""
        return model.clamp_ids(x)

    def example_batch(self, spec, model, size=8):
        from fdl_keras.data import load_dataset

        data = load_dataset(spec.dataset, batch_size=size, limit=8 * size)
        x, y = (t.numpy() for t in next(iter(data.train)))
        return self.prepare(model, x, CONTRACT_LENGTH), y % model.outputs[0].shape[-1]

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        from fdl_keras.data import load_dataset

        name = self.dataset_name(spec, settings)
        data = load_dataset(name, batch_size=size, limit=8 * size)
        x = self.prepare(model, data.sample_batch(size, "test")[0], EXPORT_LENGTH)
        return [x], f"{data.info.name} test split"


class TaggingTask(TextTask):
    """POS tagging: a window per token → its tag."""

    label = "tagging"
    classes_arg = "num_tags"

    def text_settings(self, spec, data):
        from fdl_keras.sequence.text import SUFFIX_BUCKETS, WINDOW

        return {
            "words": list(data.info.vocabulary),
            "tags": list(data.info.class_names),
            "window": WINDOW,
            "suffix_buckets": SUFFIX_BUCKETS,
        }


class TextClassificationTask(TextTask):
    """A label per text (sentiment); inputs are padded id sequences of any length."""

    label = "text classification"

    def text_settings(self, spec, data):
        from fdl_keras.data.reviews import MAX_LENGTH

        return {
            "words": list(data.info.vocabulary),
            "classes": list(data.info.class_names),
            "max_length": MAX_LENGTH,
            "tokenizer": "fdl_keras.sequence.text.tokenize",
        }

    def prepare(self, model, x, length=None):
        x = model.clamp_ids(x)
        if length is not None:
            x = x[:, :length]
        return x

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        sample, source = super().export_sample(spec, model, settings=settings, size=size)
        return sample, f"{source}, first {EXPORT_LENGTH} tokens of each review"


class ParsingTask(TextTask):
    """Transition-based dependency parsing: a scorer of the next arc-standard transition,
    trained on the static oracle's transitions with a softmax (``model.fit``), then fine-tuned
    globally normalised over a beam of ``beam`` with early update for ``global_epochs`` (0:
    none); evaluated by unlabelled attachment score, greedy and with the beam.

    Args:
        beam: beam size of global training and of the beam UAS.
        global_epochs: passes of globally normalised training after the local fit.
        global_learning_rate: Adam's learning rate for them.
    """

    label = "transition parsing"

    def __init__(self, beam: int = 8, global_epochs: int = 1, global_learning_rate: float = 1e-4):
        self.beam = beam
        self.global_epochs = global_epochs
        self.global_learning_rate = global_learning_rate

    def describe(self, spec):
        return {
            **super().describe(spec),
            "decoding": f"greedy and beam {self.beam}",
            "global training": f"{self.global_epochs} epoch(s), beam {self.beam}, early update",
        }

    def builder_args(self, spec, info):
        from fdl_keras.data.treebank import parser_vocabularies

        _, tags = parser_vocabularies()
        return {
            "vocabulary_size": len(info.vocabulary),
            "num_tags": len(tags),
            "num_transitions": info.num_classes,
        }

    def text_settings(self, spec, data):
        from fdl_keras.data.treebank import parser_vocabularies
        from fdl_keras.sequence.transitions import TRANSITIONS

        words, tags = parser_vocabularies()
        return {
            "words": words.tokens,
            "tags": tags.tokens,
            "transitions": list(TRANSITIONS),
            "pos_tagger": POS_TAGGER_FILE,
            # "global": beam search sums raw scores (a globally normalised scorer); set by train
            "scores": "local",
        }

    def train(self, spec, options):
        from fdl_keras.runs import METRICS_FILE, MODEL_FILE, RUN_FILE, read_json, write_json
        from fdl_keras.sequence.beam import train_global
        from fdl_keras.training.trainer import save_model

        result = super().train(spec, options)
        model, run_dir = result.model, Path(result.run_dir)
        limit = options.get("limit")
        sentences = None if limit is None else max(8, limit // SENTENCE_TRANSITIONS)
        scores = "local"
        if self.global_epochs:
            # Both scorers are measured; the one with the better beam UAS on the validation
            # files is kept (global fine-tuning can need more epochs than the run gives it).
            key = f"uas_beam{self.beam}" if self.beam > 1 else "uas"
            local_weights = model.get_weights()
            local = parser_uas(model, beam=self.beam, limit=sentences, split="validation")[key]
            result.test_metrics.update(
                {
                    f"{k}_local": v
                    for k, v in parser_uas(model, beam=self.beam, limit=sentences).items()
                }
            )
            history = train_global(
                model,
                beam=self.beam,
                epochs=self.global_epochs,
                learning_rate=self.global_learning_rate,
                limit=sentences,
                seed=options["seed"],
            )
            glob = parser_uas(
                model, beam=self.beam, limit=sentences, normalise=False, split="validation"
            )[key]
            result.test_metrics.update(
                {
                    f"{k}_global": v
                    for k, v in parser_uas(
                        model, beam=self.beam, limit=sentences, normalise=False
                    ).items()
                }
            )
            history["validation"] = {"metric": key, "local": local, "global": glob}
            (run_dir / "global_history.json").write_text(json.dumps(history))
            if glob >= local:
                scores = "global"
            else:
                model.set_weights(local_weights)
            save_model(model, run_dir / MODEL_FILE)
        # How beam search scores paths with the kept model: read by `fdl evaluate` and apply.
        write_json(run_dir / RUN_FILE, {**read_json(run_dir / RUN_FILE), "parser_scores": scores})
        text = read_json(run_dir / TEXT_FILE)
        write_json(run_dir / TEXT_FILE, {**text, "scores": scores})
        save_pos_tagger(run_dir / POS_TAGGER_FILE, limit=sentences)
        uas = parser_uas(model, beam=self.beam, limit=sentences, normalise=scores == "local")
        result.test_metrics.update({**uas, "global_kept": float(scores == "global")})
        metrics = read_json(run_dir / METRICS_FILE)
        metrics["test"].update(result.test_metrics)
        write_json(run_dir / METRICS_FILE, metrics)
        return result

    def evaluate(self, spec, model, *, settings, limit=None):
        metrics = super().evaluate(spec, model, settings=settings, limit=limit)
        # The run's own limit, as the transition metrics use it: the same sentences as training.
        limit = limit if limit is not None else (settings or {}).get("limit")
        sentences = None if limit is None else max(8, limit // SENTENCE_TRANSITIONS)
        normalise = (settings or {}).get("parser_scores", "local") == "local"
        uas = parser_uas(model, beam=self.beam, limit=sentences, normalise=normalise)
        return {**uas, **metrics}


SENTENCE_TRANSITIONS = 50  # oracle transitions of an average treebank sentence (2 x 25 words)


def parser_uas(
    model,
    *,
    beam: int = 1,
    limit: int | None = None,
    normalise: bool = True,
    split: str = "test",
) -> dict[str, float]:
    """Unlabelled attachment score on the first ``limit`` sentences of ``split`` (gold tags),
    greedy and with ``beam`` (``normalise``: sum log-probabilities, else raw scores)."""
    from fdl_keras.data.treebank import dependency_sentences
    from fdl_keras.sequence.beam import attachment_score, decode_sentences

    sentences, splits = dependency_sentences()
    test = [s for s, p in zip(sentences, splits) if p == split][: limit or None]

    def uas(width):
        heads = decode_sentences(model, test, beam=width, normalise=normalise)
        return attachment_score(heads, test)

    out = {"uas": uas(1)}
    if beam > 1:
        out[f"uas_beam{beam}"] = uas(beam)
    out["sentences"] = len(test)
    return out


def save_pos_tagger(path: Path, *, limit: int | None = None, iterations: int = 5) -> None:
    """Trains NLTK's averaged perceptron on the parser's training files and saves it as JSON."""
    from nltk.tag.perceptron import PerceptronTagger

    from fdl_keras.data.treebank import dependency_sentences

    sentences, split = dependency_sentences()
    train = [list(zip(s[0], s[1])) for s, p in zip(sentences, split) if p == "train"]
    tagger = PerceptronTagger(load=False)
    tagger.train(train[: limit or None], nr_iter=iterations)
    state = {
        "weights": tagger.model.weights,
        "tagdict": tagger.tagdict,
        "classes": sorted(tagger.classes),
    }
    path.write_text(json.dumps(state))


def load_pos_tagger(path: Path):
    """The perceptron saved by :func:`save_pos_tagger`."""
    from nltk.tag.perceptron import PerceptronTagger

    from fdl_keras.runs import read_json

    state = read_json(path)
    tagger = PerceptronTagger(load=False)
    tagger.model.weights = state["weights"]
    tagger.tagdict = state["tagdict"]
    tagger.classes = tagger.model.classes = set(state["classes"])
    return tagger


__all__ = [
    "POS_TAGGER_FILE",
    "TEXT_FILE",
    "ParsingTask",
    "TaggingTask",
    "TextClassificationTask",
    "TextTask",
    "load_pos_tagger",
    "parser_uas",
    "save_pos_tagger",
]
