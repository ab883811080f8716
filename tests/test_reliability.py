"""Nothing a user made is lost: owned run dirs, exact resume, validated values.

Kills are deterministic: a callback SIGKILLs its own process after a chosen epoch, in a
subprocess, so no test races a timer.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.errors import InvalidInputError, TrainingDivergedError

SETTINGS = {"dataset": "digits", "epochs": 3, "batch_size": 64, "verbose": 0}
TINY_SEQ2SEQ = {"embedding_dim": 8, "units": 8, "dropout": 0.0}
TINY_LSTM = {"embedding_dim": 8, "lstm_units": 4}


def train_in_subprocess(run_dir, *, kill_after_epoch=None, name="mnist_mlp", **settings):
    """Runs fdl_keras.train in a fresh process; SIGKILLs it after ``kill_after_epoch``."""
    script = textwrap.dedent(
        f"""
        import os, signal, keras, fdl_keras

        class Kill(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == {kill_after_epoch!r}:
                    os.kill(os.getpid(), signal.SIGKILL)

        fdl_keras.train({name!r}, run_dir={str(run_dir)!r}, callbacks=[Kill()],
                        **{settings!r})
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )


def weights(run_dir):
    return keras.saving.load_model(run_dir / "model.keras").get_weights()


def digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"  # a dead process's lock is taken over
    }


