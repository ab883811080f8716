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


@pytest.fixture(scope="session", autouse=True)
def child_temporary_files(tmp_path_factory):
    """The processes a test starts (``fdl`` commands, notebook kernels, workers) keep their
    temporary files under pytest's own temporary folder, which pytest prunes (it keeps the last
    three runs), not in the system's: there the notebooks' run folders (up to 97 MB each) and the
    autograph modules of killed processes stayed behind, about 300 MB a run."""
    folder = tmp_path_factory.mktemp("child_tmp")
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous


@pytest.fixture
def mnist_available() -> bool:
    data_dir = os.environ.get("FDL_DATA_DIR")
    return bool(data_dir) and (Path(data_dir) / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


@pytest.fixture
def require_mnist(mnist_available):
    if not mnist_available:
        pytest.skip("real MNIST not found: set FDL_DATA_DIR to a folder with mnist/ (see README)")


def _openvino_cpu_device():
    """``(device, "")``, or ``(None, why)`` where the OpenVINO plugin is absent or offers no
    device (on a non-Intel CPU). On an Intel CPU a missing device is a failure."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime_ep_openvino") is None:
        return None, "the OpenVINO plugin (fdl_keras[openvino], in the test extras) is absent"
    from fdl_keras.errors import ProviderUnavailableError
    from fdl_keras.export import onnx as onnx_export

    try:
        return onnx_export._openvino_device(), ""
    except ProviderUnavailableError as exc:
        if onnx_export.cpu_vendor() == "Intel":
            raise
        return None, str(exc)


@pytest.fixture
def openvino_device():
    """The OpenVINO provider's CPU device; skipped, with the reason, where the plugin is absent
    or offers no device (on a non-Intel CPU). On an Intel CPU a missing device is a failure."""
    device, reason = _openvino_cpu_device()
    if device is None:
        pytest.skip(reason)
    return device


@pytest.fixture
def openvino_offered() -> bool:
    """Whether the OpenVINO provider offers a CPU device here, for tests that check either its
    results or its one-line refusal (an Intel CPU with the plugin must offer one)."""
    return _openvino_cpu_device()[0] is not None
