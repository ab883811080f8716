"""What every chapter 13 agent shares: settings, networks, counters, episode log, checkpoints.

An agent owns its environment(s), its Keras network(s) and optimizer, and advances by
:meth:`Agent.iterate` (one collect-and-update cycle). :func:`fdl_keras.rl.train_agent` drives it
with a progress line and checkpoints; everything a killed run needs to resume is saved:
``tf.train.Checkpoint`` of the networks, optimizer and step counter, plus ``state.json`` (episode
log, generator state) and whatever :meth:`Agent.save_extra` adds (a replay buffer ``.npz``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import get_spec, list_models
from fdl_keras.rl.envs import env_shapes, make_vector_env
from fdl_keras.rl.returns import generalized_advantages
from fdl_keras.tasks import ReinforcementLearning

CHECKPOINTS = "checkpoints"
STATE = "state.json"


class Agent:
    """Base class: subclasses implement :meth:`iterate`; settings come from the registry.

    Each system an agent trains is registered in the agent's module with a
    :class:`fdl_keras.tasks.ReinforcementLearning` task that names the agent, the default
    environment and the settings (zoo-style hyper-parameters).

    Args:
        name: the registered system (``ppo_cartpole`` ...); its spec builds the network.
        seed: seeds weights, environments and the agent's generator.
        total_steps: environment steps of the whole run (schedules anneal over it); the
            system's default when None.
        env_id: any compatible gymnasium environment id instead of the system's (e.g.
            ``Acrobot-v1`` for a CartPole agent; ``FlickeringCartPole-v1``).
        **overrides: settings that replace the system's (``network`` holds builder arguments).
    """

    def __init__(
        self,
        name: str,
        *,
        seed: int = 0,
        total_steps: int | None = None,
        env_id: str | None = None,
        **overrides: Any,
    ):
        spec = get_spec(name)
        task = spec.task
        if not isinstance(task, ReinforcementLearning) or not issubclass(type(self), task.agent):
            trainer = task.agent.__name__ if isinstance(task, ReinforcementLearning) else "fit"
            raise InvalidInputError(
                f"{name} is trained by {trainer}, not {type(self).__name__}; pick one of "
                f"{', '.join(agent_systems(type(self)))}"
            )
        settings = task.settings
        unknown = sorted(set(overrides) - set(settings))
        if unknown:
            raise InvalidInputError(
                f"{name} has no setting {unknown[0]!r}; its settings are {', '.join(settings)}"
            )
        self.name = name
        self.config = {**settings, **overrides}
        self.seed = seed
        self.total_steps = int(total_steps or self.config["total_steps"])
        if self.total_steps < 1:
            raise InvalidInputError(f"total_steps must be >= 1, got {self.total_steps}")
        self.spec = spec
        self.env_id = env_id or task.environment
        keras.utils.set_random_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.observation_shape, self.num_actions = env_shapes(self.env_id)
        self.model = self.spec.build(
            observation_shape=self.observation_shape,
            num_actions=self.num_actions,
            **self.config.get("network", {}),
        )
        self.steps = 0  # environment steps taken, over all parallel environments
        self.episode_returns: list[float] = []
        self.episode_ends: list[int] = []  # environment step at which each episode ended

    # --- what subclasses implement -------------------------------------------------------
    def iterate(self) -> None:
        """One cycle of acting and learning; advances :attr:`steps` and logs finished episodes."""
        raise NotImplementedError

    def greedy_actions(self, observations: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """The deterministic policy (most probable action, or argmax Q) for a batch."""
        raise NotImplementedError

    def next_state(self, state: Any, actions, rewards, dones) -> Any:
        """The acting state after a step of :meth:`greedy_actions` (a network fed the previous
        action and reward, like UNREAL's, adds them here); unchanged by default."""
        return state

    def reset_envs(self, seed: int) -> None:
        """Starts new episodes in the agent's environments, seeded by ``seed``."""
        raise NotImplementedError

    @staticmethod
    def rollout_loss(model, rollout: dict[str, np.ndarray]):
        """The agent's loss for ``model`` on a rollout (``envs.random_rollout``): the model
        contract takes one gradient step of it."""
        raise NotImplementedError

    def trackables(self) -> dict[str, Any]:
        """Objects saved by ``tf.train.Checkpoint`` besides the step counter."""
        return {"model": self.model, "optimizer": self.optimizer}

    def save_extra(self, directory: Path) -> None:
        """Saves state that is not a TensorFlow variable (e.g. a replay buffer)."""

    def load_extra(self, directory: Path) -> None:
        """Restores what :meth:`save_extra` wrote."""

    # --- shared -------------------------------------------------------------------------
    def log_episodes(self, returns) -> None:
        """Records the returns of episodes that ended at the current step."""
        for value in np.atleast_1d(returns):
            self.episode_returns.append(float(value))
            self.episode_ends.append(self.steps)

    def mean_return(self, last: int = 100) -> float:
        """Mean return of the last ``last`` finished episodes (NaN before the first)."""
        recent = self.episode_returns[-last:]
        return float(np.mean(recent)) if recent else float("nan")

    def progress(self) -> float:
        """Fraction of the run done, for annealed schedules."""
        return min(1.0, self.steps / self.total_steps)

    def checkpoint(self) -> tf.train.Checkpoint:
        # The step counter is a Python int while acting (a variable read per step is slow).
        self._step_variable = tf.Variable(self.steps, dtype=tf.int64, trainable=False)
        return tf.train.Checkpoint(step=self._step_variable, **self.trackables())

    def save(self, run_dir: str | Path) -> Path:
        """Writes a checkpoint and ``state.json`` into ``run_dir``; returns the checkpoint path."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.save_extra(run_dir)
        state = {
            "name": self.name,
            "env_id": self.env_id,
            "seed": self.seed,
            "steps": self.steps,
            "total_steps": self.total_steps,
            "episode_returns": self.episode_returns,
            "episode_ends": self.episode_ends,
            "rng": self.rng.bit_generator.state,
        }
        partial = run_dir / (STATE + ".partial")
        partial.write_text(json.dumps(state))
        try:
            tf.train.get_checkpoint_state(str(run_dir / CHECKPOINTS))
        except (ValueError, tf.errors.OpError):  # a damaged list of checkpoints: start a new one
            (run_dir / CHECKPOINTS / "checkpoint").unlink()
        manager = tf.train.CheckpointManager(self.checkpoint(), run_dir / CHECKPOINTS, 2)
        path = manager.save(checkpoint_number=self.steps)
        partial.replace(run_dir / STATE)
        return Path(path)

    def restore(self, run_dir: str | Path) -> int:
        """Restores the latest checkpoint in ``run_dir``; returns the step resumed from, or 0.

        A damaged latest checkpoint falls back, with a one-line warning on stderr, to the older
        one that ``CheckpointManager`` keeps.

        Raises:
            InvalidInputError: one line naming the file when ``state.json``, every checkpoint
                or the saved replay is damaged, or ``run_dir`` holds another system's run.
        """
        import re
        import sys

        run_dir = Path(run_dir)
        directory = run_dir / CHECKPOINTS
        afresh = f"delete {run_dir} or pass another run_dir to start afresh"

        def damaged(path, problem) -> InvalidInputError:
            problem = " ".join(str(problem).split())[:200]
            return InvalidInputError(f"{path} is damaged ({problem}): {afresh}")

        def reason(exc: BaseException) -> str:
            text = " ".join(str(exc).split())[:160]
            return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

        # Newest first: those the manager lists, then any ckpt-N it lost track of (a damaged
        # ``checkpoint`` file must not make a run start afresh over its own checkpoints).
        listed = []
        try:
            ckpt_state = tf.train.get_checkpoint_state(str(directory))
        except (ValueError, tf.errors.OpError):  # garbage in the ``checkpoint`` text file
            ckpt_state = None
        if ckpt_state is not None:
            listed = [ckpt_state.model_checkpoint_path]
            listed += list(reversed(ckpt_state.all_model_checkpoint_paths))

        def number(index_file: Path) -> int:
            match = re.fullmatch(r"ckpt-(\d+)\.index", index_file.name)
            return int(match.group(1)) if match else -1

        found = sorted(directory.glob("ckpt-*.index"), key=number, reverse=True)
        candidates = list(dict.fromkeys([*listed, *(str(f.with_suffix("")) for f in found)]))
        state_path = run_dir / STATE
        if not found or not state_path.is_file():
            return 0
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise damaged(state_path, f"not readable JSON, {reason(exc)}") from None
        kinds = {
            "name": str,
            "env_id": str,
            "steps": int,
            "episode_returns": list,
            "episode_ends": list,
            "rng": dict,
        }
        if not isinstance(state, dict):
            raise damaged(state_path, f"a JSON {type(state).__name__}, not an object")
        for key, kind in kinds.items():
            if not isinstance(state.get(key), kind):
                raise damaged(state_path, f"no {kind.__name__} {key!r} entry")
        if len(state["episode_returns"]) != len(state["episode_ends"]):
            raise damaged(state_path, "episode_returns and episode_ends differ in length")
        if (state["name"], state["env_id"]) != (self.name, self.env_id):
            raise InvalidInputError(
                f"{run_dir} holds a run of {state['name']} on {state['env_id']}, not {self.name} "
                f"on {self.env_id}: choose another run_dir"
            )

        def damaged_file(prefix: str, exc: BaseException) -> str:
            if "sstable" in str(exc):  # the .index table
                return prefix + ".index"
            data = sorted(Path(prefix).parent.glob(Path(prefix).name + ".data-*"))
            return str(data[0]) if data else prefix + ".data-00000-of-00001"

        failures = []
        for prefix in candidates:
            if not Path(prefix + ".index").is_file():
                failures.append((prefix + ".index", "missing"))
                continue
            checkpoint = self.checkpoint()
            try:
                checkpoint.restore(prefix).assert_existing_objects_matched()
            except (AssertionError, ValueError) as exc:  # another network, not a broken file
                raise InvalidInputError(
                    f"{prefix} does not fit {self.name} with these settings ({reason(exc)[:160]}): "
                    f"resume with the run's settings, or {afresh}"
                ) from None
            except (tf.errors.OpError, IndexError, OSError) as exc:  # truncated, garbage
                failures.append((damaged_file(prefix, exc), reason(exc)))
                continue
            break
        else:
            path, problem = failures[0]
            raise damaged(path, problem)
        self.steps = int(self._step_variable.numpy())
        if failures:
            path, problem = failures[0]
            print(
                f"warning: {path} is damaged ({problem[:160]}); resuming from the older "
                f"checkpoint {prefix} (step {self.steps})",
                file=sys.stderr,
            )
        # An older checkpoint than state.json's: forget the episodes played after it.
        try:
            episodes = [
                (float(r), int(end))
                for r, end in zip(state["episode_returns"], state["episode_ends"])
                if end <= self.steps
            ]
            self.rng.bit_generator.state = state["rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise damaged(
                state_path, f"bad episode log or generator state, {reason(exc)}"
            ) from None
        self.episode_returns = [r for r, _ in episodes]
        self.episode_ends = [end for _, end in episodes]
        self.load_extra(run_dir)
        # Environments cannot be checkpointed: new episodes start, seeded apart from earlier ones.
        self.reset_envs(self.seed + self.steps)
        return self.steps

    def evaluate(
        self,
        episodes: int = 100,
        *,
        seed: int = 10_000,
        epsilon: float = 0.0,
        max_steps: int = 100_000,
    ) -> np.ndarray:
        """Returns of ``episodes`` episodes of the greedy policy, one per parallel environment.

        Every copy plays exactly one episode (seeded ``seed + i``), so short episodes are not
        over-counted as they would be by taking the first ``episodes`` to finish. ``epsilon`` > 0
        replaces that fraction of actions by random ones (the Nature DQN evaluated Atari with
        0.05, which also keeps a policy that never presses FIRE from stalling an episode).
        """
        envs = make_vector_env(self.env_id, episodes, seed=seed)
        observations, _ = envs.reset(seed=seed)
        rng = np.random.default_rng(seed)
        returns = np.zeros(episodes)
        running = np.ones(episodes, dtype=bool)
        state = None
        for _ in range(max_steps):
            actions, state = self.greedy_actions(observations, state)
            explore = rng.random(episodes) < epsilon
            actions = np.where(explore, rng.integers(self.num_actions, size=episodes), actions)
            observations, rewards, terminated, truncated, _ = envs.step(actions)
            state = self.next_state(state, actions, rewards, terminated | truncated)
            returns += rewards * running
            running &= ~(terminated | truncated)
            if not running.any():
                break
        envs.close()
        return returns


class ActorCriticAgent(Agent):
    """An agent whose network returns ``(logits, value)``; the greedy policy is the argmax."""

    @tf.function(reduce_retracing=True)
    def _forward(self, observations):
        logits, values = self.model(tf.cast(observations, tf.float32))
        return logits, values[:, 0]

    def greedy_actions(self, observations, state=None):
        logits, _ = self._forward(np.asarray(observations))
        return np.argmax(logits, axis=-1), state


class OnPolicyAgent(ActorCriticAgent):
    """An actor-critic agent that learns from fresh rollouts of ``num_envs`` environments.

    Subclasses (PPO, TRPO, A2C) get :meth:`collect`: ``n_steps`` from each environment with the
    current policy, with GAE(``gamma``, ``gae_lambda``) advantages and value targets.
    """

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.envs = make_vector_env(self.env_id, self.config["num_envs"], seed=self.seed)
        self.reset_envs(self.seed)

    def reset_envs(self, seed: int) -> None:
        self.observations, _ = self.envs.reset(seed=seed)
        self.running_returns = np.zeros(self.config["num_envs"])

    def collect(self) -> dict[str, np.ndarray]:
        """``n_steps`` of every environment with the current stochastic policy, plus GAE.

        Returns flat ``(n_steps * num_envs, ...)`` arrays: ``observations``, ``actions``,
        ``rewards``, ``dones``, ``values``, ``logits``, ``advantages`` and ``value_targets``.
        """
        c = self.config
        steps = {k: [] for k in ("observations", "actions", "rewards", "dones", "values", "logits")}
        for _ in range(c["n_steps"]):
            logits, values = (t.numpy() for t in self._forward(self.observations))
            actions = sample_actions(logits, self.rng)
            observations, rewards, terminated, truncated, info = self.envs.step(actions)
            self.running_returns += rewards
            done = terminated | truncated
            # Time limits: bootstrap from the value of the final observation (Pardo et al. 2018).
            cut = truncated & ~terminated
            if cut.any():
                final = np.stack(info["final_obs"][cut])
                rewards = rewards.astype(np.float32)
                rewards[cut] += c["gamma"] * self._forward(final)[1].numpy()
            for key, value in zip(
                steps, (self.observations, actions, rewards, done, values, logits)
            ):
                steps[key].append(value)
            self.observations = observations
            self.steps += c["num_envs"]
            self.log_episodes(self.running_returns[done])
            self.running_returns[done] = 0.0
        batch = {k: np.asarray(v) for k, v in steps.items()}
        last_values = self._forward(self.observations)[1].numpy()
        batch["advantages"], batch["value_targets"] = generalized_advantages(
            batch["rewards"],
            batch["values"],
            batch["dones"],
            last_values,
            c["gamma"],
            c["gae_lambda"],
        )
        # (time, envs, ...) -> (time * envs, ...)
        return {k: v.reshape(-1, *v.shape[2:]) for k, v in batch.items()}


def sample_actions(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``logits`` drawn from its softmax (Gumbel-max trick)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1)


def agent_systems(agent: type) -> list[str]:
    """The registered systems that ``agent`` (or a subclass of it) trains."""
    return [
        s.name
        for s in list_models(13)
        if isinstance(s.task, ReinforcementLearning) and issubclass(s.task.agent, agent)
    ]
