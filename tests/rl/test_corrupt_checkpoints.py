"""Damaged run directories: resuming names the damaged file and the fix in one line (and leaves
the run as it was), or falls back to the older checkpoint with a warning."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'")

from fdl_keras.errors import InvalidInputError  # noqa: E402
from fdl_keras.rl import make_agent, train_agent  # noqa: E402
from fdl_keras.rl.agent import CHECKPOINTS, STATE  # noqa: E402
from fdl_keras.rl.dqn import REPLAY  # noqa: E402

QUICK = {
    "learning_starts": 100,
    "train_frequency": 64,
    "gradient_steps": 4,
    "network": {"hidden_units": (8,)},
}
STEPS = 320


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("dqn_run")
    train_agent("dqn_cartpole", total_steps=STEPS, run_dir=run_dir, verbose=0, **QUICK)
    assert len(checkpoint_steps(run_dir)) == 2  # CheckpointManager keeps two
    return run_dir


def checkpoint_steps(run_dir: Path) -> list[int]:
    """The steps of the checkpoints in ``run_dir``, oldest first."""
    return sorted(int(p.stem.split("-")[1]) for p in (run_dir / CHECKPOINTS).glob("*.index"))


@pytest.fixture
def run_dir(trained_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def data_file(run_dir: Path, step: int) -> Path:
    (path,) = (run_dir / CHECKPOINTS).glob(f"ckpt-{step}.data-*")
    return path


def snapshot(run_dir: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def assert_rerun_names(run_dir: Path, damaged: Path, *words: str) -> str:
    """Rerunning the run raises one line naming ``damaged`` and the fix, and changes nothing."""
    before = snapshot(run_dir)
    with pytest.raises(InvalidInputError) as caught:
        train_agent("dqn_cartpole", total_steps=STEPS, run_dir=run_dir, verbose=0, **QUICK)
    message = str(caught.value)
    assert "\n" not in message, message
    assert str(damaged) in message and f"delete {run_dir}" in message, message
    assert "another run_dir to start afresh" in message, message
    for word in words:
        assert word in message, message
    assert snapshot(run_dir) == before
    return message


DAMAGE = {
    "truncated replay": (REPLAY, truncate, "not a readable .npz"),
    "garbage replay": (REPLAY, lambda p: p.write_bytes(os.urandom(4000)), "not a readable .npz"),
    "empty state": (STATE, lambda p: p.write_text(""), "not readable JSON"),
    "garbage state": (STATE, lambda p: p.write_bytes(os.urandom(300)), "not readable JSON"),
    "state without rng": (STATE, lambda p: p.write_text('{"name": "dqn_cartpole"}'), "'env_id'"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_replay_or_state_is_named_in_one_line(case, run_dir):
    name, damage, problem = DAMAGE[case]
    damage(run_dir / name)
    assert_rerun_names(run_dir, run_dir / name, problem)


def test_a_damaged_replay_can_be_deleted_to_resume(run_dir):
    truncate(run_dir / REPLAY)
    message = assert_rerun_names(run_dir, run_dir / REPLAY)
    assert "delete it to resume with an empty replay buffer" in message
    (run_dir / REPLAY).unlink()
    agent = make_agent("dqn_cartpole", total_steps=STEPS, **QUICK)
    assert agent.restore(run_dir) == STEPS and len(agent.buffer) == 0


def test_a_damaged_latest_checkpoint_falls_back_to_the_older_one(run_dir, capsys):
    older, newest = checkpoint_steps(run_dir)
    truncate(data_file(run_dir, newest))
    agent = make_agent("dqn_cartpole", total_steps=1024, **QUICK)
    assert agent.restore(run_dir) == older
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert str(data_file(run_dir, newest)) in warning and f"ckpt-{older}" in warning
    assert agent.episode_ends and all(end <= older for end in agent.episode_ends)
    assert len(agent.episode_returns) == len(agent.episode_ends)


@pytest.mark.parametrize("part", ["data", "index"])
def test_both_checkpoints_damaged_is_named_in_one_line(part, run_dir):
    damaged = []
    for step in reversed(checkpoint_steps(run_dir)):
        if part == "data":
            damaged.append(data_file(run_dir, step))
            truncate(damaged[-1])
        else:
            damaged.append(run_dir / CHECKPOINTS / f"ckpt-{step}.index")
            damaged[-1].write_bytes(os.urandom(200))
    assert_rerun_names(run_dir, damaged[0])  # the newest


def test_a_garbage_checkpoint_list_still_resumes_from_the_newest(run_dir):
    (run_dir / CHECKPOINTS / "checkpoint").write_bytes(os.urandom(200))
    agent = make_agent("dqn_cartpole", total_steps=1024, **QUICK)
    assert agent.restore(run_dir) == STEPS
    agent.steps = 2 * STEPS
    agent.save(run_dir)  # and the next save writes a new list
    assert make_agent("dqn_cartpole", total_steps=1024, **QUICK).restore(run_dir) == 2 * STEPS


def test_unreal_and_sequence_replays_name_their_damaged_file(tmp_path):
    from fdl_keras.rl.drqn import SequenceReplay
    from fdl_keras.rl.unreal import UnrealReplay

    def unreal():
        return UnrealReplay(8, 2, (4, 4, 1), 2)

    def sequence():
        return SequenceReplay(8, (3,))

    buffers = {"unreal_replay.npz": unreal(), REPLAY: sequence()}
    for i in range(5):
        buffers["unreal_replay.npz"].add(
            np.full((2, 4, 4, 1), i), np.zeros((2, 4)), [0, 1], [0.0, 1.0], [False, i == 4]
        )
        buffers[REPLAY].add(np.full(3, i), 1, 0.5, np.full(3, i + 1), False, i == 4)
    for (name, buffer), make in zip(buffers.items(), (unreal, sequence)):
        path = tmp_path / name
        buffer.save(path)
        restored = make()
        restored.load(path)
        assert (len(restored), restored.position) == (5, 5)
        np.testing.assert_array_equal(restored.observations, buffer.observations)
        truncate(path)
        with pytest.raises(InvalidInputError) as caught:
            make().load(path)
        message = str(caught.value)
        assert "\n" not in message and str(path) in message and f"delete {tmp_path}" in message
