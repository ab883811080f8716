"""Chapter 4: splits, early stopping and the regularisation study on real data."""

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.data import load_arrays
from fdl_keras.errors import InvalidInputError
from fdl_keras.fundamentals import training


def digits():
    ((x_train, y_train), _), _ = load_arrays("digits")
    return x_train, y_train


def test_splits_are_disjoint_stratified_and_reproducible():
    x, y = digits()
    ids = np.arange(len(x))  # split example ids to check disjointness exactly
    splits = training.split_dataset(ids, y, validation_fraction=0.2, test_fraction=0.1, seed=3)
    parts = [splits.train[0], splits.validation[0], splits.test[0]]
    assert sum(len(p) for p in parts) == len(x)
    assert len(np.unique(np.concatenate(parts))) == len(x)  # disjoint and complete
    assert abs(len(splits.validation[0]) - 0.2 * len(x)) <= 1
    assert abs(len(splits.test[0]) - 0.1 * len(x)) <= 1
    for part_ids, part_y in (splits.train, splits.validation, splits.test):
        np.testing.assert_array_equal(part_y, y[part_ids])  # labels travel with their examples
        # Stratified: every class share within one example of its share overall.
        expected = np.bincount(y, minlength=10) / len(y) * len(part_y)
        assert np.all(np.abs(np.bincount(part_y, minlength=10) - expected) <= 1.0)
    again = training.split_dataset(ids, y, validation_fraction=0.2, test_fraction=0.1, seed=3)
    other = training.split_dataset(ids, y, validation_fraction=0.2, test_fraction=0.1, seed=4)
    np.testing.assert_array_equal(again.test[0], splits.test[0])
    assert not np.array_equal(other.test[0], splits.test[0])


def test_split_rejects_bad_fractions_and_lengths():
    x, y = np.arange(10), np.arange(10) % 2
    with pytest.raises(InvalidInputError, match="leaves no training data"):
        training.split_dataset(x, y, validation_fraction=0.5, test_fraction=0.5)
    with pytest.raises(InvalidInputError, match="test_fraction must be in"):
        training.split_dataset(x, y, test_fraction=0.0)
    with pytest.raises(InvalidInputError, match="one label each"):
        training.split_dataset(x, y[:5])


def test_early_stopping_stops_and_restores_best_weights():
    # A wide net on 200 digits with a large step overfits within a few epochs.
    x, y = digits()
    splits = training.split_dataset(x / 16.0, y, validation_fraction=0.5, test_fraction=0.1)
    x_train, y_train = splits.train[0][:200], splits.train[1][:200]
    keras.utils.set_random_seed(0)
    model = fdl_keras.build("mnist_mlp", image_shape=(8, 8, 1), hidden_units=(256, 256))
    model.compile(
        keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", steps_per_execution=8
    )
    result = training.fit_with_early_stopping(
        model, (x_train, y_train), splits.validation, epochs=60, patience=3, batch_size=32
    )
    val_losses = result.history["val_loss"]
    assert result.stopped_epoch is not None and len(val_losses) < 60
    assert len(val_losses) == result.stopped_epoch + 1
    assert result.best_epoch == int(np.argmin(val_losses))
    assert result.stopped_epoch - result.best_epoch == 3  # patience ran out
    restored = model.evaluate(*splits.validation, verbose=0)
    np.testing.assert_allclose(restored, min(val_losses), rtol=1e-5)
    assert restored < val_losses[-1]  # the last epoch's weights were worse and were dropped


def test_unregularised_net_overfits_and_l2_holds_validation_cost_lower(require_mnist):
    histories = training.regularization_study(
        {"none": {}, "l2": {"l2": 3e-3}},
        train_size=256,
        epochs=30,
        batch_size=32,
        dataset="mnist",
        hidden_units=(128, 128),
    )
    none, l2 = histories["none"], histories["l2"]
    assert set(none) >= {"loss", "cross_entropy", "val_cross_entropy", "val_accuracy"}
    assert len(none["loss"]) == len(l2["loss"]) == 30
    # Unregularised: training cost near zero while validation cost rose from its minimum.
    assert none["cross_entropy"][-1] < 0.01
    assert none["val_cross_entropy"][-1] > 1.05 * min(none["val_cross_entropy"])
    assert l2["val_cross_entropy"][-1] < none["val_cross_entropy"][-1]
    # The L2 penalty is part of the optimised loss but not of the cross-entropy metric.
    assert l2["loss"][-1] > l2["cross_entropy"][-1] + 0.01
    np.testing.assert_allclose(none["loss"], none["cross_entropy"], rtol=1e-4)


def test_regularization_study_rejects_unknown_variant():
    with pytest.raises(InvalidInputError, match="unknown regulariser 'l3'"):
        training.regularization_study(["none", "l3"])
