"""The shared model-contract check, applied to every registry entry by the test suite.

Modelled on keras-hub's ``TestCase.run_model_saving_test``: each system passes the same checks with
its tiny config (``ModelSpec.tiny``).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import numpy as np

from fdl_keras.registry import ModelSpec

#: Training steps of the contract: enough for the loss to fall, few enough to stay quick.
CONTRACT_STEPS = 5
RUNTIMES = ("saved_model", "onnx")


def example_batch(spec: ModelSpec, model, size: int = 8) -> tuple:
    """A real ``(inputs, targets)`` batch for ``model`` from its system's task.

    Classifiers get real images and labels (a stand-in set, resized, when the spec's dataset is
    not on this machine), reconstructions their images twice, samplers ``(noise, images)``,
    policies ``(observations of their environment, None)``.
    """
    return spec.example_batch(model, size)


def check_model_contract(
    spec: ModelSpec, tmp_path: Path, *, atol: float = 1e-5, steps: int = CONTRACT_STEPS
) -> dict:
    """Asserts the model contract of DESIGN.md for ``spec`` and returns the export report.

    1. config: ``get_config()`` equals the constructor arguments; ``from_config`` round-trips.
    2. ``.keras`` save + ``load_model`` in safe mode gives the same class and identical outputs.
    3. ``steps`` training steps of the family's own loss on one real batch lower that loss
       (the model's ``contract_loss`` metric, else ``loss``), change every trainable weight and
       leave losses and weights finite.
    4. ``.keras`` saved after training restores the weights and the optimizer state: one more
       identical step on the trained and on the reloaded model leaves the same weights.
    5. inference is deterministic (two calls agree exactly).
    6. ``export`` writes SavedModel and ONNX matching Keras to ``atol`` at batch 8 and at
       batch 1 (the batch's first and last example: a recurrent network's zero and carried
       state, see :func:`fdl_keras.rl.contract.example_inputs`).
    7. every sub-model with a use of its own (``model.submodels()``: VAE encoder and decoder,
       GAN generator and discriminator) exports with the same parity on real inputs.
    """
    import keras

    from fdl_keras.training.backup import optimizer_variables

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

    # 3. A few steps of the family's own loss on one real batch lower it and train every weight
    # (the first step compiles the model, the others continue with its optimizer).
    names = _variable_names(model)
    initial = [np.array(v) for v in model.trainable_variables]
    key = getattr(model, "contract_loss", "loss")
    losses = []
    for _ in range(steps):
        history = spec.contract_step(model, x, y)
        assert all(np.isfinite(v).all() for v in history.values()), history
        losses.append(history[key][0])
    assert all(np.isfinite(np.asarray(w)).all() for w in model.weights)
    assert losses[-1] < losses[0], (
        f"{spec.name}: {steps} training steps on one batch did not lower {key}: {losses}"
    )
    # No exceptions: every trainable variable of every system gets a gradient from its own loss
    # (the GAN's discriminator from d_loss, its generator from g_loss).
    untrained = [
        names[id(v)]
        for v, start in zip(model.trainable_variables, initial)
        if np.array_equal(np.asarray(v), start)
    ]
    assert not untrained, (
        f"{spec.name}: {steps} training steps left {untrained} unchanged: no gradient reaches "
        "them (a frozen or disconnected layer)"
    )

    # 4. .keras saved after training restores the weights and the optimizer state.
    path = tmp_path / f"{spec.name}.trained.keras"
    model.save(path)
    resumed = keras.saving.load_model(path)
    _assert_same_weights(resumed, model, names, what=f"{spec.name} reloaded after training")
    if model.compiled:
        assert resumed.compiled, f"{spec.name}: the .keras file lost the compiled optimizer"
        for attribute in optimizer_variables(model):  # a GAN's two, each with its own slots
            _assert_same_arrays(
                getattr(resumed, attribute).variables,
                getattr(model, attribute).variables,
                what=f"{spec.name}: {attribute} state after reloading",
            )
    # Where the loss is compiled in, the next step runs on the restored optimizer state (the
    # GAN's discriminator optimizer too, whose state shows in the discriminator's weights; the
    # style network's task re-attaches its perceptual loss, which the file does not hold, to
    # the restored optimizer). RL agents keep their optimizer outside the network and the
    # contract's step makes a new one, so for them this checks that the reloaded network
    # trains exactly like the original.
    _copy_random_state(model, resumed)
    spec.contract_step(model, x, y)
    spec.contract_step(resumed, x, y)
    _assert_same_weights(resumed, model, names, what=f"{spec.name} one step after reloading")

    # 5. Deterministic inference (dropout off, no sampling inside the graph).
    _assert_same_outputs(model.predict_on_batch(x), model.predict_on_batch(x))

    # 6. Export parity at batch 8 (export verifies its sample) and at batch 1.
    report = _check_export(model, tmp_path / "export", x, atol, what=spec.name)

    # 7. Sub-models with a use of their own, each on the example arrays that fit its inputs.
    arrays = [a for a in keras.tree.flatten((x, y)) if a is not None]
    for part, submodel in getattr(model, "submodels", dict)().items():
        what = f"{spec.name}.{part}"
        sample = [_fitting(arrays, t, what=what) for t in submodel.inputs]
        _check_export(submodel, tmp_path / f"export_{part}", sample, atol, what=what)
    return report


def _check_export(model, directory: Path, sample, atol: float, *, what: str) -> dict:
    """Exports ``model`` with ``sample`` (a batch), asserts each runtime matches Keras on it
    and on batches of one: its first and its last example.

    Keras's outputs for the whole batch are the reference at batch 1 too: in inference an
    example's output does not depend on the others (and running Keras at batch 1 would trace
    its predict function again).
    """
    exporting = _export_module()
    report = exporting.export(model, directory, sample=sample, atol=atol, measure_latency=False)
    assert report["passed"], report
    for runtime in RUNTIMES:
        assert report["runtimes"][runtime]["max_abs_diff"] <= atol, report
    inputs = exporting.as_model_inputs(model, sample)
    files = {runtime: directory / report["runtimes"][runtime]["file"] for runtime in RUNTIMES}
    runners = {
        "saved_model": exporting.saved_model_runner(files["saved_model"]),
        "onnx": exporting.onnx_runner(files["onnx"]),
    }
    reference = exporting.keras_runner(model)(inputs)
    for row in (0, len(inputs[0]) - 1):
        one = [a[row : row + 1] for a in inputs]
        for runtime, run in runners.items():
            diff = exporting.max_abs_diff([r[row : row + 1] for r in reference], run(one))
            assert diff <= atol, (
                f"{what}: {runtime} differs from Keras by {diff:.3g} > atol {atol:g} at batch 1 "
                f"(example {row})"
            )
    return report


def _export_module():
    # The package, not its export() function that fdl_keras.export names; looked up on each
    # call so that a test can replace a runner (tests/test_contract_bites.py).
    return importlib.import_module("fdl_keras.export")


def _fitting(arrays: list, tensor, *, what: str) -> np.ndarray:
    """The first of ``arrays`` whose shape fits the input ``tensor`` (real images for an
    encoder or a discriminator, latent noise for a decoder or a generator)."""
    shape = tuple(tensor.shape[1:])
    for array in arrays:
        array = np.asarray(array)
        fits = array.ndim == len(shape) + 1 and all(
            d is None or d == a for d, a in zip(shape, array.shape[1:])
        )
        if fits:
            return array
    raise AssertionError(f"{what}: no array of the example batch fits input {tensor.name} {shape}")


def _variable_names(model) -> dict[int, str]:
    """A name per variable of ``model`` (by ``id``) that tells sub-models apart (a VAE's encoder
    and decoder each have a ``hidden_1/kernel``)."""
    names: dict[int, str] = {}

    def visit(layer, prefix: str) -> None:
        for sub in getattr(layer, "layers", ()):
            if hasattr(sub, "layers"):
                visit(sub, f"{prefix}{sub.name}/")
        for v in layer.weights:
            names.setdefault(id(v), f"{prefix}{v.path}")

    visit(model, "")
    return names


def _copy_random_state(source, target) -> None:
    """Gives ``target`` the random-number state of ``source``: its seed generators (the
    variables beyond the weights), which a ``.keras`` file does not hold. They say where each
    random stream is, not what was learned; equal, the next step draws the same dropout masks
    and noise in both models."""

    def seeds(model):
        weights = {id(w) for w in model.weights}
        return [v for v in model.variables if id(v) not in weights]

    assert len(seeds(source)) == len(seeds(target))
    for a, b in zip(seeds(source), seeds(target)):
        b.assign(a)


def _assert_same_weights(model, reference, names: dict[int, str], *, what: str) -> None:
    """Exact equality of every weight (trainable or not) of two models of one architecture."""
    assert len(model.weights) == len(reference.weights), what
    for w, r in zip(model.weights, reference.weights):
        np.testing.assert_array_equal(
            np.asarray(w), np.asarray(r), err_msg=f"{what}: {names[id(r)]} differs"
        )


def _assert_same_arrays(values, reference, *, what: str) -> None:
    assert len(values) == len(reference), f"{what}: {len(values)} != {len(reference)} variables"
    for v, r in zip(values, reference):
        np.testing.assert_array_equal(np.asarray(v), np.asarray(r), err_msg=f"{what}: {r.path}")


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
