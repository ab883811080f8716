"""The French-English providers: normalisation, a split with no test source in training,
teacher-forcing batches, length buckets and one-line errors for missing or damaged files."""

import zipfile

import numpy as np
import pytest

from fdl_keras.data import load_dataset
from fdl_keras.data.translation import (
    BUCKET_BOUNDARIES,
    normalize,
    read_tatoeba,
    split_of,
)
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
from fdl_keras.sequence.subwords import BOS_ID, EOS_ID


@pytest.fixture(scope="module")
def tatoeba():
    return load_dataset("tatoeba_fr_en", batch_size=32)


def test_normalisation():
    assert normalize("Cours\u202f!") == "Cours !"
    assert normalize(" L\u2019eau\xa0 est\tfroide.\u200b ") == "L'eau est froide."
    assert normalize("ﬁn") == "fin"  # NFKC


def test_no_test_source_sentence_is_in_training(tatoeba):
    train = {s.casefold() for s in tatoeba.texts["train"][0]}
    validation = {s.casefold() for s in tatoeba.texts["validation"][0]}
    test = {s.casefold() for s in tatoeba.texts["test"][0]}
    assert not test & train and not validation & train and not test & validation
    # 142,787 pairs: ~2 % test, ~1 % validation, training pairs longer than 48 tokens dropped.
    info = tatoeba.info
    assert 2500 < info.num_test < 3200 and 1200 < info.num_validation < 1700
    assert 137_000 < info.num_train < 140_000
    assert split_of("Monte.") == split_of("MONTE.") == "test"  # by case-folded source


def test_batches_are_teacher_forcing_pairs_in_length_buckets(tatoeba):
    bounds = (0, *BUCKET_BOUNDARIES, 10**6)
    for (source, target_in), target_out in tatoeba.train.take(20):
        source, target_in, target_out = (t.numpy() for t in (source, target_in, target_out))
        assert (target_in[:, 0] == BOS_ID).all()
        real = target_out != 0
        np.testing.assert_array_equal(
            target_in[:, 1:][real[:, :-1]], target_out[:, :-1][real[:, :-1]]
        )
        assert ((target_out == EOS_ID).sum(1) == 1).all()
        assert ((source == EOS_ID).sum(1) == 1).all()
        lengths = np.maximum((source != 0).sum(1), (target_in != 0).sum(1) + 1)
        buckets = np.searchsorted(bounds, lengths, side="right")
        assert len(set(buckets)) == 1, lengths  # one length bucket per batch
    assert tatoeba.info.source_vocab_size == tatoeba.info.target_vocab_size == 4000


def test_multi30k_keeps_its_splits_without_test_sources_in_training():
    data = load_dataset("multi30k_fr_en", limit=512)
    full_test = data.info.num_test
    assert full_test == 64  # limit keeps a proportional share
    whole = load_dataset("multi30k_fr_en")
    assert whole.info.num_test == 1000 and whole.info.num_validation == 1014
    assert 28_900 < whole.info.num_train <= 29_000
    train = {s.casefold() for s in whole.texts["train"][0]}
    assert not train & {s.casefold() for s in whole.texts["test"][0]}


def test_missing_and_damaged_files_raise_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="Tatoeba fr-en pairs not found .*fra-eng.zip"):
        load_dataset("tatoeba_fr_en")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InvalidInputError, match="bad.zip is not the manythings fra-eng.zip"):
        read_tatoeba(tmp_path / "bad.zip")
    with zipfile.ZipFile(tmp_path / "notab.zip", "w") as archive:
        archive.writestr("fra.txt", "Go.\tVa !\nno tab here\n")
    with pytest.raises(InvalidInputError, match="line 2 of fra.txt has no tab"):
        read_tatoeba(tmp_path / "notab.zip")
    with pytest.raises(InvalidInputError, match="no augmentation"):
        monkeypatch.undo()
        load_dataset("tatoeba_fr_en", augment="shift", limit=8)
