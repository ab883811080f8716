"""LIME and SHAP on text, with a classifier whose answer is known: "good" and "bad"
decide."""

import numpy as np

from fdl_keras.interpret import attributions


def known_classifier(texts):
    """P(positive) = sigmoid(2 * (#good - #bad)); the other words do nothing."""
    score = np.array([2.0 * (t.split().count("good") - t.split().count("bad")) for t in texts])
    positive = 1.0 / (1.0 + np.exp(-score))
    return np.stack([1.0 - positive, positive], axis=1)


TEXT = "the film was good and the cast was good but the end was bad"


def test_lime_text_finds_the_deciding_words():
    result, tokens = attributions.lime_text(known_classifier, TEXT, label=1, num_samples=500)
    weights = dict(zip(tokens, result.weights))
    strongest = {tokens[i] for i in np.argsort(-np.abs(result.weights))[:3]}
    assert strongest == {"good", "bad"}  # "good" occurs twice
    assert weights["bad"] < 0 < weights["good"]


def test_shap_text_adds_up_and_finds_the_deciding_words():
    explanation = attributions.shap_text(known_classifier, [TEXT], max_evals=300)[0]
    output = known_classifier([TEXT])[0, 1]
    np.testing.assert_allclose(
        explanation.values.sum() + explanation.base_values, output, atol=1e-3
    )
    words = [str(w).strip() for w in explanation.data]
    value = dict(zip(words, explanation.values))  # the last of each repeated word
    assert value["good"] > 0.1 and value["bad"] < -0.1
    # Partition SHAP credits phrases of its word clustering ("was good" may share): only the
    # phrases around the deciding words get anything.
    credited = {w for w, v in zip(words, explanation.values) if abs(v) > 1e-6}
    assert credited <= {"was", "good", "bad"}, credited
