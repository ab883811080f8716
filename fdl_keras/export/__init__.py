"""Export to ``.keras``, SavedModel and ONNX, verified against Keras on a real batch.

An export is atomic: every file is written and verified in a hidden sibling folder, which then
takes the place of the output folder. A process killed at any point leaves the previous export
or the new one, each with a truthful ``report.json``; the next export (or
:func:`recover_export`) finishes or undoes a swap that was cut short.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.checks import checked_arguments
from fdl_keras.errors import ExportVerificationError, InvalidInputError
from fdl_keras.export.onnx import DEFAULT_OPSET, export_onnx, onnx_runner
from fdl_keras.export.saved_model import export_saved_model, saved_model_runner
from fdl_keras.export.verify import as_model_inputs, keras_runner, latency_ms, max_abs_diff

ATOL = 1e-5
# Seconds of timed batch-1 runs per runtime in a report (``latency_ms``): enough for a median
# of 30 small-network runs; a ResNet-50 on a slow CPU stops after ~7.
LATENCY_BUDGET_S = 1.0
NOISE_INPUTS_SOURCE = "the model's noise_inputs()"
EXPORT_FILES = ("model.keras", "saved_model", "model.onnx", "report.json")
# Left inside an export folder by versions that renamed a failing runtime in place.
_OLD_FAILED_FILES = ("saved_model.failed", "model.onnx.failed")


def check_atol(atol: float) -> None:
    """Raises :class:`InvalidInputError` unless ``atol`` is a finite number >= 0."""
    if not (math.isfinite(atol) and atol >= 0):
        raise InvalidInputError(
            f"atol must be a finite number >= 0, got {atol}: leave it out for the default "
            f"({ATOL:g}, or the model's own)"
        )


@checked_arguments
def export(
    model,
    directory: str | Path,
    *,
    sample: Any = None,
    spec: Any = None,
    settings: dict | None = None,
    sample_size: int = 8,
    atol: float | None = None,
    opset: int = DEFAULT_OPSET,
    measure_latency: bool = True,
) -> dict:
    """Writes ``model.keras``, ``saved_model/``, ``model.onnx`` and ``report.json`` to
    ``directory`` once they are verified.

    The reloaded SavedModel and the ONNX file on onnxruntime must each match Keras on ``sample``
    to ``atol``; ``onnx.checker`` must pass. The result is returned and written as
    ``report.json``. Everything is written and verified in a hidden sibling folder
    (``.NAME.partial-PID``) that replaces ``directory`` only when every runtime passed, so a
    crash or kill never leaves a half-written export: ``directory`` holds the previous export or
    the new one. Other files in ``directory`` (a run's ``history.csv``, say) are kept.

    When a runtime fails, ``directory`` is left as it was and the failed export goes to the
    sibling folder ``NAME.failed`` (replacing an older one), its ``report.json`` saying
    ``"passed": false`` and which runtime failed; a later export that passes removes it.

    Args:
        model: a built Keras model.
        directory: output folder (created, with its parents).
        sample: an input batch (one array per model input). ``None`` asks the system's task
            (:func:`default_sample`): test examples of its dataset, its noise inputs, or
            observations of its environment; the report says which.
        spec: the registered system ``model`` belongs to; found from the model's name (which
            ``build`` sets) when not given.
        settings: the run's ``run.json`` (its dataset or environment pick the sample).
        sample_size: examples in the default sample.
        atol: tolerance on the max absolute difference; ``None``: the model's own
            ``export_atol`` where it declares one (the DNC, whose allocation sort is
            discontinuous: :attr:`fdl_keras.memory.MemoryNetwork.export_atol`), else ``ATOL``
            (1e-5). The report records the one used.
        opset: ONNX opset.
        measure_latency: also time batch-1 inference in each runtime: the median of 30 runs
            after 3 untimed ones, or of those done in ``LATENCY_BUDGET_S`` (1 s; at least 5).

    Raises:
        InvalidInputError: ``model`` is not a Keras model, an argument is of the wrong type,
            ``sample`` does not fit the model's inputs, ``atol`` is negative or not finite, or
            ``directory`` is a file or cannot be created.
        ExportVerificationError: a runtime does not reproduce Keras within ``atol``.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise InvalidInputError(
            f"export needs a keras.Model (fdl_keras.build(NAME), or a run's model: "
            f"fdl_keras.load_run(DIR).model), got {model!r:.80}"
        )
    if atol is None:
        declared = getattr(model, "export_atol", None)
        atol = ATOL if declared is None else declared
    check_atol(atol)
    directory = _checked_directory(directory)
    recover_export(directory)
    if sample is None:
        sample, source = default_sample(model, sample_size, spec=spec, settings=settings)
    else:
        source = "given"
    inputs = as_model_inputs(model, sample)
    partial = _make_partial(directory)
    try:
        paths = _write_files(model, partial, opset=opset)
        runtimes, failures = _verify(model, paths, inputs, atol=atol, timed=measure_latency)
        report = _write_report(model, partial, inputs, source, opset, atol, runtimes, failures)
        if failures:
            failed = _set_aside(partial, directory)
            raise ExportVerificationError(
                f"{model.name}: {'; '.join(failures)} (see {failed / 'report.json'}); "
                f"{directory} was left as it was - keep sampling and dropout out of the "
                "exported graph"
            )
        _swap(partial, directory)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    _remove(_failed_path(directory))
    return report


