"""Training callbacks: the Keras ones configured for a run directory, and a NaN guard."""

from __future__ import annotations

import math
from pathlib import Path

import keras


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN`` that remembers where the loss went bad, so the trainer can say so."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.failure: tuple[int, int, float] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = (self.epoch, batch, float(loss))
            self.model.stop_training = True


def run_callbacks(run_dir: Path, *, resuming: bool, tensorboard: bool = False) -> list:
    """Backup/restore, NaN guard and CSV log (plus TensorBoard) writing into ``run_dir``."""
    callbacks = [
        # Saves weights, optimizer state and epoch at every epoch end; a killed run restarted
        # with the same run dir resumes after its last finished epoch.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        NaNGuard(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resuming),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    return callbacks
