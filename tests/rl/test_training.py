"""Training agents: the run directory, progress, TensorBoard scalars, checkpoints, resuming a
stopped run, and ``fdl_keras.train``'s options for an RL system."""

import importlib.util
import io
import json

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'")

import fdl_keras  # noqa: E402
from fdl_keras.errors import InvalidInputError  # noqa: E402
from fdl_keras.rl import make_agent, train_agent  # noqa: E402
from fdl_keras.rl.envs import random_rollout  # noqa: E402
from fdl_keras.rl.train import evaluate_policy  # noqa: E402
from fdl_keras.runs import (  # noqa: E402
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    load_run,
    read_history,
)
from fdl_keras.training.progress import ProgressLine  # noqa: E402

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
    assert not tensorboard or {"episode_return", "mean_return", "loss"} <= scalar_tags(tmp_path)
    assert json.loads((tmp_path / METRICS_FILE).read_text())["steps"] == 512
    assert read_history(tmp_path / HISTORY_FILE)["step"][-1] == 512

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
    steps = read_history(tmp_path / HISTORY_FILE)["step"]
    assert steps == sorted(set(steps)) and steps[-1] == 1024 and 512 in steps


def scalar_tags(run_dir) -> set[str]:
    import tensorflow as tf

    tags = set()
    for events in (run_dir / "tensorboard").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            tags.update(value.tag for value in event.summary.value)
    return tags


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
    history = read_history(run_dir / HISTORY_FILE)
    assert [s for s, e in zip(history["step"], history["eval_return"]) if e == e] == [
        256,
        512,
        768,
        1024,
    ]
    with open(run_dir / HISTORY_FILE, "a") as f:  # likewise a row, and a line cut by the kill
        f.write(",".join(["1100"] + ["9.0"] * (len(history) - 1)) + "\n1164,3")
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
    steps = read_history(run_dir / HISTORY_FILE)["step"]
    assert 1100 not in steps and 1164 not in steps
    assert steps == sorted(set(steps)) and steps[-1] == 1280
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


# --- fdl_keras.train for an RL system ----------------------------------------------------------


def test_train_writes_a_run_dir_that_loads_and_evaluates(tmp_path, capsys):
    result = fdl_keras.train(
        "ppo_cartpole", steps=512, run_dir=tmp_path, verbose=2, hidden_units=(8,)
    )
    out = capsys.readouterr().out
    assert "512/512 steps" in out and "steps/s" in out and "mean_return" in out
    assert "\r" not in out  # plain lines for a log, not a line rewritten in place

    for name in (RUN_FILE, HISTORY_FILE, MODEL_FILE, METRICS_FILE):
        assert (tmp_path / name).is_file(), name
    history = read_history(tmp_path / HISTORY_FILE)
    assert {"step", "episodes", "mean_return", "steps_per_s", "loss"} <= set(history)
    assert len(history["step"]) >= 1 and history["step"][-1] == 512
    assert result.history["step"] == history["step"]
    metrics = json.loads((tmp_path / METRICS_FILE).read_text())
    assert np.isfinite(metrics["test"]["mean_return"]) and metrics["test"]["episodes"] == 10
    assert metrics["test"] == result.test_metrics
    assert (metrics["steps"], result.initial_epoch, result.data) == (512, 0, None)
    assert result.extras["steps"] == 512

    run = load_run(tmp_path)
    assert run.spec is result.spec
    assert (run.settings["family"], run.settings["environment"]) == (
        result.spec.family,
        "CartPole-v1",
    )
    assert run.settings["settings"]["network"] == {"hidden_units": [8]}
    observations = random_rollout("CartPole-v1", 16)["observations"]
    for loaded, trained in zip(run.model(observations), result.model(observations)):
        np.testing.assert_allclose(loaded, trained, rtol=1e-6)
    # The same seeded episodes as metrics.json's test; `fdl evaluate` goes through the spec.
    evaluation = evaluate_policy(run.spec, run.model, settings=run.settings)
    assert evaluation == pytest.approx(result.test_metrics)
    assert run.spec.evaluate(run.model, settings=run.settings, limit=3)["episodes"] == 3


def test_train_takes_another_environment_and_learning_rate(tmp_path):
    result = fdl_keras.train(
        "ppo_cartpole",
        environment="Acrobot-v1",
        steps=256,
        learning_rate=5e-4,
        run_dir=tmp_path,
        verbose=0,
        hidden_units=(8,),
    )
    assert result.model.outputs[0].shape[-1] == 3  # Acrobot's three torques
    settings = load_run(tmp_path).settings
    assert settings["environment"] == "Acrobot-v1"
    assert settings["settings"]["learning_rate"] == 5e-4
    # Evaluated on Acrobot: -1 a step until the goal, at most 500 steps (CartPole's are > 0).
    assert -500 <= result.test_metrics["mean_return"] < 0, result.test_metrics


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("ppo_cartpole", {"epochs": 3}, "'epochs'"),
        ("ppo_cartpole", {"steps": 0}, "steps must be an integer >= 1, got 0"),
        ("ppo_cartpole", {"steps": 2.5}, "steps must be an integer"),
        ("ppo_cartpole", {"eval_every": 0}, "eval_every must be an integer >= 1"),
        ("ppo_cartpole", {"learning_rate": -1.0}, "learning rate must be"),
        ("trpo_cartpole", {"learning_rate": 1e-3}, "no 'learning_rate' setting"),
        ("ppo_cartpole", {"num_actions": 3}, "comes from the environment"),
        ("ppo_cartpole", {"hidden_unit": (8,)}, "no argument 'hidden_unit'"),
    ],
)
def test_train_refuses_bad_options(tmp_path, name, options, message):
    with pytest.raises(InvalidInputError, match=message):
        fdl_keras.train(name, run_dir=tmp_path, verbose=0, **options)


def test_progress_line_for_a_terminal_a_log_and_silence():
    log = io.StringIO()
    progress = ProgressLine(1000, verbose="auto", every_s=0.0, stream=log)  # not a tty: 2
    progress.update(500, mean_return=float("nan"), loss=0.25)
    progress.update(1000)
    progress.close(mean_return=12.5)
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("500/1,000 steps - ") and "steps/s" in lines[0]
    assert "mean_return - - loss 0.25 - ETA" in lines[0]
    assert lines[1].startswith("1,000/1,000 steps") and "mean_return - - loss 0.25" in lines[1]
    assert lines[2].endswith("total") and "mean_return 12.5" in lines[2]

    tty = io.StringIO()
    progress = ProgressLine(10, unit="episode", verbose=1, stream=tty)
    progress.update(10)
    progress.close()
    assert tty.getvalue().startswith("\r10/10 episodes") and tty.getvalue().endswith("\n")

    silent = io.StringIO()
    progress = ProgressLine(10, verbose=0, stream=silent)
    progress.update(5)
    progress.close()
    assert silent.getvalue() == ""
    with pytest.raises(InvalidInputError, match="verbose"):
        ProgressLine(10, verbose=3)
