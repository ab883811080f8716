"""Chapter 9 text pipelines: tokeniser, vocabularies, the movie-review and treebank providers."""

import numpy as np
import pytest

from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
from fdl_keras.sequence.text import (
    OOV_ID,
    PAD_ID,
    Vocabulary,
    check_texts,
    length_boundaries,
    pad_sequences,
    suffix_id,
    tokenize,
    window_features,
    word_shape,
)


def _corpus(name):
    from fdl_keras.data.registry import find_data

    try:
        return find_data(name, [f"{name}.zip"], subdir="nltk_data/corpora", hint=f"{name}.zip")
    except DatasetNotFoundError as exc:
        pytest.skip(f"NLTK corpus not found: {exc}")


def test_tokenize_splits_words_and_punctuation_like_the_review_corpus():
    assert tokenize("I didn't like it -- at all... (Really!) 'Great' 12-part") == [
        "i", "didn't", "like", "it", "--", "at", "all", "...", "(", "really", "!", ")",
        "'", "great", "'", "12-part",
    ]  # fmt: skip
    # Quotes: around a word they are punctuation; a plural's and an elision's stay on the word.
    assert tokenize("the dogs' bone '' ok' 'a' '80s rock'n'roll Don't 'tis") == [
        "the", "dogs'", "bone", "'", "'", "ok", "'", "'", "a", "'", "'80s", "rock'n'roll",
        "don't", "'tis",
    ]  # fmt: skip
    assert tokenize('"Yes!!" said... 3.5/10') == ['"', "yes", "!!", '"', "said", "...", "3.5/10"]
    assert tokenize("") == tokenize("   ") == []
    with pytest.raises(InvalidInputError, match="expected a string"):
        tokenize(3)


def test_vocabulary_matches_keras_string_lookup_and_round_trips(tmp_path):
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "b", "a"], ["d"]], min_count=2)
    assert vocab.tokens == ["", "[UNK]", "b", "a"]  # by count, padding 0 and OOV 1 first
    words = ["a", "zzz", "b", "c"]
    np.testing.assert_array_equal(vocab.encode(words), [3, OOV_ID, 2, OOV_ID])
    np.testing.assert_array_equal(vocab.lookup_layer()(np.array(words)).numpy(), [3, 1, 2, 1])
    assert vocab.lookup_layer()(np.array([""])).numpy()[0] == PAD_ID
    vocab.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").tokens == vocab.tokens
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="damaged"):
        Vocabulary.load(tmp_path / "bad.json")
    with pytest.raises(InvalidInputError, match="padding and OOV"):
        Vocabulary(["a", "b"])


def test_padding_lengths_and_empty_texts():
    out = pad_sequences([np.array([5, 6, 7]), np.array([8])], 2)
    np.testing.assert_array_equal(out, [[5, 6], [8, 0]])
    assert length_boundaries(list(range(1, 101)), 4) == [26, 51, 76]
    with pytest.raises(InvalidInputError, match="no texts"):
        check_texts([])
    with pytest.raises(InvalidInputError, match=r"texts\[1\] is empty"):
        check_texts(["good", "   "])


def test_window_features_known_answer():
    vocab = Vocabulary(["", "[UNK]", "the", "cat"])
    x = window_features(["The", "cat", "Zorg"], vocab)
    assert x.shape == (3, 4, 5) and x.dtype == np.int32
    np.testing.assert_array_equal(x[0, 0], [0, 0, 2, 3, 1])  # padding, the, cat, OOV Zorg
    np.testing.assert_array_equal(x[2, 0], [2, 3, 1, 0, 0])
    assert x[0, 3, 2] == word_shape("The") + 6  # capitalised, sentence-initial
    assert x[1, 3, 2] == 1 and x[2, 3, 2] == 2  # lower; capitalised
    assert (x[:, 1:3] >= 2).sum() == 2 * 9  # every real position has both suffix buckets
    assert x.flags.c_contiguous
    one = window_features(["Cat"], vocab)
    np.testing.assert_array_equal(one[0, :, 2], [3, suffix_id("Cat", 2), suffix_id("Cat", 3), 8])
    assert (one[0, :, [0, 1, 3, 4]] == 0).all()  # nothing beyond a one-word sentence
    empty = window_features([], vocab)
    assert empty.shape == (0, 4, 5) and empty.dtype == np.int32


def test_movie_reviews_split_vocabulary_and_encoding():
    _corpus("movie_reviews")
    from fdl_keras.data import load_dataset
    from fdl_keras.data.reviews import encode_reviews, movie_review_texts, review_vocabulary

    data = load_dataset("movie_reviews", batch_size=64)
    info = data.info
    assert (info.num_train, info.num_validation, info.num_test) == (1620, 180, 200)
    assert info.vocabulary[:2] == ("", "[UNK]") and info.class_names == ("neg", "pos")
    texts, labels, split = movie_review_texts()
    assert np.bincount(labels[split == "test"]).tolist() == [100, 100]
    # The pipeline's arrays are exactly encode_reviews of the raw texts.
    test_texts = [t for t, s in zip(texts, split) if s == "test"]
    np.testing.assert_array_equal(data.arrays["test"][0], encode_reviews(test_texts))
    ids = encode_reviews(["a zorblaxian film"], review_vocabulary(), max_length=5)
    assert ids.shape == (1, 5) and ids[0, 1] == OOV_ID and ids[0, 3:].tolist() == [0, 0]
    # Batches are cut to their longest review: no all-padding column at the end.
    for x, y in data.train.take(3):
        assert x.dtype.name == "int32" and (x.numpy()[:, -1] != 0).any()
        assert x.shape[0] == y.shape[0]


def test_missing_corpus_is_one_line(tmp_path, monkeypatch):
    from fdl_keras.data import load_dataset

    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for name, file in (("movie_reviews", "movie_reviews.zip"), ("treebank", "treebank.zip")):
        with pytest.raises(DatasetNotFoundError, match=file) as info:
            load_dataset(name)
        assert "\n" not in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="imdb.npz"):
        load_dataset("imdb")


def test_treebank_splits_by_file_and_has_45_tags():
    _corpus("treebank")
    from fdl_keras.data.treebank import tagged_sentences, tagger_vocabulary

    sentences, split = tagged_sentences()
    assert len(sentences) == 3914
    assert sum(len(s) for s in sentences) == 94084  # 100,676 tokens less the -NONE- traces
    _, tags = tagger_vocabulary()
    assert len(tags) == 45 and "-NONE-" not in tags
    counts = {s: int((split == s).sum()) for s in ("train", "validation", "test")}
    assert counts == {"train": 3406, "validation": 263, "test": 245}


def test_a_damaged_corpus_zip_is_named_in_one_line(tmp_path, monkeypatch):
    from fdl_keras.data import load_dataset
    from fdl_keras.errors import DatasetNotFoundError

    try:  # the real corpora read first: their cached arrays must not answer for another file
        for name in ("movie_reviews", "treebank"):
            load_dataset(name, limit=8)
    except DatasetNotFoundError:
        pass
    corpora = tmp_path / "nltk_data" / "corpora"
    corpora.mkdir(parents=True)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    for name, file in (("movie_reviews", "movie_reviews.zip"), ("treebank", "treebank.zip")):
        (corpora / file).write_bytes(b"not a zip at all")
        with pytest.raises(InvalidInputError, match=f"{file} is not a readable zip") as info:
            load_dataset(name)
        assert "\n" not in str(info.value)
