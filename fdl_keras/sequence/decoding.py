"""Greedy and beam-search decoding over an encoder and a one-step decoder, in any runtime.

A translation model's ``submodels()`` are ``encoder`` (``source_ids`` -> ``memory`` and the
decoder's initial state) and ``decoder_step`` (``token``, optionally ``index``, ``source_ids``,
``memory`` and the state -> ``logits``, ``attention``, next state). The loops here only see a
:class:`Runtime` made of two runners, so the same code decodes with Keras (:func:`keras_runtime`)
and with onnxruntime on the exported graphs (:func:`onnx_runtime`): both give the same tokens.
State inputs the encoder does not give (the Transformer's key/value cache) start as zeros.

Beam search keeps the ``beam`` best partial translations by summed log-probability and ranks
finished ones by the length-normalised score of Wu et al. (2016), log P(Y|X) / lp(Y) with
lp(Y) = ((5 + |Y|) / 6) ** alpha; with ``beam=1`` it is exactly greedy decoding. Decoding lives
outside the model, as in keras-hub's samplers.

References: Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural Networks",
NeurIPS 2014 (beam search); Wu et al., "Google's Neural Machine Translation System", 2016.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdl_keras.errors import InvalidInputError
from fdl_keras.sequence.subwords import BOS_ID, EOS_ID, PAD_ID

FIXED_INPUTS = ("token", "index", "source_ids", "memory")
LENGTH_ALPHA = 0.6


@dataclass
class Runner:
    """A graph as ``run(list of arrays in input order) -> list of output arrays``."""

    input_names: list[str]
    input_shapes: list[tuple]
    run: Callable[[list[np.ndarray]], list[np.ndarray]]

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.run([feeds[name] for name in self.input_names])


@dataclass
class Runtime:
    """An encoder and a decoder step that decode together."""

    encoder: Runner
    step: Runner
    name: str = "keras"

    @property
    def state_names(self) -> list[str]:
        return [n for n in self.step.input_names if n not in FIXED_INPUTS]

    def start(self, source_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The decoding state of a batch of padded source ids: memory and initial state."""
        source_ids = np.asarray(source_ids, np.int32)
        memory, *initial = self.encoder({"source_ids": source_ids})
        state = {"source_ids": source_ids, "memory": memory}
        for i, name in enumerate(self.state_names):
            if i < len(initial):
                state[name] = initial[i]
            else:
                shape = self.step.input_shapes[self.step.input_names.index(name)]
                state[name] = np.zeros((len(source_ids), *shape[1:]), np.float32)
        return state

    def feeds(self, state: dict, index: int, token: np.ndarray | None = None) -> dict:
        rows = len(state["source_ids"])
        token = np.full((rows, 1), BOS_ID, np.int32) if token is None else token
        return {**state, "token": token, "index": np.full((rows,), index, np.int32)}

    def advance(self, state: dict, token: np.ndarray, index: int):
        """One step: ``(logits (B, V), attention (B, S), next state)``."""
        logits, attention, *new = self.step(self.feeds(state, index, token))
        return logits, attention, {**state, **dict(zip(self.state_names, new))}

    def greedy_step(self, state: dict, index: int, token: np.ndarray | None = None):
        """The arg-max token after ``token`` (start token when None) and the next state."""
        token = np.full((len(state["source_ids"]), 1), BOS_ID, np.int32) if token is None else token
        logits, _, state = self.advance(state, token, index)
        return np.argmax(logits, axis=-1).astype(np.int32)[:, None], state


def max_output_length(source_length: int, cap: int | None) -> int:
    """Output budget: twice the source plus 10 tokens, at most ``cap`` (a step's cache)."""
    length = 2 * source_length + 10
    return min(length, cap) if cap else length


def greedy(runtime: Runtime, source_ids: np.ndarray, *, cap: int | None = None) -> list[list[int]]:
    """Greedy decoding of a padded batch; ids without start and end tokens. Each sentence's
    length budget comes from its own length, so batching never changes it."""
    state = runtime.start(source_ids)
    rows = len(source_ids)
    budgets = [max_output_length(int(n), cap) for n in (source_ids != PAD_ID).sum(axis=1)]
    token = np.full((rows, 1), BOS_ID, np.int32)
    done = np.zeros(rows, bool)
    outputs: list[list[int]] = [[] for _ in range(rows)]
    for index in range(max(budgets)):
        token, state = runtime.greedy_step(state, index, token)
        for row in np.flatnonzero(~done):
            if token[row, 0] == EOS_ID:
                done[row] = True
            else:
                outputs[row].append(int(token[row, 0]))
                done[row] = len(outputs[row]) >= budgets[row]
        if done.all():
            break
    return outputs