@pytest.mark.parametrize(
    "name, extra",
    [
        ("mnist_mlp", {}),
        ("mnist_cnn", {"filters": (4, 8), "dense_units": 16}),
        ("dcgan", {"limit": 512}),
        ("vae", {"limit": 256, "latent_dim": 2, "hidden_units": (16,)}),
        ("seq2seq_attention_fr_en", {"dataset": None, "limit": 128, **TINY_SEQ2SEQ}),
        ("lstm_sentiment", {"dataset": None, "limit": 64, "batch_size": 16, **TINY_LSTM}),
    ],
    ids=["mlp-dropout", "cnn-augmented", "gan-two-optimizers", "vae", "translation", "sentiment"],
)
def test_a_run_killed_after_an_epoch_resumes_bit_identically(name, extra, tmp_path):
    """Dropout's generator, the optimizer's slots and step, the shuffle order and the
    augmentation keys all continue where the killed run stopped. Each case once failed: a GAN's
    two optimizers lost their slots (built over the whole model); the VAE's divergence-guard
    reference drew posterior noise after the restore, and its validation images were drawn
    anew in each process; the translation pairs were reshuffled per process, not per epoch;
    the sentiment task's best epoch was forgotten."""
    settings = {**SETTINGS, **extra}
    if name == "mnist_cnn":
        settings["augment"] = "shift"
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert train_in_subprocess(whole, name=name, **settings).returncode == 0
    died = train_in_subprocess(killed, name=name, kill_after_epoch=1, **settings)
    assert died.returncode == -signal.SIGKILL
    assert not (killed / "model.keras").exists() and (killed / "backup").is_dir()
    if name == "mnist_mlp":  # resumed through the command line, as a user would
        resumed = subprocess.run(
            [sys.executable, "-m", "fdl_cli", "train", name, "--dataset", "digits",
             "--epochs", "3", "--batch-size", "64", "--run-dir", str(killed)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert "resumed at epoch 3" in resumed.stdout
    else:
        resumed = train_in_subprocess(killed, name=name, **settings)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for a, b in zip(weights(whole), weights(killed), strict=True):
        assert np.array_equal(a, b)
    test = [json.loads((d / "metrics.json").read_text())["test"] for d in (whole, killed)]
    assert test[0] == test[1]
    assert (killed / "history.csv").read_text() == (whole / "history.csv").read_text()
    assert json.loads((killed / "metrics.json").read_text())["resumed_at_epoch"] == 2
    assert not (killed / "backup").exists()


def test_a_torn_backup_falls_back_to_the_one_before(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert train_in_subprocess(whole, **SETTINGS).returncode == 0
    assert train_in_subprocess(killed, kill_after_epoch=1, **SETTINGS).returncode != 0
    newest = sorted((killed / "backup").glob("epoch-*.weights.h5"))[-1]
    newest.write_bytes(newest.read_bytes()[:1000])  # a kill in the middle of writing it
    resumed = train_in_subprocess(killed, **SETTINGS)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"backup {newest.name}" in resumed.stdout and "damaged" in resumed.stdout
    for a, b in zip(weights(whole), weights(killed), strict=True):
        assert np.array_equal(a, b)


def test_every_backup_torn_is_one_line_naming_the_folder(tmp_path):
    assert train_in_subprocess(tmp_path, kill_after_epoch=1, **SETTINGS).returncode != 0
    for backup in (tmp_path / "backup").glob("epoch-*.weights.h5"):
        backup.write_bytes(b"garbage")
    with pytest.raises(InvalidInputError, match="every backup in .* is damaged") as err:
        fdl_keras.train("mnist_mlp", run_dir=tmp_path, **SETTINGS)
    assert "delete" in str(err.value) and "\n" not in str(err.value)


def test_a_finished_run_is_never_overwritten_unasked(tmp_path):
    fdl_keras.train("mnist_mlp", run_dir=tmp_path, **SETTINGS)
    before = digest(tmp_path)
    with pytest.raises(InvalidInputError, match="holds a finished run of mnist_mlp") as err:
        fdl_keras.train("mnist_mlp", run_dir=tmp_path, **{**SETTINGS, "epochs": 1})
    assert "--overwrite" in str(err.value) and "--run-dir" in str(err.value)
    assert digest(tmp_path) == before
    result = fdl_keras.train("mnist_mlp", run_dir=tmp_path, overwrite=True, **SETTINGS)
    assert result.test_metrics["accuracy"] > 0.5 and digest(tmp_path) != before


def test_a_killed_run_resumes_only_with_its_own_settings(tmp_path):
    assert train_in_subprocess(tmp_path, kill_after_epoch=0, **SETTINGS).returncode != 0
    before = digest(tmp_path)
    for changed in ({"learning_rate": 0.01}, {"limit": 500}, {"batch_size": 32}):
        with pytest.raises(InvalidInputError, match="holds an unfinished run with"):
            fdl_keras.train("mnist_mlp", run_dir=tmp_path, **{**SETTINGS, **changed})
    with pytest.raises(InvalidInputError, match="name='mnist_mlp'"):
        fdl_keras.train("mnist_cnn", run_dir=tmp_path, **SETTINGS)
    assert digest(tmp_path) == before  # run.json untouched


def test_a_second_process_on_a_run_dir_is_refused_and_a_dead_ones_lock_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".lock").write_text(str(holder.pid))
        with pytest.raises(InvalidInputError, match=f"in use by process {holder.pid}"):
            fdl_keras.train("mnist_mlp", run_dir=tmp_path, **SETTINGS)
    finally:
        holder.kill()
        holder.wait()
    # The holder is dead now: its lock is stale and the run goes ahead.
    result = fdl_keras.train("mnist_mlp", run_dir=tmp_path, **SETTINGS)
    assert result.test_metrics["accuracy"] > 0.5 and not (tmp_path / ".lock").exists()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("epochs", 0, "epochs must be an integer >= 1, got 0"),
        ("batch_size", 0, "batch_size must be an integer >= 1, got 0"),
        ("limit", -5, "limit must be >= 1"),
        ("limit", 0, "limit must be >= 1"),
        ("learning_rate", float("nan"), "learning rate must be a finite number > 0"),
        ("learning_rate", float("inf"), "learning rate must be a finite number > 0"),
        ("learning_rate", -1.0, "learning rate must be a finite number > 0"),
        # values of the wrong type (these failed deep in the trainer or in Keras before)
        ("learning_rate", "0.1", "learning_rate must be a float or None, got '0.1'"),
        ("limit", "100", "limit must be an int or None, got '100'"),
        ("seed", "1", "seed must be an int, got '1'"),
        ("dataset", 5, "dataset must be a str or None, got 5"),
        ("verbose", "yes", "verbose must be 'auto', 0, 1 or 2, got 'yes'"),
        ("callbacks", [1], "callbacks must be keras.callbacks.Callback instances, got 1"),
        ("augment", "no", "unknown augmentation 'no'; choose one of cifar, shift, or augment=Fa"),
    ],
)
def test_bad_values_are_refused_never_replaced(option, value, message, tmp_path):
    with pytest.raises(InvalidInputError, match=message):
        fdl_keras.train("mnist_mlp", run_dir=tmp_path, **{**SETTINGS, option: value})
    assert not (tmp_path / "model.keras").exists()


