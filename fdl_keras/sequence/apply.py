"""Chapter 9's trained systems on new text: ``tag``, ``parse``, ``classify`` (and the CLI's
``fdl tag|parse|classify RUN FILE``).

Each function takes a run dir made by ``fdl train`` (or the ``model.keras`` inside one) and raw
input. It reads the run's ``vocabulary.json`` (written by the task's train), so a new process
tokenises and looks up words exactly as training did; words never seen in training map to the
OOV id. Sentences for the tagger and the parser are token lists, or strings split by NLTK's
Penn Treebank tokeniser (the treebank's own conventions); reviews are tokenised with
:func:`fdl_keras.sequence.text.tokenize`, the movie-review corpus' tokenisation. Empty input
raises a one-line :class:`~fdl_keras.errors.InvalidInputError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.errors import InvalidInputError
from fdl_keras.sequence.tasks import POS_TAGGER_FILE, TEXT_FILE


def _load(run, system_kind: str):
    """``(model, settings of vocabulary.json, run dir)`` of a run of the right kind."""
    from fdl_keras.runs import load_source, read_json

    if not isinstance(run, (str, Path)):
        raise InvalidInputError(f"pass a run dir (or its model.keras), got {type(run).__name__}")
    path = Path(run)
    run_dir = path if path.is_dir() else path.parent
    model, spec, _ = load_source(path)
    text_file = run_dir / TEXT_FILE
    if not text_file.is_file():
        raise InvalidInputError(
            f"{run_dir} has no {TEXT_FILE} (the vocabulary the model trained with); pass a run "
            "dir made by `fdl train` of a chapter-9 text system"
        )
    settings = read_json(text_file)
    kind = {"tagger": "tags", "parser": "transitions", "classifier": "max_length"}[system_kind]
    if kind not in settings:
        raise InvalidInputError(
            f"{run_dir} is a {settings.get('system', 'different')} run, not a {system_kind}; "
            f"pass a run of {_SYSTEMS[system_kind]}"
        )
    return model, settings, run_dir


_SYSTEMS = {"tagger": "pos_tagger", "parser": "dependency_parser", "classifier": "lstm_sentiment"}


def _token_lists(sentences, what: str = "sentences") -> list[list[str]]:
    """Sentences as token lists: lists are kept, strings split by the Treebank tokeniser."""
    from nltk.tokenize import TreebankWordTokenizer

    if isinstance(sentences, str):
        sentences = [sentences]
    sentences = list(sentences)
    if not sentences:
        raise InvalidInputError(f"no {what} given; pass at least one non-empty sentence")
    tokenizer = TreebankWordTokenizer()
    out = []
    for i, s in enumerate(sentences):
        tokens = tokenizer.tokenize(s) if isinstance(s, str) else [str(t) for t in s]
        if not tokens or not all(t.strip() for t in tokens):
            raise InvalidInputError(f"{what}[{i}] is empty; remove empty lines or give words")
        out.append(tokens)
    return out


def tag(run, sentences) -> list[list[tuple[str, str]]]:
    """POS tags of ``sentences`` (token lists or strings): ``[[(word, tag), ...], ...]``."""
    from fdl_keras.sequence.text import Vocabulary, window_features

    model, settings, _ = _load(run, "tagger")
    sentences = _token_lists(sentences)
    vocabulary = Vocabulary(settings["words"])
    windows = [window_features(s, vocabulary) for s in sentences]
    probabilities = model.predict_on_batch(np.concatenate(windows))
    ids = np.argmax(np.asarray(probabilities), axis=-1)
    tags, out, start = settings["tags"], [], 0
    for s in sentences:
        out.append([(w, tags[int(i)]) for w, i in zip(s, ids[start : start + len(s)])])
        start += len(s)
    return out


def parse(run, sentences, *, beam: int = 1, tags=None) -> list[list[tuple[str, str, int]]]:
    """Dependency heads of ``sentences``: ``[[(word, tag, head), ...], ...]`` (head 0 is ROOT,
    else the 1-based position of the head word). Tags come from ``tags`` (one list per
    sentence) or from the averaged perceptron saved with the run."""
    from fdl_keras.sequence.beam import decode_sentences
    from fdl_keras.sequence.tasks import load_pos_tagger
    from fdl_keras.sequence.text import Vocabulary

    if not isinstance(beam, int) or beam < 1:
        raise InvalidInputError(f"beam must be an integer >= 1, got {beam!r}")
    model, settings, run_dir = _load(run, "parser")
    sentences = _token_lists(sentences)
    if tags is None:
        tagger_file = run_dir / settings.get("pos_tagger", POS_TAGGER_FILE)
        if not tagger_file.is_file():
            raise InvalidInputError(f"{tagger_file} is missing; pass tags= or retrain the run")
        tagger = load_pos_tagger(tagger_file)
        tags = [[t for _, t in tagger.tag(s)] for s in sentences]
    elif len(tags) != len(sentences) or any(
        len(t) != len(s) for t, s in zip(tags, sentences, strict=False)
    ):
        raise InvalidInputError("tags must give one tag per word of every sentence")
    vocabularies = (Vocabulary(settings["words"]), Vocabulary(settings["tags"]))
    heads = decode_sentences(
        model,
        [(s, t) for s, t in zip(sentences, tags, strict=True)],
        beam=beam,
        vocabularies=vocabularies,
        normalise=settings.get("scores", "local") == "local",
    )
    return [list(zip(s, t, h, strict=True)) for s, t, h in zip(sentences, tags, heads, strict=True)]


def classify(run, texts) -> list[dict[str, Any]]:
    """Label and probability of each raw text: ``[{"label", "probability", "probabilities"}]``."""
    from fdl_keras.sequence.text import Vocabulary, check_texts, pad_sequences, tokenize

    model, settings, _ = _load(run, "classifier")
    texts = check_texts(texts)
    vocabulary, length = Vocabulary(settings["words"]), settings["max_length"]
    # Exactly fdl_keras.data.reviews.encode_reviews: the last max_length tokens, padded at the end.
    ids = pad_sequences([vocabulary.encode(tokenize(t))[-length:] for t in texts], length)
    probabilities = np.asarray(model.predict_on_batch(ids))
    classes = settings["classes"]
    return [
        {
            "label": classes[int(np.argmax(p))],
            "probability": float(np.max(p)),
            "probabilities": {c: float(v) for c, v in zip(classes, p, strict=True)},
        }
        for p in probabilities
    ]


# --- CLI verbs: one input per line of a file --------------------------------------------------


def _read_lines(file: str) -> list[str]:
    path = Path(file)
    if not path.is_file():
        raise InvalidInputError(f"input file {file} not found; pass a UTF-8 text file")
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{file} is not UTF-8 text ({exc.reason}); convert it") from None
    lines = [line for line in lines if line]
    if not lines:
        raise InvalidInputError(f"{file} is empty; give one sentence or review per line")
    return lines


def _emit(rows: Sequence[str], out: str | None) -> int:
    text = "\n".join(rows) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} lines to {out}")
    else:
        print(text, end="")
    return 0


def tag_file(source: str, file: str, *, out: str | None = None, **options) -> int:
    """``fdl tag RUN FILE``: one ``word/TAG`` line per input sentence."""
    _no_options(options, "tag")
    tagged = tag(source, _read_lines(file))
    return _emit([" ".join(f"{w}/{t}" for w, t in s) for s in tagged], out)


def parse_file(source: str, file: str, *, out: str | None = None, beam=None, **options) -> int:
    """``fdl parse RUN FILE [--beam N]``: CoNLL-style ``index word tag head`` rows, a blank
    line between sentences."""
    _no_options(options, "parse")
    parsed = parse(source, _read_lines(file), beam=int(beam) if beam is not None else 1)
    rows = []
    for s in parsed:
        rows += [f"{i}\t{w}\t{t}\t{h}" for i, (w, t, h) in enumerate(s, start=1)] + [""]
    return _emit(rows[:-1], out)


def classify_file(source: str, file: str, *, out: str | None = None, **options) -> int:
    """``fdl classify RUN FILE``: one JSON line ``{"label", "probability", ...}`` per review."""
    _no_options(options, "classify")
    return _emit([json.dumps(r) for r in classify(source, _read_lines(file))], out)


def _no_options(options: dict, verb: str) -> None:
    if options:
        raise InvalidInputError(f"fdl {verb} takes no option {sorted(options)[0]!r}")


__all__ = ["classify", "classify_file", "parse", "parse_file", "tag", "tag_file"]
