"""train_agent: progress bar, TensorBoard scalars, checkpoints and resuming a stopped run."""

import importlib.util
import json

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'")

from fdl_keras.errors import InvalidInputError  # noqa: E402
from fdl_keras.rl import make_agent, train_agent  # noqa: E402

QUICK = {
    "learning_starts": 100,
    "train_frequency": 64,
    "gradient_steps": 4,
    "network": {"hidden_units": (8,)},
}


def test_a_stopped_run_resumes_where_it_stopped(tmp_path, capsys):
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    first = train_agent(
        "dqn_cartpole",
        total_steps=512,
        run_dir=tmp_path,
        tensorboard=tensorboard,
        verbose=1,
        **QUICK,
    )
    assert (first["steps"], first["resumed_from"]) == (512, 0)
    assert "mean_return" in capsys.readouterr().out
    assert not tensorboard or list((tmp_path / "tensorboard").iterdir())
    assert json.loads((tmp_path / "history.json").read_text())["steps"] == 512

    # A new process restores networks, optimizer, step counter, replay buffer and episode log.
    agent = make_agent("dqn_cartpole", total_steps=1024, **QUICK)
    assert agent.restore(tmp_path) == 512
    trained = first["agent"]
    for restored, saved in [
        (agent.model, trained.model),
        (agent.target_model, trained.target_model),
    ]:
        for a, b in zip(restored.get_weights(), saved.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert int(agent.optimizer.iterations) == int(trained.optimizer.iterations) > 0
    assert len(agent.buffer) == 512
    np.testing.assert_array_equal(agent.buffer.rewards, trained.buffer.rewards)
    assert agent.episode_returns == trained.episode_returns
    assert agent.rng.random() == trained.rng.random()

    second = train_agent("dqn_cartpole", total_steps=1024, run_dir=tmp_path, verbose=0, **QUICK)
    assert (second["resumed_from"], second["steps"]) == (512, 1024)
    done = len(first["episode_returns"])
    assert second["episode_returns"][:done] == first["episode_returns"]
    assert len(second["episode_returns"]) > done


def test_a_run_dir_of_another_system_is_refused(tmp_path):
    train_agent("dqn_cartpole", total_steps=64, run_dir=tmp_path, verbose=0, **QUICK)
    with pytest.raises(InvalidInputError, match="another run_dir"):
        train_agent(
            "dqn_cartpole",
            total_steps=64,
            run_dir=tmp_path,
            verbose=0,
            env_id="FlickeringCartPole-v1",
            **QUICK,
        )


def test_settings_and_names_are_checked():
    with pytest.raises(InvalidInputError, match="no setting 'learning_rte'"):
        make_agent("ppo_cartpole", learning_rte=1e-3)
    with pytest.raises(InvalidInputError, match="not by an RL agent"):
        make_agent("mnist_mlp")


def test_periodic_greedy_evaluation_keeps_the_best_policy_and_can_stop(tmp_path):
    import keras

    run_dir = tmp_path / "new"  # made by train_agent before the first evaluation writes there
    run = train_agent(
        "dqn_cartpole",
        total_steps=1024,
        run_dir=run_dir,
        verbose=0,
        eval_every=256,
        eval_episodes=4,
        stop_at_return=1e9,  # never reached: all four evaluations run
        **QUICK,
    )
    assert [e["step"] for e in run["evaluations"]] == [256, 512, 768, 1024]
    assert run["eval_solved_at"] is None
    assert run["best_eval_return"] == max(e["mean"] for e in run["evaluations"]) >= 8
    best = keras.saving.load_model(run_dir / "best_model.keras")
    assert best.count_params() == run["model"].count_params()

    # Resumed, the earlier evaluations are kept; one written after the last checkpoint (a kill
    # between the two) is dropped, since its steps are played again.
    (run_dir / "evaluations.json").write_text(
        json.dumps(run["evaluations"] + [{"step": 1100, "mean": 9.0, "std": 0.0}])
    )
    again = train_agent(
        "dqn_cartpole",
        total_steps=1280,
        run_dir=run_dir,
        verbose=0,
        eval_every=256,
        eval_episodes=4,
        **QUICK,
    )
    assert [e["step"] for e in again["evaluations"]] == [256, 512, 768, 1024, 1280]
    # A reachable threshold stops training at the first evaluation that reaches it.
    solved = train_agent(
        "dqn_cartpole",
        total_steps=1024,
        eval_every=256,
        eval_episodes=4,
        stop_at_return=1.0,
        verbose=0,
        **QUICK,
    )
    assert solved["eval_solved_at"] == solved["steps"] == 256
    with pytest.raises(InvalidInputError, match="eval_every"):
        train_agent("dqn_cartpole", total_steps=64, eval_every=0, **QUICK)