def _write_files(model, folder: Path, *, opset: int) -> dict[str, Path]:
    """Writes the three formats into ``folder``; returns the path of each runtime's file."""
    import onnx

    model.save(folder / "model.keras")
    paths = {
        "saved_model": export_saved_model(model, folder / "saved_model"),
        "onnx": export_onnx(model, folder / "model.onnx", opset=opset),
    }
    onnx.checker.check_model(str(paths["onnx"]))
    return paths


def _verify(
    model, paths: dict[str, Path], inputs: list[np.ndarray], *, atol: float, timed: bool
) -> tuple[dict[str, dict], list[str]]:
    """Runs every runtime against Keras on ``inputs``: the report's ``runtimes`` and one line
    per runtime that differs by more than ``atol``."""
    run_keras = keras_runner(model)
    reference = run_keras(inputs)
    runners = {
        "saved_model": saved_model_runner(paths["saved_model"]),
        "onnx": onnx_runner(paths["onnx"]),
    }
    one = [x[:1] for x in inputs]

    def timing(run) -> float | None:
        return latency_ms(run, one, budget_s=LATENCY_BUDGET_S) if timed else None

    runtimes: dict[str, dict] = {"keras": {"latency_ms_batch1": timing(run_keras)}}
    failures = []
    for runtime, run in runners.items():
        diff = max_abs_diff(reference, run(inputs))
        runtimes[runtime] = {
            "file": paths[runtime].name,
            "max_abs_diff": diff,
            "passed": diff <= atol,
            "latency_ms_batch1": timing(run),
        }
        if diff > atol:
            failures.append(f"{runtime} differs from Keras by {diff:.3g} > atol {atol:g}")
    return runtimes, failures


def _write_report(
    model, folder, inputs, source, opset, atol, runtimes: dict, failures: list[str]
) -> dict:
    """Writes ``report.json`` into ``folder`` and flushes the folder to disk; returns it."""
    report: dict[str, Any] = {
        "model": model.name,
        "class": type(model).__name__,
        "inputs": {t.name: [d for d in t.shape] for t in model.inputs},
        "outputs": list(model.output_names),
        "opset": opset,
        "atol": atol,
        "sample": {"source": source, "shape": [list(x.shape) for x in inputs]},
        "runtimes": runtimes,
        "failures": failures,
        "passed": not failures,
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2))
    _fsync_tree(folder)
    return report


def _swap(partial: Path, directory: Path) -> None:
    """Puts the verified ``partial`` folder at ``directory``: the old folder is renamed to a
    backup, ``partial`` takes its name, the old folder's other files move across and the backup
    is deleted. :func:`recover_export` finishes or undoes a swap that was cut short."""
    backup = None
    if directory.exists():
        os.chmod(partial, stat.S_IMODE(directory.stat().st_mode))
        backup = _sibling(directory, f"previous-{os.getpid()}")
        os.rename(directory, backup)
    try:
        os.rename(partial, directory)
    except BaseException:
        if backup is not None and not directory.exists():
            os.rename(backup, directory)
        raise
    _fsync(directory.parent)
    if backup is not None:
        _finish_swap(backup, directory)


def _finish_swap(backup: Path, directory: Path) -> None:
    """Moves the files of the old export folder that are not the export's into the new one,
    then deletes the old folder."""
    for entry in sorted(backup.iterdir()):
        if entry.name in EXPORT_FILES + _OLD_FAILED_FILES:
            continue
        target = directory / entry.name
        if not target.exists() and not target.is_symlink():
            os.rename(entry, target)
    _fsync(directory)
    shutil.rmtree(backup)


def _set_aside(partial: Path, directory: Path) -> Path:
    """Moves the failed ``partial`` folder to ``NAME.failed`` beside ``directory``."""
    failed = _failed_path(directory)
    _remove(failed)
    os.rename(partial, failed)
    return failed


