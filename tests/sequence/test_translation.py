"""A translation run end to end: train (loss falls, BLEU/chrF recorded, tokenizers kept in the
run dir), translate in a new process with `fdl translate` on onnxruntime with beam search, and
one-line errors for bad input."""

import os
import subprocess
import sys

import pytest

import fdl_keras
from fdl_keras.errors import InvalidInputError
from fdl_keras.sequence.translate import translate

SENTENCES = ["Je suis fatigué.", "Il est là.", "Nous avons faim.", "Où est-il ?"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("translation") / "run"
    fdl_keras.train(
        "seq2seq_attention_fr_en",
        epochs=2,
        limit=2000,
        batch_size=64,
        learning_rate=1e-2,
        run_dir=run_dir,
        verbose=0,
        embedding_dim=32,
        units=32,
    )
    return run_dir


@pytest.mark.slow
def test_training_lowers_the_loss_and_records_bleu(run_dir):
    run = fdl_keras.load_run(run_dir)
    loss = run.history["loss"]
    assert loss[-1] < 0.9 * loss[0], loss  # epoch means of nats per token
    test = run.metrics["test"]
    assert 0 <= test["bleu"] <= 100 and 0 <= test["chrf"] <= 100  # recorded (tiny: ~0)
    assert test["token_accuracy"] > 0.15  # far above chance (1 / 4000) after 2 short epochs
    for name in ("source.model", "target.model"):
        assert (run_dir / name).is_file()


@pytest.mark.slow
def test_cli_translates_a_file_in_a_new_process_with_onnx_beam_search(run_dir, tmp_path):
    file, out = tmp_path / "fr.txt", tmp_path / "en.txt"
    file.write_text("\n".join(SENTENCES) + "\n\n", encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "fdl_cli", "translate", str(run_dir), str(file)]
    result = subprocess.run(
        [*command, "--beam", "2", "--runtime", "onnx", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = out.read_text(encoding="utf-8").splitlines()
    # The same translations as Keras decoding, sentence by sentence (this tiny run mostly
    # answers with an empty sentence; test_decoding.py compares long token sequences).
    assert lines == translate(run_dir, SENTENCES, beam=2, runtime="keras")
    assert (run_dir / "translator" / "decoder_step" / "model.onnx").is_file()
    assert translate(run_dir, SENTENCES, runtime="onnx") == translate(run_dir, SENTENCES)


@pytest.mark.slow
def test_bad_input_raises_one_line_errors(run_dir, tmp_path):
    with pytest.raises(InvalidInputError, match="no sentences"):
        translate(run_dir, [])
    with pytest.raises(InvalidInputError, match="beam must be >= 1, got 0"):
        translate(run_dir, SENTENCES, beam=0)
    with pytest.raises(InvalidInputError, match="runtime must be one of keras, onnx"):
        translate(run_dir, SENTENCES, runtime="tflite")
    with pytest.raises(InvalidInputError, match="no run dir at"):
        translate(tmp_path / "nowhere", SENTENCES)
    from fdl_keras.sequence.translate import translate_file

    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(InvalidInputError, match="has no sentences"):
        translate_file(str(run_dir), str(empty))
    with pytest.raises(InvalidInputError, match="no file at"):
        translate_file(str(run_dir), str(tmp_path / "missing.txt"))
