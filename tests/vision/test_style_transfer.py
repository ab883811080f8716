"""Style transfer: Gram matrices, the three loss terms, the image loop and the one-pass network."""

import importlib

import matplotlib.image
import numpy as np
import pytest

import fdl_keras
from fdl_keras.vision import style_transfer as st

onnx_export = importlib.import_module("fdl_keras.export.onnx")


@pytest.fixture(scope="module")
def photos():
    images = st.sample_photos()
    return st.resize(images["china"], 32), st.resize(images["flower"], 32)


def test_gram_matrix_and_total_variation_by_hand():
    f = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    flat = f.reshape(2, 12, 5)
    expected = np.einsum("bpc,bpd->bcd", flat, flat) / 12
    np.testing.assert_allclose(st.gram_matrix(f), expected, rtol=1e-5)
    image = np.zeros((1, 4, 4, 3), np.float32)
    image[0, :, 2:] = 1.0  # one vertical edge of height 4 in 3 channels
    np.testing.assert_allclose(st.total_variation_loss(image), [4 * 3 / 48])


def test_stylize_lowers_the_loss_and_writes_a_png(photos, tmp_path):
    content, style = photos
    result = st.stylize(
        content, style, steps=12, weights=None, output=tmp_path / "styled.png", progress=False
    )
    loss = result.history["loss"]
    assert len(loss) == 12 and loss[-1] < 0.7 * loss[0]
    assert result.history["content"][0] == pytest.approx(0.0, abs=1e-6)  # starts at the content
    assert result.image.shape == content.shape
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    assert matplotlib.image.imread(result.path).shape[:2] == content.shape[:2]


def test_style_network_trains_with_the_perceptual_loss_and_runs_any_size_in_onnx(photos, tmp_path):
    content, style = photos
    model = fdl_keras.build("fast_style_transfer", filters=(4, 8, 8), residual_blocks=1)
    crops = st.random_crops([content], count=8, size=16)
    history = st.train_style_network(
        model, crops, style, epochs=3, batch_size=4, weights=None, verbose=0
    )
    assert np.all(np.isfinite(history["loss"])) and history["loss"][-1] < history["loss"][0]
    # One exported network styles images of any size divisible by 4.
    path = onnx_export.export_onnx(model, tmp_path / "style.onnx")
    image = content[None, :16, :24]
    got = onnx_export.onnx_runner(path)([image])[0]
    np.testing.assert_allclose(got, model.predict_on_batch(image), atol=1e-5)
    assert got.shape == (1, 16, 24, 3)


def test_bad_shapes_and_missing_weights_are_refused(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="image_shape must be"):
        st.StyleTransferNet(image_shape=(32, 32, 1))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # FDL_OFFLINE=1 is set by conftest
    with pytest.raises(fdl_keras.FdlError, match="weights=None for random features"):
        st.vgg19_features(st.GATYS_STYLE_LAYERS, weights="imagenet")
