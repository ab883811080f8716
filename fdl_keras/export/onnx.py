"""ONNX export with tf2onnx, and an onnxruntime runner."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import numpy as np

from fdl_keras.errors import InvalidInputError, ProviderUnavailableError

DEFAULT_OPSET = 17
OUTPUT_ORDER_KEY = "fdl_keras.output_order"


def input_signature(model) -> list:
    """One ``tf.TensorSpec`` per model input, named after the ``keras.Input``."""
    import tensorflow as tf

    return [tf.TensorSpec(tuple(t.shape), t.dtype, name=t.name.split(":")[0]) for t in model.inputs]


def output_names(model) -> list[str]:
    """Names of the model's outputs (the layer that made each one)."""
    return list(model.output_names)


def export_onnx(model, path: str | Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Converts ``model``'s inference function (``training=False``) to ONNX at ``path``."""
    import tensorflow as tf

    signature = input_signature(model)
    names = output_names(model)

    @tf.function(input_signature=signature)
    def serve(*inputs):
        outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return dict(zip(names, outputs))

    model_proto = _convert(serve, signature, opset)
    # tf2onnx lists a dict's outputs sorted by name; record the model's own order so
    # onnx_runner returns outputs as Keras does.
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = OUTPUT_ORDER_KEY, ",".join(names)
    Path(path).write_bytes(model_proto.SerializeToString())
    return Path(path)


# tf2onnx deep-copies the whole ONNX graph before each of its optimiser passes, in every round,
# so that it can skip a pass that raises; for ResNet-50 that copying is 4 of the 18 s its
# conversion takes. tf2onnx 1.17 turns it off when this variable is set at all (it checks that
# the name is in os.environ, then compares the name, not the value, to "TRUE").
CATCH_ERRORS_VARIABLE = "TF2ONNX_CATCH_ERRORS"

# The conversion in this thread that writes its graph to protobuf once (see _write_once).
_ONE_WRITE = threading.local()


def _convert(serve, signature, opset: int):
    """``tf2onnx.convert.from_function`` without the copy before each optimiser pass, and with
    the graph written to protobuf once instead of after every pass (:func:`_write_once`).

    If the conversion raises, it is redone the guarded way, as tf2onnx runs it by default: a
    failing pass is skipped, and any other failure raises tf2onnx's own error there. A
    ``TF2ONNX_CATCH_ERRORS`` the user set is left to tf2onnx. The variable is process-wide, so
    conversions running at once in other threads also go without the copies meanwhile."""
    import tf2onnx

    def convert():
        return tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)[0]

    if CATCH_ERRORS_VARIABLE in os.environ:
        return convert()
    _write_once()
    os.environ[CATCH_ERRORS_VARIABLE] = "FALSE"
    _ONE_WRITE.armed = True
    try:
        return convert()
    except Exception:  # noqa: BLE001 - a pass that raises: redo it guarded below
        pass
    finally:
        _ONE_WRITE.armed = False
        del os.environ[CATCH_ERRORS_VARIABLE]
    return convert()


def _write_once() -> None:
    """Makes tf2onnx (1.17) write the graph it optimises to protobuf once, in the ``make_graph``
    that builds the model, rather than also after each of its optimiser passes.

    Each of those writes copies every node's attributes into the node's protobuf, the weights
    of every constant included (ResNet-50's 100 MB about 25 times a conversion), and no pass
    reads them: passes work on tf2onnx's own node lists and attribute dictionaries, and
    ``make_graph`` writes everything again before building the model. tf2onnx has no switch for
    it, so this wraps two of its functions, once per process: ``optimizer.optimize_graph``
    marks the graph it optimises, and ``Graph.update_proto`` skips that graph (not the bodies
    of its loops) while the passes run. Only a conversion armed by :func:`_convert`, in its own
    thread and on the unguarded path, is affected; other tf2onnx calls run as before. Every
    export still checks the ONNX model against Keras (:func:`fdl_keras.export.export`).
    Written by hand: tf2onnx offers no such option."""
    from tf2onnx import optimizer
    from tf2onnx.graph import Graph

    if not hasattr(optimizer, "optimize_graph") or not hasattr(Graph, "update_proto"):
        return  # another tf2onnx layout: convert its own way
    if getattr(optimizer.optimize_graph, "writes_once", False):
        return
    update_proto, optimize_graph = Graph.update_proto, optimizer.optimize_graph

    def update_proto_unless_optimising(self, *args, **kwargs):
        if self is getattr(_ONE_WRITE, "graph", None):
            return None
        return update_proto(self, *args, **kwargs)

    def optimize_graph_writing_once(graph, catch_errors=True, optimizers=None):
        if catch_errors or not getattr(_ONE_WRITE, "armed", False):
            return optimize_graph(graph, catch_errors, optimizers=optimizers)
        _ONE_WRITE.graph = graph
        try:
            return optimize_graph(graph, catch_errors, optimizers=optimizers)
        finally:
            _ONE_WRITE.graph = None

    optimize_graph_writing_once.writes_once = True
    Graph.update_proto = update_proto_unless_optimising
    optimizer.optimize_graph = optimize_graph_writing_once


