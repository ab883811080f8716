"""Test settings: quiet TensorFlow, the shared real datasets, two CPU threads."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
if not os.environ.get("FDL_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["FDL_DATA_DIR"] = str(SHARED_DATA)
# Tests never download: a missing dataset must fail fast with the documented error.
os.environ.setdefault("FDL_OFFLINE", "1")

import pytest  # noqa: E402


def pytest_configure(config):
    # In CI a missing data folder is a failure, not 17 quiet skips (.ci/run checks it too).
    if (
        os.environ.get("CI", "").lower() == "true"
        and not Path(os.environ.get("FDL_DATA_DIR", SHARED_DATA)).joinpath("mnist").is_dir()
    ):
        pytest.exit(f"CI needs the real datasets: {SHARED_DATA} is missing", returncode=1)


def pytest_report_header(config):
    return f"FDL_DATA_DIR={os.environ.get('FDL_DATA_DIR', '(unset)')}"


@pytest.fixture
def mnist_available() -> bool:
    data_dir = os.environ.get("FDL_DATA_DIR")
    return bool(data_dir) and (Path(data_dir) / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


@pytest.fixture
def require_mnist(mnist_available):
    if not mnist_available:
        pytest.skip("real MNIST not found: set FDL_DATA_DIR to a folder with mnist/ (see README)")


@pytest.fixture
def openvino_device():
    """The OpenVINO provider's CPU device; skipped, with the reason, where the plugin is absent
    or offers no device (on a non-Intel CPU). On an Intel CPU a missing device is a failure."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime_ep_openvino") is None:
        pytest.skip("the OpenVINO plugin (fdl_keras[openvino], in the test extras) is absent")
    from fdl_keras.errors import ProviderUnavailableError
    from fdl_keras.export import onnx as onnx_export

    try:
        return onnx_export._openvino_device()
    except ProviderUnavailableError as exc:
        if onnx_export.cpu_vendor() == "Intel":
            raise
        pytest.skip(str(exc))
