"""ONNX export with tf2onnx, and an onnxruntime runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    import tf2onnx

    signature = input_signature(model)
    names = output_names(model)

    @tf.function(input_signature=signature)
    def serve(*inputs):
        outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return dict(zip(names, outputs))

    model_proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)
    # tf2onnx lists a dict's outputs sorted by name; record the model's own order so
    # onnx_runner returns outputs as Keras does.
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = OUTPUT_ORDER_KEY, ",".join(names)
    Path(path).write_bytes(model_proto.SerializeToString())
    return Path(path)


def onnx_runner(path: str | Path):
    """Returns ``run(inputs) -> list of numpy outputs`` for an ONNX file on onnxruntime (CPU)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = [i.name for i in session.get_inputs()]
    order = session.get_modelmeta().custom_metadata_map.get(OUTPUT_ORDER_KEY)
    fetches = order.split(",") if order else None

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        return session.run(fetches, dict(zip(feeds, inputs)))

    return run
