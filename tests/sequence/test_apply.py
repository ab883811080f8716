"""Trained chapter-9 runs on new text: tag, parse, classify, in this process and from the CLI
functions, with words never seen in training; bad input is a one-line error."""

import json

import numpy as np
import pytest

import fdl_keras
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
from fdl_keras.sequence.apply import (
    classify,
    classify_file,
    parse,
    parse_file,
    tag,
    tag_file,
)

# Three tiny training runs (tagger, parser with its global pass and perceptron, LSTM): ~22 s.
pytestmark = pytest.mark.slow

NEW_TEXT = "Zorblax Industries said the florbing merger would close quickly ."


def _train(name, run_dir, **options):
    # The tiny config's layer sizes; the vocabulary sizes come from the data.
    sizes = {
        k: v
        for k, v in fdl_keras.get_spec(name).tiny.items()
        if k not in ("vocabulary_size", "num_tags")
    }
    try:
        return fdl_keras.train(name, epochs=1, run_dir=run_dir, verbose=0, **options, **sizes)
    except DatasetNotFoundError as exc:
        pytest.skip(f"corpus not found: {exc}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    _train("pos_tagger", root / "tagger", limit=1024)
    _train("dependency_parser", root / "parser", limit=800)
    _train("lstm_sentiment", root / "sentiment", limit=32)
    return root


def test_tag_new_sentences_with_unknown_words(runs):
    (tagged,) = tag(runs / "tagger", [NEW_TEXT])
    words = [w for w, _ in tagged]
    assert words[:2] == ["Zorblax", "Industries"] and len(tagged) == 10
    tags = json.loads((runs / "tagger" / "vocabulary.json").read_text())["tags"]
    assert all(t in tags for _, t in tagged)
    # Token lists are tagged as given; the file's vocabulary is what the model used.
    assert tag(runs / "tagger", [["The", "cat"]])[0][0][0] == "The"
    with pytest.raises(InvalidInputError, match="no sentences"):
        tag(runs / "tagger", [])
    with pytest.raises(InvalidInputError, match=r"sentences\[0\] is empty"):
        tag(runs / "tagger", [""])


def test_parse_gives_a_tree_and_beam_one_equals_greedy(runs):
    (greedy,) = parse(runs / "parser", [NEW_TEXT])
    (beam,) = parse(runs / "parser", [NEW_TEXT], beam=4)
    heads = [h for _, _, h in greedy]
    assert len(heads) == 10 and heads.count(0) == 1  # one word attaches to ROOT
    assert all(0 <= h <= 10 for h in heads) and len(beam) == 10
    given = parse(runs / "parser", [["Prices", "rose"]], tags=[["NNS", "VBD"]])[0]
    assert [t for _, t, _ in given] == ["NNS", "VBD"]
    with pytest.raises(InvalidInputError, match="beam must be"):
        parse(runs / "parser", [NEW_TEXT], beam=0)
    with pytest.raises(InvalidInputError, match="not a parser"):
        parse(runs / "tagger", [NEW_TEXT])


def test_classify_raw_reviews(runs):
    results = classify(runs / "sentiment", ["A zorblaxian triumph, wonderful!", "dull"])
    assert [set(r) for r in results] == [{"label", "probability", "probabilities"}] * 2
    for r in results:
        assert r["label"] in ("neg", "pos") and 0.5 <= r["probability"] <= 1
        assert sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    with pytest.raises(InvalidInputError, match="no texts"):
        classify(runs / "sentiment", [])


def test_cli_functions_read_a_file_and_write_results(runs, tmp_path, capsys):
    lines = tmp_path / "in.txt"
    lines.write_text(f"{NEW_TEXT}\n\nThe film was great .\n")
    out = tmp_path / "tags.txt"
    assert tag_file(str(runs / "tagger"), str(lines), out=str(out)) == 0
    rows = out.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("The/")
    assert parse_file(str(runs / "parser"), str(lines), beam=2) == 0
    printed = capsys.readouterr().out.strip().split("\n\n")
    assert len(printed) == 2 and printed[1].splitlines()[0].split("\t")[:2] == ["1", "The"]
    assert classify_file(str(runs / "sentiment"), str(lines)) == 0
    assert len([json.loads(r) for r in capsys.readouterr().out.splitlines()]) == 2
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(InvalidInputError, match="is empty"):
        classify_file(str(runs / "sentiment"), str(empty))
    with pytest.raises(InvalidInputError, match="not found"):
        tag_file(str(runs / "tagger"), str(tmp_path / "missing.txt"))


def test_run_files_hold_the_vocabulary_and_metrics(runs):
    text = json.loads((runs / "sentiment" / "vocabulary.json").read_text())
    assert text["words"][:2] == ["", "[UNK]"] and text["classes"] == ["neg", "pos"]
    metrics = json.loads((runs / "parser" / "metrics.json").read_text())["test"]
    assert 0 <= metrics["uas"] <= 1 and "uas_beam8" in metrics and "uas_beam8_global" in metrics
    assert metrics["global_kept"] in (0.0, 1.0) and "uas_local" in metrics
    assert np.isfinite(metrics["accuracy"])
