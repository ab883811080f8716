"""Training callbacks: a divergence guard, and the callbacks of a run directory."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from fdl_keras.training.backup import EpochBackup, seed_states

EXPLOSION_FACTOR = 1e3  # a loss this many times its first value has diverged


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """Stops training when any logged loss (``loss``, a GAN's ``d_loss``/``g_loss``) becomes
    NaN or infinite, or grows past ``explosion_factor`` times its first value (a finite
    explosion: learning rate 1e6 drives an MLP's loss to 1e22 without a NaN), and remembers
    where, so the trainer can say so.

    ``failure`` is ``(epoch, batch, key, value, first value)`` of the first bad loss, else None.

    With ``steps_per_execution`` k > 1 Keras logs one running mean per k steps, so the first
    logged value may already hold the explosion; :meth:`set_reference` then gives the losses
    of the untrained model as the first values.

    Args:
        explosion_factor: growth over the first logged value that counts as divergence
            (None: only NaN/inf).
    """

    def __init__(self, explosion_factor: float | None = EXPLOSION_FACTOR):
        super().__init__()
        self.explosion_factor = explosion_factor
        self.epoch = 0
        self.first: dict[str, float] = {}
        self.failure: tuple[int, int, str, float, float | None] | None = None

    def set_reference(self, model: keras.Model, batches) -> None:
        """Takes ``model``'s losses on ``batches`` (a dataset of one or a few batches, before
        any update) as the first values the growth is measured against.

        The model's random generators are left as they were: a VAE's evaluation draws
        posterior noise, and a resumed run, which takes its reference again after the restore,
        would otherwise train on other draws than the uninterrupted run."""
        states = seed_states(model)
        before = [v.numpy() for v in states]
        logs = model.evaluate(batches, verbose=0, return_dict=True)
        for variable, value in zip(states, before):
            variable.assign(value)
        self.first.update(
            {k: float(v) for k, v in logs.items() if k.endswith("loss") and math.isfinite(v)}
        )

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if not key.endswith("loss"):
                continue
            value = float(value)
            first = self.first.setdefault(key, value) if math.isfinite(value) else None
            exploded = (
                self.explosion_factor is not None
                and first is not None
                and abs(value) > self.explosion_factor * max(abs(first), 1e-8)
            )
            if not math.isfinite(value) or exploded:
                self.failure = (self.epoch, batch, key, value, first)
                self.model.stop_training = True
                return


def run_callbacks(
    run_dir: Path,
    *,
    order=None,
    tensorboard: bool = False,
    explosion_factor: float | None = EXPLOSION_FACTOR,
    stateful: list | None = None,
) -> list:
    """History log, epoch backup and divergence guard (plus TensorBoard) for ``run_dir``;
    ``stateful`` callbacks (see :class:`EpochBackup`) go before the backup, which holds their
    state.

    The CSV row of an epoch is written before its backup, so a kill between the two leaves a
    row that the resumed run drops (:func:`fdl_keras.runs.trim_history`), never a gap.
    """
    stateful = list(stateful or [])
    callbacks = [
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        *stateful,
        EpochBackup(run_dir / "backup", order, stateful),
        NaNGuard(explosion_factor),
    ]
    if tensorboard:
        from fdl_keras.training.tensorboard import check_tensorboard

        check_tensorboard()
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    return callbacks
