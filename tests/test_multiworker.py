"""Multi-worker training: two local worker processes (TF_CONFIG on 127.0.0.1, free ports) run
`fdl train --strategy multiworker` and must end where one process training on the same global
batches ends; a run whose worker was killed resumes from the chief's backup."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fdl_keras.runs import load_model_file

pytestmark = pytest.mark.slow

# Dropout off: its masks are random per replica, so only a deterministic net can be compared.
TRAIN = """
import sys, fdl_keras
fdl_keras.train("mnist_mlp", dataset="digits", limit=512, batch_size=64, dropout=0.0, verbose=0,
                epochs=int(sys.argv[1]), strategy=sys.argv[2], run_dir=sys.argv[3])
"""


def train_command(epochs: int, strategy: str, run_dir: Path) -> list[str]:
    return [sys.executable, "-c", TRAIN, str(epochs), strategy, str(run_dir)]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(run_dir: Path, epochs: int, ports: list[int]) -> list[subprocess.Popen]:
    workers = [f"127.0.0.1:{p}" for p in ports]
    processes = []
    for index in range(len(workers)):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(tf_config),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "OMP_NUM_THREADS": "1",
        }
        processes.append(
            subprocess.Popen(
                train_command(epochs, "multiworker", run_dir),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        )
    return processes


def finish(processes: list[subprocess.Popen], timeout: float = 300) -> None:
    for p in processes:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err[-3000:]


def weights(path: Path) -> list[np.ndarray]:
    return load_model_file(path).get_weights()


def test_two_workers_end_equal_to_each_other_and_to_one_process(tmp_path):
    run_dir = tmp_path / "run"
    finish(start_workers(run_dir, epochs=2, ports=free_ports(2)))
    chief, other = weights(run_dir / "model.keras"), weights(tmp_path / "run.worker-1/model.keras")
    for a, b in zip(chief, other):
        np.testing.assert_array_equal(a, b)  # all-reduced steps: bit-identical replicas

    single = tmp_path / "single"
    result = subprocess.run(
        train_command(2, "default", single),
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Same global batches, gradients summed in another order: the nets compute the same test
    # loss; Adam turns the float noise into ~1e-3 moves on weights of near-constant pixels.
    test = [json.loads((d / "metrics.json").read_text())["test"] for d in (run_dir, single)]
    assert test[0]["loss"] == pytest.approx(test[1]["loss"], rel=1e-5)
    assert test[0]["accuracy"] == test[1]["accuracy"]
    for a, b in zip(chief, weights(single / "model.keras")):
        np.testing.assert_allclose(a, b, atol=2e-3)
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 3 and "val_loss" in history[0]


def test_a_run_whose_worker_died_resumes_from_the_chiefs_backup(tmp_path):
    run_dir = tmp_path / "run"
    processes = start_workers(run_dir, epochs=4, ports=free_ports(2))
    backup = run_dir / "backup" / "epoch-0001.weights.h5"
    deadline = time.monotonic() + 240
    while not backup.is_file() and time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), processes[0].stderr.read()[-3000:]
        time.sleep(0.2)
    assert backup.is_file(), "the chief never wrote its first epoch backup"
    os.killpg(processes[1].pid, signal.SIGKILL)  # a worker dies; the chief cannot go on alone
    os.killpg(processes[0].pid, signal.SIGKILL)
    for p in processes:
        p.communicate()
    finish(start_workers(run_dir, epochs=4, ports=free_ports(2)))
    resumed = json.loads((run_dir / "metrics.json").read_text())["resumed_at_epoch"]
    assert resumed >= 1

    straight = tmp_path / "straight"
    finish(start_workers(straight, epochs=4, ports=free_ports(2)))
    for a, b in zip(weights(run_dir / "model.keras"), weights(straight / "model.keras")):
        np.testing.assert_allclose(a, b, atol=1e-6)
