"""The translation family: teacher-forced training, BLEU/chrF evaluation by decoding.

A translation system is a ``keras.Model`` taking ``[source_ids, target_in]`` and giving the
next-token logits at every target position (teacher forcing), plus two sub-models
(``model.submodels()``): ``encoder`` (source ids -> memory and initial decoder state) and
``decoder_step`` (one token -> logits, attention, next state), which decoding runs in Keras or,
exported, in onnxruntime (:mod:`fdl_keras.sequence.decoding`).

The loss is token cross-entropy over the non-padding targets with optional label smoothing
(Szegedy et al. 2016; 0.1 in Vaswani et al. 2017). :class:`WarmupInverseSqrt` is Vaswani et al.'s
schedule, lr = peak * min(step / warmup, sqrt(warmup / step)): their d^-0.5 min(step^-0.5,
step warmup^-1.5) with the peak d^-0.5 warmup^-0.5 made a setting. Evaluation decodes the test
split greedily and scores the detokenised output with sacreBLEU (BLEU, chrF).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras import ops

from fdl_keras.serialization import serializable
from fdl_keras.tasks import EXPORT_SAMPLE_SIZE, FitTask, check_learning_rate, device_defaults

TOKENIZER_FILES = ("source.model", "target.model")
#: Test sentences ``fdl evaluate`` decodes when no limit is given (the whole Tatoeba split).
EVALUATE_SENTENCES = None


@serializable
class SequenceCrossentropy(keras.losses.Loss):
    """Mean token cross-entropy of logits over the non-padding targets (id ``pad_id``),
    with ``label_smoothing`` of the one-hot targets."""

    def __init__(self, label_smoothing: float = 0.0, pad_id: int = 0, name="sequence_xent", **kw):
        kw.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kw)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing
        self.pad_id = pad_id

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        nll = -ops.take_along_axis(log_probs, y_true[..., None], axis=-1)[..., 0]
        if self.label_smoothing:
            uniform = -ops.mean(log_probs, axis=-1)
            nll = (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        # One value per sentence, its tokens' share of the batch's mean over real tokens:
        # reduction "sum" gives that mean exactly, and a per-example sample weight (B,) applies.
        return ops.sum(nll * mask, axis=-1) / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self):
        return {
            "name": self.name,
            "label_smoothing": self.label_smoothing,
            "pad_id": self.pad_id,
        }


@keras.saving.register_keras_serializable(package="fdl_keras")
def token_accuracy(y_true, y_pred):
    """Share of non-padding target tokens whose arg-max prediction is right."""
    y_true = ops.cast(y_true, "int32")
    mask = ops.cast(ops.not_equal(y_true, 0), "float32")
    right = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
    return ops.sum(right * mask) / ops.maximum(ops.sum(mask), 1.0)


@serializable
class WarmupInverseSqrt(keras.optimizers.schedules.LearningRateSchedule):
    """Vaswani et al.'s schedule: linear warm-up to ``peak`` over ``warmup_steps``, then
    decay with the inverse square root of the step."""

    def __init__(self, peak: float, warmup_steps: int = 4000):
        check_learning_rate(peak)
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = float(self.warmup_steps)
        return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / step))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


class Translation(FitTask):
    """Sequence-to-sequence translation trained by ``fit`` with teacher forcing.

    Args:
        label_smoothing: of the cross-entropy (0.1 for the Transformer).
        warmup_steps: use :class:`WarmupInverseSqrt` with this warm-up (the learning rate is
            its peak); ``None`` keeps the spec's schedule.
        clipnorm: gradient-norm clipping of Adam.
    """

    label = "translation"

    fit_settings = frozenset()  # its own Adam and sequence loss

    def __init__(self, label_smoothing: float = 0.0, warmup_steps: int | None = None, clipnorm=1.0):
        self.label_smoothing = label_smoothing
        self.warmup_steps = warmup_steps
        self.clipnorm = clipnorm

    def describe(self, spec):
        return {
            **super().describe(spec),
            "label_smoothing": self.label_smoothing,
            "schedule": (
                f"warm-up {self.warmup_steps} steps, then 1/sqrt(step) (Vaswani et al.)"
                if self.warmup_steps
                else spec.fit.schedule
            ),
            "decoding": "greedy or beam search (fdl translate RUN FILE --beam N)",
        }

    def builder_args(self, spec, info):
        return {
            "source_vocab_size": info.source_vocab_size,
            "target_vocab_size": info.target_vocab_size,
        }

    def compile(
        self,
        spec,
        model,
        *,
        learning_rate=None,
        total_steps=None,
        steps_per_execution=None,
        jit_compile="auto",
        warmup_steps: int | None = None,
    ):
        """Adam with the spec's or the warm-up schedule; ``warmup_steps`` overrides the
        task's warm-up (the contract's five steps use 1)."""
        fit = spec.fit
        lr = fit.learning_rate if learning_rate is None else learning_rate
        check_learning_rate(lr)
        warmup_steps = warmup_steps or self.warmup_steps
        if warmup_steps:
            schedule = WarmupInverseSqrt(lr, warmup_steps)
            optimizer = keras.optimizers.Adam(
                schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9, clipnorm=self.clipnorm
            )
        else:
            if fit.schedule == "cosine" and total_steps:
                lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=total_steps)
            optimizer = keras.optimizers.Adam(lr, clipnorm=self.clipnorm)
        jit_compile, steps_per_execution = device_defaults(
            spec, jit_compile, steps_per_execution, total_steps
        )
        model.compile(
            optimizer=optimizer,
            loss=self.loss(model),
            metrics=[token_accuracy],
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )

    def loss(self, model):
        return SequenceCrossentropy(self.label_smoothing)

    def train(self, spec, options):
        from fdl_keras.runs import METRICS_FILE, read_json, write_metrics
        from fdl_keras.training.trainer import fit_system

        result = fit_system(spec, options)
        save_tokenizers(result.data, result.run_dir)
        scores = translation_scores(result.model, result.data)
        result.test_metrics.update(scores)
        metrics = read_json(result.run_dir / METRICS_FILE)
        metrics["test"] = {**metrics.get("test", {}), **scores}
        write_metrics(result.run_dir, metrics)
        return result

    def evaluate(self, spec, model, *, settings, limit=None):
        data = self.dataset(spec, settings, limit)
        if not model.compiled:
            self.compile(spec, model)
        metrics = model.evaluate(data.test, verbose=0, return_dict=True)
        metrics = {k: float(v) for k, v in metrics.items()}
        scores = translation_scores(model, data)
        return {**metrics, **scores, "examples": data.info.num_test}

    def dataset(self, spec, settings: Mapping[str, Any] | None, limit: int | None = None):
        from fdl_keras.data import load_dataset

        settings = settings or {}
        return load_dataset(
            self.dataset_name(spec, settings),
            batch_size=settings.get("batch_size") or spec.fit.batch_size,
            seed=settings.get("seed", 0),
            limit=limit if limit is not None else settings.get("limit"),
        )

    def example_batch(self, spec, model, size=8):
        """A test batch; the targets are followed by real inputs of the decoder step (its
        state after two greedy steps), so the contract can export the step on them."""
        data = self.dataset(spec, None, limit=256)
        (source, target_in), target_out = data.batch("test", size)
        avoid = {1} | {d for m in model.submodels().values() for t in m.inputs for d in t.shape}
        length = max(source.shape[1], target_in.shape[1])
        while length in avoid:
            length += 1
        source, target_in, target_out = (
            _pad_to(a, length) for a in (source, target_in, target_out)
        )
        step_sample = decoder_step_sample(model, source)
        return [source, target_in], [target_out, *step_sample]

    def contract_step(self, spec, model, x, y):
        if not model.compiled:
            # Five steps inside a 1,000-step warm-up would barely move the weights.
            self.compile(spec, model, warmup_steps=1 if self.warmup_steps else None)
        target = y[0] if isinstance(y, (list, tuple)) else y
        return model.fit(x, target, epochs=1, batch_size=len(target), verbose=0).history

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        data = self.dataset(spec, settings, limit=256)
        (source, target_in), _ = data.batch("test", size)
        return [source, target_in], f"{data.info.name} test split"


def _pad_to(array: np.ndarray, length: int) -> np.ndarray:
    return np.pad(array, ((0, 0), (0, length - array.shape[1])))


def decoder_step_sample(model, source: np.ndarray, steps: int = 2) -> list[np.ndarray]:
    """Real inputs of ``model``'s decoder step that are not in a ``(source, target)`` batch:
    the token, the step index (if the step takes one), the encoder's memory and the state
    after ``steps`` greedy steps, in the step's input order."""
    from fdl_keras.sequence.decoding import keras_runtime

    runtime = keras_runtime(model)
    state = runtime.start(source)
    token = None
    for index in range(steps):
        token, state = runtime.greedy_step(state, index, token)
    feeds = runtime.feeds(state, steps, token)
    return [feeds[name] for name in runtime.step.input_names if name != "source_ids"]


