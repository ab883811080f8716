"""The run directory every trainer writes, and :func:`load_run` that reads it back.

A run of any family (``fdl train NAME``, default folder ``runs/NAME``) leaves:

- ``run.json``: the settings, with ``name`` (the registry name) and ``family``;
- ``history.csv``: one row per epoch (``fit``) or per logging interval (agents);
- ``model.keras``: the trained model (an agent's policy or Q-network);
- ``metrics.json``: ``{"test": {...}, "wall_time_s": ..., "evaluate_time_s": ...}`` (fit with its
  per-epoch validation; the test evaluation).

``fdl evaluate`` and ``fdl export`` take such a folder, whatever the family.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fdl_keras.checks import checked_arguments
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


LOCK_FILE = ".lock"
#: What a run may leave in its folder: what ``overwrite`` deletes (nothing else is touched).
RUN_ENTRIES = (
    RUN_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    METRICS_FILE,
    "backup",
    "tensorboard",
    "checkpoints",
    "state.json",
    "evaluations.json",
    "best_model.keras",
    "replay.npz",
    "unreal_replay.npz",
    "vocabulary.json",  # text systems: the vocabulary they were trained with
    "pos_tagger.json",  # the parser's tagger for new sentences
    "global_history.json",  # the parser's globally normalised epochs
    "source.model",  # translation: the SentencePiece models of both languages
    "target.model",
)


def start_run(run_dir: str | Path, settings: dict[str, Any]) -> Path:
    """Creates ``run_dir`` and writes ``run.json``; ``settings`` must hold ``name``."""
    run_dir = Path(run_dir)
    _make_folder(run_dir)
    write_json(run_dir / RUN_FILE, settings)
    return run_dir


def _make_folder(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise InvalidInputError(f"run dir {run_dir} is a file; pass a folder as --run-dir")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot create run dir {run_dir} ({exc.strerror or type(exc).__name__}); pass "
            "another --run-dir"
        ) from None


class RunLock:
    """``run_dir/.lock`` holding this process's id, so one process at a time owns a run dir.

    A lock whose process is gone (killed) is taken over; a live one makes the second process
    stop with a one-line error.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE

    def __enter__(self) -> RunLock:
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = _lock_owner(self.path)
                if owner is not None and owner != os.getpid() and process_alive(owner):
                    raise InvalidInputError(
                        f"{self.path.parent} is in use by process {owner} (another `fdl train`); "
                        "wait for it to finish or pass another --run-dir"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return self
        raise InvalidInputError(f"cannot take the lock {self.path}; delete it and retry")

    def __exit__(self, *exc_info) -> None:
        if _lock_owner(self.path) == os.getpid():
            self.path.unlink(missing_ok=True)


def _lock_owner(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a stale lock or partial folder names a dead one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_run(
    run_dir: str | Path, settings: dict[str, Any], *, overwrite: bool = False, check: bool = True
) -> RunLock:
    """Takes ``run_dir`` for a run with ``settings`` and returns its held :class:`RunLock`
    (release it with ``with``). Writes ``run.json``.

    A finished run (it has ``metrics.json``) is never overwritten unless ``overwrite``; a killed
    run resumes only with the same settings (model, dataset or environment, limit and every
    hyper-parameter). ``overwrite`` deletes what a run leaves (:data:`RUN_ENTRIES`) first.
    ``check=False`` only takes the lock (``train_agent``'s low-level checkpoint semantics:
    continue whatever the folder holds; it writes ``run.json`` once the restore accepted it).

    Raises:
        InvalidInputError: the folder is a file, in use by a live process, holds a finished
            run, or a run with other settings (one line saying how to continue).
    """
    run_dir = Path(run_dir)
    _make_folder(run_dir)
    lock = RunLock(run_dir).__enter__()
    try:
        if overwrite:
            clear_run(run_dir)
        if check:
            _check_resumable(run_dir, settings)
            write_json(run_dir / RUN_FILE, settings)
    except BaseException:
        lock.__exit__(None, None, None)
        raise
    return lock


def _check_resumable(run_dir: Path, settings: dict[str, Any]) -> None:
    if (run_dir / METRICS_FILE).is_file():
        test = _read_json(run_dir / METRICS_FILE).get("test", {})
        shown = ", ".join(f"{k} {v:.4g}" for k, v in test.items() if isinstance(v, (int, float)))
        raise InvalidInputError(
            f"{run_dir} holds a finished run of {_read_json(run_dir / RUN_FILE).get('name', '?')}"
            f" ({shown or 'no metrics'}); pass --overwrite (overwrite=True) to replace it, or "
            "--run-dir DIR for a new run"
        )
    if not (run_dir / RUN_FILE).is_file():
        return
    before = _read_json(run_dir / RUN_FILE)
    first = ["name", "dataset", "environment", "limit"]  # named first when several differ
    keys = first + sorted((set(before) | set(settings)) - set(first))
    changed = [k for k in keys if _plain(before.get(k)) != _plain(settings.get(k))]
    if changed:
        k = changed[0]
        raise InvalidInputError(
            f"{run_dir} holds an unfinished run with {k}={before.get(k)!r}, not "
            f"{settings.get(k)!r}: rerun with its settings to resume it, pass --overwrite to "
            "start afresh, or --run-dir DIR"
        )


def _plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(value, default=_jsonable))


def clear_run(run_dir: Path) -> None:
    """Deletes what a run leaves in ``run_dir`` (:data:`RUN_ENTRIES`), and nothing else."""
    import shutil

    for name in RUN_ENTRIES:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def trim_history(path: Path, rows: int) -> None:
    """Keeps the header and the first ``rows`` rows of a CSV log (a resumed run drops the
    rows of epochs it will train again)."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    if len(lines) > rows + 1:
        partial = path.with_name(path.name + ".partial")
        partial.write_text("".join(lines[: rows + 1]))
        os.replace(partial, path)


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


@checked_arguments
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


def no_model_at(path: str | Path) -> InvalidInputError:
    """The error for a model source (run dir or ``.keras`` file) that is not there."""
    return InvalidInputError(
        f"no model at {path}; pass a run dir from `fdl train` or a .keras file"
    )


def load_model_file(path: str | Path):
    """``keras.saving.load_model`` in safe mode, with one-line errors for a bad file."""
    import zipfile

    import keras

    path = Path(path)
    if not path.is_file():
        raise no_model_at(path)
    if not zipfile.is_zipfile(path):
        raise InvalidInputError(
            f"{path} is not a .keras archive (truncated, or not a model file); export it again "
            "or train a new run"
        )
    with zipfile.ZipFile(path) as archive:
        if "config.json" not in archive.namelist():
            raise InvalidInputError(
                f"{path} is a zip file without a Keras model (no config.json); pass the "
                "model.keras of a run"
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


def read_json(path: Path, kind: type = dict) -> Any:
    """A JSON file of a run, with one-line errors for a damaged one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"{path} is unreadable ({type(exc).__name__}); delete it or train into a new --run-dir"
        ) from None
    if not isinstance(data, kind):
        raise InvalidInputError(
            f"{path} does not hold a JSON {'object' if kind is dict else 'list'}; it was not "
            "written by fdl: delete it or train into a new --run-dir"
        )
    return data


_read_json = read_json
