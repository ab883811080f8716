"""The shared model-contract check, applied to every registry entry by the test suite.

Modelled on keras-hub's ``TestCase.run_model_saving_test``: each system passes the same checks with
its tiny config (``ModelSpec.tiny``).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from fdl_keras.registry import ModelSpec


def example_batch(spec: ModelSpec, model, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A real batch for ``model`` from the spec's dataset pipeline.

    When the spec's dataset is not on this machine (CIFAR-10 offline), the first available of
    MNIST and digits stands in. Images whose shape differs from the model's input are resized
    (bilinear) and grey is repeated to RGB, so every check still runs on real pixels. The
    targets are the class labels, or the images themselves for ``task="image_to_image"``.
    """
    from fdl_keras.data import first_available, load_dataset
    from fdl_keras.errors import DatasetNotFoundError

    if spec.training == "rl":
        # Real observations of the spec's environment (its dataset is the environment id).
        from fdl_keras.rl.contract import example_inputs

        return example_inputs(spec, model, size), None
    try:
        data = load_dataset(spec.dataset, batch_size=size, limit=8 * size)
    except DatasetNotFoundError:
        data = load_dataset(first_available("mnist", "digits")[0], batch_size=size, limit=8 * size)
    images, labels = next(iter(data.train))
    if spec.task == "generative":
        # The exported graph takes noise (the model's own noise_inputs); fit takes real images.
        return model.noise_inputs(size, seed=0), images.numpy()
    shape = tuple(model.inputs[0].shape[1:])
    images = _fit_images(images, shape) if len(shape) == 3 else images.numpy()
    if spec.task == "image_to_image":
        return images, images
    labels = labels.numpy()
    if spec.task == "classification":
        labels = labels % model.outputs[0].shape[-1]  # a stand-in set may have more classes
    return images, labels


def _fit_images(images, shape: tuple) -> np.ndarray:
    """``images`` resized to ``shape`` (``None`` keeps a size); channels repeated or averaged."""
    import tensorflow as tf

    height, width, channels = shape
    if tuple(images.shape[1:]) == shape:
        return images.numpy()
    if images.shape[-1] != channels:
        images = (
            tf.repeat(images, channels, axis=-1)
            if images.shape[-1] == 1
            else tf.reduce_mean(images, axis=-1, keepdims=True)
        )
    size = (height or images.shape[1], width or images.shape[2])
    if tuple(images.shape[1:3]) != size:
        images = tf.image.resize(images, size)
    return images.numpy()


def check_model_contract(spec: ModelSpec, tmp_path: Path, *, atol: float = 1e-5) -> dict:
    """Asserts the model contract of DESIGN.md for ``spec`` and returns the export report.

    1. config: ``get_config()`` equals the constructor arguments; ``from_config`` round-trips.
    2. ``.keras`` save + ``load_model`` in safe mode gives the same class and identical outputs.
    3. one ``fit`` step on a real batch leaves loss and weights finite.
    4. inference is deterministic (two calls agree exactly).
    5. ``export`` writes SavedModel and ONNX matching Keras to ``atol``.
    """
    import keras

    from fdl_keras.export import export
    from fdl_keras.training import compile_model

    keras.utils.set_random_seed(0)
    model = spec.build(**spec.tiny)

    # 1. Config is exactly the constructor arguments.
    config = model.get_config()
    params = inspect.signature(type(model).__init__).parameters
    expected = {k: p.default for k, p in params.items() if k not in ("self", "kwargs")}
    expected.update(
        {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in {**spec.defaults, **spec.tiny}.items()
        }
    )
    for key, value in expected.items():
        got = config[key]
        assert _same(got, value), (
            f"{spec.name}: get_config()[{key!r}] = {got!r}, expected {value!r}"
        )
    assert set(config) == set(expected) | {"name", "trainable"}, sorted(config)
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()

    # 2. .keras round trip in safe mode.
    x, y = example_batch(spec, model)
    path = tmp_path / f"{spec.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True is the default
    assert type(loaded) is type(model)
    _assert_same_outputs(loaded.predict_on_batch(x), model.predict_on_batch(x))

    # 3. One fit step on real data stays finite.
    if spec.training == "rl":
        # One gradient step of the agent's own loss on a real rollout of the environment.
        from fdl_keras.rl.contract import agent_loss_step

        history = agent_loss_step(spec, model)
    elif spec.task == "generative":
        # A custom train_step (ELBO, GAN, score matching) on the real images; compile() picks
        # the model's own optimizers.
        model.compile()
        history = model.fit(y, epochs=1, batch_size=len(y), verbose=0)
    else:
        compile_model(model, spec)
        history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values()), history.history
    assert all(np.isfinite(np.asarray(w)).all() for w in model.weights)

    # 4. Deterministic inference (dropout off, no sampling inside the graph).
    _assert_same_outputs(model.predict_on_batch(x), model.predict_on_batch(x))

    # 5. Export parity.
    report = export(model, tmp_path / "export", sample=x, atol=atol, measure_latency=False)
    assert report["passed"], report
    for runtime in ("saved_model", "onnx"):
        assert report["runtimes"][runtime]["max_abs_diff"] <= atol, report
    return report


def _assert_same_outputs(a, b) -> None:
    """Exact equality of two model outputs (one array, or a list of them for several outputs)."""
    import keras

    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return tuple(a) == tuple(b)
    return a == b
