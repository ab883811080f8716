"""Arc-standard transitions, the static oracle, beam search and global normalisation."""

import numpy as np
import pytest

from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
from fdl_keras.sequence.transitions import (
    LEFT,
    RIGHT,
    SHIFT,
    Configuration,
    features,
    is_projective,
    oracle_examples,
    replay,
    static_oracle,
)


@pytest.fixture(scope="module")
def treebank():
    from fdl_keras.data.treebank import dependency_sentences

    try:
        return dependency_sentences()
    except DatasetNotFoundError as exc:
        pytest.skip(f"dependency treebank not found: {exc}")


@pytest.fixture(scope="module")
def scorer():
    import keras

    from fdl_keras.sequence.parser import TransitionScorer

    keras.utils.set_random_seed(0)
    return TransitionScorer(
        vocabulary_size=5000, num_tags=48, word_dim=8, tag_dim=4, hidden_units=16
    )


def test_oracle_known_answer_and_legality():
    # "She ate fish": ate is the root, She and fish depend on it.
    heads = [2, 0, 2]
    assert static_oracle(heads) == [SHIFT, SHIFT, LEFT, SHIFT, RIGHT, RIGHT]
    config = Configuration(2)
    assert config.legal().tolist() == [True, False, False]
    config.apply(SHIFT)
    assert config.legal().tolist() == [True, False, False]  # ROOT takes its child last
    with pytest.raises(ValueError, match="not projective"):
        static_oracle([3, 4, 0, 3])  # arcs 1<-3 and 2<-4 cross
    assert not is_projective([3, 4, 0, 3]) and is_projective(heads)


def _positions_by_definition(config):
    """Chen & Manning's 18 positions written out plainly: s1-s3, b1-b3; lc1, rc1, lc2, rc2 of
    s1 and s2; lc1(lc1) and rc1(rc1) of s1 and s2 (-1: none)."""

    def lc(t, k=1):
        return config.left[t][k - 1] if t >= 0 and len(config.left[t]) >= k else -1

    def rc(t, k=1):
        return config.right[t][-k] if t >= 0 and len(config.right[t]) >= k else -1

    st = config.stack
    s = [st[-i] if len(st) >= i else -1 for i in (1, 2, 3)]
    b = [config.next + i if config.next + i <= config.n else -1 for i in (0, 1, 2)]
    children = [f(t, k) for t in s[:2] for f, k in ((lc, 1), (rc, 1), (lc, 2), (rc, 2))]
    return s + b + children + [g for t in s[:2] for g in (lc(lc(t)), rc(rc(t)))]


def test_features_of_any_configuration_follow_their_definition(treebank):
    rng = np.random.default_rng(0)
    sentences, _ = treebank
    for words, _, heads in [s for s in sentences[:80] if is_projective(s[2])][:60]:
        n = len(words)
        word_ids, tag_ids = rng.integers(2, 50, n + 1), rng.integers(2, 50, n + 1)
        oracle = Configuration(n)
        x, y = oracle_examples(heads, word_ids, tag_ids)
        assert x.shape == (2 * n, 36) and x.dtype == y.dtype == np.int32
        for row, t in zip(x, y):  # the oracle's path
            at = _positions_by_definition(oracle)
            assert row.tolist() == [int(word_ids[p]) if p >= 0 else 0 for p in at] + [
                int(tag_ids[p]) if p >= 0 else 0 for p in at
            ]
            oracle.apply(int(t))
        walk = Configuration(n)  # and a random legal path
        while not walk.terminal():
            assert walk.feature_positions() == _positions_by_definition(walk)
            assert features(walk, word_ids, tag_ids)[:18] == [
                int(word_ids[p]) if p >= 0 else 0 for p in _positions_by_definition(walk)
            ]
            walk.apply(int(rng.choice(np.flatnonzero(walk.legal()))))
            walk = walk.copy() if rng.random() < 0.3 else walk  # copies share children safely
            assert all(list(c) == sorted(c) for c in walk.left + walk.right)
        assert set(walk.heads[1:]) <= set(range(n + 1))  # every word got a head


