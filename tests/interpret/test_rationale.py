"""Lei et al.'s rationale model: the cost against a NumPy reference, the straight-through
sample, the custom layers' contract and the HTML view (the model contract and export of
``rationale_movie_reviews`` run in tests/test_model_contract.py and tests/test_export.py)."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from fdl_keras.interpret import html
from fdl_keras.interpret.rationale import (
    BudgetSelection,
    MaskedMeanPooling,
    PaddingMask,
    RationaleModel,
    TokenSelection,
    rationale_cost,
)
from fdl_keras.layers.contract import check_layer_contract


def numpy_cost(y, prediction, z, tokens, sparsity, coherence, target=None):
    """Lei et al.'s cost per review, one review at a time, padding (id 0) not counted; with a
    ``target`` fraction the sparsity term prices ``|kept - target|``."""
    totals = []
    for yi, pi, zi, ti in zip(y, prediction, z[..., 0], tokens):
        n = int((ti != 0).sum())
        zi = zi[:n]
        ce = -np.log(pi[yi])
        kept = zi.sum() / n
        transitions = np.abs(np.diff(zi)).sum() / n
        budget = kept if target is None else abs(kept - target)
        totals.append(ce + sparsity * budget + coherence * transitions)
    return np.array(totals)


@pytest.mark.parametrize("target", [None, 0.25])
def test_cost_matches_the_numpy_reference(target):
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 50, size=(5, 12))
    tokens[1, 7:] = 0  # padded reviews
    tokens[3, 3:] = 0
    z = (rng.uniform(size=(5, 12, 1)) < 0.4).astype("float32")
    prediction = rng.dirichlet([1.0, 1.0], size=5).astype("float32")
    y = rng.integers(0, 2, size=5)
    total, *_ = rationale_cost(
        y, prediction, z, tokens, sparsity=0.3, coherence=0.7, target_fraction=target
    )
    np.testing.assert_allclose(
        np.asarray(total), numpy_cost(y, prediction, z, tokens, 0.3, 0.7, target), rtol=1e-5
    )


def test_selection_is_a_bernoulli_sample_with_a_straight_through_gradient():
    layer = TokenSelection(temperature=0.5)
    p = np.array([[[0.1], [0.5], [0.8]]], "float32")
    # noise 0.5: the deterministic rationale p > 0.5
    np.testing.assert_array_equal(layer(p, np.full_like(p, 0.5))[0, :, 0], [0.0, 0.0, 1.0])
    # uniform noise: selected with probability p
    noise = np.random.default_rng(0).uniform(size=(20000, 3, 1)).astype("float32")
    frequency = np.asarray(layer(np.repeat(p, 20000, axis=0), noise)).mean(axis=0)[:, 0]
    np.testing.assert_allclose(frequency, [0.1, 0.5, 0.8], atol=0.02)
    # the value is exactly 0/1, the gradient that of the relaxed sample (non-zero)
    p_var = tf.Variable(p)
    with tf.GradientTape() as tape:
        z = layer(p_var, np.full_like(p, 0.3))
        total = tf.reduce_sum(z)
    assert set(np.unique(np.asarray(z))) <= {0.0, 1.0}
    assert np.all(np.asarray(tape.gradient(total, p_var)) > 0)


def numpy_budget_selection(p, noise, tokens, budget):
    """The ``max(1, floor(budget * n))`` largest ``logit(p) + logit(u)`` of each row's ``n``
    real tokens, one row at a time."""
    z = np.zeros(tokens.shape, "float32")
    for i, (pi, ui, ti) in enumerate(zip(p[..., 0], noise[..., 0], tokens)):
        real = np.nonzero(ti != 0)[0]
        score = np.log(pi / (1 - pi)) + np.log(ui / (1 - ui))
        k = max(int(np.floor(budget * len(real))), 1)
        z[i, real[np.argsort(-score[real])[:k]]] = 1.0
    return z


def test_budget_selection_keeps_the_top_k_of_each_review_with_a_gradient():
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 50, size=(6, 23))
    tokens[1, 9:] = 0
    tokens[4, 2:] = 0  # two words: still one kept
    p = rng.uniform(0.01, 0.99, size=(6, 23, 1)).astype("float32")
    layer = BudgetSelection(0.2)
    for noise in (np.full_like(p, 0.5), rng.uniform(size=p.shape).astype("float32")):
        z = np.asarray(layer(p, noise, tokens))[..., 0]
        np.testing.assert_array_equal(z, numpy_budget_selection(p, noise, tokens, 0.2))
    assert z[1, 9:].sum() == 0 and z[4].sum() == 1
    assert np.all(z.sum(1) <= np.maximum(np.floor(0.2 * (tokens != 0).sum(1)), 1))
    # The relaxation depends only on score differences: per review the gradient of the total
    # with respect to the logits sums to zero (no common drift), padding gets none.
    logits = tf.Variable(np.log(p / (1 - p)))
    with tf.GradientTape() as tape:
        z = layer(tf.sigmoid(logits), np.full_like(p, 0.5), tokens)
        total = tf.reduce_sum(z * np.linspace(1.0, 2.0, 23, dtype="float32")[:, None])
    grad = np.asarray(tape.gradient(total, logits))[..., 0]
    assert np.all(grad[tokens == 0] == 0) and np.abs(grad[tokens != 0]).max() > 1e-3
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-5)
    # In float16 (mixed precision, traced as in training) the same words are kept, and no
    # constant overflows the dtype on the way (warnings are errors here).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traced = tf.function(BudgetSelection(0.2, dtype="mixed_float16"))
        half = traced(p, np.full_like(p, 0.5), tokens)
    np.testing.assert_array_equal(
        np.asarray(half, "float32")[..., 0],
        numpy_budget_selection(p.astype("float16"), np.full_like(p, 0.5), tokens, 0.2),
    )
    with pytest.raises(ValueError, match="budget must be in"):
        BudgetSelection(0.0)


@pytest.mark.parametrize(
    "factory, inputs",
    [
        (lambda: PaddingMask(), [np.ones((2, 5, 3), "float32"), np.array([[1, 2, 0, 0, 0]] * 2)]),
        (
            lambda: TokenSelection(0.3),
            [np.full((2, 5, 1), 0.7, "float32"), np.full((2, 5, 1), 0.5, "float32")],
        ),
        (
            lambda: BudgetSelection(0.4, 0.3),
            [
                np.linspace(0.1, 0.9, 10, dtype="float32").reshape(2, 5, 1),
                np.full((2, 5, 1), 0.5, "float32"),
                np.array([[3, 4, 5, 0, 0], [3, 4, 5, 6, 7]]),
            ],
        ),
        (
            lambda: MaskedMeanPooling(),
            [np.arange(30, dtype="float32").reshape(2, 5, 3), np.ones((2, 5, 1), "float32")],
        ),
    ],
)
def test_layers_hold_the_layer_contract(factory, inputs, tmp_path):
    check_layer_contract(factory, inputs, tmp_path)


def test_padding_is_never_selected_and_the_mean_ignores_unselected_words():
    tokens = np.array([[5, 6, 0, 0]])
    out = PaddingMask()(np.ones((1, 4, 1), "float32"), tokens)
    np.testing.assert_array_equal(np.asarray(out)[0, :, 0], [1, 1, 0, 0])
    features = np.array([[[1.0], [3.0], [100.0]]], "float32")
    mean = MaskedMeanPooling()(features, np.array([[[1.0], [1.0], [0.0]]], "float32"))
    np.testing.assert_allclose(np.asarray(mean), [[2.0]])


def test_training_lowers_the_cost_and_rationales_are_binary():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, 30, size=(64, 20)).astype("int32")
    labels = (tokens[:, 0] % 2).astype("int32")  # the first word decides the class
    model = RationaleModel(30, embedding_dim=8, generator_units=4, filters=8, sparsity=0.1)
    model.compile(learning_rate=1e-2)
    history = model.fit(tokens, labels, epochs=6, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0], history["loss"]
    prediction, z = model.rationales(tokens)
    assert prediction.shape == (64, 2) and set(np.unique(z)) <= {0.0, 1.0}


def test_html_view_highlights_the_kept_words_and_escapes():
    page = html.rationale_page([["a", "<b>", "c"]], [[0.0, 1.0, 0.0]], ["label pos"])
    assert "&lt;b&gt;" in page and "<b>" not in page.replace("<body", "")
    assert page.count("rgba(255,200,0,1.00)") == 1 and page.count("rgba(255,200,0,0.00)") == 2
    with pytest.raises(ValueError, match="2 tokens but 3 weights"):
        html.highlight(["a", "b"], [1, 2, 3])


def test_a_budgeted_model_keeps_its_fraction_and_learns(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, 30, size=(64, 20)).astype("int32")
    labels = (tokens[:, 0] % 2).astype("int32")
    model = RationaleModel(
        30, embedding_dim=8, generator_units=4, filters=8, sparsity=0.0, budget=0.25
    )
    model.compile(learning_rate=1e-2)
    history = model.fit(tokens, labels, epochs=6, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0], history["loss"]
    np.testing.assert_allclose(history["kept"], 0.25)  # 5 of 20 words, every step
    _, z = model.rationales(tokens)
    np.testing.assert_array_equal(z.sum(1), 5)
    path = tmp_path / "budget.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.rationales(tokens)[1], z)
    with pytest.raises(ValueError, match="budget must be in"):
        RationaleModel(30, budget=1.5)


def test_target_fraction_is_in_the_config_and_checked():
    model = RationaleModel(30, embedding_dim=4, generator_units=2, filters=4, target_fraction=0.2)
    config = model.get_config()
    assert config["target_fraction"] == 0.2
    assert RationaleModel.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="target_fraction must be in"):
        RationaleModel(30, target_fraction=1.5)


def test_word_dropout_is_configured_checked_and_the_identity_at_inference(tmp_path):
    small = {"embedding_dim": 4, "generator_units": 2, "filters": 4}
    model = RationaleModel(30, word_dropout=0.5, generator_word_dropout=0.2, **small)
    config = model.get_config()
    assert (config["word_dropout"], config["generator_word_dropout"]) == (0.5, 0.2)
    assert model.encoder.get_layer("word_dropout").rate == 0.5
    assert model.generator.get_layer("word_dropout").rate == 0.2
    plain = RationaleModel(30, word_dropout=0.0, generator_word_dropout=0.0, **small)
    plain.set_weights(model.get_weights())
    tokens = np.random.default_rng(0).integers(1, 30, size=(4, 9)).astype("int32")
    tokens[1, 5:] = 0
    expected, z = plain.rationales(tokens)
    got, got_z = model.rationales(tokens)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_array_equal(got_z, z)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.rationales(tokens)[0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="word_dropout must be in"):
        RationaleModel(30, word_dropout=1.0, **small)


def numpy_attribution_targets(model, tokens, labels, budget):
    """Word t's term ``f_t . (W_y - mean_c W_c)`` of the true class's centred logit (the
    encoder reading every word); the top ``max(1, floor(budget * n))`` of each review are 1."""
    encoder = model.encoder
    real = (tokens != 0).astype("float32")
    embedded = np.asarray(encoder.get_layer("embedding")(tokens)) * real[..., None]
    features = np.asarray(encoder.get_layer("conv")(embedded))
    kernel = np.asarray(encoder.get_layer("prediction").kernel)
    centred = (kernel - kernel.mean(1, keepdims=True)).T[labels]
    attribution = np.einsum("btf,bf->bt", features, centred)
    targets = np.zeros_like(attribution)
    for row, (a, r) in enumerate(zip(attribution, real)):
        n = int(r.sum())
        targets[row, np.argsort(-a[:n], kind="stable")[: max(1, int(budget * n))]] = 1.0
    return targets


def test_attribution_loss_matches_a_numpy_reference_and_teaches_the_generator():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    tokens = rng.integers(2, 30, size=(64, 20)).astype("int32")
    tokens[:4, 15:] = 0  # padding is never a target
    labels = (tokens[:, 0] % 2).astype("int32")
    small = {"embedding_dim": 8, "generator_units": 4, "filters": 8}
    model = RationaleModel(30, sparsity=0.0, budget=0.1, attribution_weight=1.0, **small)
    targets = numpy_attribution_targets(model, tokens, labels, 0.1)
    real = tokens != 0
    p = np.clip(np.asarray(model.generator(tokens))[..., 0], 1e-6, 1 - 1e-6)
    bce = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)) * real
    expected = np.mean(bce.sum(1) / real.sum(1))
    loss = model._attribution_loss(tf.constant(tokens), tf.constant(labels), p[..., None])
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)

    # With the encoder frozen the targets stay fixed: the generator's deterministic rationale
    # learns them (chance overlap: 10 %).
    model.encoder.trainable = False
    model.compile(learning_rate=1e-2)
    model.fit(tokens, labels, epochs=100, batch_size=32, verbose=0)
    _, z = model.rationales(tokens)
    overlap = (z * targets).sum() / targets.sum()
    assert overlap > 0.7, overlap  # 0.875 when written; 0.14 with attribution_weight ~ 0
    assert model.get_config()["attribution_weight"] == 1.0
    with pytest.raises(ValueError, match="attribution_weight needs a budget"):
        RationaleModel(30, attribution_weight=1.0)
