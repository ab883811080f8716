import gzip

import numpy as np
import pytest

import fdl_keras
from fdl_keras.data import load_arrays, load_dataset, make_pipeline, read_idx
from fdl_keras.data.images import _load_arrays_cached


@pytest.fixture(autouse=True)
def fresh_cache():
    _load_arrays_cached.cache_clear()
    yield
    _load_arrays_cached.cache_clear()


def test_mnist_from_the_original_idx_files(require_mnist):
    (x_train, y_train), (x_test, y_test) = load_arrays("mnist")[0]
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_pipeline_batches_normalised_images(require_mnist):
    data = load_dataset("mnist", batch_size=32, limit=256)
    images, labels = next(iter(data.train))
    assert images.shape == (32, 28, 28, 1) and images.dtype.name == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    assert labels.dtype.name == "int32"
    assert data.info.num_train + data.info.num_validation == 256
    assert data.info.input_shape == (28, 28, 1) and data.info.num_classes == 10


def test_seeded_shuffle_is_reproducible_and_seed_dependent():
    def first_labels(seed):
        data = load_dataset("digits", batch_size=64, seed=seed)
        return next(iter(data.train))[1].numpy()

    np.testing.assert_array_equal(first_labels(1), first_labels(1))
    assert not np.array_equal(first_labels(1), first_labels(2))


def test_augmentation_is_deterministic_for_a_seed():
    x = np.random.default_rng(0).integers(0, 255, (16, 12, 12, 1)).astype(np.uint8)
    y = np.zeros(16, np.int64)

    def run(seed):
        ds = make_pipeline(x, y, batch_size=16, scale=255.0, seed=seed, augment="shift")
        return next(iter(ds))[0].numpy()

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))
    assert not np.array_equal(run(3), x / 255.0)


def test_batch_augmentation_gives_each_image_its_own_shift_and_jitter():
    """The vectorised policies transform every image of a batch on its own: each shifted image
    is its zero-padded original cropped at its own offset in [0, 2 * pad] drawn from the key
    (one and three channels), and brightness/contrast equal tf.image's per-image ops."""
    import tensorflow as tf

    from fdl_keras.data.augment import jitter, shift

    rng = np.random.default_rng(0)
    key = tf.constant([5, 7], tf.int64)
    offsets = tf.random.stateless_uniform((32, 2), seed=key, minval=0, maxval=5, dtype=tf.int32)
    assert len({tuple(o) for o in offsets.numpy()}) > 8  # 25 possible offsets, 32 images
    for channels in (1, 3):  # the shift has a 3-D path for one channel
        images = rng.uniform(0.2, 0.8, (32, 10, 12, channels)).astype(np.float32)
        shifted = shift(tf.constant(images), key, pad=2).numpy()
        padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
        for i, (dy, dx) in enumerate(offsets.numpy()):
            expected = padded[i, dy : dy + 10, dx : dx + 12]
            np.testing.assert_array_equal(shifted[i], expected, err_msg=f"image {i}, {channels}")

    images = rng.uniform(0.2, 0.8, (32, 10, 12, 3)).astype(np.float32)
    jittered = jitter(tf.constant(images), key, strength=0.2).numpy()
    k1, k2 = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    delta = tf.random.stateless_uniform((32, 1, 1, 1), seed=k1, minval=-0.2, maxval=0.2).numpy()
    factor = tf.random.stateless_uniform((32, 1, 1, 1), seed=k2, minval=0.8, maxval=1.2).numpy()
    assert np.ptp(delta) > 0.1 and np.ptp(factor) > 0.1
    for i in (0, 17):
        expected = tf.image.adjust_contrast(
            tf.image.adjust_brightness(images[i], float(delta[i, 0, 0, 0])),
            float(factor[i, 0, 0, 0]),
        )
        np.testing.assert_allclose(jittered[i], np.clip(expected.numpy(), 0, 1), rtol=0, atol=1e-6)


def test_embedded_digits_needs_no_files(monkeypatch, tmp_path):
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    data = load_dataset("digits")
    assert data.info.input_shape == (8, 8, 1) and data.info.num_test == 360
    assert "scikit-learn" in data.info.source


