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
    # The confidence is the mean of the classifier's own top probability, computed here by hand.
    by_hand = np.mean(np.max(classifier.predict(mnist_images[:200], verbose=0), axis=1))
    assert quality["mean_confidence"] == pytest.approx(by_hand, rel=1e-5)
    shifted = sample_quality(classifier, np.roll(mnist_images[:200], 6, axis=2), features)
    assert shifted["frechet_distance"] > 1e-3


def test_mean_confidence_by_hand():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.25, 0.5]])
    assert mean_confidence(probabilities) == pytest.approx((0.7 + 0.6 + 0.5) / 3)


def test_quality_of_a_classifier_with_a_known_answer(mnist_images):
    """A classifier whose softmax ignores its input (zero kernel, bias = log p) gives every
    image the probabilities p: the confidence is max(p) and every image votes for argmax(p)."""
    classifier = fdl_keras.build("mnist_cnn", filters=(4, 8), dense_units=16)
    head = classifier.get_layer("probabilities")
    p = np.full(10, 0.4 / 9)
    p[3] = 0.6
    head.set_weights([np.zeros_like(head.get_weights()[0]), np.log(p).astype(np.float32)])
    quality = sample_quality(classifier, mnist_images[:50])
    assert quality["mean_confidence"] == pytest.approx(0.6, rel=1e-5)
    assert quality["top_class_share"] == 1.0
    # Half the images get the confident head, half a uniform one: the mean is (0.6 + 0.1) / 2.
    _, probabilities = classifier_outputs(classifier, mnist_images[:50])
    mixed = np.concatenate([probabilities[:25], np.full((25, 10), 0.1)])
    assert mean_confidence(mixed) == pytest.approx(0.35, rel=1e-5)


def test_missing_classifier_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="fdl train mnist_cnn"):
        load_classifier(tmp_path / "none.keras")
