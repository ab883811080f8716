"""PCA as a linear autoencoder: SVD weights cross-checked with scikit-learn."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

import fdl_keras
from fdl_keras.embeddings.pca import principal_components, set_pca_weights
from fdl_keras.errors import InvalidInputError


@pytest.fixture(scope="module")
def images():
    data = fdl_keras.load_dataset("mnist", limit=4000, batch_size=1000)
    return data.sample_batch(600)[0]


def test_svd_components_and_reconstructions_match_scikit_learn(images):
    k = 12
    mean, components, variance = principal_components(images, k)
    flat = images.reshape(len(images), -1).astype(np.float64)
    reference = PCA(n_components=k, svd_solver="full").fit(flat)
    np.testing.assert_allclose(mean, reference.mean_, atol=1e-5)
    np.testing.assert_allclose(components, reference.components_, atol=1e-5)
    np.testing.assert_allclose(variance, reference.explained_variance_, rtol=1e-5)

    model = fdl_keras.build("pca_mnist", code_dim=k)
    set_pca_weights(model, mean, components)
    codes = model.encoder.predict(images, verbose=0)
    np.testing.assert_allclose(codes, reference.transform(flat), atol=1e-5)
    restored = model.predict(images, verbose=0).reshape(len(images), -1)
    np.testing.assert_allclose(
        restored, reference.inverse_transform(reference.transform(flat)), atol=1e-5
    )


def test_pca_error_falls_with_more_components_and_beats_a_random_projection(images):
    flat = images.reshape(len(images), -1)
    errors = []
    for k in (2, 30):
        mean, components, _ = principal_components(images, k)
        codes = (flat - mean) @ components.T
        errors.append(((codes @ components + mean - flat) ** 2).sum(axis=1).mean())
    random = np.linalg.qr(np.random.default_rng(0).normal(size=(784, 30)))[0].T
    mean = flat.mean(axis=0)
    random_error = ((((flat - mean) @ random.T) @ random + mean - flat) ** 2).sum(axis=1).mean()
    assert errors[1] < errors[0] and errors[1] < 0.5 * random_error


def test_bad_inputs_raise_one_line_errors(images):
    with pytest.raises(InvalidInputError, match="k must be in"):
        principal_components(images[:10], 0)
    with pytest.raises(InvalidInputError, match="at least 2 images"):
        principal_components(images[:1], 1)
    with pytest.raises(InvalidInputError, match="not a linear autoencoder"):
        set_pca_weights(fdl_keras.build("autoencoder_mnist", hidden_units=(8,)), None, None)
