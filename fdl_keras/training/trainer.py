"""Training any registered system: :func:`train` hands the work to its family's trainer.

:func:`fit_system` is the trainer of every family that learns with ``model.fit`` (classifiers,
reconstructions, style networks, generative models with their own ``train_step``): seeded,
resumable, logged and evaluated, writing the run directory of :mod:`fdl_keras.runs`. Agents
train with :func:`fdl_keras.rl.train.train_system`; :func:`train` picks through the spec's task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fdl_keras import config
from fdl_keras.checks import describe_type, fits_type
from fdl_keras.errors import InvalidInputError, TrainingDivergedError
from fdl_keras.registry import ModelSpec, get_spec
from fdl_keras.runs import HISTORY_FILE, MODEL_FILE, claim_run, trim_history, write_metrics
from fdl_keras.tasks import FIT_OPTIONS, check_count, check_learning_rate
from fdl_keras.training.backup import EpochBackup
from fdl_keras.training.callbacks import NaNGuard, run_callbacks
from fdl_keras.training.precision import (
    check_precision,
    float32_copy,
    precision_policy,
    slow_precision_warning,
)
from fdl_keras.training.strategy import get_strategy

FAST_EPOCHS = 2  # epochs in FDL_FAST mode


@dataclass
class TrainResult:
    """What a trainer produced, for every family.

    ``initial_epoch`` is where a resumed run started (the epoch for ``fit``, the environment
    step for an agent); ``data`` is the dataset of a ``fit`` run; ``extras`` holds what only one
    family has (an agent's episode log and evaluations).
    """

    model: Any
    spec: ModelSpec
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    run_dir: Path
    wall_time_s: float
    initial_epoch: int = 0
    data: Any = None
    extras: dict = field(default_factory=dict)
    resumed_at: str = ""  # "epoch 3", "step 20,480": where a resumed run started, else ""


def train(
    name: str,
    *,
    dataset: str | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    eval_every: int | None = None,
    environment: str | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    strategy: str | None = None,
    precision: str | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    limit: int | None = None,
    augment: str | bool | None = None,
    tensorboard: bool = False,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    style_image: str | Path | None = None,
    vgg_weights: str | None = None,
    overwrite: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Trains the registered system ``name`` with its family's trainer and evaluates it.

    Every run writes a run directory (default ``runs/<name>``: ``run.json``, ``history.csv``,
    ``model.keras``, ``metrics.json``); starting the same call again after a kill resumes.
    An option that does not apply to the system's family (``steps`` for a classifier,
    ``epochs`` for an agent) raises :class:`InvalidInputError`; ``fdl info NAME`` lists them.

    Args:
        name: registry name, e.g. ``"mnist_cnn"`` or ``"ppo_cartpole"``.
        dataset: dataset name (``fit`` families); defaults to the spec's.
        epochs, batch_size, learning_rate: override the spec's ``FitConfig`` (an agent takes
            ``learning_rate`` too).
        steps: environment steps of an agent's run; ``eval_every``: greedy evaluation period.
        environment: a gymnasium id replacing an agent's default environment.
        strategy: ``default``, ``mirrored``, ``multiworker`` or ``tpu``.
        precision: ``float32`` (default), ``mixed_float16`` or ``mixed_bfloat16``
            (:mod:`fdl_keras.training.precision`; the saved model is float32).
        seed: seeds Python, NumPy, TensorFlow, the shuffle, augmentation and environments.
        limit: keep at most this many training examples.
        augment: ``None`` uses the spec's augmentation, ``False`` disables it, a string picks a
            policy.
        tensorboard: also write TensorBoard logs.
        callbacks: extra Keras callbacks.
        overwrite: replace a finished run (or an unfinished one with other settings) in
            ``run_dir``; without it such a run dir is refused and left untouched.
        style_image, vgg_weights: the style network's style image path and VGG19 weights
            (``imagenet``, a file or ``random``).
        **overrides: builder arguments (e.g. ``dropout=0.2``).

    Raises:
        InvalidInputError: an option that does not apply, or a bad value.
        TrainingDivergedError: the loss became NaN or infinite.
    """
    options = {
        "dataset": dataset,
        "epochs": epochs,
        "steps": steps,
        "eval_every": eval_every,
        "environment": environment,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "strategy": strategy,
        "precision": precision,
        "limit": limit,
        "augment": augment,
        "callbacks": callbacks,
        "style_image": style_image,
        "vgg_weights": vgg_weights,
    }
    options = {k: v for k, v in options.items() if v is not None}
    options.update(
        seed=seed, run_dir=run_dir, verbose=verbose, tensorboard=tensorboard, overwrite=overwrite
    )
    spec = get_spec(name)
    return spec.train(**_checked_options(options), overrides=overrides)


#: Options checked as counts (``check_count``: "epochs must be an integer >= 1, got '3'").
COUNTS = ("epochs", "steps", "eval_every", "batch_size")


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of :func:`train` with NumPy scalars as Python ones (Keras refuses a NumPy
    seed); refuses, in one line, a value of the wrong type (``learning_rate="0.1"`` compared a
    string with 0 deep in the trainer)."""
    import typing

    import keras
    import numpy as np

    options = {k: v.item() if isinstance(v, np.generic) else v for k, v in options.items()}

    hints = typing.get_type_hints(train)
    for option, value in options.items():
        if option not in COUNTS and not fits_type(value, hints[option]):
            raise InvalidInputError(
                f"{option} must be {describe_type(hints[option])}, got {value!r}"
            )
    if options["verbose"] not in ("auto", 0, 1, 2):
        raise InvalidInputError(f"verbose must be 'auto', 0, 1 or 2, got {options['verbose']!r}")
    for callback in options.get("callbacks", ()):
        if not isinstance(callback, keras.callbacks.Callback):
            raise InvalidInputError(
                f"callbacks must be keras.callbacks.Callback instances, got {callback!r}"
            )
    return options


def compile_model(model, spec: ModelSpec, **kwargs: Any) -> None:
    """Compiles ``model`` as :func:`fit_system` does for ``spec`` (optimizer, schedule and the
    loss its task derives from the head)."""
    spec.compile(model, **kwargs)


# --- the fit trainer, step by step -----------------------------------------------------------


@dataclass(frozen=True)
class FitPlan:
    """The checked settings of one ``fit`` run."""

    epochs: int
    batch_size: int
    learning_rate: float
    augment: str | None
    strategy: str
    seed: int
    run_dir: Path
    limit: int | None
    overwrite: bool
    task_options: dict
    precision: str = "float32"
    #: Multi-worker runs: the chief's run dir, whose epoch backups every worker resumes from.
    chief_dir: Path | None = None


def fit_system(spec: ModelSpec, options: dict[str, Any]) -> TrainResult:
    """Trains a ``fit`` family system (see :func:`train`); returns its :class:`TrainResult`."""
    import keras

    plan = _plan(spec, options)
    if warning := slow_precision_warning(plan.precision):
        print(f"warning: {warning}", file=sys.stderr)
    # A multi-worker strategy must exist before any TensorFlow op runs.
    distribution = get_strategy(plan.strategy)
    if plan.strategy == "multiworker":
        from fdl_keras.training.multiworker import worker_run_dir, worker_task

        index, _ = worker_task()
        plan = dataclasses.replace(
            plan, run_dir=worker_run_dir(plan.run_dir, index), chief_dir=plan.run_dir
        )
    keras.utils.set_random_seed(plan.seed)
    data = _load_data(spec, plan, options.get("dataset"))
    model_args = spec.model_args(data.info, options.get("overrides"))
    settings = _settings(spec, plan, data, model_args)
    steps_per_epoch = max(1, -(-data.info.num_train // plan.batch_size))

    def build():
        model = spec.build(**model_args)
        spec.compile(
            model,
            learning_rate=plan.learning_rate,
            total_steps=plan.epochs * steps_per_epoch,
            **plan.task_options,
        )
        return model

    with claim_run(plan.run_dir, settings, overwrite=plan.overwrite):
        with precision_policy(plan.precision), distribution.scope():
            model = build()
        return _fit(spec, plan, data, model, options, distribution, build)


def _fit(
    spec: ModelSpec,
    plan: FitPlan,
    data,
    model,
    options: dict[str, Any],
    distribution=None,
    build=None,
) -> TrainResult:
    """Restores the last epoch backup, fits, evaluates and writes the run's files (``build``
    makes the float32 model that a mixed-precision run saves)."""
    import tensorflow as tf

    run_dir = plan.run_dir
    extra = list(options.get("callbacks") or [])
    # Callbacks that keep training state (the sentiment task's best epoch) are backed up too.
    stateful = [cb for cb in extra if callable(getattr(cb, "backup_state", None))]
    callbacks = run_callbacks(
        run_dir,
        order=data.order,
        tensorboard=options["tensorboard"],
        explosion_factor=spec.fit.explosion_factor,
        stateful=stateful,
    )
    backup = next(cb for cb in callbacks if isinstance(cb, EpochBackup))
    # Every worker of a multi-worker run resumes from the chief's backup (same weights on all).
    source = (
        backup
        if plan.chief_dir is None
        else EpochBackup(plan.chief_dir / "backup", stateful=stateful)
    )
    with distribution.scope() if distribution is not None else contextlib.nullcontext():
        initial_epoch = source.restore(model)  # builds the optimizer: under the strategy
    trim_history(run_dir / HISTORY_FILE, initial_epoch)
    data.set_epoch(initial_epoch)
    train_split, validation_split, test_split = spec.pairs(model, data, plan.seed)
    start = time.perf_counter()
    fit_args = dict(
        validation_data=validation_split,
        epochs=plan.epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks + [cb for cb in extra if cb not in stateful],
        verbose=options["verbose"],
    )
    # Keras' fit cannot run multi-worker (keras-team/keras#20585), and on a pipeline of unknown
    # length (bucketed text, sampled word pairs) it takes one extra optimizer step per epoch on
    # the exhausted iterator: both go through the package's loop over the model's train_step.
    own_loop = plan.chief_dir is not None or int(train_split.cardinality()) < 0
    if not own_loop and model.steps_per_execution > 1 and validation_split is not None:
        # one logged loss per k steps: measure growth from the untrained model's loss instead
        guard = next(cb for cb in callbacks if isinstance(cb, NaNGuard))
        guard.set_reference(model, validation_split.take(1))
    if own_loop:
        from fdl_keras.training.multiworker import distributed_fit

        fit_args["validation"] = fit_args.pop("validation_data")
        strategy = distribution or tf.distribute.get_strategy()
        history = distributed_fit(strategy, model, train_split, **fit_args)
    else:
        history = model.fit(train_split, shuffle=False, **fit_args)
    wall = time.perf_counter() - start
    _raise_if_diverged(spec, plan, callbacks)
    if plan.precision != "float32":  # the saved, evaluated and exported model is float32
        with distribution.scope() if distribution is not None else contextlib.nullcontext():
            model = float32_copy(model, build)
    evaluate_start = time.perf_counter()
    if plan.chief_dir is not None:
        from fdl_keras.training.multiworker import distributed_evaluate

        test_metrics = distributed_evaluate(distribution, model, test_split)
    else:
        test_metrics = model.evaluate(test_split, verbose=0, return_dict=True)
    test_metrics = {k: float(v) for k, v in test_metrics.items()}
    evaluate_time = time.perf_counter() - evaluate_start
    save_model(model, run_dir / MODEL_FILE)
    write_metrics(
        run_dir,
        {
            "test": test_metrics,
            "wall_time_s": wall,
            "evaluate_time_s": evaluate_time,
            "resumed_at_epoch": initial_epoch,
            "epochs": plan.epochs,
        },
    )
    shutil.rmtree(backup.directory, ignore_errors=True)
    return TrainResult(
        model,
        spec,
        history.history,
        test_metrics,
        run_dir,
        wall,
        initial_epoch,
        data,
        resumed_at=f"epoch {initial_epoch + 1}" if initial_epoch else "",
    )


def save_model(model, path: Path) -> None:
    """``model.save(path)`` through a temporary file, so a kill never leaves half a file."""
    partial = path.with_name(path.stem + ".partial.keras")
    model.save(partial)
    os.replace(partial, path)


def _plan(spec: ModelSpec, options: dict[str, Any]) -> FitPlan:
    fit = spec.fit
    fast = config.fast_mode()
    epochs = options.get("epochs", FAST_EPOCHS if fast else fit.epochs)
    batch_size = options.get("batch_size", fit.batch_size)
    learning_rate = options.get("learning_rate", fit.learning_rate)
    epochs, batch_size = check_count("epochs", epochs), check_count("batch_size", batch_size)
    check_learning_rate(learning_rate)
    augment = options.get("augment")
    augment = fit.augment if augment in (None, True) else (augment or None)
    return FitPlan(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        augment=augment,
        strategy=options.get("strategy", "default"),
        precision=check_precision(options.get("precision", "float32")),
        seed=options["seed"],
        run_dir=Path(options.get("run_dir") or Path("runs") / spec.name),
        limit=options.get("limit"),
        overwrite=bool(options.get("overwrite")),
        task_options={k: v for k, v in options.items() if k not in FIT_OPTIONS | {"overrides"}},
    )


def _load_data(spec: ModelSpec, plan: FitPlan, dataset: str | None):
    from fdl_keras.data import load_dataset

    return load_dataset(
        dataset or spec.dataset,
        batch_size=plan.batch_size,
        seed=plan.seed,
        limit=plan.limit,
        augment=plan.augment,
    )


def _settings(spec: ModelSpec, plan: FitPlan, data, model_args: dict) -> dict[str, Any]:
    return {
        "name": spec.name,
        "family": spec.family,
        "dataset": data.info.name,
        "data_source": data.info.source,
        "epochs": plan.epochs,
        "batch_size": plan.batch_size,
        "seed": plan.seed,
        "augment": plan.augment,
        "learning_rate": plan.learning_rate,
        "strategy": plan.strategy,
        "precision": plan.precision,
        "limit": plan.limit,
        **plan.task_options,
        "model_args": model_args,
    }


def _raise_if_diverged(spec: ModelSpec, plan: FitPlan, callbacks: list) -> None:
    guard = next(cb for cb in callbacks if isinstance(cb, NaNGuard))
    if guard.failure:
        epoch, batch, key, loss, first = guard.failure
        grew = f" ({loss / first:.3g}x its first value {first:.4g})" if first else ""
        raise TrainingDivergedError(
            f"{spec.name}: {key} became {loss:.4g}{grew} at epoch {epoch + 1}, batch {batch + 1}; "
            f"lower the learning rate (now {plan.learning_rate}: rerun with a smaller "
            "--learning-rate and --overwrite) or check the data for NaN/inf"
        )