def save_tokenizers(data, run_dir) -> None:
    """Writes the dataset's source and target SentencePiece models into ``run_dir``."""
    for tokenizer, name in zip(data.tokenizers, TOKENIZER_FILES):
        tokenizer.save(run_dir / name)


def copy_tokenizers(run_dir, target_dir) -> None:
    for name in TOKENIZER_FILES:
        shutil.copy2(run_dir / name, target_dir / name)


def translation_scores(model, data, *, limit: int | None = EVALUATE_SENTENCES) -> dict:
    """sacreBLEU BLEU and chrF of greedy translations of ``data``'s test split."""
    from fdl_keras.sequence.decoding import keras_runtime, translate_ids

    sources, references = data.texts["test"]
    ids = data.ids["test"][0]
    if limit is not None:
        sources, references, ids = sources[:limit], references[:limit], ids[:limit]
    hypotheses = data.tokenizers[1].decode(translate_ids(keras_runtime(model), ids))
    return bleu_chrf(hypotheses, references)


def bleu_chrf(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus sacreBLEU (13a tokenisation) and chrF of detokenised text."""
    import sacrebleu

    return {
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score),
    }


__all__ = [
    "SequenceCrossentropy",
    "Translation",
    "WarmupInverseSqrt",
    "bleu_chrf",
    "token_accuracy",
    "translation_scores",
]
