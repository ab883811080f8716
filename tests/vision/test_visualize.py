"""Filter grids, activation maps and t-SNE plots are written as PNGs of the expected size."""

import keras
import matplotlib.image
import numpy as np

import fdl_keras
from fdl_keras.vision import visualize


def png_shape(path):
    return matplotlib.image.imread(path).shape


def test_filter_grid_activation_maps_and_tsne(tmp_path):
    model = fdl_keras.build("cifar_cnn", filters=(8, 8), dense_units=(16, 8))
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(40, 32, 32, 3)).astype(np.float32)
    labels = np.repeat(np.arange(4), 10)

    grid = visualize.filter_grid(model, tmp_path / "filters.png", figsize=(4, 3))
    # 8 RGB 5x5 filters in a 3x3 grid with 1-pixel gaps, each scaled to [0, 1].
    assert grid.shape == (17, 17, 3) and grid.min() >= 0 and grid.max() <= 1
    assert png_shape(tmp_path / "filters.png") == (300, 400, 4)

    maps = visualize.activation_maps(model, images[0], tmp_path / "maps.png", layer="conv_2")
    assert maps.shape == (16, 16, 8)  # conv_2 sees the 2x-pooled map
    assert png_shape(tmp_path / "maps.png") == (600, 600, 4)
    # The maps are the layer's own output for that image, not some other tensor of its shape.
    for name, image in (("conv_2", images[0]), ("conv_1", images[1])):
        probe = keras.Model(model.inputs, model.get_layer(name).output)
        expected = probe.predict(image[None], verbose=0)[0]
        got = visualize.activation_maps(
            model, image, tmp_path / f"{name}.png", layer=None if name == "conv_1" else name
        )
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=name)

    names = ["a", "b", "c", "d"]
    embedding = visualize.tsne_plot(
        model, images, labels, tmp_path / "tsne.png", class_names=names, figsize=(5, 4)
    )
    assert embedding.shape == (40, 2) and np.isfinite(embedding).all()
    assert png_shape(tmp_path / "tsne.png") == (400, 500, 4)


def test_grey_filters_and_penultimate_features(tmp_path):
    model = fdl_keras.build("mnist_cnn", filters=(6, 4), dense_units=12)
    grid = visualize.filter_grid(model, tmp_path / "f.png")
    assert grid.shape == (11, 17)  # 6 grey 5x5 filters in 2 rows of 3
    images = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype(np.float32)
    features = visualize.penultimate_features(model, images)
    assert features.shape == (3, 12)
    # They are what the output layer reads: softmax(features W + b) is the model's prediction.
    kernel, bias = model.layers[-1].get_weights()
    logits = features @ kernel + bias
    by_hand = np.exp(logits - logits.max(axis=1, keepdims=True))
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(by_hand, model.predict(images, verbose=0), rtol=1e-4, atol=1e-6)
