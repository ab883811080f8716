"""Training callbacks: the Keras ones configured for a run directory, and a NaN guard."""

from __future__ import annotations

import math
from pathlib import Path

import keras


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN`` for every loss a model logs (``loss``, a GAN's ``d_loss`` and
    ``g_loss``) that remembers where it went bad, so the trainer can say so.

    ``failure`` is ``(epoch, batch, key, value)`` of the first non-finite loss, else None.
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.failure: tuple[int, int, str, float] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if key.endswith("loss") and not math.isfinite(float(value)):
                self.failure = (self.epoch, batch, key, float(value))
                self.model.stop_training = True
                return


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
