"""Image datasets as tf.data pipelines: MNIST, Fashion-MNIST, CIFAR-10 and scikit-learn's digits.

Lookup order for the downloadable sets: the data directory (``FDL_DATA_DIR``: the original IDX
``.gz`` files, Keras' ``.npz`` or the CIFAR-10 python batches), then the Keras cache, then a
download through ``keras.datasets``. The digits set ships with scikit-learn, so it always works.
"""

from __future__ import annotations

import functools
import gzip
import io
import pickle
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdl_keras import config
from fdl_keras.data.pipeline import EpochOrder, make_pipeline
from fdl_keras.data.registry import Dataset, dataset, split_dataset, split_indices
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError

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


#: IDX element types (third byte of the magic number); MNIST and Fashion-MNIST are unsigned bytes.
IDX_TYPES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short",
    0x0C: "int",
    0x0D: "float",
    0x0E: "double",
}


def _damaged(path: Path | str, problem: str, fix: str) -> InvalidInputError:
    """The one-line error for a file that is there but cannot be used."""
    problem = " ".join(str(problem).split())[:200]  # one line, whatever the cause said
    return InvalidInputError(f"{path} is damaged ({problem}): {fix}")


def _fix(title: str, what: str = "it") -> str:
    return f"delete {what} and download {title} again"


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_idx(path: Path, *, title: str = "the dataset") -> np.ndarray:
    """Reads an IDX file (optionally gzipped) as written by LeCun et al. for MNIST.

    Raises:
        InvalidInputError: one line naming ``path`` when it is truncated, not gzip or IDX data,
            not of unsigned bytes, or its header's dimensions disagree with its size.
    """
    path = Path(path)
    fix = _fix(title)
    try:
        raw = path.read_bytes()
        # Gzip by content, not by name: a decompressed file may keep its .gz name and vice versa.
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except EOFError:
        raise _damaged(path, "truncated: the gzip stream ends early", fix) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise _damaged(path, f"corrupt gzip data, {_reason(exc)}", fix) from None
    except OSError as exc:
        raise _damaged(path, f"cannot be read, {_reason(exc)}", fix) from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or not 1 <= data[3] <= 4:
        kind = "a gzip" if path.suffix == ".gz" and raw[:2] != b"\x1f\x8b" else "an IDX"
        raise _damaged(path, f"not {kind} file: it starts with {data[:4].hex() or 'nothing'}", fix)
    magic = int.from_bytes(data[:4], "big")
    if data[2] != 0x08:
        kind = IDX_TYPES.get(data[2], f"unknown type {data[2]:#04x}")
        raise _damaged(
            path, f"an IDX file of {kind} elements (magic {magic:#x}), not unsigned bytes", fix
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _damaged(path, f"{len(data)} bytes, shorter than its {header}-byte header", fix)
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected:
        dims = "x".join(str(d) for d in shape)
        raise _damaged(
            path,
            f"its header says {dims} = {expected:,} bytes but {len(data) - header:,} follow",
            fix,
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


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


NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _load_npz(path: Path, title: str = "the dataset") -> Arrays:
    fix = _fix(title)
    try:
        with np.load(path, allow_pickle=False) as f:
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise _damaged(path, "a single .npy array, not an .npz archive", fix)
            missing = [k for k in NPZ_KEYS if k not in f.files]
            if missing:
                raise _damaged(path, f"no {', '.join(missing)} in it", fix)
            x_tr, y_tr, x_te, y_te = (f[k] for k in NPZ_KEYS)
    except InvalidInputError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise _damaged(path, f"not a readable .npz archive, {_reason(exc)}", fix) from None
    for name, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        if x.ndim not in (3, 4) or not np.issubdtype(x.dtype, np.number):
            raise _damaged(path, f"x_{name} is {x.dtype} of shape {x.shape}, not images", fix)
        if y.size != len(x) or y.ndim > 2 or not np.issubdtype(y.dtype, np.integer):
            raise _damaged(
                path, f"y_{name} is {y.dtype} of shape {y.shape} for {len(x)} images", fix
            )
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise _damaged(path, f"x_train images are {x_tr.shape[1:]}, x_test {x_te.shape[1:]}", fix)
    return (x_tr, y_tr), (x_te, y_te)


#: What CIFAR-10's python batches (and numpy arrays pickled by any numpy since 1.x, protocols
#: 2 to 5) need besides dicts, lists, strings and numbers: nothing here can run other code.
CIFAR_PICKLE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # bytes pickled by Python 3 with protocol 2
    }
)


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 python batches only: any global outside :data:`CIFAR_PICKLE_GLOBALS`
    (``os.system``, ``builtins.eval`` ...) is refused before it is imported or called."""

    def find_class(self, module: str, name: str):
        if (module, name) not in CIFAR_PICKLE_GLOBALS:
            raise _RefusedGlobal(f"{module}.{name}")
        return super().find_class(module, name)


def load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images (n, 32, 32, 3) uint8, labels (n,) uint8)`` of one CIFAR-10 python batch.

    Raises:
        InvalidInputError: one line naming ``path`` when it is not a CIFAR-10 batch: not a
            pickle, truncated, a pickle that would import anything but numpy's array
            reconstruction (it is refused, never run), or the wrong keys or shapes.
    """
    fix = _fix("CIFAR-10", "it (and the rest of cifar-10-batches-py/)")
    try:
        with open(path, "rb") as f:
            d = CifarUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except _RefusedGlobal as exc:
        raise InvalidInputError(
            f"{path} is not a CIFAR-10 batch: its pickle would call {exc}, which was refused "
            f"and not run; {fix} from the official site"
        ) from None
    except FileNotFoundError:
        raise _damaged(path.parent, f"{path.name} is missing", fix) from None
    except OSError as exc:
        raise _damaged(path, f"cannot be read, {_reason(exc)}", fix) from None
    except Exception as exc:  # noqa: BLE001 - whatever a broken pickle raises
        raise _damaged(path, f"not a readable pickle, {_reason(exc)}", fix) from None
    if not isinstance(d, dict):
        raise _damaged(path, f"a pickled {type(d).__name__}, not a dict", fix)
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise _damaged(path, "no data or labels entry", fix)
    try:
        data = np.asarray(data)
        labels = np.asarray(labels)
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        raise _damaged(path, f"data or labels are not arrays, {_reason(exc)}", fix) from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or not np.issubdtype(data.dtype, np.number):
        raise _damaged(path, f"data is {data.dtype} of shape {data.shape}, not (n, 3072)", fix)
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise _damaged(
            path, f"{len(data)} images but labels of {labels.dtype} shape {labels.shape}", fix
        )
    if data.size and (data.min() < 0 or data.max() > 255):
        raise _damaged(path, "pixel values outside 0..255", fix)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise _damaged(path, f"labels from {labels.min()} to {labels.max()}, not 0..9", fix)
    x = data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, labels.astype(np.uint8)


