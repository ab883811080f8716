"""Skip-gram pairs in tf.data: windows, subsampling and negatives against NumPy references."""

import numpy as np
import pytest
import tensorflow as tf

from fdl_keras.data import load_dataset
from fdl_keras.data.brown import (
    SkipGramConfig,
    Vocabulary,
    keep_probabilities,
    read_brown,
    read_text,
    register_text_corpus,
    skipgram_pipeline,
    unigram_table,
)
from fdl_keras.data.pipeline import EpochOrder
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError


def all_pairs(dataset):
    targets, contexts = zip(*[(t.numpy(), c.numpy()) for t, c in dataset])
    return np.concatenate(targets), np.concatenate(contexts)


def test_window_one_without_subsampling_gives_exactly_the_neighbours_in_each_sentence():
    ids = np.array([0, 1, 2, 3, 4, 5, 6], np.int32)
    rows = np.array([4, 3])  # sentences [0 1 2 3] and [4 5 6]
    config = SkipGramConfig(window=1, negatives=2, sample=0)
    counts = np.ones(7, np.int64)
    ds = skipgram_pipeline(
        ids,
        rows,
        keep=keep_probabilities(counts, 0),
        table=unigram_table(counts),
        config=config,
        batch_size=3,
        shuffle=False,
    )
    targets, contexts = all_pairs(ds)
    got = sorted(zip(targets.tolist(), contexts[:, 0].tolist()))
    expected = sorted(
        [(a, b) for a, b in [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6)]]
        + [(b, a) for a, b in [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6)]]
    )
    assert got == expected  # no pair crosses the sentence end (3, 4)
    assert contexts.shape[1] == 3 and contexts.dtype == np.int32
    assert [len(t) for t, _ in ds] == [3, 3, 3, 1] and int(ds.cardinality()) == 4  # last short
    assert [t.shape.as_list() for t in ds.element_spec] == [[None], [None, 3]]


def test_vocabulary_encodes_known_words_and_drops_emptied_sentences():
    vocabulary = Vocabulary.build([["a", "b", "a"], ["b", "c"], ["a"]], min_count=2)
    assert vocabulary.words == ("a", "b") and vocabulary.counts.tolist() == [3, 2]
    ids, rows = vocabulary.encode([["c", "a", "x", "b"], ["x", "c"], [], ["b"]])
    assert ids.tolist() == [0, 1, 1] and ids.dtype == np.int32
    assert rows.tolist() == [2, 1] and rows.dtype == np.int64  # "x c" and "" keep no word
    ids, rows = vocabulary.encode([])
    assert ids.shape == rows.shape == (0,) and ids.dtype == np.int32


def test_dynamic_windows_shrink_and_subsampling_drops_frequent_words():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=20_000).astype(np.int32)
    ids[::2] = 0  # word 0 is half the corpus
    counts = np.bincount(ids, minlength=50)
    config = SkipGramConfig(window=4, negatives=1, sample=1e-3)
    keep = keep_probabilities(counts, config.sample)
    common = dict(table=unigram_table(counts), config=config, batch_size=4096, shuffle=False)
    targets, _ = all_pairs(skipgram_pipeline(ids, np.array([len(ids)]), keep=keep, **common))
    all_kept = np.ones(50, np.float32)
    full, _ = all_pairs(skipgram_pipeline(ids, np.array([len(ids)]), keep=all_kept, **common))
    # Dynamic windows: each target pairs with 2b neighbours, b uniform on 1..4 (mean 5 pairs).
    assert len(full) / len(ids) == pytest.approx(5.0, rel=0.03)
    # word2vec's keep probability for word 0 (frequency f = 0.51 of the text): about 0.046.
    f = counts[0] / counts.sum()
    expected = (np.sqrt(f / 1e-3) + 1) * 1e-3 / f
    assert keep[0] == pytest.approx(expected, rel=1e-6)
    share = np.mean(targets == 0) / np.mean(full == 0)
    assert share == pytest.approx(keep[0] * (len(full) / len(targets)), rel=0.15)


