"""Training a registered generative system (``training="custom"``) with its own ``train_step``."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from fdl_keras import config
from fdl_keras.data import load_dataset
from fdl_keras.errors import InvalidInputError, TrainingDivergedError
from fdl_keras.registry import get_spec
from fdl_keras.training.callbacks import run_callbacks
from fdl_keras.training.trainer import FAST_EPOCHS, TrainResult


def train_generative(
    name: str,
    *,
    dataset: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    limit: int | None = None,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    **overrides: Any,
) -> TrainResult:
    """Trains the generative system ``name`` (``vae``, ``dcgan``, ``ncsn``) on its dataset.

    Like :func:`fdl_keras.train`: seeded, resumable from ``run_dir/backup`` (default
    ``runs/<name>``), logs ``history.csv``, saves ``model.keras`` and ``metrics.json`` with the
    model's losses on the test split. ``model.training_data`` turns the image pipeline into what
    the model trains on (binary images for the VAE).

    Raises:
        TrainingDivergedError: a logged loss became NaN or infinite.
    """
    import keras

    spec = get_spec(name)
    if spec.task != "generative":
        raise InvalidInputError(f"{name} is not a generative system; use fdl_keras.train")
    epochs = epochs or (FAST_EPOCHS if config.fast_mode() else spec.fit.epochs)
    batch_size = batch_size or spec.fit.batch_size
    if epochs < 1:
        raise InvalidInputError(f"epochs must be >= 1, got {epochs}")
    run_dir = Path(run_dir or Path("runs") / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    resuming = (run_dir / "backup").exists()

    keras.utils.set_random_seed(seed)
    data = load_dataset(dataset or spec.dataset, batch_size=batch_size, seed=seed, limit=limit)
    model = spec.build(**{"image_shape": data.info.input_shape, **overrides})
    model.compile(learning_rate=learning_rate or spec.fit.learning_rate)
    settings = {
        "name": name,
        "dataset": data.info.name,
        "data_source": data.info.source,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "learning_rate": learning_rate or spec.fit.learning_rate,
        "limit": limit,
        "model_args": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
    }
    (run_dir / "run.json").write_text(json.dumps(settings, indent=2))

    validation = data.validation and model.training_data(data.validation, seed=seed + 1)
    start = time.perf_counter()
    history = model.fit(
        model.training_data(data.train, seed=seed),
        validation_data=validation,
        epochs=epochs,
        callbacks=run_callbacks(run_dir, resuming=resuming) + list(callbacks or []),
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles
    )
    wall = time.perf_counter() - start
    for key, values in history.history.items():
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        if bad:
            raise TrainingDivergedError(
                f"{name}: {key} became {values[bad[0]]} at epoch {bad[0] + 1}; lower the "
                f"learning rate (now {settings['learning_rate']}) or check the data for NaN/inf"
            )
    test_metrics = model.evaluate(
        model.training_data(data.test, seed=seed + 2), verbose=0, return_dict=True
    )
    test_metrics = {k: float(v) for k, v in test_metrics.items()}
    model.save(run_dir / "model.keras")
    (run_dir / "metrics.json").write_text(
        json.dumps({"test": test_metrics, "wall_time_s": wall, "epochs": epochs}, indent=2)
    )
    return TrainResult(
        model=model,
        spec=spec,
        data=data,
        history=history.history,
        test_metrics=test_metrics,
        run_dir=run_dir,
        wall_time_s=wall,
        initial_epoch=min(history.epoch) if history.epoch else epochs,
    )
