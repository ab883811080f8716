"""SentencePiece subword vocabularies: fixed special ids, lossless round trip, clear errors."""

import pytest

from fdl_keras.errors import InvalidInputError
from fdl_keras.sequence.subwords import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    load_tokenizer,
    train_tokenizer,
)

TEXTS = [
    "Je suis content de te voir.",
    "Il fait froid ce matin.",
    "Où est la gare ?",
    "Nous avons besoin d'aide.",
    "Elle est très contente.",
] * 20


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, 60)


def test_special_ids_are_fixed_and_never_produced_by_text(tokenizer):
    p = tokenizer.processor
    assert (p.pad_id(), p.unk_id(), p.bos_id(), p.eos_id()) == (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
    ids = [i for row in tokenizer.encode(TEXTS[:5]) for i in row]
    assert min(ids) > EOS_ID


def test_round_trip_is_lossless_and_special_ids_are_dropped(tokenizer):
    ids = tokenizer.encode(TEXTS[:5])
    assert tokenizer.decode(ids) == TEXTS[:5]
    assert tokenizer.decode([[BOS_ID, *ids[0], EOS_ID, PAD_ID, PAD_ID]]) == [TEXTS[0]]
    assert 8 <= tokenizer.vocab_size <= 60  # a small corpus gets a smaller vocabulary


def test_training_is_deterministic_and_saved_models_load(tokenizer, tmp_path):
    assert train_tokenizer(TEXTS, 60).model == tokenizer.model
    loaded = load_tokenizer(tokenizer.save(tmp_path / "fr.model"))
    assert loaded.encode(TEXTS[:2]) == tokenizer.encode(TEXTS[:2])


def test_bad_inputs_raise_one_line_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="no tokenizer at .*missing.model"):
        load_tokenizer(tmp_path / "missing.model")
    (tmp_path / "bad.model").write_bytes(b"not a model")
    with pytest.raises(InvalidInputError, match="bad.model is not a SentencePiece model"):
        load_tokenizer(tmp_path / "bad.model")
    with pytest.raises(InvalidInputError, match="no text"):
        train_tokenizer(["", "  "], 60)
    with pytest.raises(InvalidInputError, match="vocab_size must be >= 8"):
        train_tokenizer(TEXTS, 4)
