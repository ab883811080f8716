"""The window POS tagger: it learns the treebank's tags from real windows."""

import numpy as np
import pytest

from fdl_keras.errors import DatasetNotFoundError


@pytest.fixture(scope="module")
def treebank():
    from fdl_keras.data import load_dataset

    try:
        return load_dataset("treebank", batch_size=256)
    except DatasetNotFoundError as exc:
        pytest.skip(f"treebank not found: {exc}")


def test_tagger_learns_and_beats_the_most_frequent_tag_on_held_out_files(treebank):
    """Two epochs on 20k real training tokens lift held-out accuracy well above the
    most-frequent-tag baseline (NN), the first bar any tagger must clear."""
    import keras

    import fdl_keras

    spec = fdl_keras.get_spec("pos_tagger")
    keras.utils.set_random_seed(0)
    model = spec.build(**spec.builder_args(treebank.info), hidden_units=(64,))
    spec.compile(model, learning_rate=3e-3)
    x, y = treebank.arrays["validation"]
    start = model.evaluate(x, y, verbose=0, return_dict=True)
    train = treebank.train.take(80)  # 80 batches of 256 windows
    history = model.fit(train, epochs=2, shuffle=False, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    end = model.evaluate(x, y, verbose=0, return_dict=True)
    most_frequent = np.bincount(y).max() / len(y)
    assert start["accuracy"] < 0.2
    assert end["accuracy"] > most_frequent + 0.5, (end, most_frequent)


def test_clamp_ids_maps_unknown_words_to_oov(treebank):
    import fdl_keras

    model = fdl_keras.build("pos_tagger", vocabulary_size=10, hidden_units=(4,))
    x = treebank.sample_batch(8)[0]
    clamped = model.clamp_ids(x)
    assert clamped[:, 0].max() < 10 and (clamped[:, 1:] == x[:, 1:]).all()
    np.testing.assert_array_equal(clamped[:, 0], np.where(x[:, 0] >= 10, 1, x[:, 0]))
