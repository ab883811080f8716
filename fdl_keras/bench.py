"""``fdl bench NAME``: where one system's time goes on this machine.

Measures, for the system at its default configuration: the training step (the family's own
step on a real batch: ``train_on_batch`` for ``fit`` systems, the agent's update for agents),
the input pipeline's rate and the step rate fed from it against the same step fed from memory,
and inference latency at batch 1 and 64 in Keras, the reloaded SavedModel and onnxruntime (the
graphs ``fdl export`` writes). Medians over repeats; run it on a quiet machine. It also says
what share of the CPU time a virtual machine's host took meanwhile (steal, from ``/proc/stat``),
which inflates every timing.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.export.verify import keras_runner, latency_ms, max_abs_diff

ONNX_RUNTIMES = ("onnxruntime", "onnxruntime_openvino")


def _median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _batch_of(arrays: list[np.ndarray], size: int) -> list[np.ndarray]:
    reps = -(-size // len(arrays[0]))
    return [np.concatenate([a] * reps)[:size] for a in arrays]


def bench(
    name: str,
    *,
    batch_size: int | None = None,
    steps: int = 20,
    precision: str = "float32",
    openvino: bool = False,
) -> dict[str, Any]:
    """Times ``name`` (see the module docstring); returns the numbers ``fdl bench`` prints.
    ``precision`` (a ``fit`` system's ``--precision``) applies to the training step and the
    pipeline; inference is timed on the float32 model a run of that precision saves.
    ``openvino`` also times onnxruntime with its OpenVINO execution provider."""
    import fdl_keras
    from fdl_keras.registry import get_spec
    from fdl_keras.tasks import check_options
    from fdl_keras.training.precision import float32_copy, precision_policy

    spec = get_spec(name)
    if precision != "float32":  # refused, as by fdl train, where training is float32 only
        check_options(spec, spec.task, {"precision": precision})
    batch = batch_size or spec.fit.batch_size
    ticks = cpu_ticks()
    with precision_policy(precision):
        model = fdl_keras.build(name)
    result: dict[str, Any] = {
        "name": name,
        "family": spec.family,
        "batch_size": batch,
        "precision": model.dtype_policy.name,
    }
    x, y = spec.example_batch(model, size=batch)
    fit_family = hasattr(spec.task, "pairs")
    if fit_family:
        spec.compile(model, learning_rate=spec.fit.learning_rate, total_steps=10_000)
        result["train_step_ms"] = _median_ms(lambda: model.train_on_batch(x, y), steps)
        try:
            result.update(_pipeline(spec, model, batch, steps))
        except Exception as exc:  # noqa: BLE001 - no local data: say so, time the rest
            result["pipeline"] = f"skipped ({type(exc).__name__}: {str(exc)[:80]})"
    else:
        result["train_step_ms"] = _median_ms(lambda: spec.contract_step(model, x, y), steps)
    if precision != "float32":  # what a run saves and exports
        model = float32_copy(model, lambda: fdl_keras.build(name))
    latency = inference_latency(model, spec, openvino=openvino)
    latency.pop("export_report")
    result.update(latency)
    for runtime in (r for r in ONNX_RUNTIMES if f"{r}_ms_batch1" in result):
        for size in (1, 64):
            result[f"{runtime}_over_keras_batch{size}"] = (
                result[f"{runtime}_ms_batch{size}"] / result[f"keras_ms_batch{size}"]
            )
    result["cpu_share"] = cpu_share(ticks, cpu_ticks())
    return result


#: The states of ``/proc/stat``'s ``cpu`` line, in its order (Linux ``proc(5)``).
CPU_STATES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
#: Steal above this makes ``fdl bench`` say its timings are inflated.
STEAL_WARNING = 0.05


def cpu_ticks(path: str | Path = "/proc/stat") -> dict[str, int] | None:
    """This machine's CPU time so far, by state, in clock ticks (the ``cpu`` line of
    ``/proc/stat``); ``None`` where there is no such file (macOS, Windows) or it cannot be read.
    Read by hand: ``psutil.cpu_times`` gives the same but is not a dependency of the package."""
    try:
        line = Path(path).read_text().splitlines()[0].split()
        values = [int(v) for v in line[1 : 1 + len(CPU_STATES)]]
    except (OSError, IndexError, ValueError):
        return None
    if line[0] != "cpu":
        return None
    return dict(zip(CPU_STATES, values + [0] * (len(CPU_STATES) - len(values))))


def cpu_share(before: dict[str, int] | None, after: dict[str, int] | None) -> dict | None:
    """Fractions of all cores' time between two :func:`cpu_ticks` readings: ``steal`` (time a
    virtual machine's hypervisor gave to other guests: timings taken meanwhile are inflated by
    it), ``idle`` (with I/O wait) and ``busy``. ``None`` without readings or elapsed ticks."""
    if before is None or after is None:
        return None
    delta = {k: after[k] - before[k] for k in CPU_STATES}
    total = sum(delta.values())
    if total <= 0:
        return None
    idle = (delta["idle"] + delta["iowait"]) / total
    steal = delta["steal"] / total
    return {"steal": steal, "idle": idle, "busy": 1.0 - idle - steal}


def inference_latency(
    model, spec, sizes: tuple[int, ...] = (1, 64), *, openvino: bool = False
) -> dict[str, Any]:
    """Exports ``model`` (SavedModel + ONNX, parity checked) to a temporary folder and times
    Keras, the SavedModel and onnxruntime on the spec's export sample repeated to each size:
    ``{runtime}_ms_batch{size}`` (medians), and the export report as ``export_report``.

    ``openvino`` adds ``onnxruntime_openvino``: the same ONNX file on onnxruntime's OpenVINO
    execution provider, with its largest difference from Keras on the sample as
    ``onnxruntime_openvino_max_abs_diff`` (export checked only onnxruntime's CPU kernels), or
    ``onnxruntime_openvino_error`` where the provider cannot convert the graph."""
    from pathlib import Path

    from fdl_keras.errors import ProviderUnavailableError
    from fdl_keras.export import export
    from fdl_keras.export.onnx import onnx_runner
    from fdl_keras.export.saved_model import saved_model_runner

    inputs, _ = spec.export_sample(model, settings=None, size=8)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        result["export_report"] = export(model, tmp, spec=spec, measure_latency=False)
        runners = {
            "keras": keras_runner(model),
            "saved_model": saved_model_runner(Path(tmp) / "saved_model"),
            "onnxruntime": onnx_runner(Path(tmp) / "model.onnx"),
        }
        if openvino:
            try:
                runners["onnxruntime_openvino"] = onnx_runner(Path(tmp) / "model.onnx", "openvino")
            except ProviderUnavailableError as exc:
                result["onnxruntime_openvino_error"] = str(exc)
            else:
                result["onnxruntime_openvino_max_abs_diff"] = max_abs_diff(
                    runners["keras"](inputs), runners["onnxruntime_openvino"](inputs)
                )
        for size in sizes:
            sample = _batch_of(inputs, size)
            for runtime, run in runners.items():
                result[f"{runtime}_ms_batch{size}"] = latency_ms(run, sample)
    return result


def forward_flops(model) -> float:
    """Forward FLOPs per example (2 per multiply-add) of the model's Dense and Conv2D layers,
    nested models included; NaN when a layer has no fixed shape."""
    import keras

    def layers(m):
        for layer in m.layers:
            yield from layers(layer) if isinstance(layer, keras.Model) else (layer,)

    total = 0
    for layer in layers(model):
        try:
            if isinstance(layer, keras.layers.Conv2D):
                _, h, w, c_out = layer.output.shape
                kh, kw = layer.kernel_size
                total += 2 * h * w * kh * kw * layer.input.shape[-1] // layer.groups * c_out
            elif isinstance(layer, keras.layers.Dense):
                rows = int(np.prod(layer.input.shape[1:-1] or [1]))
                total += 2 * rows * layer.input.shape[-1] * layer.units
        except (AttributeError, TypeError, ValueError):
            return float("nan")
    return float(total)


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of an ``n x n`` float32 matmul in TensorFlow, best of ``repeats``: this machine's
    reference rate for the FLOP/s fractions the benchmarks report."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    matmul = tf.function(tf.matmul)
    matmul(a, a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def _pipeline(spec, model, batch: int, steps: int) -> dict[str, float]:
    """Examples/s of the training pipeline alone, and steps/s fed from it vs from memory."""
    from fdl_keras.data import load_dataset

    data = load_dataset(spec.dataset, batch_size=batch, augment=spec.fit.augment)
    train, _, _ = spec.pairs(model, data, 0)
    batches = train.take(steps).cache().repeat()  # a warm cache: the step alone, from memory
    start = time.perf_counter()
    count = 0
    for element in train.take(steps):
        count += int(np.shape(element[0] if isinstance(element, tuple) else element)[0])
    pipeline_rate = count / (time.perf_counter() - start)
    model.fit(train.take(2), shuffle=False, verbose=0)  # traces the train function
    start = time.perf_counter()
    model.fit(train.take(steps), shuffle=False, verbose=0)
    fed = steps / (time.perf_counter() - start)
    model.fit(batches.take(2), shuffle=False, verbose=0)
    start = time.perf_counter()
    model.fit(batches.take(steps), shuffle=False, verbose=0)
    memory = steps / (time.perf_counter() - start)
    return {
        "pipeline_examples_per_s": pipeline_rate,
        "steps_per_s_from_pipeline": fed,
        "steps_per_s_from_memory": memory,
        "pipeline_over_memory": fed / memory,
    }


def format_bench(result: dict[str, Any]) -> str:
    """The lines ``fdl bench`` prints."""
    lines = [
        f"{result['name']} ({result['family']}), batch {result['batch_size']}, "
        f"training in {result['precision']}"
    ]
    lines.append(f"  train step          {result['train_step_ms']:.2f} ms")
    if "pipeline_examples_per_s" in result:
        lines.append(
            f"  input pipeline      {result['pipeline_examples_per_s']:.0f} examples/s; steps/s "
            f"fed from it {result['steps_per_s_from_pipeline']:.1f} vs from memory "
            f"{result['steps_per_s_from_memory']:.1f} (ratio {result['pipeline_over_memory']:.2f})"
        )
    elif "pipeline" in result:
        lines.append(f"  input pipeline      {result['pipeline']}")
    lines.append("  inference (ms)                  batch 1    batch 64")
    onnx = [r for r in ONNX_RUNTIMES if f"{r}_ms_batch1" in result]
    for runtime in ("keras", "saved_model", *onnx):
        lines.append(
            f"  {runtime:<30}{result[f'{runtime}_ms_batch1']:>8.2f}  "
            f"{result[f'{runtime}_ms_batch64']:>10.2f}"
        )
    for runtime in onnx:
        lines.append(
            f"  {runtime + ' / keras':<30}{result[f'{runtime}_over_keras_batch1']:>8.2f}  "
            f"{result[f'{runtime}_over_keras_batch64']:>10.2f}"
        )
    if "onnxruntime_openvino_max_abs_diff" in result:
        lines.append(
            f"  onnxruntime_openvino's largest difference from Keras: "
            f"{result['onnxruntime_openvino_max_abs_diff']:.2e}"
        )
    if "onnxruntime_openvino_error" in result:
        lines.append(f"  onnxruntime_openvino: {result['onnxruntime_openvino_error']}")
    share = result.get("cpu_share")
    if share is not None:
        line = (
            f"  CPU time meanwhile  {100 * share['steal']:.1f} % taken by the host (steal), "
            f"{100 * share['idle']:.1f} % idle"
        )
        if share["steal"] > STEAL_WARNING:
            line += ": the timings above are inflated by it - rerun when the host is quieter"
        lines.append(line)
    return "\n".join(lines)
