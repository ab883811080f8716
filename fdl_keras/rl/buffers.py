"""Experience replay (Lin 1992; Mnih et al. 2015): a ring of transitions sampled uniformly."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from fdl_keras.errors import InvalidInputError

FIELDS = ("observations", "actions", "rewards", "next_observations", "dones")


class RingStorage:
    """Saving and loading of a ring buffer: the arrays named in ``fields`` (their first ``size``
    rows), ``position`` and ``capacity``. Subclasses set ``fields`` and allocate the arrays."""

    fields: tuple[str, ...] = ()
    capacity: int
    position: int
    size: int

    def __len__(self) -> int:
        return self.size

    def save(self, path: str | Path) -> None:
        """Writes the stored rows and the ring position to ``path`` (``.npz``)."""
        path = Path(path)
        partial = path.with_name(path.name + ".partial.npz")
        np.savez(
            partial,
            position=self.position,
            capacity=self.capacity,
            **{name: getattr(self, name)[: self.size] for name in self.fields},
        )
        partial.replace(path)  # a run killed while saving keeps the previous file

    def load(self, path: str | Path) -> None:
        """Restores what :meth:`save` wrote; the capacity must be the same.

        Raises:
            InvalidInputError: one line naming ``path`` when it is not such a file (truncated,
                garbage, missing or misshapen arrays) or was saved with another capacity.
        """
        path = Path(path)
        fix = (
            f"delete it to resume with an empty replay buffer, or delete {path.parent} or pass "
            "another run_dir to start afresh"
        )

        def damaged(problem: str) -> InvalidInputError:
            problem = " ".join(str(problem).split())[:200]
            return InvalidInputError(f"{path} is damaged ({problem}): {fix}")

        keys = ("position", "capacity", *self.fields)
        try:
            with np.load(path, allow_pickle=False) as saved:
                if not isinstance(saved, np.lib.npyio.NpzFile):
                    raise damaged("a single .npy array, not an .npz archive")
                missing = [k for k in keys if k not in saved.files]
                if missing:
                    raise damaged(f"no {', '.join(missing)} in it")
                arrays = {k: saved[k] for k in keys}
        except InvalidInputError:
            raise
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            text = " ".join(str(exc).split())[:160]
            raise damaged(f"not a readable .npz archive, {type(exc).__name__}: {text}") from None
        for key in ("position", "capacity"):
            if arrays[key].shape != () or not np.issubdtype(arrays[key].dtype, np.integer):
                raise damaged(f"{key} is {arrays[key].dtype} of shape {arrays[key].shape}")
        if int(arrays["capacity"]) != self.capacity:
            raise InvalidInputError(
                f"{path} holds a replay buffer of capacity {int(arrays['capacity'])}, "
                f"not {self.capacity}: resume with the same settings"
            )
        size = len(arrays[self.fields[0]]) if arrays[self.fields[0]].ndim else -1
        position = int(arrays["position"])
        if not 0 <= size <= self.capacity or not 0 <= position < self.capacity:
            raise damaged(f"{size} rows at position {position} in a ring of {self.capacity}")
        if size < self.capacity and position != size:
            raise damaged(f"{size} rows but the next is written at {position}")
        for name in self.fields:
            expected = (size, *getattr(self, name).shape[1:])
            if arrays[name].shape != expected:
                raise damaged(f"{name} has shape {arrays[name].shape}, not {expected}")
        self.size = size
        self.position = position
        for name in self.fields:
            getattr(self, name)[: self.size] = arrays[name]


class ReplayBuffer(RingStorage):
    """A fixed-capacity ring of ``(s, a, r, s', done)`` transitions; the oldest are overwritten.

    ``done`` is true only when the episode *terminated* at ``s'``; a transition cut by a time
    limit keeps ``done = 0`` so that its target still bootstraps from ``s'``.

    Args:
        capacity: number of transitions kept.
        observation_shape: shape of one observation.
        observation_dtype: storage type (``uint8`` keeps Atari frames 4x smaller than float).

    Example:
        >>> buffer = ReplayBuffer(2, (1,))
        >>> for i in range(3):
        ...     buffer.add([i], 0, 1.0, [i + 1], False)
        >>> len(buffer), sorted(buffer.observations[:, 0].tolist())
        (2, [1.0, 2.0])
    """

    fields = FIELDS

    def __init__(
        self, capacity: int, observation_shape: tuple[int, ...], observation_dtype="float32"
    ):
        if capacity < 1:
            raise InvalidInputError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.observations = np.zeros((capacity, *observation_shape), dtype=observation_dtype)
        self.next_observations = np.zeros_like(self.observations)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.position = 0  # where the next transition goes
        self.size = 0

    def add(self, observation, action: int, reward: float, next_observation, done: bool) -> None:
        """Stores one transition, overwriting the oldest when full."""
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.dones[i] = done
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly with replacement, as a dict of arrays."""
        if self.size == 0:
            raise InvalidInputError("cannot sample from an empty replay buffer")
        index = rng.integers(0, self.size, size=batch_size)
        return {name: getattr(self, name)[index] for name in FIELDS}
