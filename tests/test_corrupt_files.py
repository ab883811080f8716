"""Damaged dataset files: one line naming the file, what is wrong and the fix; never a raw
traceback, never a silent download instead, and never code run from a CIFAR pickle."""

import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fdl_keras.data import load_arrays, load_dataset, read_idx
from fdl_keras.data.images import IDX_FILES, _load_arrays_cached
from fdl_keras.errors import FdlError, InvalidInputError

TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = (f"{stem}.gz" for stem in IDX_FILES)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("FDL_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    _load_arrays_cached.cache_clear()
    yield
    _load_arrays_cached.cache_clear()


def one_line_error(name: str, *files: str, error=FdlError) -> str:
    """The message of the error ``load_dataset(name)`` raises, checked to be one line naming
    every one of ``files``."""
    with pytest.raises(error) as caught:
        load_dataset(name, batch_size=8)
    message = str(caught.value)
    assert "\n" not in message, message
    for file in files:
        assert file in message, message
    return message


def mnist_copy(root: Path) -> Path:
    """The real MNIST files copied into ``root/mnist`` (FDL_DATA_DIR is ``root``)."""
    source = Path(os.environ["FDL_DATA_DIR"]) / "mnist"
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS):
        shutil.copyfile(source / name, folder / name)
    return folder


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def rewrite_idx(path: Path, edit) -> None:
    data = bytearray(gzip.decompress(path.read_bytes()))
    path.write_bytes(gzip.compress(bytes(edit(data))))


def header_says_more(data: bytearray) -> bytearray:
    data[4:8] = (int.from_bytes(data[4:8], "big") + 1).to_bytes(4, "big")
    return data


def label_42(data: bytearray) -> bytearray:
    data[8 + 17] = 42
    return data


def float_elements(data: bytearray) -> bytearray:
    data[2] = 0x0D
    return data


MNIST_DAMAGE = {
    "truncated gzip": (TEST_IMAGES, truncate, "truncated"),
    "garbage bytes": (TRAIN_LABELS, lambda p: p.write_bytes(os.urandom(3000)), "not a gzip"),
    "empty file": (TEST_LABELS, lambda p: p.write_bytes(b""), "not a gzip"),
    "ungzipped garbage": (TEST_LABELS, lambda p: p.write_bytes(b"\x00\x00\x08"), "000008"),
    "header count != body": (
        TEST_LABELS,
        lambda p: rewrite_idx(p, header_says_more),
        "header says 10001",
    ),
    "label outside 0..9": (TEST_LABELS, lambda p: rewrite_idx(p, label_42), "0 to 42"),
    "wrong element type": (TEST_LABELS, lambda p: rewrite_idx(p, float_elements), "float"),
}


@pytest.mark.parametrize("case", list(MNIST_DAMAGE))
def test_a_damaged_mnist_file_is_named_in_one_line(case, require_mnist, monkeypatch, tmp_path):
    name, damage, problem = MNIST_DAMAGE[case]
    folder = mnist_copy(tmp_path)
    damage(folder / name)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    message = one_line_error("mnist", str(folder / name), problem, error=InvalidInputError)
    assert "download MNIST again" in message


def test_labels_of_the_other_split_name_both_files(require_mnist, monkeypatch, tmp_path):
    folder = mnist_copy(tmp_path)
    shutil.copyfile(folder / TEST_LABELS, folder / TRAIN_LABELS)  # t10k labels as train labels
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    message = one_line_error(
        "mnist", str(folder / TRAIN_IMAGES), str(folder / TRAIN_LABELS), "60,000 images"
    )
    assert "10,000 labels" in message and "other split" in message


