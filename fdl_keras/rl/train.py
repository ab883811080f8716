"""``train_agent``: trains a registered ``training="rl"`` system with progress and checkpoints."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import get_spec

#: The agent class that trains each registered RL system.
AGENTS = {
    "reinforce_cartpole": "fdl_keras.rl.reinforce:Reinforce",
    "a2c_cartpole": "fdl_keras.rl.a3c:A2C",
    "a3c_cartpole": "fdl_keras.rl.a3c:A3C",
    "dqn_cartpole": "fdl_keras.rl.dqn:DQN",
    "dqn_breakout": "fdl_keras.rl.dqn:DQN",
    "drqn_flickering_cartpole": "fdl_keras.rl.drqn:DRQN",
    "ppo_cartpole": "fdl_keras.rl.ppo:PPO",
    "trpo_cartpole": "fdl_keras.rl.trpo:TRPO",
    "unreal_pixel_cartpole": "fdl_keras.rl.unreal:Unreal",
    "unreal_breakout": "fdl_keras.rl.unreal:Unreal",
}


def agent_class(name: str) -> type:
    """The agent class that trains the registered system ``name``."""
    spec = get_spec(name)
    if name not in AGENTS:
        raise InvalidInputError(
            f"{name} is trained with training={spec.training!r}, not by an RL agent; "
            f"agents exist for {', '.join(sorted(AGENTS))}"
        )
    module, cls = AGENTS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_agent(name: str, **kwargs: Any):
    """The agent for the registered system ``name``, built with ``kwargs`` (see ``Agent``)."""
    return agent_class(name)(name, **kwargs)


def train_agent(
    name: str,
    *,
    total_steps: int | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    verbose: int = 1,
    env_id: str | None = None,
    tensorboard: bool = False,
    checkpoint_every: int | None = None,
    stop_at_return: float | None = None,
    time_limit_s: float | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 20,
    **settings: Any,
) -> dict:
    """Trains the RL system ``name`` for ``total_steps`` environment steps.

    With ``run_dir``, a checkpoint (networks, optimizer, step counter, episode log, replay buffer)
    is written every ``checkpoint_every`` steps and at the end, and a run started again with the
    same ``run_dir`` resumes from the latest one.

    Args:
        name: a registered system with ``training="rl"`` (``fdl list``).
        total_steps: environment steps of the whole run (the system's default when None).
        run_dir: folder for checkpoints, ``history.json`` and TensorBoard logs.
        seed: seeds weights, environments and exploration.
        verbose: 1 shows a ``keras.utils.Progbar`` of steps with the running mean return.
        env_id: train on another environment (e.g. ``FlickeringCartPole-v1``).
        tensorboard: also write episode returns and losses as TensorBoard scalars.
        checkpoint_every: steps between checkpoints (default: a tenth of the run).
        stop_at_return: stop early once the mean return of the last 100 episodes reaches it.
        time_limit_s: stop (with a checkpoint) after this many seconds of wall time.
        eval_every: every this many steps, play ``eval_episodes`` greedy episodes (as SB3's
            ``EvalCallback``); the best policy so far is saved as ``run_dir/best_model.keras``,
            and with ``stop_at_return`` training stops once an evaluation's mean reaches it.
        eval_episodes: episodes per evaluation, one per parallel environment.
        **settings: agent settings replacing the system's defaults (see the agent's ``settings``).

    Returns:
        ``{"name", "env_id", "agent", "model", "steps", "episodes", "mean_return",
        "episode_returns", "episode_ends", "solved_at", "wall_time_s", "run_dir",
        "resumed_from", "evaluations", "eval_solved_at", "best_eval_return"}``; ``solved_at`` is
        the step where the mean of the last 100 training episodes first reached
        ``stop_at_return`` (or the spec's target), else None; ``evaluations`` lists
        ``{"step", "mean", "std"}`` of each greedy evaluation and ``eval_solved_at`` the step of
        the first whose mean reached the threshold.
    """
    if eval_every is not None and (eval_every < 1 or eval_episodes < 1):
        raise InvalidInputError(
            f"eval_every and eval_episodes must be >= 1, got {eval_every} and {eval_episodes}"
        )
    start = time.perf_counter()
    agent = make_agent(name, seed=seed, total_steps=total_steps, env_id=env_id, **settings)
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
    resumed_from = agent.restore(run_dir) if run_dir is not None else 0
    every = checkpoint_every or max(1, agent.total_steps // 10)
    next_checkpoint = (agent.steps // every + 1) * every
    threshold = stop_at_return
    if threshold is None and agent.spec.target is not None:
        threshold = agent.spec.target.value
    solved_at = _first_solved(agent.episode_returns, agent.episode_ends, threshold)
    writer = None
    if tensorboard:
        if run_dir is None:
            raise InvalidInputError("tensorboard=True needs a run_dir to write the logs into")
        writer = _summary_writer(run_dir)
    progbar = keras.utils.Progbar(
        agent.total_steps,
        verbose=verbose,
        stateful_metrics=("mean_return", "episodes"),
        unit_name="step",
    )
    # Evaluations after the restored checkpoint belong to steps that will be played again.
    evaluations = [e for e in _load_evaluations(run_dir) if e["step"] <= agent.steps]
    best_return = max((e["mean"] for e in evaluations), default=-np.inf)
    eval_solved_at = next((e["step"] for e in evaluations if _reached(e["mean"], threshold)), None)
    next_evaluation = (agent.steps // eval_every + 1) * eval_every if eval_every else None
    logged = len(agent.episode_returns)
    while agent.steps < agent.total_steps:
        agent.iterate()
        if next_evaluation is not None and agent.steps >= next_evaluation:
            next_evaluation += eval_every
            returns = agent.evaluate(eval_episodes)
            evaluations.append(
                {"step": agent.steps, "mean": float(returns.mean()), "std": float(returns.std())}
            )
            if eval_solved_at is None and _reached(returns.mean(), threshold):
                eval_solved_at = agent.steps
            if run_dir is not None:
                (run_dir / EVALUATIONS).write_text(json.dumps(evaluations))
                if returns.mean() > best_return:
                    agent.model.save(run_dir / "best_model.keras")
            best_return = max(best_return, float(returns.mean()))
            if writer is not None:
                with writer.as_default():
                    tf.summary.scalar("eval_return", returns.mean(), step=agent.steps)
        if writer is not None:
            _write_scalars(writer, agent, logged)
        logged = len(agent.episode_returns)
        if solved_at is None and logged >= 100 and threshold is not None:
            if agent.mean_return(100) >= threshold:
                solved_at = agent.steps
        progbar.update(
            min(agent.steps, agent.total_steps),
            values=[("mean_return", agent.mean_return()), ("episodes", logged)],
        )
        if run_dir is not None and agent.steps >= next_checkpoint:
            agent.save(run_dir)
            next_checkpoint += every
        reached = eval_solved_at if eval_every else solved_at
        if stop_at_return is not None and reached is not None:
            break
        if time_limit_s is not None and time.perf_counter() - start > time_limit_s:
            break
    result = {
        "name": name,
        "env_id": agent.env_id,
        "agent": agent,
        "model": agent.model,
        "steps": agent.steps,
        "episodes": len(agent.episode_returns),
        "mean_return": agent.mean_return(),
        "episode_returns": list(agent.episode_returns),
        "episode_ends": list(agent.episode_ends),
        "solved_at": solved_at,
        "wall_time_s": time.perf_counter() - start,
        "run_dir": run_dir,
        "resumed_from": resumed_from,
        "evaluations": evaluations,
        "eval_solved_at": eval_solved_at,
        "best_eval_return": float(best_return) if evaluations else None,
    }
    if run_dir is not None:
        agent.save(run_dir)
        summary = {k: v for k, v in result.items() if k not in ("agent", "model", "run_dir")}
        (run_dir / "history.json").write_text(json.dumps(summary))
    return result


EVALUATIONS = "evaluations.json"


def _reached(value: float, threshold: float | None) -> bool:
    return threshold is not None and value >= threshold


def _load_evaluations(run_dir: Path | None) -> list[dict]:
    path = run_dir / EVALUATIONS if run_dir is not None else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else []


def _first_solved(returns: list[float], ends: list[int], threshold: float | None) -> int | None:
    if threshold is None or len(returns) < 100:
        return None
    means = np.convolve(returns, np.ones(100) / 100, mode="valid")
    hits = np.flatnonzero(means >= threshold)
    return int(ends[hits[0] + 99]) if len(hits) else None


def _summary_writer(run_dir: Path):
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise InvalidInputError(
            "tensorboard=True needs the tensorboard package: pip install tensorboard"
        )

    return tf.summary.create_file_writer(str(run_dir / "tensorboard"))


def _write_scalars(writer, agent, logged: int) -> None:
    with writer.as_default():
        for value, end in zip(agent.episode_returns[logged:], agent.episode_ends[logged:]):
            tf.summary.scalar("episode_return", value, step=end)
        for key, value in getattr(agent, "metrics", {}).items():
            tf.summary.scalar(key, float(value), step=agent.steps)
