"""Exported samplers: the same noise gives the same samples in Keras and onnxruntime."""

import importlib

import numpy as np

import fdl_keras
from fdl_keras.generative import keras_score_fn, onnx_score_fn
from fdl_keras.generative.score import sample

onnx_export = importlib.import_module("fdl_keras.export.onnx")

# One ONNX evaluation matches Keras to ~1e-6; the Langevin loop below (4 levels x 3 steps plus the
# denoising step) compounds that, measured at ~1.5e-6, so the single-call tolerance still holds.
LOOP_ATOL = 1e-5


def test_generator_and_decoder_reproduce_keras_samples(tmp_path):
    for name in ("dcgan", "vae"):
        model = fdl_keras.build(name, **fdl_keras.get_spec(name).tiny)
        noise = model.noise_inputs(16, seed=7)
        report = fdl_keras.export(model, tmp_path / name, sample=noise, measure_latency=False)
        assert report["inputs"] == {"latent": [None, noise.shape[1]]}
        run = onnx_export.onnx_runner(tmp_path / name / "model.onnx")
        np.testing.assert_allclose(run([noise])[0], model.predict(noise, verbose=0), atol=1e-5)


def test_onnx_score_samplers_reproduce_keras(tmp_path):
    net = fdl_keras.build("ncsn", **fdl_keras.get_spec("ncsn").tiny)
    report = fdl_keras.export(net, tmp_path, measure_latency=False)
    assert list(report["inputs"]) == ["image", "noise_level"]
    assert (
        report["sample"]["source"]
        == importlib.import_module("fdl_keras.export").NOISE_INPUTS_SOURCE
    )
    for settings in (
        dict(sampler="langevin", steps_per_level=3),
        dict(sampler="reverse_diffusion", corrector_steps=1),
    ):
        in_keras = sample(net, 4, seed=11, score_fn=keras_score_fn(net), **settings)
        in_onnx = sample(
            net, 4, seed=11, score_fn=onnx_score_fn(tmp_path / "model.onnx"), **settings
        )
        assert np.abs(in_keras).max() > 1.0  # an untrained net: large, unclipped values
        np.testing.assert_allclose(in_onnx, in_keras, atol=LOOP_ATOL)
