"""Permutation importance, partial dependence, LIME and SHAP recover the known structure of
``synthetic_tabular`` (only x0, x1, x2 matter: logit = 2.5 x0 - 2 x1 + 1.5 x2)."""

import numpy as np
import pytest

from fdl_keras.data import load_dataset
from fdl_keras.errors import InvalidInputError
from fdl_keras.interpret import adapter, attributions
from fdl_keras.interpret.baselines import fit_baselines

INFORMATIVE = {0, 1, 2}


def test_breast_cancer_is_embedded_and_standardised():
    data = load_dataset("breast_cancer", batch_size=16)
    assert data.info.input_shape == (30,) and data.info.num_classes == 2
    assert data.info.num_train + data.info.num_validation + data.info.num_test == 569
    x, y = next(iter(data.train))
    assert x.shape == (16, 30) and set(np.unique(y.numpy())) <= {0, 1}
    test_x, _ = data.arrays["test"]
    assert abs(float(test_x.mean())) < 0.2 and 0.7 < float(test_x.std()) < 1.3


def test_permutation_importance_ranks_the_informative_features(synthetic, synthetic_mlp):
    result = adapter.permutation_importance(
        synthetic_mlp, synthetic.x_test, synthetic.y_test, n_repeats=5
    )
    importance = result.importances_mean
    assert set(np.argsort(-importance)[:3]) == INFORMATIVE, importance
    assert importance[[0, 1, 2]].min() > 0.1  # shuffling one costs 10+ accuracy points
    assert np.abs(importance[3:]).max() < 0.02, importance  # the others cost nothing


def test_partial_dependence_follows_the_known_signs(synthetic, synthetic_mlp):
    average = {
        i: adapter.partial_dependence(synthetic_mlp, synthetic.x_test, [i])["average"][0]
        for i in (0, 1, 5)
    }
    rise = {i: a[-1] - a[0] for i, a in average.items()}
    assert rise[0] > 0.5 and np.all(np.diff(average[0]) > -0.01)  # increasing in x0
    assert rise[1] < -0.4 and np.all(np.diff(average[1]) < 0.01)  # decreasing in x1
    assert abs(rise[5]) < 0.05  # flat in a noise feature


def test_shap_values_add_up_and_rank_the_informative_features(synthetic, synthetic_mlp):
    x = synthetic.x_test[:20]
    explanation = attributions.shap_tabular(synthetic_mlp, synthetic.x_train, x)
    output = adapter.predict_probabilities(synthetic_mlp)(x)[:, -1]
    # Efficiency: the values sum to the output minus the expected value.
    np.testing.assert_allclose(
        explanation.values.sum(axis=1), output - explanation.base_values, atol=1e-3
    )
    mean_abs = np.abs(explanation.values).mean(axis=0)
    assert set(np.argsort(-mean_abs)[:3]) == INFORMATIVE, mean_abs


def test_lime_weights_point_at_the_informative_features(synthetic, synthetic_mlp):
    rows = synthetic.x_test[:3]
    for row in rows:
        result = attributions.lime_tabular(
            synthetic_mlp, synthetic.x_train, row, label=1, num_samples=1500
        )
        assert set(np.argsort(-np.abs(result.weights))[:3]) == INFORMATIVE, result.weights
        # Signs of the true logit: + for x0 and x2, - for x1 (probability of class 1).
        assert result.weights[0] > 0 and result.weights[1] < 0 and result.weights[2] > 0


def test_interpretable_baselines_agree_with_the_known_answer(synthetic):
    fitted = fit_baselines(synthetic.x_train, synthetic.y_train, synthetic.x_test, synthetic.y_test)
    for name, baseline in fitted.items():
        assert baseline.accuracy > 0.8, name
        assert set(np.argsort(-baseline.importance)[:3]) == INFORMATIVE, name


def test_adapter_refuses_inputs_of_the_wrong_width(synthetic_mlp):
    estimator = adapter.KerasClassifier(synthetic_mlp).fit()
    with pytest.raises(InvalidInputError, match=r"do not fit .* input \(8,\)"):
        estimator.predict(np.zeros((2, 5)))
    with pytest.raises(InvalidInputError, match="num_samples must be >= 1"):
        attributions.lime_tabular(synthetic_mlp, np.zeros((4, 8)), np.zeros(8), num_samples=0)