def length_penalty(length: int, alpha: float = LENGTH_ALPHA) -> float:
    """Wu et al.'s lp(Y) = ((5 + |Y|) / 6) ** alpha."""
    return ((5.0 + length) / 6.0) ** alpha


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def beam_search(
    runtime: Runtime,
    source_ids: np.ndarray,
    *,
    beam: int = 4,
    alpha: float = LENGTH_ALPHA,
    cap: int | None = None,
    return_attention: bool = False,
):
    """Beam search for one sentence (``source_ids`` of shape (1, S)); returns its ids (and
    the attention rows of the chosen hypothesis when asked)."""
    if beam < 1:
        raise InvalidInputError(f"beam must be >= 1, got {beam}")
    state = runtime.start(source_ids)
    sequences: list[list[int]] = [[]]
    attentions: list[list[np.ndarray]] = [[]]
    scores = np.zeros(1)
    finished: list[tuple[float, list[int], list[np.ndarray]]] = []
    budget = max_output_length(int((source_ids != PAD_ID).sum()), cap)
    for index in range(budget):
        token = np.array([[s[-1] if s else BOS_ID] for s in sequences], np.int32)
        logits, attention, state = runtime.advance(state, token, index)
        candidates = scores[:, None] + log_softmax(logits)
        order = np.argsort(-candidates, axis=None, kind="stable")[: 2 * beam]
        keep_rows, next_sequences, next_attentions, next_scores = [], [], [], []
        for rank, flat in enumerate(order):
            row, word = divmod(int(flat), candidates.shape[1])
            score = float(candidates[row, word])
            trail = attentions[row] + [attention[row]]
            if word == EOS_ID:
                # An ending finishes a hypothesis only when it ranks among the beam best
                # (as in fairseq), never as a filler of the 2 x beam candidates.
                if rank < beam and len(finished) < beam:
                    normalised = score / length_penalty(len(sequences[row]) + 1, alpha)
                    finished.append((normalised, sequences[row], trail))
            elif len(keep_rows) < beam:
                keep_rows.append(row)
                next_sequences.append(sequences[row] + [word])
                next_attentions.append(trail)
                next_scores.append(score)
        if len(finished) >= beam or not keep_rows:
            break
        rows = np.array(keep_rows)
        state = {k: v[rows] for k, v in state.items()}
        sequences, attentions, scores = next_sequences, next_attentions, np.array(next_scores)
    if not finished:  # out of budget: the best unfinished hypothesis
        finished = [
            (s / length_penalty(len(q), alpha), q, a)
            for s, q, a in zip(scores, sequences, attentions)
        ]
    _, best, trail = max(finished, key=lambda f: f[0])
    return (
        (best, np.stack(trail) if trail else np.zeros((0, source_ids.shape[1])))
        if (return_attention)
        else best
    )


def translate_ids(
    runtime: Runtime,
    sources: Sequence[Sequence[int]],
    *,
    beam: int | None = None,
    batch_size: int = 64,
    cap: int | None = None,
) -> list[list[int]]:
    """Target ids of each source id list (without end ids): greedy in length-sorted batches
    (``beam=None``), or beam search one sentence at a time (``beam=1`` is greedy at batch 1)."""
    from fdl_keras.data.translation import pad_pairs

    sources = [list(s) for s in sources]
    results: list[list[int]] = [[] for _ in sources]
    if beam is not None:
        for i, ids in enumerate(sources):
            (source, _), _ = pad_pairs([ids], [[]])
            results[i] = beam_search(runtime, source, beam=beam, cap=cap)
        return results
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        (source, _), _ = pad_pairs([sources[i] for i in chunk], [[] for _ in chunk])
        for i, ids in zip(chunk, greedy(runtime, source, cap=cap)):
            results[i] = ids
    return results


# --- runtimes --------------------------------------------------------------------------------


def keras_runner(model) -> Runner:
    """``model`` as a traced ``tf.function`` with one signature (dynamic batch and length)."""
    import tensorflow as tf

    from fdl_keras.export.onnx import input_signature

    signature = input_signature(model)

    @tf.function(input_signature=signature)
    def serve(*inputs):
        outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        return outputs if isinstance(outputs, (list, tuple)) else [outputs]

    def run(arrays):
        return [np.asarray(o) for o in serve(*arrays)]

    return Runner([t.name for t in model.inputs], [tuple(t.shape) for t in model.inputs], run)


def keras_runtime(model) -> Runtime:
    """Decoding with the Keras sub-models of a translation ``model`` (traced once per model:
    the runtime is kept on the model, outside Keras's attribute tracking)."""
    runtime = model.__dict__.get("_fdl_keras_runtime")
    if runtime is None:
        parts = _submodels(model)
        runtime = Runtime(
            keras_runner(parts["encoder"]), keras_runner(parts["decoder_step"]), "keras"
        )
        object.__setattr__(model, "_fdl_keras_runtime", runtime)
    return runtime


def onnx_runner(path: str | Path) -> Runner:
    import onnxruntime as ort

    from fdl_keras.export.onnx import OUTPUT_ORDER_KEY

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    order = session.get_modelmeta().custom_metadata_map.get(OUTPUT_ORDER_KEY)
    fetches = order.split(",") if order else None
    names = [i.name for i in inputs]

    def run(arrays):
        return session.run(fetches, dict(zip(names, arrays)))

    shapes = [tuple(d if isinstance(d, int) else None for d in i.shape) for i in inputs]
    return Runner(names, shapes, run)


def onnx_runtime(directory: str | Path) -> Runtime:
    """Decoding with ``encoder/model.onnx`` and ``decoder_step/model.onnx`` in ``directory``
    (written by :func:`fdl_keras.sequence.translate.export_translator`)."""
    directory = Path(directory)
    paths = [directory / part / "model.onnx" for part in ("encoder", "decoder_step")]
    for path in paths:
        if not path.is_file():
            raise InvalidInputError(
                f"no ONNX graph at {path}; export the run with "
                "fdl_keras.sequence.translate.export_translator(run, directory)"
            )
    return Runtime(onnx_runner(paths[0]), onnx_runner(paths[1]), "onnx")


def _submodels(model) -> dict:
    parts = getattr(model, "submodels", None)
    if parts is None:
        raise InvalidInputError(
            f"{model.name} is not a translation model (it has no encoder and decoder step); "
            "pass a run of seq2seq_attention_fr_en or transformer_fr_en"
        )
    return parts()


__all__ = [
    "PAD_ID",
    "Runtime",
    "beam_search",
    "greedy",
    "keras_runtime",
    "length_penalty",
    "onnx_runtime",
    "translate_ids",
]
