"""LIME and SHAP image maps and the deletion test on a model whose answer is known: class 1
when the top-left 8x8 corner is bright (the rest of the image is ignored)."""

import keras
import numpy as np
import pytest

from fdl_keras.interpret import attributions


@pytest.fixture(scope="module")
def corner_model():
    inputs = keras.Input((16, 16, 1))
    corner = keras.layers.Cropping2D(((0, 8), (0, 8)))(inputs)
    mean = keras.layers.GlobalAveragePooling2D()(corner)
    logits = keras.layers.Dense(2)(mean)
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    model.layers[-2].set_weights([np.array([[-20.0, 20.0]]), np.array([5.0, -5.0])])
    return model


@pytest.fixture(scope="module")
def bright_images():
    return np.random.default_rng(0).uniform(0.4, 1.0, size=(6, 16, 16, 1)).astype("float32")


def test_lime_map_lights_up_the_corner_and_deletion_drops(corner_model, bright_images):
    maps = np.stack(
        [attributions.lime_image(corner_model, im, num_samples=300)[0] for im in bright_images]
    )
    inside, outside = maps[:, :8, :8].mean(), np.abs(maps[:, 8:, :]).mean()
    assert inside > 10 * outside, (inside, outside)
    labels = np.ones(len(bright_images), int)
    fractions = (0.0, 0.25)
    lime_curve = attributions.deletion_curve(corner_model, bright_images, labels, maps, fractions)
    random = np.random.default_rng(1).uniform(size=maps.shape)
    random_curve = attributions.deletion_curve(
        corner_model, bright_images, labels, random, fractions
    )
    assert lime_curve[0] == 1.0 and lime_curve[1] == 0.0 and random_curve[1] == 1.0


@pytest.mark.slow  # shap compiles its partition code on first use (~20 s)
def test_shap_image_map_adds_up_and_lights_up_the_corner(corner_model, bright_images):
    images = bright_images[:2]
    maps = attributions.shap_image(corner_model, images, max_evals=300)
    f = attributions.predict_probabilities(corner_model)
    labels = np.argmax(f(images), axis=1)
    expected = f(images)[[0, 1], labels] - f(np.zeros_like(images))[[0, 1], labels]
    np.testing.assert_allclose(maps.reshape(2, -1).sum(axis=1), expected, atol=1e-3)
    assert np.abs(maps[:, :8, :8]).sum() > 0.99 * np.abs(maps).sum()


def test_bad_image_inputs_raise_one_line_errors(corner_model, bright_images):
    from fdl_keras.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="one value per pixel"):
        attributions.deletion_curve(
            corner_model, bright_images, np.ones(6), np.zeros((6, 10)), (0.1,)
        )
    with pytest.raises(InvalidInputError, match=r"image must be \(height, width, channels\)"):
        attributions.lime_image(corner_model, bright_images)
