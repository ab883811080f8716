"""The run directory every trainer writes, and :func:`load_run` that reads it back.

A run of any family (``fdl train NAME``, default folder ``runs/NAME``) leaves:

- ``run.json``: the settings, with ``name`` (the registry name) and ``family``;
- ``history.csv``: one row per epoch (``fit``) or per logging interval (agents);
- ``model.keras``: the trained model (an agent's policy or Q-network);
- ``metrics.json``: ``{"test": {...}, "wall_time_s": ...}``.

``fdl evaluate`` and ``fdl export`` take such a folder, whatever the family.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fdl_keras.errors import InvalidInputError

RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"


def write_json(path: Path, data: dict) -> None:
    """Writes ``data`` to ``path`` atomically (a kill leaves the old file or the new one)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, default=_jsonable))
    os.replace(partial, path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def start_run(run_dir: str | Path, settings: dict[str, Any]) -> Path:
    """Creates ``run_dir`` and writes ``run.json``; ``settings`` must hold ``name``."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise InvalidInputError(f"run dir {run_dir} is a file; pass a folder as --run-dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / RUN_FILE, settings)
    return run_dir


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    """Writes ``metrics.json`` (``{"test": {...}, ...}``)."""
    write_json(Path(run_dir) / METRICS_FILE, metrics)


@dataclass
class Run:
    """A finished (or killed) run read back from its folder."""

    directory: Path
    settings: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    _model: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.settings["name"]

    @property
    def spec(self):
        from fdl_keras.registry import get_spec

        return get_spec(self.name)

    @property
    def model(self):
        """The trained model (loaded on first use, in Keras' safe mode)."""
        if self._model is None:
            self._model = load_model_file(self.directory / MODEL_FILE)
        return self._model


def load_run(directory: str | Path) -> Run:
    """Reads the run in ``directory`` (see the module docstring).

    Raises:
        InvalidInputError: the folder is missing, or is not a run (no readable ``run.json``
            naming a registered system, or no ``model.keras``).
    """
    directory = Path(directory)
    settings_path = directory / RUN_FILE
    if not directory.is_dir():
        raise InvalidInputError(f"no run dir at {directory}; pass a folder made by `fdl train`")
    if not settings_path.is_file():
        raise InvalidInputError(
            f"{directory} is not a run dir (no {RUN_FILE}); pass a folder made by `fdl train` "
            "or a .keras file"
        )
    settings = _read_json(settings_path)
    if not isinstance(settings.get("name"), str):
        raise InvalidInputError(f"{settings_path} names no system; it was not written by fdl")
    if not (directory / MODEL_FILE).is_file():
        raise InvalidInputError(
            f"{directory} has no {MODEL_FILE}: the run did not finish; run the same "
            "`fdl train` command again to resume it"
        )
    metrics_path = directory / METRICS_FILE
    metrics = _read_json(metrics_path) if metrics_path.is_file() else {}
    return Run(directory, settings, metrics, read_history(directory / HISTORY_FILE))


def read_history(path: Path) -> dict[str, list[float]]:
    """``history.csv`` as columns of floats (empty when the file is missing)."""
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(float("nan"))
    return columns


def load_model_file(path: str | Path):
    """``keras.saving.load_model`` in safe mode, with one-line errors for a bad file."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(
            f"no model at {path}; pass a run dir from `fdl train` or a .keras file"
        )
    try:
        return keras.saving.load_model(path)
    except Exception as exc:  # noqa: BLE001 - any failure here means the file is unusable
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InvalidInputError(
            f"{path} is not a loadable fdl_keras .keras file ({type(exc).__name__}: {first}); "
            "export it again or train a new run"
        ) from None


def load_source(source: str | Path) -> tuple[Any, Any, dict[str, Any]]:
    """``(model, spec or None, settings)`` of a run dir or a ``.keras`` file."""
    from fdl_keras.registry import spec_for_model

    path = Path(source)
    if path.is_dir():
        run = load_run(path)
        return run.model, run.spec, run.settings
    model = load_model_file(path)
    spec = spec_for_model(model)
    # A .keras file inside a run dir takes that run's settings (its dataset or environment).
    beside = path.parent / RUN_FILE
    settings = _read_json(beside) if beside.is_file() else {}
    if spec is None or settings.get("name") != spec.name:
        settings = {}
    return model, spec, settings


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"{path} is unreadable ({type(exc).__name__}); delete it or train into a new --run-dir"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} does not hold a JSON object; it was not written by fdl")
    return data
