"""Training chapter 13 agents: the loop, its run directory, and greedy evaluation of a policy.

:func:`train_agent` drives an agent (:class:`fdl_keras.rl.agent.Agent`) for a number of
environment steps with a live progress line, periodic greedy evaluations and checkpoints;
:func:`train_system` is the trainer that :func:`fdl_keras.train` runs for a
:class:`~fdl_keras.tasks.ReinforcementLearning` system; :func:`evaluate_policy` scores a saved
policy (``fdl evaluate RUN``).

With a ``run_dir`` the run leaves the files of :mod:`fdl_keras.runs` that every family writes:
``run.json``, ``history.csv`` (a row per logging interval, appended while training, so a killed
run keeps them), ``model.keras`` (the policy or Q-network) and ``metrics.json`` (a greedy test of
the final policy); and what resuming needs: ``checkpoints/``, ``state.json``,
``evaluations.json`` and ``best_model.keras`` (the best policy of the periodic evaluations, as
SB3's ``EvalCallback`` keeps it).
"""

from __future__ import annotations

import contextlib
import csv
import math
import numbers
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import ModelSpec, get_spec, list_models
from fdl_keras.runs import (
    HISTORY_FILE,
    MODEL_FILE,
    claim_run,
    read_history,
    start_run,
    write_json,
    write_metrics,
)
from fdl_keras.tasks import check_count
from fdl_keras.training.progress import ProgressLine

if TYPE_CHECKING:
    from fdl_keras.training.trainer import TrainResult

EVALUATIONS = "evaluations.json"
BEST_MODEL = "best_model.keras"
#: Greedy episodes that test the final policy (``metrics.json``) and that ``fdl evaluate`` plays.
TEST_EPISODES = 10
#: Builder arguments an agent reads from its environment, never from the caller.
ENVIRONMENT_ARGS = ("observation_shape", "num_actions")
#: Rows of ``history.csv`` over a run, unless ``log_every`` says otherwise.
HISTORY_ROWS = 100


def agent_class(name: str) -> type:
    """The agent class that trains the registered system ``name``."""
    from fdl_keras.tasks import ReinforcementLearning

    spec = get_spec(name)
    if not isinstance(spec.task, ReinforcementLearning):
        raise InvalidInputError(
            f"{name} is a {spec.family} system, trained by fdl_keras.train, not by an RL agent; "
            f"agents train {', '.join(s.name for s in list_models(13))}"
        )
    return spec.task.agent


def make_agent(name: str, **kwargs: Any):
    """The agent for the registered system ``name``, built with ``kwargs`` (see ``Agent``)."""
    return agent_class(name)(name, **kwargs)


# --- the trainer behind fdl_keras.train ------------------------------------------------------


def train_system(spec: ModelSpec, options: dict[str, Any]) -> TrainResult:
    """Trains the RL system ``spec`` with :func:`fdl_keras.train`'s ``options``.

    ``steps`` (total environment steps), ``eval_every``, ``environment`` (a gymnasium id) and
    ``learning_rate`` (the agent's setting) replace the system's; ``overrides`` (builder
    arguments) go over its ``network`` setting. The run directory defaults to ``runs/<name>``;
    a run started again there resumes.

    Raises:
        InvalidInputError: a value out of range, a ``learning_rate`` for an agent without that
            setting, or a builder argument the network does not take.
    """
    from fdl_keras.training.trainer import TrainResult

    summary = train_agent(spec.name, **_agent_arguments(spec, options))
    run_dir = summary["run_dir"]
    return TrainResult(
        model=summary["model"],
        spec=spec,
        history=read_history(run_dir / HISTORY_FILE),
        test_metrics=summary["test"],
        run_dir=run_dir,
        wall_time_s=summary["wall_time_s"],
        initial_epoch=summary["resumed_from"],
        data=None,
        extras=summary,
        resumed_at=f"step {summary['resumed_from']:,}" if summary["resumed_from"] else "",
    )