def test_negatives_follow_the_unigram_distribution_to_the_three_quarters():
    counts = np.array([1000, 100, 10, 1], np.int64)
    table = unigram_table(counts, 0.75, 100_000)
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(np.bincount(table) / len(table), expected, atol=1e-4)
    ids = np.repeat(np.arange(4, dtype=np.int32), 50)
    config = SkipGramConfig(window=2, negatives=20, sample=0)
    ds = skipgram_pipeline(
        ids, np.array([200]), keep=np.ones(4, np.float32), table=table, config=config
    )
    negatives = all_pairs(ds)[1][:, 1:].ravel()
    np.testing.assert_allclose(
        np.bincount(negatives, minlength=4) / negatives.size, expected, atol=0.02
    )


def test_brown_corpus_reads_as_documented():
    data = load_dataset("brown", batch_size=64, limit=500)
    sentences = read_brown(data.info.source)
    assert len(sentences) == 57_159  # NLTK's 57,340 less those with no word (only punctuation)
    assert sentences[0][:4] == ["the", "fulton", "county", "grand"]
    assert data.info.vocabulary[0] == "the"
    targets, contexts = next(iter(data.train))
    assert targets.shape == (64,) and contexts.shape == (64, 6)
    assert int(contexts.numpy().max()) < len(data.info.vocabulary)


def test_user_text_and_bad_text_raise_one_line_errors(tmp_path):
    text = tmp_path / "mine.txt"
    text.write_text("The cat sat on the mat.\nThe dog's log.\n" * 10)
    assert read_text(text)[1] == ["the", "dog's", "log"]
    name = register_text_corpus(str(text))
    data = load_dataset(name, batch_size=8, validation_fraction=0.3)
    assert set(data.info.vocabulary) >= {"the", "cat", "dog's"}
    # The test pairs are a fixed set: the same in a later process (other global seed).
    tf.random.set_seed(123)
    again = load_dataset(name, batch_size=8, validation_fraction=0.3)
    for a, b in zip(all_pairs(data.test), all_pairs(again.test)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(DatasetNotFoundError, match="neither a registered dataset"):
        register_text_corpus(str(tmp_path / "missing.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no .txt files"):
        read_text(tmp_path / "empty")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InvalidInputError, match="not readable UTF-8"):
        read_text(binary)
    with pytest.raises(InvalidInputError, match="no word occurs 5 times"):
        Vocabulary.build([["rare", "words"]], 5)
    with pytest.raises(InvalidInputError, match="window must be >= 1"):
        SkipGramConfig(window=0).check()
    bad_zip = tmp_path / "brown.zip"
    bad_zip.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(InvalidInputError, match="is damaged"):
        read_brown(bad_zip)


def test_training_epochs_are_full_shuffled_batches_made_in_parts_and_resume_exactly():
    """Without subsampling the training pipeline's epoch holds the fixed set's pairs (made
    in parts over a random share of sentences each, cycled to full batches), in a new order
    every pass, states its length, and epoch ``e`` depends on ``(seed, e)`` alone."""
    rng = np.random.default_rng(0)
    rows = rng.integers(1, 12, size=400)
    ids = rng.integers(0, 40, size=rows.sum()).astype(np.int32)
    counts = np.bincount(ids, minlength=40)
    common = dict(
        keep=keep_probabilities(counts, 0),
        table=unigram_table(counts),
        config=SkipGramConfig(window=1, negatives=2, sample=0),
        batch_size=64,
    )
    fixed_targets, fixed_contexts = all_pairs(skipgram_pipeline(ids, rows, shuffle=False, **common))
    fixed = set(zip(fixed_targets.tolist(), fixed_contexts[:, 0].tolist()))
    train = skipgram_pipeline(ids, rows, shuffle=True, **common)
    steps = -(-len(fixed_targets) // 64)
    assert int(train.cardinality()) == steps
    epochs = [all_pairs(train) for _ in range(2)]
    for targets, contexts in epochs:
        assert len(targets) == steps * 64 and contexts.shape == (steps * 64, 3)
        pairs = set(zip(targets.tolist(), contexts[:, 0].tolist()))
        # Each part is cycled or cut to its share of the steps: a few pairs repeat or drop.
        assert pairs <= fixed and len(pairs) > 0.9 * len(fixed)
    assert not np.array_equal(epochs[0][0], epochs[1][0])
    # A run resumed at epoch 1 in a new pipeline sees epoch 1's batches exactly.
    order = EpochOrder()
    resumed = skipgram_pipeline(ids, rows, shuffle=True, order=order, **common)
    order.set(1)
    targets, contexts = all_pairs(resumed)
    assert np.array_equal(targets, epochs[1][0]) and np.array_equal(contexts, epochs[1][1])
