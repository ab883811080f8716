"""Export to ``.keras``, SavedModel and ONNX, verified against Keras on a real batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.errors import ExportVerificationError
from fdl_keras.export.onnx import DEFAULT_OPSET, export_onnx, onnx_runner
from fdl_keras.export.saved_model import export_saved_model, saved_model_runner
from fdl_keras.export.verify import as_model_inputs, keras_runner, latency_ms, max_abs_diff

ATOL = 1e-5
NOISE_INPUTS_SOURCE = "the model's noise_inputs()"


def export(
    model,
    directory: str | Path,
    *,
    sample: Any = None,
    spec: Any = None,
    settings: dict | None = None,
    sample_size: int = 8,
    atol: float = ATOL,
    opset: int = DEFAULT_OPSET,
    measure_latency: bool = True,
) -> dict:
    """Writes ``model.keras``, ``saved_model/`` and ``model.onnx`` to ``directory``; verifies them.

    The reloaded SavedModel and the ONNX file on onnxruntime must each match Keras on ``sample``
    to ``atol``; ``onnx.checker`` must pass. The result is returned and written as
    ``report.json``. A runtime that fails is renamed ``*.failed`` so nothing broken looks fine.

    Args:
        model: a built Keras model.
        directory: output folder (created).
        sample: an input batch (one array per model input). ``None`` asks the system's task
            (:func:`default_sample`): test examples of its dataset, its noise inputs, or
            observations of its environment; the report says which.
        spec: the registered system ``model`` belongs to; found from the model's name (which
            ``build`` sets) when not given.
        settings: the run's ``run.json`` (its dataset or environment pick the sample).
        sample_size: examples in the default sample.
        atol: tolerance on the max absolute difference.
        opset: ONNX opset.
        measure_latency: also time batch-1 inference in each runtime.

    Raises:
        InvalidInputError: ``sample`` does not fit the model's inputs.
        ExportVerificationError: a runtime does not reproduce Keras within ``atol``.
    """
    import onnx

    directory = Path(directory)
    if sample is None:
        sample, source = default_sample(model, sample_size, spec=spec, settings=settings)
    else:
        source = "given"
    inputs = as_model_inputs(model, sample)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in ("saved_model", "saved_model.failed", "model.onnx", "model.onnx.failed"):
        target = directory / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    model.save(directory / "model.keras")
    paths = {
        "saved_model": export_saved_model(model, directory / "saved_model"),
        "onnx": export_onnx(model, directory / "model.onnx", opset=opset),
    }
    onnx.checker.check_model(str(paths["onnx"]))

    run_keras = keras_runner(model)
    reference = run_keras(inputs)
    runners = {
        "saved_model": saved_model_runner(paths["saved_model"]),
        "onnx": onnx_runner(paths["onnx"]),
    }
    one = [x[:1] for x in inputs]
    report: dict[str, Any] = {
        "model": model.name,
        "class": type(model).__name__,
        "inputs": {t.name: [d for d in t.shape] for t in model.inputs},
        "outputs": list(model.output_names),
        "opset": opset,
        "atol": atol,
        "sample": {"source": source, "shape": [list(x.shape) for x in inputs]},
        "runtimes": {"keras": {"latency_ms_batch1": None}},
    }
    if measure_latency:
        report["runtimes"]["keras"]["latency_ms_batch1"] = latency_ms(run_keras, one)
    failures = []
    for runtime, run in runners.items():
        diff = max_abs_diff(reference, run(inputs))
        ok = diff <= atol
        report["runtimes"][runtime] = {
            "file": paths[runtime].name,
            "max_abs_diff": diff,
            "passed": ok,
            "latency_ms_batch1": latency_ms(run, one) if measure_latency else None,
        }
        if not ok:
            failures.append(f"{runtime} differs from Keras by {diff:.3g} > atol {atol:g}")
            failed = paths[runtime].with_name(paths[runtime].name + ".failed")
            paths[runtime].rename(failed)
            report["runtimes"][runtime]["file"] = failed.name
    report["passed"] = not failures
    (directory / "report.json").write_text(json.dumps(report, indent=2))
    if failures:
        raise ExportVerificationError(
            f"{model.name}: {'; '.join(failures)} (see {directory / 'report.json'}); the failing "
            "file was renamed *.failed - keep sampling and dropout out of the exported graph"
        )
    return report


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


__all__ = ["ATOL", "export", "export_onnx", "export_saved_model", "default_sample"]
