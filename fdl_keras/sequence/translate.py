"""Translating with a trained run: ``translate(run, sentences)`` and ``fdl translate RUN FILE``.

A translation run dir holds ``model.keras`` and the two SentencePiece models
(``source.model``, ``target.model``), so a new process translates with nothing else.
``runtime="onnx"`` decodes with onnxruntime on the exported encoder and decoder step (written
once into ``RUN/translator/`` by :func:`export_translator`, each verified against Keras like
every export); the tokens are the same as Keras decoding gives.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fdl_keras.errors import InvalidInputError

RUNTIMES = ("keras", "onnx")
EXPORT_FOLDER = "translator"


def load_translator(run) -> tuple:
    """``(model, source tokenizer, target tokenizer, run dir)`` of a run dir (or a ``Run``, or
    the ``model.keras`` inside a run dir)."""
    from fdl_keras.runs import Run, load_run
    from fdl_keras.sequence.subwords import load_tokenizer
    from fdl_keras.sequence.translation_task import TOKENIZER_FILES

    if not isinstance(run, Run):
        path = Path(run)
        run = load_run(path.parent if path.suffix == ".keras" else path)
    model = run.model
    if not hasattr(model, "submodels") or run.spec.family != "translation":
        raise InvalidInputError(
            f"{run.directory} is a run of {run.name}, not a translation system; pass a run of "
            "seq2seq_attention_fr_en or transformer_fr_en"
        )
    source, target = (load_tokenizer(run.directory / name) for name in TOKENIZER_FILES)
    return model, source, target, run.directory


#: French sentences the exported graphs are verified on (any real sentences would do).
VERIFY_SENTENCES = (
    "Je suis content de te voir.",
    "Il fait froid ce matin.",
    "Où est la gare ?",
    "Nous avons besoin d'aide.",
)


def export_translator(run, directory: str | Path | None = None) -> Path:
    """Exports the run's ``encoder`` and ``decoder_step`` (SavedModel + ONNX, each verified
    against Keras) and its tokenizers into ``directory`` (default ``RUN/translator``)."""
    from fdl_keras.data.translation import normalize, pad_pairs
    from fdl_keras.sequence.translation_task import copy_tokenizers

    model, source_tokenizer, _, run_dir = load_translator(run)
    directory = Path(directory) if directory is not None else run_dir / EXPORT_FOLDER
    ids = source_tokenizer.encode([normalize(s) for s in VERIFY_SENTENCES])
    (source, _), _ = pad_pairs(ids, [[] for _ in ids])
    export_parts(model, source, directory)
    copy_tokenizers(run_dir, directory)
    return directory


def export_parts(model, source: np.ndarray, directory: str | Path) -> dict:
    """Exports ``model``'s encoder and decoder step into ``directory/encoder`` and
    ``directory/decoder_step``, verified on the padded ``source`` ids (the step on its real
    state after two greedy steps); returns the two export reports."""
    from fdl_keras.export import export
    from fdl_keras.sequence.translation_task import decoder_step_sample

    parts = model.submodels()
    step = parts["decoder_step"]
    names = [t.name for t in step.inputs if t.name != "source_ids"]
    feeds = {**dict(zip(names, decoder_step_sample(model, source))), "source_ids": source}
    samples = {"encoder": [source], "decoder_step": [feeds[t.name] for t in step.inputs]}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return {
        name: export(part, directory / name, sample=samples[name], measure_latency=False)
        for name, part in parts.items()
    }


def _runtime(model, run_dir: Path, runtime: str):
    from fdl_keras.sequence.decoding import keras_runtime, onnx_runtime

    if runtime not in RUNTIMES:
        raise InvalidInputError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "keras":
        return keras_runtime(model)
    folder = run_dir / EXPORT_FOLDER
    model_file = run_dir / "model.keras"
    stale = not (folder / "decoder_step" / "model.onnx").is_file() or (
        (folder / "decoder_step" / "model.onnx").stat().st_mtime < model_file.stat().st_mtime
    )
    if stale:
        export_translator(run_dir, folder)
    return onnx_runtime(folder)


def translate(
    run,
    sentences: Sequence[str],
    *,
    beam: int | None = None,
    runtime: str = "keras",
    batch_size: int = 64,
) -> list[str]:
    """English translations of French ``sentences`` with a translation run.

    Args:
        run: a run dir of ``seq2seq_attention_fr_en`` or ``transformer_fr_en`` (or its
            ``Run``, or its ``model.keras``).
        sentences: French sentences (normalised as the training data was).
        beam: beam width (``None`` or 1: greedy decoding).
        runtime: ``keras``, or ``onnx`` (onnxruntime on the exported encoder and step).

    Raises:
        InvalidInputError: not a translation run, no tokenizers in it, an empty sentence list,
            a beam < 1 or an unknown runtime.
    """
    from fdl_keras.data.translation import normalize
    from fdl_keras.sequence.decoding import translate_ids

    if isinstance(sentences, str):
        raise InvalidInputError("pass a list of sentences, not one string")
    if not sentences:
        raise InvalidInputError("no sentences to translate")
    if beam is not None and beam < 1:
        raise InvalidInputError(f"beam must be >= 1, got {beam}")
    model, source, target, run_dir = load_translator(run)
    decoder = _runtime(model, run_dir, runtime)
    ids = source.encode([normalize(s) for s in sentences])
    cap = _cache_length(model)
    return target.decode(translate_ids(decoder, ids, beam=beam, batch_size=batch_size, cap=cap))


def _cache_length(model) -> int | None:
    return model.get_config().get("max_length")


def translate_file(
    source: str,
    file: str,
    *,
    out: str | None = None,
    beam: int | None = None,
    runtime: str | None = None,
) -> int:
    """``fdl translate RUN FILE``: one translation per line of FILE (UTF-8, one French sentence
    a line), printed or written to ``out``; returns the exit status."""
    path = Path(file)
    if not path.is_file():
        raise InvalidInputError(f"no file at {path}; pass a UTF-8 text file, one sentence a line")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        raise InvalidInputError(f"{path} has no sentences; put one French sentence a line")
    translations = translate(source, sentences, beam=beam, runtime=runtime or "keras")
    text = "\n".join(translations) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"{len(translations)} translations written to {out}")
    else:
        sys.stdout.write(text)
    return 0


__all__ = ["export_parts", "export_translator", "load_translator", "translate", "translate_file"]
