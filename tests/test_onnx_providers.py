"""onnxruntime's execution providers: its own CPU kernels, and the OpenVINO provider plugin."""

import sys
import types

import numpy as np
import pytest

import fdl_keras
from fdl_keras.errors import InvalidInputError, ProviderUnavailableError
from fdl_keras.export import onnx as onnx_export


@pytest.fixture(scope="module")
def mnist_cnn_onnx(tmp_path_factory):
    model = fdl_keras.build("mnist_cnn")
    folder = tmp_path_factory.mktemp("mnist_cnn")
    fdl_keras.export(model, folder, measure_latency=False)
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    return folder / "model.onnx", images, model.predict_on_batch(images)


def test_openvino_provider_matches_keras_in_float32(mnist_cnn_onnx, openvino_device):
    path, images, expected = mnist_cnn_onnx
    got = onnx_export.onnx_runner(path, "openvino")([images])[0]
    # float32 arithmetic held: bfloat16, OpenVINO's default on CPUs with bf16 units, differed
    # by 1.05e-4 here on an AMX Xeon, so without the hint this check fails on such a CPU.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert not np.allclose(got, np.roll(expected, 1, axis=0), atol=1e-5)  # the check can fail


def test_unknown_provider_is_refused_with_the_choices(mnist_cnn_onnx):
    with pytest.raises(InvalidInputError, match=r"unknown onnxruntime provider 'cuda': choose one"):
        onnx_export.onnx_runner(mnist_cnn_onnx[0], "cuda")


def test_missing_openvino_plugin_names_the_install_command(mnist_cnn_onnx, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino", None)  # import fails
    with pytest.raises(
        ProviderUnavailableError, match=r"OpenVINO provider is missing: pip install 'fdl_keras\["
    ):
        onnx_export.onnx_runner(mnist_cnn_onnx[0], "openvino")


def test_a_plugin_offering_no_device_is_refused_in_one_line_every_time(mnist_cnn_onnx, monkeypatch):
    # As on an AMD CPU: the plugin registers and offers no device. onnxruntime refuses a second
    # registration of the same name with an error of its own, so the second call must not try.
    import onnxruntime as ort

    plugin = types.SimpleNamespace(
        get_ep_name=lambda: "FakeOpenVINOExecutionProvider", get_library_path=lambda: "/nowhere.so"
    )
    registered = []
    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino", plugin)
    monkeypatch.setattr(onnx_export, "_REGISTERED_PLUGINS", set())
    monkeypatch.setattr(ort, "register_execution_provider_library", lambda *a: registered.append(a))
    for _ in range(2):
        with pytest.raises(
            ProviderUnavailableError,
            match=r"^onnxruntime's OpenVINO provider offers no device for this \S+ CPU \(its "
            r"plugin claims Intel hardware only\): run it with provider 'cpu'$",
        ):
            onnx_export.onnx_runner(mnist_cnn_onnx[0], "openvino")
    assert registered == [("FakeOpenVINOExecutionProvider", "/nowhere.so")]


def test_a_graph_openvino_cannot_convert_names_its_operators_and_the_fix(tmp_path, openvino_device):
    # UNREAL's recurrent core (a Keras LSTM fed its state) becomes an ONNX Loop in tf2onnx's
    # graph, a Loop whose body OpenVINO's ONNX front end does not convert.
    fdl_keras.export(fdl_keras.build("unreal_pixel_cartpole"), tmp_path, measure_latency=False)
    with pytest.raises(
        ProviderUnavailableError,
        match=r"OpenVINO provider cannot convert .*model\.onnx \(operators Loop-16\): run it with "
        r"provider 'cpu'$",
    ):
        onnx_export.onnx_runner(tmp_path / "model.onnx", "openvino")
    assert onnx_export.onnx_runner(tmp_path / "model.onnx")  # onnxruntime's own kernels run it