def test_projectivity_is_no_two_arcs_crossing():
    def crossing(heads):
        arcs = [(min(h, d), max(h, d)) for d, h in enumerate(heads, start=1)]
        return any(a < c < b < d for a, b in arcs for c, d in arcs)

    rng = np.random.default_rng(1)
    for n in rng.integers(1, 10, 500):
        heads = rng.integers(0, n + 1, n).tolist()
        assert is_projective(heads) == (not crossing(heads)), heads
    assert is_projective([]) and is_projective([0]) and not is_projective([0, 4, 1, 2])


def test_static_oracle_reproduces_every_projective_training_tree(treebank):
    sentences, split = treebank
    projective = [s for s, p in zip(sentences, split) if p == "train" and is_projective(s[2])]
    assert len(projective) == int((split == "train").sum())  # the NLTK trees are projective
    for words, _, heads in projective:
        transitions = static_oracle(heads)
        assert len(transitions) == 2 * len(words)
        assert replay(len(words), transitions) == list(heads)


def test_beam_of_one_is_greedy_and_wider_beams_score_higher(treebank, scorer):
    from fdl_keras.sequence.beam import beam_search, encode_sentences, greedy_decode

    sentences, split = treebank
    test = [s for s, p in zip(sentences, split) if p == "test"][:25]
    encoded = encode_sentences(test)
    greedy = greedy_decode(scorer, encoded)
    for normalise in (True, False):
        beam1 = beam_search(scorer, encoded, beam=1, normalise=normalise)
        assert [r["heads"] for r in beam1] == greedy
    wide = beam_search(scorer, encoded, beam=8, normalise=True)
    narrow = beam_search(scorer, encoded, beam=1, normalise=True)
    # A wider beam finds parses the model scores at least as high on average, some higher.
    gains = np.array([w["score"] - n["score"] for w, n in zip(wide, narrow)])
    assert gains.mean() > 0 and (gains > 1e-6).any()
    with pytest.raises(InvalidInputError, match="beam must be >= 1"):
        beam_search(scorer, encoded, beam=0)


def test_global_loss_matches_a_numpy_reference(treebank, scorer):
    from fdl_keras.sequence.beam import beam_search, encode_sentences, global_loss

    sentences, _ = treebank
    sentence = sentences[0]
    encoded = encode_sentences([sentence])
    (result,) = beam_search(
        scorer, encoded, beam=3, normalise=False, gold=[static_oracle(sentence[2])]
    )
    paths = list(result["paths"])
    if result["gold_index"] < 0:
        paths.append(result["gold_path"])
    gold = result["gold_index"] if result["gold_index"] >= 0 else len(paths) - 1
    scores = []
    for path in paths:
        logits = np.asarray(scorer(np.array([f for f, _ in path]), training=False))
        scores.append(sum(logits[i, t] for i, (_, t) in enumerate(path)))
    expected = np.log(np.sum(np.exp(scores))) - scores[gold]
    # The loss runs the scorer with training=True (dropout): compare on a clone without it.
    clone = type(scorer).from_config({**scorer.get_config(), "dropout": 0.0})
    clone.set_weights(scorer.get_weights())
    assert float(global_loss(clone, [result])) == pytest.approx(expected, rel=1e-4)
    assert expected >= 0


def test_global_training_with_early_update_lowers_the_loss(treebank):
    import keras

    from fdl_keras.sequence.beam import beam_search, encode_sentences, global_loss, train_global
    from fdl_keras.sequence.parser import TransitionScorer

    sentences, split = treebank
    train = [s for s, p in zip(sentences, split) if p == "train"][:24]
    keras.utils.set_random_seed(1)
    model = TransitionScorer(word_dim=8, tag_dim=4, hidden_units=32, dropout=0.0)
    # The objective on the beams of the untrained model: a fixed set of paths.
    before = beam_search(
        model,
        encode_sentences(train),
        beam=4,
        normalise=False,
        gold=[static_oracle(s[2]) for s in train],
    )
    start = float(global_loss(model, before))
    history = train_global(
        model, beam=4, epochs=8, batch_sentences=8, learning_rate=1e-2, sentences=train
    )
    assert float(global_loss(model, before)) < 0.97 * start  # 1.63 -> 1.54 here
    # Early updates stop each sentence where its gold path falls off the beam: as the scorer
    # learns, the gold path survives longer (the loss per update covers longer paths).
    survived = np.array(history["survived"]).reshape(8, 3).mean(axis=1)
    assert survived[-1] > 2 * survived[0], survived
