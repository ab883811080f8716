"""Image datasets as tf.data pipelines: MNIST, Fashion-MNIST, CIFAR-10 and scikit-learn's digits.

Lookup order for the downloadable sets: the data directory (``FDL_DATA_DIR``: the original IDX
``.gz`` files, Keras' ``.npz`` or the CIFAR-10 python batches), then the Keras cache, then a
download through ``keras.datasets``. The digits set ships with scikit-learn, so it always works.
"""

from __future__ import annotations

import functools
import gzip
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdl_keras import config
from fdl_keras.data.pipeline import make_pipeline
from fdl_keras.data.registry import Dataset, DatasetInfo, dataset, split_indices
from fdl_keras.errors import DatasetNotFoundError

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class ImageSource:
    """Where an image dataset may be found and how its pixels scale to [0, 1]."""

    name: str
    title: str
    subdirs: tuple[str, ...]
    npz_name: str | None
    keras_loader: str  # attribute of keras.datasets
    keras_cache: tuple[str, ...]  # paths under the Keras cache whose presence means "cached"
    max_value: float
    class_names: tuple[str, ...]


DIGIT_NAMES = tuple(str(i) for i in range(10))
SOURCES = {
    "mnist": ImageSource(
        "mnist", "MNIST", ("mnist", ""), "mnist.npz", "mnist", ("mnist.npz",), 255.0, DIGIT_NAMES
    ),
    "fashion_mnist": ImageSource(
        "fashion_mnist",
        "Fashion-MNIST",
        ("fashion_mnist", "fashion-mnist"),
        "fashion_mnist.npz",
        "fashion_mnist",
        ("fashion-mnist/train-images-idx3-ubyte.gz",),
        255.0,
        (
            "t-shirt",
            "trouser",
            "pullover",
            "dress",
            "coat",
            "sandal",
            "shirt",
            "sneaker",
            "bag",
            "ankle boot",
        ),
    ),
    "cifar10": ImageSource(
        "cifar10",
        "CIFAR-10",
        ("cifar10", "cifar-10", ""),
        "cifar10.npz",
        "cifar10",
        ("cifar-10-batches-py", "cifar-10-batches-py_extracted/cifar-10-batches-py"),
        255.0,
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    ),
}


def read_idx(path: Path) -> np.ndarray:
    """Reads an IDX file (optionally gzipped) as written by LeCun et al. for MNIST."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x})")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find_idx(folder: Path) -> list[Path] | None:
    found = []
    for stem in IDX_FILES:
        candidates = [
            folder / f"{stem}.gz",
            folder / stem,
            folder / f"{stem.replace('-idx', '.idx')}",
        ]
        match = next((c for c in candidates if c.is_file()), None)
        if match is None:
            return None
        found.append(match)
    return found


def _load_npz(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _load_cifar_batches(folder: Path) -> Arrays:
    def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], np.uint8)

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = batch("test_batch")
    x_train = np.concatenate([p[0] for p in parts])
    return (x_train, np.concatenate([p[1] for p in parts])), (x_test, y_test)


def _from_data_dir(source: ImageSource, root: Path) -> tuple[Arrays, str] | None:
    for sub in source.subdirs:
        folder = root / sub if sub else root
        if source.npz_name and (folder / source.npz_name).is_file():
            return _load_npz(folder / source.npz_name), str(folder / source.npz_name)
        if source.name == "cifar10":
            for batches in (folder / "cifar-10-batches-py", folder):
                if (batches / "data_batch_1").is_file():
                    return _load_cifar_batches(batches), str(batches)
            archive = folder / "cifar-10-python.tar.gz"
            if archive.is_file():
                with tarfile.open(archive) as tar:
                    tar.extractall(folder, filter="data")
                return _load_cifar_batches(folder / "cifar-10-batches-py"), str(archive)
        else:
            files = _find_idx(folder)
            if files:
                x_tr, y_tr, x_te, y_te = (read_idx(p) for p in files)
                return ((x_tr, y_tr), (x_te, y_te)), str(folder)
    return None


def _where_to_put(source: ImageSource) -> str:
    if source.name == "cifar10":
        return "cifar-10-batches-py/ (or cifar-10-python.tar.gz)"
    return f"the four IDX .gz files ({IDX_FILES[0]}.gz ...) or {source.npz_name}"


def load_arrays(name: str) -> tuple[Arrays, str]:
    """Returns ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, and where they came from.

    Raises:
        DatasetNotFoundError: the set is not in the data directory nor the Keras cache, and it
            cannot be downloaded (offline, or ``FDL_OFFLINE=1``).
    """
    root = config.data_dir()
    return _load_arrays_cached(name, root, config.offline(), config.keras_cache_dir())


@functools.lru_cache(maxsize=4)
def _load_arrays_cached(name: str, root: Path | None, offline: bool, cache: Path):
    if name == "digits":
        return _load_digits(), "scikit-learn (embedded)"
    source = SOURCES[name]
    if root is not None:
        found = _from_data_dir(source, root)
        if found is not None:
            return found
    cached = any((cache / p).exists() for p in source.keras_cache)
    reason = "FDL_OFFLINE=1 forbids downloads"
    if cached or not offline:
        import keras

        try:
            arrays = getattr(keras.datasets, source.keras_loader).load_data()
            return arrays, "keras cache" if cached else "downloaded by keras.datasets"
        except Exception as exc:  # noqa: BLE001 - any download failure means "not available"
            reason = f"download failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    where = f"FDL_DATA_DIR={root}" if root else "FDL_DATA_DIR is not set"
    sub = source.subdirs[0]
    raise DatasetNotFoundError(
        f"{source.title} not found ({where}; {reason}): put {_where_to_put(source)} in "
        f"<dir>/{sub}/ and set FDL_DATA_DIR=<dir>, or go online so keras.datasets can download it"
    )


def _load_digits() -> Arrays:
    """scikit-learn's 8x8 digits (1,797 images, UCI), split 80/20 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.images.astype(np.uint8)  # values 0..16
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, digits.target.astype(np.uint8), test_size=0.2, random_state=0, stratify=digits.target
    )
    return (x_tr, y_tr), (x_te, y_te)