def _agent_arguments(spec: ModelSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`train_agent`'s arguments for ``options``, each checked (never replaced)."""
    given = {k: v for k, v in options.items() if v is not None}
    arguments = {
        "run_dir": Path(given.get("run_dir") or Path("runs") / spec.name),
        "seed": given.get("seed", 0),
        "verbose": given.get("verbose", "auto"),
        "tensorboard": bool(given.get("tensorboard", False)),
        # fdl_keras.train owns its run dir: a finished run is refused unless overwrite=True.
        "overwrite": bool(given.get("overwrite", False)),
    }
    for option, argument in (("steps", "total_steps"), ("eval_every", "eval_every")):
        if option in given:
            arguments[argument] = check_count(option, given[option])
    if "environment" in given:
        if not isinstance(given["environment"], str) or not given["environment"]:
            raise InvalidInputError(
                f"environment must be a gymnasium id such as 'Acrobot-v1', got "
                f"{given['environment']!r}"
            )
        arguments["env_id"] = given["environment"]
    if "learning_rate" in given:
        arguments["learning_rate"] = _check_learning_rate(spec, given["learning_rate"])
    overrides = dict(given.get("overrides") or {})
    if overrides:
        arguments["network"] = _network_setting(spec, overrides)
    return arguments


def _check_learning_rate(spec: ModelSpec, value: Any) -> float:
    from fdl_keras.tasks import check_learning_rate

    settings = spec.task.settings
    if "learning_rate" not in settings:
        rates = [k for k in settings if "learning_rate" in k]
        raise InvalidInputError(
            f"{spec.name}'s agent has no 'learning_rate' setting (its rates: "
            f"{', '.join(rates) or 'none'}); set those through train_agent(NAME, ...)"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"learning rate must be a finite number > 0, got {value!r}")
    check_learning_rate(value)
    return float(value)


def _network_setting(spec: ModelSpec, overrides: dict[str, Any]) -> dict[str, Any]:
    """The agent's ``network`` setting with the builder arguments ``overrides`` over it."""
    fixed = [k for k in overrides if k in ENVIRONMENT_ARGS]
    if fixed:
        raise InvalidInputError(
            f"{fixed[0]} comes from the environment; pass environment=... to change it"
        )
    if "network" not in spec.task.settings:
        raise InvalidInputError(f"{spec.name}'s agent takes no builder arguments")
    return {**spec.task.settings["network"], **overrides}


# --- greedy evaluation of a saved policy -----------------------------------------------------


def evaluate_policy(
    spec: ModelSpec,
    model,
    *,
    settings: Mapping[str, Any],
    episodes: int | None = None,
) -> dict[str, float]:
    """Greedy returns of ``model`` (a trained policy or Q-network of ``spec``).

    ``settings`` are its run's ``run.json`` (the environment, the seed and the builder
    arguments); without them the system's environment and the model's own config are used.
    The episodes are seeded as those of ``metrics.json``'s test, so the numbers agree.

    Returns:
        ``{"mean_return", "std_return", "episodes"}``.
    """
    from fdl_keras.tasks import builder_accepts

    episodes = TEST_EPISODES if episodes is None else check_count("episodes", episodes)
    model_args = settings.get("model_args") or builder_accepts(spec.builder, model.get_config())
    network = {k: v for k, v in model_args.items() if k not in ENVIRONMENT_ARGS}
    agent = make_agent(
        spec.name,
        seed=settings.get("seed", 0),
        env_id=spec.task.environment_of(settings),
        total_steps=1,
        **({"network": network} if network else {}),
    )
    weights, expected = model.get_weights(), agent.model.get_weights()
    if [w.shape for w in weights] != [w.shape for w in expected]:
        raise InvalidInputError(
            f"{model.name} does not fit {spec.name} on {agent.env_id} (other weight shapes); "
            "evaluate the run dir it was trained in, whose run.json names its environment"
        )
    agent.model.set_weights(weights)
    return greedy_test(agent, episodes)


def greedy_test(agent, episodes: int = TEST_EPISODES) -> dict[str, float]:
    """``{"mean_return", "std_return", "episodes"}`` of ``episodes`` greedy episodes."""
    returns = agent.evaluate(episodes)
    return {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "episodes": int(episodes),
    }


# --- the training loop -----------------------------------------------------------------------


def train_agent(
    name: str,
    *,
    total_steps: int | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    verbose: int | str = "auto",
    env_id: str | None = None,
    tensorboard: bool = False,
    checkpoint_every: int | None = None,
    stop_at_return: float | None = None,
    time_limit_s: float | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 20,
    log_every: int | None = None,
    test_episodes: int = TEST_EPISODES,
    overwrite: bool | None = None,
    **settings: Any,
) -> dict:
    """Trains the RL system ``name`` for ``total_steps`` environment steps.

    With ``run_dir``, the run writes the files of :mod:`fdl_keras.runs` (``run.json``,
    ``history.csv``, ``model.keras``, ``metrics.json``) and a checkpoint (networks, optimizer,
    step counter, episode log, replay buffer) every ``checkpoint_every`` steps and at the end; a
    run started again with the same ``run_dir`` resumes from the latest checkpoint.

    Args:
        name: a registered RL system (``fdl list``).
        total_steps: environment steps of the whole run (the system's default when None).
        run_dir: folder of the run (see above) and its TensorBoard logs.
        seed: seeds weights, environments and exploration.
        verbose: ``"auto"`` (a line rewritten in place on a terminal, else a line every 10 s),
            0 (silent), 1 or 2 (see :class:`fdl_keras.training.progress.ProgressLine`).
        env_id: train on another environment (e.g. ``FlickeringCartPole-v1``).
        tensorboard: also write the scalars of ``history.csv`` and every episode's return.
        checkpoint_every: steps between checkpoints (default: a tenth of the run).
        stop_at_return: stop early once the mean return of the last 100 episodes reaches it.
        time_limit_s: stop (with a checkpoint) after this many seconds of wall time.
        eval_every: every this many steps, play ``eval_episodes`` greedy episodes (as SB3's
            ``EvalCallback``); the best policy so far is saved as ``run_dir/best_model.keras``,
            and with ``stop_at_return`` training stops once an evaluation's mean reaches it.
        eval_episodes: episodes per evaluation, one per parallel environment.
        log_every: steps between rows of ``history.csv`` (default: a hundredth of the run); an
            evaluation adds a row too.
        test_episodes: greedy episodes that test the final policy for ``metrics.json``.
        overwrite: ``None`` (default) continues whatever ``run_dir`` holds, as a checkpoint;
            ``False`` owns it as :func:`fdl_keras.train` does (a finished run, or one with other
            settings, is refused); ``True`` replaces the run there.
        **settings: agent settings replacing the system's defaults (see the agent's ``settings``).

    Returns:
        ``{"name", "env_id", "agent", "model", "steps", "episodes", "mean_return",
        "episode_returns", "episode_ends", "solved_at", "wall_time_s", "run_dir",
        "resumed_from", "evaluations", "eval_solved_at", "best_eval_return", "test"}``;
        ``solved_at`` is the step where the mean of the last 100 training episodes first reached
        ``stop_at_return`` (or the spec's target), else None; ``evaluations`` lists
        ``{"step", "mean", "std"}`` of each greedy evaluation and ``eval_solved_at`` the step of
        the first whose mean reached the threshold; ``test`` is the greedy test of
        ``metrics.json`` (None without a ``run_dir``).
    """
    plan = _Plan(
        stop_at_return=stop_at_return,
        time_limit_s=time_limit_s,
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        checkpoint_every=checkpoint_every,
        log_every=log_every,
        test_episodes=test_episodes,
    )
    if tensorboard:
        _check_tensorboard(run_dir)
    start = time.perf_counter()
    agent = make_agent(name, seed=seed, total_steps=total_steps, env_id=env_id, **settings)
    run_dir = Path(run_dir) if run_dir is not None else None
    owned = (
        claim_run(
            run_dir,
            _run_settings(agent, plan),
            overwrite=bool(overwrite),
            check=overwrite is not None,
        )
        if run_dir is not None
        else contextlib.nullcontext()
    )
    with owned:
        loop = _begin(agent, plan, run_dir, verbose, start)
        if tensorboard:
            loop.writer = tf.summary.create_file_writer(str(loop.run_dir / "tensorboard"))
        while agent.steps < agent.total_steps:
            agent.iterate()
            evaluated = _maybe_evaluate(loop)
            _log_iteration(loop, evaluated)
            if loop.run_dir is not None and agent.steps >= loop.next_checkpoint:
                agent.save(loop.run_dir)
                loop.next_checkpoint += loop.checkpoint_every
            if _should_stop(loop):
                break
        return _finish(loop)


@dataclass(frozen=True)
class _Plan:
    """What the caller of :func:`train_agent` asked for besides the agent, checked."""

    stop_at_return: float | None
    time_limit_s: float | None
    eval_every: int | None
    eval_episodes: int
    checkpoint_every: int | None
    log_every: int | None
    test_episodes: int

    def __post_init__(self):
        if self.eval_every is not None and (self.eval_every < 1 or self.eval_episodes < 1):
            raise InvalidInputError(
                f"eval_every and eval_episodes must be >= 1, got {self.eval_every} and "
                f"{self.eval_episodes}"
            )
        for what in ("checkpoint_every", "log_every"):
            if getattr(self, what) is not None:
                check_count(what, getattr(self, what))
        check_count("test_episodes", self.test_episodes)


@dataclass
class _Loop:
    """The state of one :func:`train_agent` call between two ``agent.iterate()``."""

    agent: Any
    plan: _Plan
    run_dir: Path | None
    progress: ProgressLine
    start: float
    resumed_from: int
    threshold: float | None  # mean return that counts as solved
    checkpoint_every: int
    next_checkpoint: int
    log_every: int
    next_log: int
    next_evaluation: int | None
    evaluations: list[dict]
    history: _History | None = None
    writer: Any = None
    solved_at: int | None = None
    eval_solved_at: int | None = None
    best_return: float = -math.inf
    logged: int = 0  # episodes already written to TensorBoard
    last_row: int = -1  # step of the last row of history.csv
    evaluated_at: int | None = None  # step of the last evaluation


def _begin(agent, plan: _Plan, run_dir: Path | None, verbose, start: float) -> _Loop:
    """Restores ``agent`` from ``run_dir`` (when it holds a run) and sets up the loop."""
    resumed_from = agent.restore(run_dir) if run_dir is not None else 0
    if run_dir is not None:  # after restore, which refuses another system's run dir
        start_run(run_dir, _run_settings(agent, plan))
    threshold = plan.stop_at_return
    if threshold is None and agent.spec.target is not None:
        threshold = agent.spec.target.value
    checkpoint_every = plan.checkpoint_every or max(1, agent.total_steps // 10)
    log_every = plan.log_every or max(1, agent.total_steps // HISTORY_ROWS)
    # Evaluations and rows after the restored checkpoint belong to steps played again.
    evaluations = [e for e in _load_evaluations(run_dir) if e["step"] <= agent.steps]
    solved = [e["step"] for e in evaluations if _reached(e["mean"], threshold)]
    loop = _Loop(
        agent=agent,
        plan=plan,
        run_dir=run_dir,
        progress=ProgressLine(agent.total_steps, verbose=verbose, initial=agent.steps),
        start=start,
        resumed_from=resumed_from,
        threshold=threshold,
        checkpoint_every=checkpoint_every,
        next_checkpoint=_next_multiple(agent.steps, checkpoint_every),
        log_every=log_every,
        next_log=_next_multiple(agent.steps, log_every),
        next_evaluation=_next_multiple(agent.steps, plan.eval_every) if plan.eval_every else None,
        evaluations=evaluations,
        solved_at=_first_solved(agent.episode_returns, agent.episode_ends, threshold),
        eval_solved_at=solved[0] if solved else None,
        best_return=max((e["mean"] for e in evaluations), default=-math.inf),
        logged=len(agent.episode_returns),
    )
    if run_dir is not None:
        loop.history = _History(run_dir / HISTORY_FILE, keep_until=agent.steps)
        loop.last_row = loop.history.last_step
    return loop


def _maybe_evaluate(loop: _Loop) -> bool:
    """Plays the periodic greedy evaluation when it is due; True when it ran."""
    agent, plan = loop.agent, loop.plan
    if loop.next_evaluation is None or agent.steps < loop.next_evaluation:
        return False
    loop.next_evaluation += plan.eval_every
    returns = agent.evaluate(plan.eval_episodes)
    mean = float(returns.mean())
    loop.evaluations.append({"step": agent.steps, "mean": mean, "std": float(returns.std())})
    loop.evaluated_at = agent.steps
    if loop.eval_solved_at is None and _reached(mean, loop.threshold):
        loop.eval_solved_at = agent.steps
    if loop.run_dir is not None:
        write_json(loop.run_dir / EVALUATIONS, loop.evaluations)
        if mean > loop.best_return:
            agent.model.save(loop.run_dir / BEST_MODEL)
    loop.best_return = max(loop.best_return, mean)
    return True


def _log_iteration(loop: _Loop, evaluated: bool) -> None:
    """Records the iteration: TensorBoard episodes, ``solved_at``, a row when one is due, and
    the progress line."""
    agent = loop.agent
    if loop.writer is not None:
        _write_episodes(loop.writer, agent, loop.logged)
    loop.logged = len(agent.episode_returns)
    if loop.solved_at is None and loop.logged >= 100 and loop.threshold is not None:
        if agent.mean_return(100) >= loop.threshold:
            loop.solved_at = agent.steps
    if evaluated or agent.steps >= loop.next_log:
        _write_row(loop)
        loop.next_log = _next_multiple(agent.steps, loop.log_every)
    shown = {"episodes": loop.logged, "mean_return": agent.mean_return()}
    if "loss" in getattr(agent, "metrics", {}):
        shown["loss"] = agent.metrics["loss"]
    if loop.evaluations:
        shown["eval_return"] = loop.evaluations[-1]["mean"]
    loop.progress.update(min(agent.steps, agent.total_steps), **shown)


def _write_row(loop: _Loop) -> None:
    """Appends the current row to ``history.csv`` and writes it to TensorBoard."""
    if loop.history is None and loop.writer is None:
        return
    agent = loop.agent
    row = {
        "step": agent.steps,
        "episodes": len(agent.episode_returns),
        "mean_return": agent.mean_return(),
        "steps_per_s": (agent.steps - loop.resumed_from) / (time.perf_counter() - loop.start),
        **{key: float(value) for key, value in getattr(agent, "metrics", {}).items()},
    }
    if loop.plan.eval_every:
        evaluated = loop.evaluated_at == agent.steps
        row["eval_return"] = loop.evaluations[-1]["mean"] if evaluated else None
    if loop.history is not None:
        loop.history.append(row)
    if loop.writer is not None:
        with loop.writer.as_default():
            for key, value in row.items():
                if key != "step" and value is not None and np.isfinite(value):
                    tf.summary.scalar(key, value, step=agent.steps)
    loop.last_row = agent.steps


def _should_stop(loop: _Loop) -> bool:
    plan = loop.plan
    reached = loop.eval_solved_at if plan.eval_every else loop.solved_at
    if plan.stop_at_return is not None and reached is not None:
        return True
    return plan.time_limit_s is not None and time.perf_counter() - loop.start > plan.time_limit_s


def _finish(loop: _Loop) -> dict:
    """The last row, checkpoint, model and metrics of the run; returns its summary."""
    agent, run_dir = loop.agent, loop.run_dir
    if loop.last_row != agent.steps:
        _write_row(loop)
    wall_time_s = time.perf_counter() - loop.start
    loop.progress.close()
    result = {
        "name": agent.name,
        "env_id": agent.env_id,
        "agent": agent,
        "model": agent.model,
        "steps": agent.steps,
        "episodes": len(agent.episode_returns),
        "mean_return": agent.mean_return(),
        "episode_returns": list(agent.episode_returns),
        "episode_ends": list(agent.episode_ends),
        "solved_at": loop.solved_at,
        "wall_time_s": wall_time_s,
        "run_dir": run_dir,
        "resumed_from": loop.resumed_from,
        "evaluations": loop.evaluations,
        "eval_solved_at": loop.eval_solved_at,
        "best_eval_return": float(loop.best_return) if loop.evaluations else None,
        "test": None,
    }
    if run_dir is not None:
        agent.save(run_dir)
        agent.model.save(run_dir / MODEL_FILE)
        result["test"] = greedy_test(agent, loop.plan.test_episodes)
        write_metrics(run_dir, _metrics(result))
    if loop.writer is not None:
        loop.writer.flush()
    return result


def _metrics(result: dict) -> dict[str, Any]:
    """``metrics.json`` of a run: its greedy test and how the training went."""
    keys = ("wall_time_s", "steps", "episodes", "resumed_from", "solved_at", "eval_solved_at")
    mean_return = result["mean_return"]
    return {
        "test": result["test"],
        **{k: result[k] for k in keys},
        "mean_return": None if math.isnan(mean_return) else mean_return,
        "best_eval_return": result["best_eval_return"],
    }


def _run_settings(agent, plan: _Plan) -> dict[str, Any]:
    """``run.json`` of an agent's run."""
    agent_type = type(agent)
    return {
        "name": agent.name,
        "family": agent.spec.family,
        "agent": f"{agent_type.__module__}.{agent_type.__qualname__}",
        "environment": agent.env_id,
        "seed": agent.seed,
        "steps": agent.total_steps,
        "eval_every": plan.eval_every,
        "eval_episodes": plan.eval_episodes if plan.eval_every else None,
        "settings": agent.config,
        "model_args": {
            "observation_shape": agent.observation_shape,
            "num_actions": agent.num_actions,
            **agent.config.get("network", {}),
        },
    }


class _History:
    """``history.csv``, a row appended at a time (a column seen for the first time, such as a
    loss that starts after ``learning_starts``, rewrites the file with the wider header)."""

    def __init__(self, path: Path, keep_until: int):
        self.path = path
        self.rows = [row for row in _read_rows(path) if row["step"] <= keep_until]
        self.columns = list(dict.fromkeys(key for row in self.rows for key in row))
        if self.rows:
            self._rewrite()
        else:
            path.unlink(missing_ok=True)

    @property
    def last_step(self) -> int:
        return self.rows[-1]["step"] if self.rows else -1

    def append(self, row: dict[str, Any]) -> None:
        row = {k: "" if v is None else v for k, v in row.items()}
        self.rows.append(row)
        new = [key for key in row if key not in self.columns]
        if new:
            self.columns += new
            self._rewrite()
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(row)

    def _rewrite(self) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        with open(partial, "w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(partial, self.path)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of ``path`` whose step is readable (a kill can cut the last line short)."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    kept = []
    for row in rows:
        try:
            step = int(float(row["step"]))
        except (KeyError, TypeError, ValueError):
            continue
        if None in row or None in row.values():  # a short or overlong line
            continue
        kept.append({**row, "step": step})
    return kept


def _next_multiple(step: int, period: int) -> int:
    return (step // period + 1) * period


def _reached(value: float, threshold: float | None) -> bool:
    return threshold is not None and value >= threshold


def _load_evaluations(run_dir: Path | None) -> list[dict]:
    from fdl_keras.runs import read_json

    path = run_dir / EVALUATIONS if run_dir is not None else None
    if path is None or not path.is_file():
        return []
    evaluations = read_json(path, kind=list)
    if not all(isinstance(e, dict) and {"step", "mean", "std"} <= set(e) for e in evaluations):
        raise InvalidInputError(
            f"{path} does not hold evaluations; delete it (they are recomputed from now on)"
        )
    return evaluations


def _first_solved(returns: list[float], ends: list[int], threshold: float | None) -> int | None:
    if threshold is None or len(returns) < 100:
        return None
    means = np.convolve(returns, np.ones(100) / 100, mode="valid")
    hits = np.flatnonzero(means >= threshold)
    return int(ends[hits[0] + 99]) if len(hits) else None


def _check_tensorboard(run_dir) -> None:
    from fdl_keras.training.tensorboard import check_tensorboard

    if run_dir is None:
        raise InvalidInputError("tensorboard=True needs a run_dir to write the logs into")
    check_tensorboard()


def _write_episodes(writer, agent, logged: int) -> None:
    """Each episode finished since ``logged`` as an ``episode_return`` at the step it ended."""
    with writer.as_default():
        for value, end in zip(agent.episode_returns[logged:], agent.episode_ends[logged:]):
            tf.summary.scalar("episode_return", value, step=end)