PROVIDERS = ("cpu", "openvino")
OPENVINO_FIX = "pip install 'fdl_keras[openvino]' (the OpenVINO execution provider plugin)"


_REGISTERED_PLUGINS: set[str] = set()


def cpu_vendor() -> str:
    """The CPU vendor onnxruntime reports ("Intel", "AMD", ...); "unknown" if it reports none."""
    import onnxruntime as ort

    for device in ort.get_ep_devices():
        if device.device.type == ort.OrtHardwareDeviceType.CPU and device.device.vendor:
            return device.device.vendor
    return "unknown"


def _openvino_device():
    """The OpenVINO execution provider's CPU device, its plugin library registered once.

    The plugin offers devices on Intel hardware only: on an AMD CPU it registers and offers
    none, which becomes a one-line :class:`ProviderUnavailableError` each time it is asked."""
    import onnxruntime as ort

    try:
        import onnxruntime_ep_openvino as plugin
    except ImportError:
        raise ProviderUnavailableError(
            f"onnxruntime's OpenVINO provider is missing: {OPENVINO_FIX}"
        ) from None
    name = plugin.get_ep_name()
    devices = [d for d in ort.get_ep_devices() if d.ep_name == name]
    if not devices and name not in _REGISTERED_PLUGINS:
        # onnxruntime refuses a second registration of a name, so a plugin that offered no
        # device the first time is not registered again.
        ort.register_execution_provider_library(name, plugin.get_library_path())
        _REGISTERED_PLUGINS.add(name)
        devices = [d for d in ort.get_ep_devices() if d.ep_name == name]
    cpus = [d for d in devices if d.ep_metadata.get("ov_device") == "CPU"]
    if not cpus:
        raise ProviderUnavailableError(
            f"onnxruntime's OpenVINO provider offers no device for this {cpu_vendor()} CPU "
            "(its plugin claims Intel hardware only): run it with provider 'cpu'"
        )
    return cpus[0]


def onnx_runner(path: str | Path, provider: str = "cpu"):
    """Returns ``run(inputs) -> list of numpy outputs`` for an ONNX file on onnxruntime.

    ``provider`` is ``"cpu"`` (onnxruntime's own kernels, graph optimisation level ALL) or
    ``"openvino"``: the OpenVINO execution provider plugin (``pip install
    'fdl_keras[openvino]'``), held to float32 arithmetic (``INFERENCE_PRECISION_HINT=f32``: on
    CPUs with bfloat16 units OpenVINO would otherwise compute in bfloat16) and tuned for latency.
    Nodes it does not claim run on onnxruntime's CPU kernels; a graph it claims but cannot
    convert (the ``Loop`` bodies of the memory networks, UNREAL's LSTM and the seq2seq
    decoder) raises :class:`ProviderUnavailableError` naming the operators. Unknown providers
    raise :class:`InvalidInputError`."""
    import json

    import onnxruntime as ort

    if provider not in PROVIDERS:
        raise InvalidInputError(
            f"unknown onnxruntime provider {provider!r}: choose one of {PROVIDERS}"
        )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if provider == "openvino":
        config = {"CPU": {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}}
        options.add_provider_for_devices([_openvino_device()], {"load_config": json.dumps(config)})
        options.log_severity_level = 4  # its conversion failure becomes the one-line error below
        try:
            session = ort.InferenceSession(str(path), options)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's EPFail is not importable publicly
            if "EP_FAIL" not in str(exc):
                raise
            failed = re.search(r"Conversion is failed for: ([^\n]+)", str(exc))
            what = f"operators {failed.group(1).strip()}" if failed else "its graph"
            raise ProviderUnavailableError(
                f"onnxruntime's OpenVINO provider cannot convert {path} ({what}): "
                "run it with provider 'cpu'"
            ) from None
    else:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = [i.name for i in session.get_inputs()]
    order = session.get_modelmeta().custom_metadata_map.get(OUTPUT_ORDER_KEY)
    fetches = order.split(",") if order else None

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        return session.run(fetches, dict(zip(feeds, inputs)))

    return run
