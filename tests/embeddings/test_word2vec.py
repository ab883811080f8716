"""word2vec: it learns which words share contexts; analogy, neighbours and projector files."""

import keras
import numpy as np
import pytest

from fdl_keras.data.brown import (
    SkipGramConfig,
    keep_probabilities,
    skipgram_pipeline,
    unigram_table,
)
from fdl_keras.embeddings.analogies import ANALOGIES
from fdl_keras.embeddings.word2vec import (
    Word2Vec,
    analogy_accuracy,
    nearest_neighbours,
    write_projector_files,
)
from fdl_keras.errors import InvalidInputError


def test_skip_gram_learns_that_words_of_one_topic_share_contexts():
    """Two topics of 10 words each, sentences drawn from one topic: after training, every
    word's nearest neighbours are words of its own topic (random vectors get half right)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    topics = rng.integers(0, 2, size=3000)
    ids = (rng.integers(0, 10, size=(3000, 8)) + 10 * topics[:, None]).astype(np.int32)
    counts = np.bincount(ids.ravel(), minlength=20)
    config = SkipGramConfig(window=3, negatives=5, sample=0)
    ds = skipgram_pipeline(
        ids.ravel(),
        np.full(3000, 8),
        keep=keep_probabilities(counts, 0),
        table=unigram_table(counts),
        config=config,
        batch_size=1024,
    )
    model = Word2Vec(vocab_size=20, embedding_dim=16)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit(ds, epochs=3, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    words = [str(i) for i in range(20)]
    vectors = model.vectors()
    same = [
        np.mean([int(n) // 10 == w // 10 for n, _ in nearest_neighbours(vectors, words, str(w), 5)])
        for w in range(20)
    ]
    assert np.mean(same) > 0.95, same


def test_analogy_accuracy_and_neighbours_known_answers(tmp_path):
    words = ["man", "woman", "king", "queen", "apple"]
    vectors = np.array(
        [[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=np.float32
    )  # woman - man + king = queen exactly
    result = analogy_accuracy(
        vectors, words, [("man", "woman", "king", "queen"), ("a", "b", "c", "d")]
    )
    assert result == {"accuracy": 1.0, "covered": 1, "correct": 1}
    assert nearest_neighbours(vectors, words, "queen", 1)[0][0] in ("woman", "king")
    with pytest.raises(InvalidInputError, match="not in the 5-word vocabulary"):
        nearest_neighbours(vectors, words, "pear")
    vector_file, metadata_file = write_projector_files(vectors, words, tmp_path)
    assert np.loadtxt(vector_file, delimiter="\t").shape == (5, 3)
    assert metadata_file.read_text().split() == words
    with pytest.raises(InvalidInputError, match="5 vectors but 4 words"):
        write_projector_files(vectors, words[:4], tmp_path)
    assert len(ANALOGIES) > 400 and all(len(set(q)) == 4 for q in ANALOGIES)


@pytest.mark.parametrize("group, batch", [(1, 37), (4, 37), (8, 32)])
def test_written_out_sparse_update_equals_autodiff_with_and_without_shared_negatives(group, batch):
    """One SGD step (rate 1) moves both tables by minus the autodiff gradient of the
    negative-sampling loss in which each run of ``group`` pairs uses its first pair's
    negatives (37 pairs: the last group is short)."""
    import tensorflow as tf

    rng = np.random.default_rng(group)
    keras.utils.set_random_seed(0)
    model = Word2Vec(vocab_size=30, embedding_dim=6, shared_negatives=group)
    model.context_embedding.embeddings.assign(rng.normal(size=(30, 6)).astype("float32"))
    targets = rng.integers(0, 30, batch).astype(np.int32)
    contexts = rng.integers(0, 30, (batch, 6)).astype(np.int32)
    shared = contexts.copy()
    shared[:, 1:] = np.repeat(contexts[::group, 1:], group, axis=0)[:batch]
    tables = [model.target_embedding.embeddings, model.context_embedding.embeddings]
    before = [np.array(t.numpy()) for t in tables]
    with tf.GradientTape() as tape:
        loss = model.pair_loss(tf.constant(targets), tf.constant(shared))
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, tables)]
    model.compile(optimizer=keras.optimizers.SGD(1.0), jit_compile=True)
    logs = model.train_on_batch(targets, contexts, return_dict=True)
    assert logs["loss"] == pytest.approx(float(loss), rel=1e-6)
    for table, start, grad in zip(tables, before, grads):
        assert np.abs(grad).max() > 1e-3
        np.testing.assert_allclose(table.numpy() - start, -grad, atol=1e-6)
    with pytest.raises(ValueError, match="shared_negatives must be >= 1"):
        Word2Vec(vocab_size=30, shared_negatives=0)