def recover_export(directory: str | Path) -> None:
    """Finishes or undoes an export into ``directory`` that was killed part-way.

    A backup of the previous export with no folder at ``directory`` (killed between the two
    renames of the swap) is put back; a backup next to a complete new export (killed before the
    backup was deleted) hands over the other files and is deleted; half-written ``.partial-PID``
    folders of processes that are gone are deleted. :func:`export` calls it first.
    """
    directory = Path(os.path.abspath(directory))
    if not directory.parent.is_dir():
        return
    for backup in _siblings(directory, "previous"):
        if not directory.exists() and not directory.is_symlink():
            os.rename(backup, directory)
            _fsync(directory.parent)
        elif not _alive(backup):
            _finish_swap(backup, directory)
    for partial in _siblings(directory, "partial"):
        if not _alive(partial):
            shutil.rmtree(partial, ignore_errors=True)


def _checked_directory(directory: str | Path) -> Path:
    """``directory`` as an absolute path, refused in one line when it cannot be an export
    folder: an existing file, under a file or an unwritable folder, or holding the working
    directory (the swap would pull it away from under the process)."""
    directory = Path(os.path.abspath(directory))
    if directory.is_symlink() and directory.is_dir():
        directory = directory.resolve()
    if (directory.exists() or directory.is_symlink()) and not directory.is_dir():
        raise InvalidInputError(
            f"export directory {directory} is a file, not a folder; pass a folder path (it is "
            "created) or move the file away"
        )
    ancestor = directory.parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidInputError(
            f"cannot create export directory {directory}: {ancestor} is a file, not a folder; "
            "pass a path under a folder"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"cannot create export directory {directory}: {ancestor} is not writable; pass a "
            "folder you can write to"
        )
    cwd = Path.cwd()
    if cwd == directory or directory in cwd.parents:
        raise InvalidInputError(
            f"cannot export into {directory}: it holds the current working directory; pass "
            "another folder or change directory first"
        )
    return directory


def _make_partial(directory: Path) -> Path:
    """A new, empty ``.NAME.partial-PID`` folder beside ``directory`` (parents created)."""
    partial = _sibling(directory, f"partial-{os.getpid()}")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        _remove(partial)
        partial.mkdir()
    except OSError as err:
        raise InvalidInputError(
            f"cannot write export directory {directory}: {err.strerror or err}; pass a folder "
            "you can write to"
        ) from None
    return partial


def _sibling(directory: Path, kind: str) -> Path:
    return directory.with_name(f".{directory.name}.{kind}")


def _siblings(directory: Path, kind: str) -> list[Path]:
    prefix = f".{directory.name}.{kind}-"
    return sorted(
        p
        for p in directory.parent.iterdir()
        if p.name.startswith(prefix) and p.name[len(prefix) :].isdigit() and p.is_dir()
    )


def _failed_path(directory: Path) -> Path:
    return directory.with_name(directory.name + ".failed")


def _alive(path: Path) -> bool:
    """Whether the process named in ``path``'s ``-PID`` suffix is another live process."""
    from fdl_keras.runs import process_alive

    pid = int(path.name.rsplit("-", 1)[1])
    return pid != os.getpid() and process_alive(pid)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flushes every file and folder under ``folder`` to disk, so that a power cut after the
    swap cannot leave empty files behind a report that says they passed."""
    for root, _, files in os.walk(folder):
        for name in files:
            _fsync(Path(root) / name)
        _fsync(Path(root))


def default_sample(
    model, size: int = 8, *, spec: Any = None, settings: dict | None = None
) -> tuple[list[np.ndarray], str]:
    """The inputs export verifies ``model`` on, and where they came from.

    The system's task picks them (:meth:`fdl_keras.registry.ModelSpec.export_sample`): real
    test examples for a dataset-trained model (a stand-in set, resized, when its own is absent),
    the model's ``noise_inputs()`` for a sampler, random-policy observations for a policy. A
    model of no registered system gets uniform noise, each variable axis
    ``fdl_keras.tasks.VARIABLE_AXIS_SIZE`` long.
    """
    from fdl_keras.registry import spec_for_model
    from fdl_keras.tasks import noise_sample

    spec = spec or spec_for_model(model)
    if spec is None:
        return noise_sample(model, size)
    return spec.export_sample(model, settings=settings, size=size)


__all__ = [
    "ATOL",
    "export",
    "export_onnx",
    "export_saved_model",
    "default_sample",
    "recover_export",
]
