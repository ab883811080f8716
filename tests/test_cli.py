"""The ``fdl`` command, run as a user would run it (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest


def fdl(*args, env=None, timeout=300):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fdl_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("fdl: error:")]


def test_list_shows_models_with_chapter_and_target():
    result = fdl("list")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert rows["mnist_mlp"].split()[1] == "5" and "accuracy >= 98.2% on mnist" in rows["mnist_mlp"]
    assert rows["mnist_cnn"].split()[1] == "7" and "accuracy >= 99.3% on mnist" in rows["mnist_cnn"]


def test_unknown_model_and_missing_dataset_errors(tmp_path):
    result = fdl("train", "mnist_cnm")
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert line.startswith("fdl: error: unknown model 'mnist_cnm' (did you mean mnist_cnn")
    assert "`fdl list` shows all" in line
    offline = {"FDL_DATA_DIR": str(tmp_path), "FDL_OFFLINE": "1", "KERAS_HOME": str(tmp_path)}
    result = fdl("train", "mnist_mlp", "--epochs", "1", env=offline)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert "MNIST not found" in line and "train-images-idx3-ubyte.gz" in line
    assert "FDL_DATA_DIR" in line


def test_errors_seen_in_the_arguments_come_before_tensorflow_loads(tmp_path):
    """A mistyped name, an option the family does not take, a count below 1, a bad learning
    rate, a missing run or input file, a bad tolerance and a taken TFRecord folder are refused
    in one line each without importing TensorFlow (seconds per command), as `fdl list` runs."""
    missing = str(tmp_path / "missing")
    cases = [
        (["list"], 0, None),
        (["train", "mnist_cnm"], 2, "unknown model 'mnist_cnm'"),
        (["train", "ppo_cartpole", "--epochs", "3"], 2, "'epochs' does not apply to it"),
        (["train", "ppo_cartpole", "--steps", "0"], 2, "steps must be an integer >= 1, got 0"),
        (["train", "mnist_mlp", "--batch-size", "0"], 2, "batch_size must be an integer >= 1"),
        (["train", "mnist_mlp", "--limit", "-5"], 2, "limit must be >= 1 training examples"),
        (["train", "mnist_mlp", "--learning-rate", "nan"], 2, "learning rate must be a finite"),
        (["evaluate", missing], 2, f"no model at {missing}; pass a run dir"),
        (["export", missing, str(tmp_path / "out")], 2, f"no model at {missing};"),
        (["export", str(tmp_path), "out", "--atol", "nan"], 2, "atol must be a finite number"),
        (["tag", missing, "in.txt"], 2, f"no model at {missing};"),
        (["explain", str(tmp_path), missing], 2, f"no input file at {missing}; pass an"),
        (["data", "to-tfrecord", "mnist", str(tmp_path)], 2, "exists; pass --overwrite"),
        (["data", "to-tfrecord", "mnist", missing, "--shards", "0"], 2, "shards must be an"),
    ]
    script = (
        "import sys\n"
        "from fdl_cli import main\n"
        f"for argv, code, _ in {cases!r}:\n"
        "    assert main(argv) == code, argv\n"
        "    assert 'tensorflow' not in sys.modules, ('tensorflow loaded', argv)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    expected = [fragment for _, _, fragment in cases if fragment]
    assert len(lines) == len(expected), lines
    for line, fragment in zip(lines, expected):
        assert line.startswith("fdl: error: ") and fragment in line, (line, fragment)
    assert not (tmp_path / "out").exists()


def test_train_evaluate_export_round_trip(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "export"
    result = fdl(
        "train",
        "mnist_mlp",
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--run-dir",
        str(run_dir),
        "--export",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "verification: PASSED" in result.stdout
    assert json.loads((out / "report.json").read_text())["passed"]

    result = fdl("evaluate", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy" in result.stdout and "360 examples of digits" in result.stdout

    result = fdl("export", str(run_dir / "model.keras"), str(tmp_path / "again"), "--atol", "1e-4")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "again" / "report.json").read_text())
    # The .keras file sits in its run dir: the sample comes from the run's dataset.
    assert report["passed"] and report["sample"]["source"] == "digits test split"
    assert report["atol"] == 1e-4  # the tolerance asked for, recorded

    result = fdl("export", str(run_dir), str(tmp_path / "bad"), "--atol", "-1")
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert line.startswith("fdl: error: atol must be a finite number >= 0, got -1.0")
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_demo_falls_back_to_digits_offline_and_exports(tmp_path):
    env = {
        "FDL_DATA_DIR": str(tmp_path / "empty"),
        "FDL_OFFLINE": "1",
        "KERAS_HOME": str(tmp_path / "keras"),
    }
    result = fdl(
        "demo",
        "--epochs",
        "3",
        "--run-dir",
        str(tmp_path / "run"),
        "--out",
        str(tmp_path / "exports"),
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MNIST is not available here" in result.stdout
    assert "mnist_cnn on digits: test accuracy" in result.stdout
    report = json.loads((tmp_path / "exports" / "mnist_cnn" / "report.json").read_text())
    assert report["passed"]
    assert max(report["runtimes"][r]["max_abs_diff"] for r in ("saved_model", "onnx")) <= 1e-5


def test_train_an_agent_with_evaluations_and_export_its_policy(tmp_path):
    pytest.importorskip("gymnasium", reason="the RL systems need the rl extra")
    run_dir, out = tmp_path / "run", tmp_path / "policy"
    result = fdl(
        "train", "dqn_cartpole", "--steps", "512", "--eval-every", "256",
        "--run-dir", str(run_dir), "--export", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "512/512 steps" in result.stdout  # the progress line's last report
    assert (run_dir / "best_model.keras").is_file()
    evaluations = json.loads((run_dir / "evaluations.json").read_text())
    assert [e["step"] for e in evaluations] == [256, 512]
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] and report["runtimes"]["onnx"]["max_abs_diff"] <= 1e-5


FAMILIES = {
    "generative": ("vae", ["--dataset", "digits", "--epochs", "1", "--limit", "128"], "loss"),
    "style": (
        "fast_style_transfer",
        ["--vgg-weights", "random", "--epochs", "1", "--limit", "16"],
        "loss",
    ),
    "rl": ("ppo_cartpole", ["--steps", "512"], "mean_return"),
    "reconstruction": ("autoencoder_mnist", ["--epochs", "1", "--limit", "512"], "loss"),
    "pca": ("pca_mnist", ["--limit", "1000"], "loss"),
    "word embedding": ("word2vec_brown", ["--epochs", "1", "--limit", "2000"], "loss"),
    "tagging": ("pos_tagger", ["--epochs", "1", "--limit", "2048"], "accuracy"),
    "transition parsing": ("dependency_parser", ["--epochs", "1", "--limit", "500"], "uas"),
    "text classification": ("lstm_sentiment", ["--epochs", "1", "--limit", "32"], "accuracy"),
    "translation": ("seq2seq_attention_fr_en", ["--epochs", "1", "--limit", "256"], "loss"),
    "rationalisation": (
        "rationale_movie_reviews",
        ["--epochs", "1", "--limit", "64", "--batch-size", "16"],
        "accuracy",
    ),
    "memory": ("ntm_copy", ["--epochs", "1", "--limit", "64"], "bit_accuracy"),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_trains_evaluates_and_exports_through_the_cli(family, tmp_path):
    """fdl train NAME -> fdl evaluate RUN -> fdl export RUN DIR, the same three commands for a
    sampler, a style network and an agent as for a classifier (test above)."""
    name, options, metric = FAMILIES[family]
    run_dir, out = tmp_path / "run", tmp_path / "export"
    result = fdl("train", name, *options, "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    settings = json.loads((run_dir / "run.json").read_text())
    assert settings["name"] == name
    for file in ("history.csv", "model.keras", "metrics.json"):
        assert (run_dir / file).is_file(), file
    trained = json.loads((run_dir / "metrics.json").read_text())["test"][metric]

    result = fdl("evaluate", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    shown = float(result.stdout.split(f"{metric} ")[1].split()[0])
    # The same test split and loss give the same number; the VAE's loss is a one-sample Monte
    # Carlo estimate of the ELBO, so it agrees to a few percent; returns come from new episodes.
    tolerance = {"style": 1e-4, "generative": 0.05, "pca": 1e-3, "word embedding": 1e-3}
    if family in tolerance:
        assert shown == pytest.approx(trained, rel=tolerance[family])

    result = fdl("export", str(run_dir), str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "verification: PASSED" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] and report["runtimes"]["onnx"]["max_abs_diff"] <= 1e-5


def test_options_that_do_not_apply_are_refused_in_one_line(tmp_path):
    result = fdl("train", "ppo_cartpole", "--epochs", "3", "--run-dir", str(tmp_path))
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert "'epochs' does not apply" in line and "reinforcement learning" in line
    result = fdl("train", "mnist_mlp", "--env", "Acrobot-v1", "--run-dir", str(tmp_path))
    assert result.returncode == 2
    assert "'environment' does not apply" in error_lines(result)[0]


def test_info_shows_what_the_family_uses():
    result = fdl("info", "ppo_cartpole")
    assert result.returncode == 0, result.stderr
    assert "family: reinforcement learning" in result.stdout
    assert "agent: fdl_keras.rl.ppo.PPO" in result.stdout
    assert "fit:" not in result.stdout and "cross" not in result.stdout.lower()
    result = fdl("info", "mnist_cnn")
    assert "family: classification" in result.stdout and "fit: FitConfig" in result.stdout
