"""Fréchet distance and classifier confidence with the package's MNIST CNN."""

import numpy as np
import pytest

import fdl_keras
from fdl_keras.generative import (
    classifier_outputs,
    frechet_distance,
    load_classifier,
    mean_confidence,
    sample_quality,
)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_a_shifted_set_is_the_squared_shift():
    features = np.random.default_rng(0).normal(size=(500, 16))
    shift = np.linspace(-1, 1, 16)
    assert frechet_distance(features, features + shift) == pytest.approx(np.sum(shift**2))
    assert frechet_distance(features, 2 * features) > 1.0  # same mean, wider spread


def test_frechet_distance_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200_000, 3))
    b = rng.normal(size=(200_000, 3)) * 2 + 1  # N(1, 4 I): d = 3 * 1 + 3 * (1 + 4 - 2 * 2)
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.02)


def test_mismatched_features_are_rejected():
    with pytest.raises(fdl_keras.InvalidInputError, match="same d"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_quality_of_real_images_with_a_tiny_mnist_cnn(mnist_images):
    classifier = fdl_keras.build("mnist_cnn", filters=(4, 8), dense_units=16)
    features, probabilities = classifier_outputs(classifier, mnist_images[:200])
    assert features.shape == (200, 16) and probabilities.shape == (200, 10)
    quality = sample_quality(classifier, mnist_images[:200], reference=features)
    assert quality["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert 0.1 <= quality["mean_confidence"] == mean_confidence(probabilities) <= 1.0
    shifted = sample_quality(classifier, np.roll(mnist_images[:200], 6, axis=2), features)
    assert shifted["frechet_distance"] > 1e-3


def test_missing_classifier_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="fdl train mnist_cnn"):
        load_classifier(tmp_path / "none.keras")
