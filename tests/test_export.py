import importlib
import json
import time

import numpy as np
import pytest

import fdl_keras

export_module = importlib.import_module("fdl_keras.export")  # the package attribute is export()


@pytest.fixture(scope="module")
def tiny_cnn():
    return fdl_keras.build("mnist_cnn", filters=(4, 8), dense_units=16)


def test_export_writes_and_verifies_every_runtime(tiny_cnn, tmp_path, monkeypatch):
    timed = []  # the inputs of every latency measurement
    real_latency = export_module.latency_ms

    def recording_latency(run, inputs, *args, **kwargs):
        timed.append([np.array(x) for x in inputs])
        return real_latency(run, inputs, *args, **kwargs)

    monkeypatch.setattr(export_module, "latency_ms", recording_latency)
    report = fdl_keras.export(tiny_cnn, tmp_path)
    for name in ("model.keras", "saved_model", "model.onnx", "report.json"):
        assert (tmp_path / name).exists(), name
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["passed"] and on_disk == json.loads(json.dumps(report))
    # Real test images: MNIST, or the embedded digits standing in when MNIST is absent.
    assert report["sample"]["source"] in ("mnist test split", "digits test split")
    assert report["opset"] >= 17
    for runtime in ("saved_model", "onnx"):
        assert report["runtimes"][runtime]["max_abs_diff"] <= 1e-5
    # Every runtime (Keras first) is timed on the same batch-1 input, the first sample image,
    # and the tiny CNN answers one image well within a second in each (a few ms here).
    assert len(timed) == 3, [x[0].shape for x in timed]
    for inputs in timed:
        assert [x.shape for x in inputs] == [(1, 28, 28, 1)]
        np.testing.assert_array_equal(inputs[0], timed[0][0])
    sample, _ = export_module.default_sample(tiny_cnn)  # the test images export compared on
    np.testing.assert_array_equal(timed[0][0], np.asarray(sample[0])[:1])
    for runtime in ("keras", "saved_model", "onnx"):
        latency = report["runtimes"][runtime]["latency_ms_batch1"]
        assert np.isfinite(latency) and 0 < latency < 1000, (runtime, latency)


def test_onnx_mismatch_is_a_failure_never_written_as_fine(tiny_cnn, tmp_path, monkeypatch):
    real = export_module.onnx_runner

    def drifting_runner(path):
        run = real(path)
        return lambda inputs: [o + 1e-3 for o in run(inputs)]

    monkeypatch.setattr(export_module, "onnx_runner", drifting_runner)
    out, failed = tmp_path / "export", tmp_path / "export.failed"
    with pytest.raises(fdl_keras.ExportVerificationError, match=r"onnx differs .* > atol 1e-05"):
        fdl_keras.export(tiny_cnn, out, measure_latency=False)
    # Nothing at the export path looks fine: the failed files sit in the .failed sibling.
    assert not out.exists()
    report = json.loads((failed / "report.json").read_text())
    assert report["passed"] is False and report["runtimes"]["onnx"]["passed"] is False
    assert report["runtimes"]["saved_model"]["passed"] is True
    assert (failed / "model.onnx").exists()


@pytest.mark.parametrize(
    "sample, match",
    [
        (np.zeros((2, 8, 8, 1), np.float32), r"\(2, 8, 8, 1\) but .* \(batch, 28, 28, 1\)"),
        (np.zeros((2, 28, 28), np.float32), r"expects \(batch, 28, 28, 1\)"),
        (np.full((2, 28, 28, 1), "a"), "dtype <U1"),
        (np.full((2, 28, 28, 1), np.nan, np.float32), "NaN/inf"),
        ([np.zeros((2, 28, 28, 1))] * 2, "has 2 arrays but .* takes 1 inputs"),
    ],
)
def test_bad_export_sample_raises_one_line_error(tiny_cnn, tmp_path, sample, match):
    with pytest.raises(fdl_keras.InvalidInputError, match=match) as err:
        fdl_keras.export(tiny_cnn, tmp_path, sample=sample)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize("atol", [-1e-5, float("nan"), float("inf")])
def test_a_bad_tolerance_is_refused_in_one_line_before_anything_is_written(
    tiny_cnn, tmp_path, atol
):
    with pytest.raises(fdl_keras.InvalidInputError, match=r"atol must be a finite number >= 0"):
        fdl_keras.export(tiny_cnn, tmp_path / "out", atol=atol)
    assert not (tmp_path / "out").exists()


def test_onnx_outputs_keep_the_model_order(tmp_path):
    import keras

    inputs = keras.Input((4,), name="x")
    first = keras.layers.Dense(3, name="z_scores")(inputs)
    second = keras.layers.Dense(2, name="a_values")(inputs)
    model = keras.Model(inputs, [first, second])
    sample = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    report = fdl_keras.export(model, tmp_path, sample=sample, measure_latency=False)
    assert report["passed"], report
    outputs = export_module.onnx_runner(tmp_path / "model.onnx")([sample])
    assert [o.shape for o in outputs] == [(5, 3), (5, 2)]