def test_keras_npz_in_the_data_dir(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 255, (50, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 50, dtype=np.uint8),
        "x_test": rng.integers(0, 255, (20, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    (tmp_path / "fashion_mnist").mkdir()
    np.savez(tmp_path / "fashion_mnist" / "fashion_mnist.npz", **arrays)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    (x_train, _), (x_test, y_test) = load_arrays("fashion_mnist")[0]
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    assert load_dataset("fashion_mnist", batch_size=10).info.class_names[0] == "t-shirt"


def test_idx_reader_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = (0x0803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in images.shape)
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write(header + images.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), images)


def test_missing_dataset_offline_names_file_dir_and_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FDL_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(fdl_keras.DatasetNotFoundError) as err:
        load_dataset("mnist")
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message and "FDL_DATA_DIR" in message
    assert str(tmp_path) in message and "\n" not in message


def test_failed_download_gives_the_same_error(monkeypatch, tmp_path):
    import keras

    def no_network():
        raise OSError("URL fetch failure: name resolution failed")

    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FDL_OFFLINE", "0")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", no_network)
    with pytest.raises(
        fdl_keras.DatasetNotFoundError, match="download failed.*cifar-10-batches-py"
    ):
        load_dataset("cifar10")


def test_unknown_dataset_and_bad_arrays():
    with pytest.raises(fdl_keras.UnknownDatasetError, match="did you mean mnist"):
        load_dataset("mnsit")
    x = np.zeros((4, 8, 8), np.float32)
    x[0, 0, 0] = np.nan
    with pytest.raises(fdl_keras.InvalidInputError, match="1 NaN/inf"):
        make_pipeline(x, np.zeros(4), batch_size=2)
    with pytest.raises(fdl_keras.InvalidInputError, match="4 images but 3 labels"):
        make_pipeline(np.zeros((4, 8, 8)), np.zeros(3), batch_size=2)


def test_every_dataset_is_a_registered_provider_with_one_info_shape():
    from fdl_keras.data import DatasetInfo, list_datasets

    names = {p.name for p in list_datasets()}
    assert {"mnist", "fashion_mnist", "cifar10", "digits", "photos"} <= names
    photos = load_dataset("photos", batch_size=4, limit=16)
    assert isinstance(photos.info, DatasetInfo) and photos.info.num_classes is None
    x, y = next(iter(photos.train))
    assert x.shape == (4, 64, 64, 3) and np.array_equal(x.numpy(), y.numpy())  # own target
    assert 0.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
    digits = load_dataset("digits", batch_size=8, limit=64)
    assert digits.info.element_spec == digits.train.element_spec
    with pytest.raises(fdl_keras.UnknownDatasetError, match="photos"):  # lists the registered
        load_dataset("nope")


def test_a_new_dataset_is_one_provider_with_the_same_lookup_and_error(monkeypatch, tmp_path):
    from fdl_keras.data import dataset, find_data
    from fdl_keras.data.registry import _PROVIDERS
    from fdl_keras.errors import DatasetNotFoundError

    @dataset("toy_corpus", files="toy/: corpus.txt")
    def load_toy(name, **kwargs):
        return find_data("Toy corpus", ["corpus.txt"], subdir="toy", hint="corpus.txt")

    try:
        monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
        with pytest.raises(DatasetNotFoundError) as err:
            load_dataset("toy_corpus")
        message = str(err.value)
        assert "Toy corpus not found" in message and str(tmp_path) in message
        assert "corpus.txt" in message and "FDL_DATA_DIR" in message and "\n" not in message
        (tmp_path / "toy").mkdir()
        (tmp_path / "toy" / "corpus.txt").write_text("a b c")
        assert load_dataset("toy_corpus") == tmp_path / "toy" / "corpus.txt"
    finally:
        del _PROVIDERS["toy_corpus"]


@pytest.mark.parametrize("limit", [0, -5])
def test_a_limit_that_leaves_nothing_is_refused(limit):
    with pytest.raises(fdl_keras.InvalidInputError, match="limit must be >= 1"):
        load_dataset("digits", limit=limit)


@pytest.mark.parametrize("n, batch, drop_remainder", [(10, 3, False), (10, 3, True), (5, 8, False)])
def test_batched_shuffled_indices_are_the_batches_of_the_element_order(n, batch, drop_remainder):
    from fdl_keras.data.pipeline import EpochOrder, shuffled_indices

    elements, batches = EpochOrder(), EpochOrder()
    for epoch in (0, 3):
        elements.set(epoch)
        batches.set(epoch)
        expected = shuffled_indices(n, 7, elements).batch(batch, drop_remainder=drop_remainder)
        got = shuffled_indices(n, 7, batches, batch_size=batch, drop_remainder=drop_remainder)
        assert int(got.cardinality()) == int(expected.cardinality())
        pairs = list(zip(expected, got, strict=True))
        assert pairs
        for (expected_keys, expected_i), (keys, i) in pairs:
            np.testing.assert_array_equal(keys, expected_keys)
            np.testing.assert_array_equal(i, expected_i)


def test_training_pipelines_run_without_the_autotuner_on_a_cpu_only_machine():
    from fdl_keras.data.pipeline import device_options
    from fdl_keras.tasks import accelerator_present

    spec = fdl_keras.get_spec("mnist_mlp")
    data = load_dataset("digits")
    splits = spec.pairs(spec.build(hidden_units=(4,)), data, 0)
    assert len(splits) == 3
    for split in splits:
        # On a CPU the autotuner's thread competes with the step for 2 cores (RESULTS_speed.md)
        assert (split.options().autotune.enabled is False) is not accelerator_present()
    assert device_options(None) is None