def test_a_damaged_file_is_not_replaced_by_a_download(require_mnist, monkeypatch, tmp_path):
    import keras

    def download():
        raise AssertionError("a damaged local file must not fall through to a download")

    folder = mnist_copy(tmp_path)
    truncate(folder / TRAIN_LABELS)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FDL_OFFLINE", "0")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", download)
    one_line_error("mnist", str(folder / TRAIN_LABELS), error=InvalidInputError)


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = (0x0800 | array.ndim).to_bytes(4, "big")
    data = header + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_read_idx_checks_header_against_body_without_gzip_too(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x", images, compress=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), images)
    truncate(tmp_path / "x")
    with pytest.raises(InvalidInputError, match=r"x is damaged \(its header says 2x3x4 = 24"):
        read_idx(tmp_path / "x")
    write_idx(tmp_path / "labels", np.arange(6, dtype=np.uint8).reshape(2, 3), compress=True)
    (tmp_path / "labels").rename(tmp_path / "labels.gz")
    assert read_idx(tmp_path / "labels.gz").shape == (2, 3)


def small_idx_set(folder: Path, counts=(30, 30, 10, 10), label_max=9) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for stem, n in zip(IDX_FILES, counts):
        if "images" in stem:
            array = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        else:
            array = rng.integers(0, label_max + 1, n, dtype=np.uint8)
        write_idx(folder / f"{stem}.gz", array, compress=True)


def test_fashion_idx_counts_must_agree(monkeypatch, tmp_path):
    small_idx_set(tmp_path / "fashion_mnist", counts=(30, 31, 10, 10))
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    message = one_line_error("fashion_mnist", TRAIN_IMAGES, TRAIN_LABELS, "30 images")
    assert "31 labels" in message and "Fashion-MNIST" in message


def test_a_valid_small_idx_set_still_loads(monkeypatch, tmp_path):
    small_idx_set(tmp_path / "fashion_mnist")
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    (x_train, y_train), (x_test, _) = load_arrays("fashion_mnist")[0]
    assert x_train.shape == (30, 28, 28) and y_train.shape == (30,) and len(x_test) == 10


def npz_arrays(n_train=20, n_test=10) -> dict:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 255, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 255, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def bad_zip(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + os.urandom(500))


def truncated_npz(path: Path) -> None:
    np.savez(path, **npz_arrays())
    truncate(path)


def missing_key(path: Path) -> None:
    arrays = npz_arrays()
    del arrays["y_test"]
    np.savez(path, **arrays)


def wrong_label_count(path: Path) -> None:
    np.savez(path, **{**npz_arrays(), "y_train": np.zeros(19, np.uint8)})


def flat_images(path: Path) -> None:
    np.savez(path, **{**npz_arrays(), "x_train": np.zeros((20, 784), np.uint8)})


NPZ_DAMAGE = {
    "garbage zip": (bad_zip, "not a readable .npz"),
    "truncated": (truncated_npz, "not a readable .npz"),
    "missing key": (missing_key, "no y_test"),
    "wrong label count": (wrong_label_count, "19"),
    "images not images": (flat_images, "(20, 784)"),
}


@pytest.mark.parametrize("case", list(NPZ_DAMAGE))
def test_a_damaged_npz_is_named_in_one_line(case, monkeypatch, tmp_path):
    damage, problem = NPZ_DAMAGE[case]
    (tmp_path / "mnist").mkdir()
    path = tmp_path / "mnist" / "mnist.npz"
    damage(path)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    one_line_error("mnist", str(path), problem, error=InvalidInputError)


# --- CIFAR-10 python batches ---------------------------------------------------------------


class RunsACommand:
    """A pickle that runs a shell command when loaded by a plain ``pickle.load``."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class CallsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def cifar_batch(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"synthetic batch",
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"image_{i}.png".encode() for i in range(n)],
    }


def write_cifar(folder: Path, protocol: int, n: int = 4, **replace) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for i, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        batches[name] = replace.get(name, cifar_batch(n, seed=i))
        with open(folder / name, "wb") as f:
            pickle.dump(batches[name], f, protocol=protocol)
    return batches


@pytest.mark.parametrize("payload", ["os.system", "eval"])
def test_a_cifar_pickle_that_calls_code_is_refused_unrun(payload, monkeypatch, tmp_path):
    marker = tmp_path / "pwned"
    evil = RunsACommand(f"echo pwned > {marker}") if payload == "os.system" else CallsEval()
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    write_cifar(folder, protocol=2, data_batch_1=evil)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    message = one_line_error("cifar10", str(folder / "data_batch_1"), error=InvalidInputError)
    assert "refused" in message and ("system" in message or "eval" in message)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_valid_cifar_batches_still_load(protocol, monkeypatch, tmp_path):
    batches = write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py", protocol)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = load_arrays("cifar10")[0]
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    first = batches["data_batch_1"]
    # Rows are 1,024 red, then green, then blue values of a 32x32 image.
    np.testing.assert_array_equal(x_train[0, :, :, 1].ravel(), first[b"data"][0, 1024:2048])
    assert y_train[:4].tolist() == first[b"labels"]
    assert y_test.tolist() == batches["test_batch"][b"labels"]


CIFAR_DAMAGE = {
    "truncated": ("test_batch", None, "not a readable pickle"),
    "not a dict": ("data_batch_2", [1, 2, 3], "not a dict"),
    "3000 columns": (
        "data_batch_3",
        {b"data": np.zeros((4, 3000), np.uint8), b"labels": [0] * 4},
        "(4, 3000)",
    ),
    "fewer labels": (
        "data_batch_4",
        {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3},
        "4 images",
    ),
    "label 10": (
        "data_batch_5",
        {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1, 2, 10]},
        "not 0..9",
    ),
    "no labels": ("data_batch_1", {b"data": np.zeros((4, 3072), np.uint8)}, "no data or labels"),
}


@pytest.mark.parametrize("case", list(CIFAR_DAMAGE))
def test_a_damaged_cifar_batch_is_named_in_one_line(case, monkeypatch, tmp_path):
    name, content, problem = CIFAR_DAMAGE[case]
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    write_cifar(folder, protocol=2, **({name: content} if content is not None else {}))
    if content is None:
        truncate(folder / name)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    one_line_error("cifar10", str(folder / name), problem, error=InvalidInputError)


def test_a_damaged_cifar_archive_is_named_in_one_line(monkeypatch, tmp_path):
    (tmp_path / "cifar10").mkdir()
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    archive.write_bytes(gzip.compress(os.urandom(2000))[:1500])
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    one_line_error("cifar10", str(archive), "CIFAR-10 again", error=InvalidInputError)


def test_a_missing_cifar_batch_is_named(monkeypatch, tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    write_cifar(folder, protocol=4)
    (folder / "data_batch_4").unlink()
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    one_line_error("cifar10", str(folder), "data_batch_4 is missing", error=InvalidInputError)


# --- the demo ------------------------------------------------------------------------------


def test_demo_names_damaged_mnist_and_trains_on_digits(require_mnist, tmp_path):
    folder = mnist_copy(tmp_path / "data")
    truncate(folder / TEST_LABELS)
    env = {
        **os.environ,
        "FDL_DATA_DIR": str(tmp_path / "data"),
        "FDL_OFFLINE": "1",
        "KERAS_HOME": str(tmp_path / "keras"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, "-m", "fdl_cli", "demo", "--epochs", "1"]
        + ["--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "exports")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("MNIST is damaged")]
    assert str(folder / TEST_LABELS) in line and "truncated" in line
    assert "mnist_cnn on digits: test accuracy" in result.stdout
    report = json.loads((tmp_path / "exports" / "mnist_cnn" / "report.json").read_text())
    assert report["passed"]