def test_numpy_values_are_taken_as_python_ones(tmp_path):
    """Keras refused a NumPy seed ("Expected `seed` argument to be an integer")."""
    numpy_values = {"epochs": np.int64(1), "seed": np.int64(1), "learning_rate": np.float32(0.01)}
    result = fdl_keras.train("mnist_mlp", run_dir=tmp_path, **{**SETTINGS, **numpy_values})
    assert result.test_metrics["accuracy"] > 0.2
    assert json.loads((tmp_path / "run.json").read_text())["seed"] == 1


def test_an_override_the_data_contradicts_is_one_line_before_training(tmp_path):
    """A builder argument the data sets (the input shape, a vocabulary's size) given another
    value failed inside TensorFlow mid-run (word2vec: GatherV2 out of range); the same value
    is accepted."""
    with pytest.raises(InvalidInputError, match=r"image_shape=\(10,\) does not fit the") as err:
        fdl_keras.train("mnist_mlp", run_dir=tmp_path, image_shape=(10,), **SETTINGS)
    assert "leave image_shape out" in str(err.value) and "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())
    with pytest.raises(InvalidInputError, match="vocab_size=64 does not fit the brown data"):
        fdl_keras.train("word2vec_brown", run_dir=tmp_path, vocab_size=64, epochs=1, limit=2000)
    result = fdl_keras.train(
        "mnist_mlp", run_dir=tmp_path, num_classes=10, **{**SETTINGS, "epochs": 1}
    )
    assert result.test_metrics["accuracy"] > 0.2


def test_a_finite_explosion_stops_like_nan(tmp_path):
    with pytest.raises(TrainingDivergedError, match="its first value") as err:
        fdl_keras.train("mnist_mlp", run_dir=tmp_path, **{**SETTINGS, "learning_rate": 1e6})
    assert "--learning-rate" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "model.keras").exists()


def test_a_run_dir_that_is_a_file_is_one_line(tmp_path):
    path = tmp_path / "run"
    path.write_text("not a folder")
    with pytest.raises(InvalidInputError, match="is a file; pass a folder"):
        fdl_keras.train("mnist_mlp", run_dir=path, **SETTINGS)


def test_tensorboard_missing_is_refused_before_training(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name)
    )
    with pytest.raises(InvalidInputError, match="pip install tensorboard"):
        fdl_keras.train("mnist_mlp", run_dir=tmp_path, tensorboard=True, **SETTINGS)
    assert not (tmp_path / "history.csv").exists()


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"just text\n", "is not a .keras archive"),
        (b"PK\x03\x04 truncated zip", "is not a .keras archive"),
        (b"", "is not a .keras archive"),
        ("truncated", "is not a .keras archive"),
        ("no-model zip", "without a Keras model"),
    ],
)
def test_a_bad_keras_file_is_one_line_naming_it(content, problem, tmp_path):
    import zipfile

    from fdl_keras.runs import load_model_file

    path = tmp_path / "model.keras"
    if content == "truncated":
        fdl_keras.build("mnist_mlp", hidden_units=(4,)).save(path)
        path.write_bytes(path.read_bytes()[:2000])
    elif content == "no-model zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=problem) as err:
        load_model_file(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_an_agents_finished_run_is_owned_too(tmp_path):
    pytest.importorskip("gymnasium")
    options = {"steps": 256, "hidden_units": (8,), "verbose": 0}
    fdl_keras.train("ppo_cartpole", run_dir=tmp_path, **options)
    before = digest(tmp_path)
    with pytest.raises(InvalidInputError, match="holds a finished run of ppo_cartpole"):
        fdl_keras.train("ppo_cartpole", run_dir=tmp_path, **options)
    assert digest(tmp_path) == before
    result = fdl_keras.train("ppo_cartpole", run_dir=tmp_path, overwrite=True, **options)
    assert result.extras["steps"] == 256 and not result.resumed_at