def _load_cifar_batches(folder: Path) -> Arrays:
    parts = [load_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = load_cifar_batch(folder / "test_batch")
    x_train = np.concatenate([p[0] for p in parts])
    return (x_train, np.concatenate([p[1] for p in parts])), (x_test, y_test)


def _extract_cifar(archive: Path, folder: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _damaged(
            archive, f"not a readable .tar.gz, {_reason(exc)}", _fix("CIFAR-10")
        ) from None


def _check_split(source: ImageSource, x: np.ndarray, y: np.ndarray, x_file, y_file) -> None:
    """One split's images and labels agree (count, label range), else a one-line error."""
    if len(x) != len(y):
        raise InvalidInputError(
            f"{x_file} and {y_file} do not match ({len(x):,} images but {len(y):,} labels: one "
            f"is damaged or of the other split, train/test): delete them and download "
            f"{source.title} again"
        )
    classes = len(source.class_names)
    if y.size and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise _damaged(
            y_file,
            f"labels from {int(y.min())} to {int(y.max())}, not 0..{classes - 1}",
            _fix(source.title),
        )


def _from_data_dir(source: ImageSource, root: Path) -> tuple[Arrays, str] | None:
    """The set from ``root`` when its files are there; a damaged file raises (one line) rather
    than falling through to a download."""
    for sub in source.subdirs:
        folder = root / sub if sub else root
        if source.npz_name and (folder / source.npz_name).is_file():
            path = folder / source.npz_name
            arrays = _load_npz(path, source.title)
            for (x, y), split in zip(arrays, ("train", "test")):
                _check_split(source, x, y, f"{path} (x_{split})", f"{path} (y_{split})")
            return arrays, str(path)
        if source.name == "cifar10":
            for batches in (folder / "cifar-10-batches-py", folder):
                if (batches / "data_batch_1").is_file():
                    return _load_cifar_batches(batches), str(batches)
            archive = folder / "cifar-10-python.tar.gz"
            if archive.is_file():
                _extract_cifar(archive, folder)
                return _load_cifar_batches(folder / "cifar-10-batches-py"), str(archive)
        else:
            files = _find_idx(folder)
            if files:
                x_tr, y_tr, x_te, y_te = (read_idx(p, title=source.title) for p in files)
                for x, path in ((x_tr, files[0]), (x_te, files[2])):
                    if x.ndim != 3:
                        raise _damaged(path, f"{x.ndim}-D, not images", _fix(source.title))
                for y, path in ((y_tr, files[1]), (y_te, files[3])):
                    if y.ndim != 1:
                        raise _damaged(path, f"{y.ndim}-D, not labels", _fix(source.title))
                if x_tr.shape[1:] != x_te.shape[1:]:
                    raise InvalidInputError(
                        f"{files[0]} and {files[2]} do not match ({x_tr.shape[1:]} images but "
                        f"{x_te.shape[1:]}: one is damaged or of another set): delete them and "
                        f"download {source.title} again"
                    )
                _check_split(source, x_tr, y_tr, files[0], files[1])
                _check_split(source, x_te, y_te, files[2], files[3])
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
    copies = [cache / p for p in source.keras_cache if (cache / p).exists()]
    cached = bool(copies)
    reason = "FDL_OFFLINE=1 forbids downloads"
    if cached or not offline:
        import keras

        try:
            arrays = getattr(keras.datasets, source.keras_loader).load_data()
            return arrays, "keras cache" if cached else "downloaded by keras.datasets"
        except Exception as exc:  # noqa: BLE001 - any download failure means "not available"
            reason = f"download failed: {_reason(exc)[:140]}"
            if cached and copies[0].exists():  # keras deletes some damaged copies itself
                copy = copies[0]  # the .npz, the batches folder, or a file of the IDX folder
                copy = copy if copy.is_dir() or copy.suffix == ".npz" else copy.parent
                reason = (
                    f"its Keras cache copy {copy} cannot be loaded, {_reason(exc)[:140]}; "
                    "delete it so that keras.datasets downloads it again"
                )
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
    ((x_train, y_train), (x_test, y_test)), source = load_arrays(name)
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

    order = EpochOrder()

    def pipe(split: str, **kw):
        x, y = splits[split]
        return make_pipeline(x, y, batch_size=batch_size, scale=max_value, seed=seed, **kw)

    shape = x_train.shape[1:] if x_train.ndim == 4 else (*x_train.shape[1:], 1)

    def normalised(split: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = splits[split]
        x = (x.astype(np.float32) / max_value).reshape((len(x), *shape))
        return x, y.astype(np.int32)

    def pipeline(split: str, shuffle: bool):
        if shuffle:
            return pipe(split, shuffle=True, augment=augment, order=order)
        return pipe(split)

    return split_dataset(
        splits,
        pipeline,
        order=order,
        arrays={split: normalised(split) for split in ("validation", "test")},
        name=name,
        source=source,
        input_shape=tuple(int(s) for s in shape),
        num_classes=len(class_names),
        class_names=class_names,
        title=title,
    )
