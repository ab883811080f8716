"""Training a registered system with ``model.fit``: seeded, resumable, logged, evaluated."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fdl_keras import config
from fdl_keras.data import Dataset, load_dataset
from fdl_keras.errors import InvalidInputError, TrainingDivergedError
from fdl_keras.registry import ModelSpec, get_spec
from fdl_keras.training.callbacks import NaNGuard, run_callbacks
from fdl_keras.training.strategy import get_strategy

FAST_EPOCHS = 2  # epochs in FDL_FAST mode


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    model: Any
    spec: ModelSpec
    data: Dataset
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    run_dir: Path
    wall_time_s: float
    initial_epoch: int = 0
    extras: dict = field(default_factory=dict)


def compile_model(
    model,
    spec: ModelSpec,
    *,
    learning_rate: float | None = None,
    total_steps: int | None = None,
    steps_per_execution: int | None = None,
    jit_compile: bool | str = "auto",
) -> None:
    """Compiles ``model`` with the optimizer, schedule, loss and metrics of ``spec.fit``."""
    import keras

    fit = spec.fit
    lr = fit.learning_rate if learning_rate is None else learning_rate
    if lr <= 0:
        raise InvalidInputError(f"learning rate must be > 0, got {lr}")
    schedule = lr
    if fit.schedule == "cosine" and total_steps:
        schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=total_steps)
    optimizer = keras.optimizers.get(
        {"class_name": fit.optimizer, "config": {"learning_rate": schedule}}
    )
    model.compile(
        optimizer=optimizer,
        loss=fit.loss,
        metrics=list(fit.metrics),
        steps_per_execution=steps_per_execution or fit.steps_per_execution,
        jit_compile=jit_compile,
    )


def train(
    name: str,
    *,
    dataset: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    strategy: str = "default",
    seed: int = 0,
    run_dir: str | Path | None = None,
    limit: int | None = None,
    augment: str | None | bool = True,
    tensorboard: bool = False,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    **overrides: Any,
) -> TrainResult:
    """Trains the registered system ``name`` and evaluates it on the test split.

    Classifiers (``training="fit"``) compile with their spec's ``FitConfig``; generative systems
    (``task="generative"``: ``vae``, ``dcgan``, ``ncsn``) compile themselves, train with their
    own ``train_step`` on ``model.training_data(...)`` of the image pipeline (binary images for
    the VAE) and report their losses on the test split.

    A run directory (default ``runs/<name>``) holds ``run.json`` (the settings), ``history.csv``,
    ``backup/`` (deleted when the run finishes), ``model.keras`` and ``metrics.json``. Starting
    the same command again after a kill resumes from the last finished epoch.

    Args:
        name: registry name, e.g. ``"mnist_cnn"``.
        dataset: dataset name; defaults to the spec's.
        epochs, batch_size, learning_rate: override the spec's ``FitConfig``.
        strategy: ``default``, ``mirrored``, ``multiworker`` or ``tpu``.
        seed: seeds Python, NumPy, TensorFlow, the shuffle and augmentation.
        limit: keep at most this many training examples.
        augment: ``True`` uses the spec's augmentation, ``False``/``None`` disables it, a string
            picks a policy.
        tensorboard: also write TensorBoard logs.
        callbacks: extra Keras callbacks.
        **overrides: builder arguments (e.g. ``dropout=0.2``).

    Raises:
        TrainingDivergedError: the loss became NaN or infinite.
    """
    import keras

    spec = get_spec(name)
    generative = spec.task == "generative"
    if spec.training != "fit" and not generative:
        where = (
            "fdl_keras.rl.train_agent"
            if spec.training == "rl"
            else f"the functions of {spec.builder.__module__}"
        )
        raise InvalidInputError(
            f"{name} trains with training={spec.training!r}, not fdl_keras.train: use {where}"
        )
    fit = spec.fit
    fast = config.fast_mode()
    epochs = epochs or (FAST_EPOCHS if fast else fit.epochs)
    batch_size = batch_size or fit.batch_size
    if epochs < 1:
        raise InvalidInputError(f"epochs must be >= 1, got {epochs}")
    policy = fit.augment if augment is True else (augment or None)
    run_dir = Path(run_dir or Path("runs") / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    resuming = (run_dir / "backup").exists()

    # A multi-worker strategy must exist before any TensorFlow op runs.
    distribution = get_strategy(strategy)
    keras.utils.set_random_seed(seed)
    data = load_dataset(
        dataset or spec.dataset, batch_size=batch_size, seed=seed, limit=limit, augment=policy
    )
    model_args = {"image_shape": data.info.input_shape}
    if not generative:
        model_args["num_classes"] = data.info.num_classes
    model_args.update(overrides)
    settings = {
        "name": name,
        "dataset": data.info.name,
        "data_source": data.info.source,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "augment": policy,
        "learning_rate": learning_rate or fit.learning_rate,
        "strategy": strategy,
        "limit": limit,
        "model_args": {k: _jsonable(v) for k, v in model_args.items()},
    }
    (run_dir / "run.json").write_text(json.dumps(settings, indent=2))

    with distribution.scope():
        model = spec.build(**model_args)
        steps = epochs * _num_batches(data.info.num_train, batch_size)
        if generative:
            model.compile(learning_rate=settings["learning_rate"])
        else:
            compile_model(model, spec, learning_rate=learning_rate, total_steps=steps)

    splits = [data.train, data.validation, data.test]
    if generative:  # seeded, so a VAE's stochastic binarisation differs between the splits
        splits = [s and model.training_data(s, seed=seed + i) for i, s in enumerate(splits)]
    train_split, validation_split, test_split = splits
    run_cbs = run_callbacks(run_dir, resuming=resuming, tensorboard=tensorboard)
    start = time.perf_counter()
    history = model.fit(
        train_split,
        validation_data=validation_split,
        epochs=epochs,
        callbacks=run_cbs + list(callbacks or []),
        verbose=verbose,
        shuffle=False,
    )
    wall = time.perf_counter() - start
    guard = next(cb for cb in run_cbs if isinstance(cb, NaNGuard))
    if guard.failure:
        epoch, batch, key, loss = guard.failure
        raise TrainingDivergedError(
            f"{name}: {key} became {loss} at epoch {epoch + 1}, batch {batch + 1}; lower the "
            f"learning rate (now {settings['learning_rate']}, --learning-rate) or check the data "
            "for NaN/inf"
        )
    test_metrics = dict(model.evaluate(test_split, verbose=0, return_dict=True))
    test_metrics = {k: float(v) for k, v in test_metrics.items()}
    model.save(run_dir / "model.keras")
    initial_epoch = min(history.epoch) if history.epoch else epochs
    (run_dir / "metrics.json").write_text(
        json.dumps(
            {
                "test": test_metrics,
                "wall_time_s": wall,
                "resumed_at_epoch": initial_epoch,
                "epochs": epochs,
            },
            indent=2,
        )
    )
    return TrainResult(
        model=model,
        spec=spec,
        data=data,
        history=history.history,
        test_metrics=test_metrics,
        run_dir=run_dir,
        wall_time_s=wall,
        initial_epoch=initial_epoch,
    )


def _num_batches(n: int, batch_size: int) -> int:
    return max(1, -(-n // batch_size))


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
