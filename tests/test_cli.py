"""The ``fdl`` command, run as a user would run it (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest


def fdl(*args, env=None, timeout=300):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fdl_keras.cli", *args],
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

    result = fdl("export", str(run_dir / "model.keras"), str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "again" / "report.json").read_text())
    assert report["passed"] and report["sample"]["source"] == "given"


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
    assert "steps 512" in result.stdout
    assert (run_dir / "best_model.keras").is_file()
    evaluations = json.loads((run_dir / "evaluations.json").read_text())
    assert [e["step"] for e in evaluations] == [256, 512]
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] and report["runtimes"]["onnx"]["max_abs_diff"] <= 1e-5