def test_onnx_conversion_copies_no_graph_and_is_redone_guarded_when_a_pass_fails(
    tiny_cnn, tmp_path, monkeypatch
):
    """tf2onnx copies its graph before each optimiser pass only to survive one that raises;
    the conversion runs without those copies and is redone with them when a pass fails."""
    import copy
    import os

    import tf2onnx.optimizer as optimizer
    from tf2onnx.graph import Graph

    from fdl_keras.export.onnx import CATCH_ERRORS_VARIABLE, export_onnx, onnx_runner

    copies, real_deepcopy = [], copy.deepcopy

    def counting_deepcopy(value, *args, **kwargs):
        if isinstance(value, Graph):
            copies.append(value)
        return real_deepcopy(value, *args, **kwargs)

    monkeypatch.setattr(optimizer.copy, "deepcopy", counting_deepcopy)
    sample = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    expected = np.asarray(tiny_cnn(sample, training=False))
    (fast,) = onnx_runner(export_onnx(tiny_cnn, tmp_path / "fast.onnx"))([sample])
    assert copies == [] and np.abs(fast - expected).max() <= 1e-5

    class FailingPass(optimizer.IdentityOptimizer):
        def _optimize(self, graph):
            raise RuntimeError("a pass that fails")

    monkeypatch.setitem(optimizer._optimizers, "remove_identity", FailingPass)
    (guarded,) = onnx_runner(export_onnx(tiny_cnn, tmp_path / "guarded.onnx"))([sample])
    assert copies and np.abs(guarded - expected).max() <= 1e-5
    assert CATCH_ERRORS_VARIABLE not in os.environ


def test_onnx_conversion_writes_each_node_to_protobuf_once(tiny_cnn, tmp_path, monkeypatch):
    """tf2onnx writes every node (a constant's weights included) to protobuf after each of its
    optimiser passes; the package's conversion writes each at most twice (when tf2onnx's
    translation ends, and when the model is built), and still matches Keras. A plain tf2onnx
    call in the same process keeps tf2onnx's own way."""
    from collections import Counter

    import tensorflow as tf
    import tf2onnx
    from tf2onnx.graph import Node

    from fdl_keras.export.onnx import export_onnx, input_signature, onnx_runner

    writes, real_update = Counter(), Node.update_proto

    def counting_update(node, *args, **kwargs):
        writes[id(node)] += 1
        return real_update(node, *args, **kwargs)

    monkeypatch.setattr(Node, "update_proto", counting_update)
    sample = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    (onnx_out,) = onnx_runner(export_onnx(tiny_cnn, tmp_path / "model.onnx"))([sample])
    assert writes and max(writes.values()) <= 2, writes.most_common(3)
    once = sum(writes.values())
    assert np.abs(onnx_out - np.asarray(tiny_cnn(sample, training=False))).max() <= 1e-5

    writes.clear()
    serve = tf.function(lambda x: tiny_cnn(x, training=False))
    tf2onnx.convert.from_function(serve, input_signature=input_signature(tiny_cnn), opset=17)
    # tf2onnx's way: after every pass of every round, on a copy of the graph each time.
    assert sum(writes.values()) > 5 * once, (sum(writes.values()), once)


@pytest.mark.slow
@pytest.mark.parametrize("name", [s.name for s in fdl_keras.list_models()])
def test_every_entry_exports_at_its_default_config_with_no_sample(name, tmp_path):
    """The README's call, ``export(build(NAME), DIR)``, for every registered system at its
    default config: variable-size inputs (style network, recurrent policies) included."""
    report = fdl_keras.export(fdl_keras.build(name), tmp_path)
    assert report["passed"], report
    assert report["sample"]["source"] != "given"
    # 1e-5, but for the DNC's declared 1e-4 (its allocation sort is discontinuous at ties).
    assert report["atol"] == (
        1e-4 if fdl_keras.get_spec(name).defaults.get("core") == "dnc" else 1e-5
    )
    for runtime in ("saved_model", "onnx"):
        assert report["runtimes"][runtime]["max_abs_diff"] <= report["atol"], report


def test_latency_timing_stops_at_its_budget_after_the_minimum_runs():
    """A report's batch-1 timing is capped (LATENCY_BUDGET_S), never below ``min_repeats``."""
    from fdl_keras.export.verify import latency_ms

    calls = []

    def slow(inputs):  # 20 ms a run
        calls.append(1)
        time.sleep(0.02)

    median = latency_ms(slow, [], repeats=30, warmup=1, budget_s=0.01, min_repeats=5)
    assert len(calls) == 1 + 5 and 20 <= median < 200
    calls.clear()
    latency_ms(slow, [], repeats=4, warmup=0, budget_s=10.0)
    assert len(calls) == 4  # a budget never adds runs
    calls.clear()
    latency_ms(slow, [], repeats=8, warmup=0)
    assert len(calls) == 8  # no budget: every repeat
