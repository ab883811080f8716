"""Epoch backups that make a killed ``fit`` run resume exactly.

Keras' ``BackupAndRestore`` restores weights after the optimizer has been built lazily (so its
slots were skipped), keeps one file (a kill while writing it tears the only backup), and leaves
dropout's random-generator state out. :class:`EpochBackup` writes, at every epoch end,
``backup/epoch-NNNN.weights.h5`` (weights and every optimizer's state, through Keras) and
``backup/epoch-NNNN.rng.npz`` (the states of the model's ``SeedGenerator`` s, and of every
callback that keeps training state: one with ``backup_state()`` and
``restore_backup_state(arrays)``, such as the sentiment task's best-epoch weights), each to a
temporary name first and then renamed, keeps the newest two, and :meth:`restore` falls back to
the older one when the newer is damaged. With the pipeline's per-epoch order
(:class:`fdl_keras.data.pipeline.EpochOrder`), a run killed after epoch ``k`` and started again
ends with the same weights as one that was never interrupted (on CPU).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
import numpy as np

from fdl_keras.errors import InvalidInputError

KEEP = 2
PATTERN = re.compile(r"epoch-(\d{4,})\.weights\.h5$")


def seed_states(model) -> list:
    """The state variables of every ``keras.random.SeedGenerator`` the model holds (dropout,
    a VAE's posterior noise): part of the training state, but not of ``save_weights``."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def optimizer_variables(model) -> dict[str, list]:
    """Each optimizer's attribute on ``model`` and the variables it trains: those the model
    names in ``optimizer_variables()`` (a GAN: each network's optimizer over that network),
    else ``optimizer`` over every trainable variable."""
    named = getattr(model, "optimizer_variables", None)
    if callable(named):
        return named()
    return {"optimizer": model.trainable_variables}


def build_optimizers(model) -> None:
    """Builds unbuilt optimizers over their own variables, so that a restore loads their slots
    (Keras skips an optimizer whose variables differ in number from the file's)."""
    for attribute, variables in optimizer_variables(model).items():
        optimizer = getattr(model, attribute, None)
        if isinstance(optimizer, keras.optimizers.Optimizer) and not optimizer.built:
            optimizer.build(variables)


class EpochBackup(keras.callbacks.Callback):
    """Saves the training state at every epoch end into ``directory``; see the module docstring.

    Args:
        directory: the backup folder (``run_dir/backup``); deleted by the trainer when the run
            finishes.
        order: the training pipeline's :class:`~fdl_keras.data.pipeline.EpochOrder` (or None),
            set to each epoch as it begins.
        stateful: callbacks whose state is backed up with the model's (each has
            ``backup_state() -> list of arrays`` and ``restore_backup_state(arrays)``); they
            must come before this callback in ``fit``'s list, so that an epoch's backup holds
            what they made of that epoch.
    """

    def __init__(self, directory: str | Path, order=None, stateful=()):
        super().__init__()
        self.directory = Path(directory)
        self.order = order
        self.stateful = list(stateful)

    def on_epoch_begin(self, epoch, logs=None):
        if self.order is not None:
            self.order.set(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = self.directory / f"epoch-{epoch + 1:04d}"
        # Keras insists on the .weights.h5 suffix, so the temporary name keeps it.
        partial = stem.with_name(stem.name + ".partial.weights.h5")
        self.model.save_weights(partial)
        rng_partial = stem.with_name(stem.name + ".partial.rng.npz")
        callbacks = {
            f"callback{i}_{j}": np.asarray(array)
            for i, callback in enumerate(self.stateful)
            for j, array in enumerate(callback.backup_state())
        }
        np.savez(
            rng_partial, *[np.asarray(v.numpy()) for v in seed_states(self.model)], **callbacks
        )
        os.replace(rng_partial, stem.with_suffix(".rng.npz"))
        os.replace(partial, stem.with_suffix(".weights.h5"))  # last: marks the epoch complete
        for old in self.saved()[KEEP:]:
            old.unlink(missing_ok=True)
            old.with_name(old.name.replace(".weights.h5", ".rng.npz")).unlink(missing_ok=True)

    def saved(self) -> list[Path]:
        """Complete backups, newest first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir() if PATTERN.match(p.name)]
        return sorted(found, key=lambda p: int(PATTERN.match(p.name).group(1)), reverse=True)

    def restore(self, model) -> int:
        """Loads the newest readable backup into ``model``; returns the epochs it had finished
        (0 when there is none). A damaged newest backup is skipped for the one before it.

        Raises:
            InvalidInputError: every backup is damaged (one line naming them and the fix).
        """
        candidates = self.saved()
        if not candidates:
            return 0
        build_optimizers(model)
        damaged = []
        for path in candidates:
            try:
                model.load_weights(path)
                with np.load(path.with_name(path.name.replace(".weights.h5", ".rng.npz"))) as f:
                    count = sum(name.startswith("arr_") for name in f.files)
                    values = [f[f"arr_{i}"] for i in range(count)]
                    saved = [
                        [f[n] for n in sorted(_of(f.files, f"callback{i}_"), key=_index)]
                        for i in range(len(self.stateful))
                    ]
                states = seed_states(model)
                if len(values) != len(states):
                    raise ValueError(f"{len(values)} generator states for {len(states)}")
                for variable, value in zip(states, values):
                    variable.assign(value)
                for callback, arrays in zip(self.stateful, saved):
                    callback.restore_backup_state(arrays)
            except Exception as exc:  # noqa: BLE001 - h5py, zipfile and shape errors alike
                damaged.append(f"{path.name} ({type(exc).__name__})")
                continue
            if damaged:
                print(f"fdl: backup {', '.join(damaged)} is damaged; resumed from {path.name}")
            return int(PATTERN.match(path.name).group(1))
        raise InvalidInputError(
            f"every backup in {self.directory} is damaged ({'; '.join(damaged)}); delete "
            f"{self.directory} to start the run afresh"
        )


def _of(names: list[str], prefix: str) -> list[str]:
    return [n for n in names if n.startswith(prefix) and n[len(prefix) :].isdigit()]


def _index(name: str) -> int:
    return int(name.rsplit("_", 1)[1])