def image_metadata(name: str) -> tuple[float, tuple[str, ...], str]:
    """``(max pixel value, class names, title)`` of an image dataset."""
    if name == "digits":
        return 16.0, DIGIT_NAMES, "scikit-learn digits"
    s = SOURCES[name]
    return s.max_value, s.class_names, s.title


IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "digits")
IDX_HINT = "the four IDX .gz files (train-images-idx3-ubyte.gz ...) or {}.npz"


@dataset("mnist", title="MNIST handwritten digits", files="mnist/: " + IDX_HINT.format("mnist"))
@dataset(
    "fashion_mnist",
    title="Fashion-MNIST",
    files="fashion_mnist/: " + IDX_HINT.format("fashion_mnist"),
)
@dataset(
    "cifar10", title="CIFAR-10", files="cifar10/: cifar-10-batches-py/ or cifar-10-python.tar.gz"
)
@dataset("digits", title="scikit-learn digits (8x8, embedded)", files="nothing (embedded)")
def load_images(
    name: str,
    *,
    batch_size: int,
    validation_fraction: float,
    seed: int,
    limit: int | None,
    augment: str | None,
) -> Dataset:
    """An image classification set as ``(image in [0, 1], label)`` pipelines."""
    (x_train, y_train), (x_test, y_test) = load_arrays(name)[0]
    source = load_arrays(name)[1]
    train_idx, val_idx = split_indices(
        len(x_train), validation_fraction=validation_fraction, seed=seed, limit=limit
    )
    if limit is not None:
        keep = max(limit // 4, batch_size)
        x_test, y_test = x_test[:keep], y_test[:keep]
    max_value, class_names, title = image_metadata(name)
    splits = {
        "train": (x_train[train_idx], y_train[train_idx]),
        "validation": (x_train[val_idx], y_train[val_idx]),
        "test": (x_test, y_test),
    }

    def pipe(split: str, **kw):
        x, y = splits[split]
        return make_pipeline(x, y, batch_size=batch_size, scale=max_value, seed=seed, **kw)

    shape = x_train.shape[1:] if x_train.ndim == 4 else (*x_train.shape[1:], 1)

    def normalised(split: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = splits[split]
        x = (x.astype(np.float32) / max_value).reshape((len(x), *shape))
        return x, y.astype(np.int32)

    train = pipe("train", shuffle=True, augment=augment)
    info = DatasetInfo(
        name=name,
        source=source,
        num_train=len(train_idx),
        num_validation=len(val_idx),
        num_test=len(x_test),
        element_spec=train.element_spec,
        input_shape=tuple(int(s) for s in shape),
        num_classes=len(class_names),
        class_names=class_names,
        title=title,
    )
    return Dataset(
        train=train,
        validation=pipe("validation") if len(val_idx) else None,
        test=pipe("test"),
        info=info,
        arrays={split: normalised(split) for split in ("validation", "test")},
    )
