"""Chapter 6: the optimizer study and the linear-interpolation experiment on real MNIST."""

import os
from pathlib import Path

import numpy as np
import pytest

from fdl_keras.data import load_dataset
from fdl_keras.errors import InvalidInputError
from fdl_keras.fundamentals import optimizers

STEPS = 250


@pytest.fixture(scope="module")
def study():
    data_dir = os.environ.get("FDL_DATA_DIR", "")
    if not (data_dir and (Path(data_dir) / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()):
        pytest.skip("real MNIST not found: set FDL_DATA_DIR to a folder with mnist/ (see README)")
    return optimizers.optimizer_study(
        ("sgd", "momentum"),
        learning_rate=0.01,
        max_steps=STEPS,
        window=50,
        stop_at_target=False,
        dataset="mnist",
        limit=5000,
        hidden_units=(128, 128),
    )


def test_momentum_lowers_the_cost_faster_than_sgd(study):
    sgd, momentum = study.runs["sgd"], study.runs["momentum"]
    assert len(sgd.losses) == len(momentum.losses) == STEPS
    # Same initial weights and the same first minibatch: a fair race.
    assert sgd.losses[0] == momentum.losses[0]
    assert momentum.smoothed[-1] < 0.5 * sgd.smoothed[-1], (momentum.smoothed[-1], sgd.smoothed[-1])
    # Momentum gets below a cost that plain SGD never reaches in the budget.
    threshold = 0.9 * sgd.smoothed.min()
    assert optimizers.steps_to_target(momentum.smoothed, threshold, 50) is not None
    assert optimizers.steps_to_target(sgd.smoothed, threshold, 50) is None
    rows = {row["optimizer"]: row for row in study.table()}
    assert rows["sgd"]["steps_run"] == STEPS and rows["momentum"]["learning_rate"] == 0.01


def test_interpolation_ends_reproduce_both_models_and_minimum_is_near_one(study):
    model = study.model
    theta0, theta1 = study.initial_weights, study.runs["momentum"].weights
    data = load_dataset("mnist", batch_size=100, seed=0, limit=5000)  # training batches
    batches = [(x.numpy(), y.numpy()) for x, y in data.train.take(5)]
    result = optimizers.linear_interpolation(model, theta0, theta1, batches)
    assert result.alphas[0] == -1.0 and result.alphas[-1] == 2.0
    model.set_weights(theta0)
    loss0 = optimizers.mean_loss(model, batches)
    model.set_weights(theta1)
    loss1 = optimizers.mean_loss(model, batches)
    assert result.losses[list(result.alphas).index(0.0)] == loss0
    assert result.losses[list(result.alphas).index(1.0)] == loss1
    assert loss1 < 0.3 * loss0
    assert 0.8 <= result.best_alpha <= 1.3, (result.best_alpha, result.losses)
    # Going back past theta_0 or far past theta_1 costs more than the trained weights.
    assert result.losses[0] > loss1 and result.losses[-1] > loss1


def test_running_mean_and_steps_to_target():
    losses = np.array([3.0, 1.0, 2.0, 0.0, 0.0, 0.2])
    smoothed = optimizers.running_mean(losses, window=2)
    np.testing.assert_allclose(smoothed, [3.0, 2.0, 1.5, 1.0, 0.0, 0.1])
    np.testing.assert_allclose(
        optimizers.running_mean(losses, window=10), np.cumsum(losses) / [1, 2, 3, 4, 5, 6]
    )
    assert optimizers.steps_to_target(smoothed, 0.1, window=2) == 5
    assert optimizers.steps_to_target(smoothed, 2.0, window=2) == 2  # not step 1: half a window
    assert optimizers.steps_to_target(smoothed, -1.0, window=2) is None


def test_errors_name_the_fix():
    with pytest.raises(InvalidInputError, match="unknown optimizer 'adamw'"):
        optimizers.optimizer_study(("sgd", "adamw"))
    with pytest.raises(InvalidInputError, match="same model"):
        optimizers.linear_interpolation(None, [np.zeros(2)], [], [])
    assert set(optimizers.OPTIMIZERS) == {
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
    }
