"""UNREAL: an actor-critic with a conv-LSTM and three unsupervised auxiliary tasks.

Jaderberg, Mnih, Czarnecki, Schaul, Leibo, Silver & Kavukcuoglu, "Reinforcement Learning with
Unsupervised Auxiliary Tasks", ICLR 2017.

The base agent is the advantage actor-critic of :mod:`fdl_keras.rl.a3c` (its loss and RMSProp)
on :class:`~fdl_keras.rl.networks.UnrealNetwork`, an LSTM over conv-encoded frames that also
sees the previous action and reward, in either form:

- *synchronous* (A2C, ``num_workers=0``, the default): ``num_envs`` environments step in
  lockstep and one gradient step follows each ``n_steps`` rollout; on a CPU one batched forward
  pass of the conv-LSTM costs about what a single environment's costs, and runs are
  reproducible from their seed;
- *asynchronous* (A3C, as in the paper, ``num_workers=N``): N threads, each with its own
  ``num_envs`` environments, LSTM state and replay, compute gradients on their own rollouts and
  apply them to the shared networks (as :class:`~fdl_keras.rl.a3c.A3C`; thread scheduling makes
  runs non-deterministic). On pixel CartPole it learns in fewer steps than the synchronous form
  but sometimes collapses early to one action (benchmarks/RESULTS_rl.md).

The LSTM is unrolled over a rollout from the state it had at its start, and reset inside it where
an episode began.

A small replay of the most recent ``replay_steps`` steps of every environment feeds the
auxiliary tasks, whose losses are added to the actor-critic's with the weights of the paper:

- **pixel control** (``pixel_control_weight``, paper 0.01-0.1): a deconvolutional head on the
  LSTM output predicts, for every action, Q-values of a pseudo-reward per cell of a coarse grid:
  the mean absolute change of the newest frame's pixels in that cell (:func:`pixel_change`).
  Trained by n-step Q-learning (discount ``pixel_control_gamma``) on replayed sequences.
- **reward prediction** (``reward_prediction_weight``, paper 1): from the conv encodings of 3
  consecutive observations, classify the sign of the reward that follows (zero, positive,
  negative). Replay is sampled *skewed*: zero and non-zero rewards equally often.
- **value function replay** (``value_replay_weight``, paper 1): the value loss again, on
  replayed sequences with n-step returns.

Replayed sequences are unrolled from a zero LSTM state; steps after an episode ended inside a
sequence are masked. Setting the three weights to 0 gives the plain conv-LSTM A2C baseline.

On ``PixelCartPole-v1`` every reward is +1, so reward prediction has a single class (its
sampling falls back to uniform and it teaches the encoder nothing); on Breakout it is the rare
brick reward the paper meant.
"""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import Target, register
from fdl_keras.rl.a3c import _rmsprop, actor_critic_loss, run_workers
from fdl_keras.rl.agent import Agent, sample_actions
from fdl_keras.rl.buffers import RingStorage
from fdl_keras.rl.envs import make_vector_env
from fdl_keras.rl.networks import FoldTime, UnfoldTime, UnrealNetwork
from fdl_keras.rl.returns import discounted_returns
from fdl_keras.tasks import ReinforcementLearning

REPLAY = "unreal_replay.npz"
FIELDS = ("observations", "previous", "actions", "rewards", "ends")
REWARD_FRAMES = 3  # observations the reward-prediction head sees

UNREAL_DEFAULTS = {
    "num_workers": 0,  # 0: synchronous; N: N asynchronous threads with num_envs each
    "steps_per_iteration": 2_000,  # asynchronous: steps of all workers per iterate()
    "num_envs": 8,
    "n_steps": 5,
    "gamma": 0.99,
    "learning_rate": 2e-3,
    "value_coefficient": 0.5,
    "entropy_coefficient": 0.01,
    "max_grad_norm": 40.0,  # the paper's clipping norm
    "clip_rewards": True,
    "replay_steps": 250,  # per environment: 2,000 transitions with 8 environments
    "auxiliary_batch": 4,  # replayed sequences (and reward-prediction samples) per update
    "sequence_length": 20,
    "pixel_control_weight": 0.05,
    "pixel_control_gamma": 0.9,
    "cell_size": 4,
    "reward_prediction_weight": 1.0,
    "value_replay_weight": 1.0,
}


def pixel_control_grid(frame_shape: tuple[int, int], cell_size: int) -> tuple[int, int]:
    """Cells of the pixel-control grid: as many ``cell_size`` cells as fit, rounded down to an
    even number (the head's stride-2 deconvolution makes even maps); 84x84 frames with 4x4 cells
    give the paper's 20x20 grid on the central 80x80 pixels."""
    grid = tuple(2 * (size // (2 * cell_size)) for size in frame_shape)
    if min(grid) < 2:
        raise InvalidInputError(
            f"frames {frame_shape} hold no 2x2 grid of {cell_size}-pixel cells: use a smaller "
            "cell_size"
        )
    return grid


def pixel_change(frames, next_frames, cell_size: int):
    """Pseudo-rewards of pixel control: mean absolute change per ``cell_size`` cell.

    Args:
        frames, next_frames: ``(..., height, width)`` grey frames in [0, 255].
        cell_size: side of a cell in pixels.

    Returns:
        ``(..., grid_h, grid_w)`` changes in [0, 1] over the central crop of
        :func:`pixel_control_grid`.
    """
    height, width = frames.shape[-2:]
    grid_h, grid_w = pixel_control_grid((height, width), cell_size)
    top, left = (height - grid_h * cell_size) // 2, (width - grid_w * cell_size) // 2
    change = keras.ops.abs(
        keras.ops.cast(next_frames, "float32") - keras.ops.cast(frames, "float32")
    )
    change = change[..., top : top + grid_h * cell_size, left : left + grid_w * cell_size] / 255.0
    batch = keras.ops.shape(change)[:-2]
    cells = keras.ops.average_pool(
        keras.ops.reshape(change, (-1, grid_h * cell_size, grid_w * cell_size, 1)),
        cell_size,
        strides=cell_size,
    )
    return keras.ops.reshape(cells, (*batch, grid_h, grid_w))


def n_step_targets(rewards, bootstraps, continues, gamma: float):
    """n-step returns of a replayed sequence, bootstrapped where it stops.

    ``G_t = r_t + gamma * G_{t+1}`` while the episode continues through step ``t + 1``, else
    ``r_t + gamma * B_{t+1}``; the last step bootstraps from ``B_L``.

    Args:
        rewards: ``(batch, L, ...)`` rewards (or pseudo-rewards) of steps ``0 .. L-1``.
        bootstraps: ``(batch, L + 1, ...)`` value estimates ``B`` of the observations.
        continues: ``(batch, L)``, 1 while no episode has ended at or before step ``t``
            (broadcast against the trailing axes of ``rewards``).
        gamma: discount.
    """
    length = rewards.shape[1]
    following = bootstraps[:, length]
    targets = [None] * length
    for t in reversed(range(length)):
        if t + 1 < length:
            on = continues[:, t + 1]
            following = on * following + (1.0 - on) * bootstraps[:, t + 1]
        following = rewards[:, t] + gamma * following
        targets[t] = following
    return keras.ops.stack(targets, axis=1)


def reward_classes(rewards) -> np.ndarray:
    """Reward-prediction labels: 0 for a zero reward, 1 positive, 2 negative."""
    rewards = np.asarray(rewards)
    return np.where(rewards > 0, 1, np.where(rewards < 0, 2, 0)).astype(np.int64)


def auxiliary_heads(policy: UnrealNetwork, cell_size: int = 4) -> tuple[keras.Model, keras.Model]:
    """The auxiliary networks, sharing ``policy``'s encoder and LSTM.

    Returns:
        ``replay_model``: the policy's inputs to ``[value (batch, time, 1), pixel-control Q
        (batch, time, grid_h, grid_w, actions)]`` (paper: dense to a 32-channel map, ReLU,
        stride-2 4x4 deconvolutions to a value map and one advantage map per action, combined
        as a dueling head); ``reward_model``: ``(batch, 3, *observation_shape)`` frames to 3
        reward-class logits (paper: the conv encodings, a 128-unit ReLU layer).
    """
    observations, previous, state = policy.inputs
    num_actions = policy.outputs[0].shape[-1]
    grid_h, grid_w = pixel_control_grid(observations.shape[-2:], cell_size)
    map_h, map_w = grid_h // 2 - 1, grid_w // 2 - 1  # (map - 1) * 2 + 4 = grid
    lstm_outputs = policy.get_layer("lstm").output[0]
    x = keras.layers.Dense(map_h * map_w * 32, activation="relu", name="pc_dense")(lstm_outputs)
    x = keras.layers.Reshape((map_h, map_w, 32), name="pc_map")(FoldTime(name="pc_fold")(x))

    def deconvolution(units, name):
        return keras.layers.Conv2DTranspose(units, 4, strides=2, name=name)(x)

    value_map, advantages = deconvolution(1, "pc_value"), deconvolution(num_actions, "pc_adv")
    q_values = value_map + advantages - keras.ops.mean(advantages, axis=-1, keepdims=True)
    q_values = UnfoldTime(name="pc_q_values")(q_values, lstm_outputs)
    replay_model = keras.Model(
        [observations, previous, state],
        [policy.get_layer("value").output, q_values],
        name="unreal_replay_heads",
    )

    encoder = keras.Model(observations, policy.get_layer("conv_features").output)
    frames = keras.Input((REWARD_FRAMES, *observations.shape[2:]), name="reward_frames")
    x = keras.layers.Flatten(name="rp_flatten")(encoder(frames))
    x = keras.layers.Dense(128, activation="relu", name="rp_hidden")(x)
    reward_model = keras.Model(
        frames, keras.layers.Dense(3, name="rp_logits")(x), name="unreal_reward_head"
    )
    return replay_model, reward_model


class UnrealReplay(RingStorage):
    """The last ``capacity`` steps of ``num_envs`` environments, in time order (one ring row per
    step of all environments), sampled as sequences and as skewed reward-prediction frames.

    Each row holds what the agent fed its network (observation, ``previous`` input), the actions
    taken, the (clipped) rewards and whether the episode ended there.
    """

    fields = FIELDS

    def __init__(self, capacity: int, num_envs: int, observation_shape, num_actions: int):
        if capacity < REWARD_FRAMES:
            raise InvalidInputError(f"replay capacity must be >= {REWARD_FRAMES}, got {capacity}")
        self.capacity = int(capacity)
        rows = (capacity, num_envs)
        self.observations = np.zeros((*rows, *observation_shape), np.uint8)
        self.previous = np.zeros((*rows, num_actions + 2), np.float32)
        self.actions = np.zeros(rows, np.int64)
        self.rewards = np.zeros(rows, np.float32)
        self.ends = np.zeros(rows, bool)
        self.position = 0
        self.size = 0

    def add(self, observations, previous, actions, rewards, ends) -> None:
        """Stores one step of every environment."""
        i = self.position
        for name, value in zip(FIELDS, (observations, previous, actions, rewards, ends)):
            getattr(self, name)[i] = value
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def _rows(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Ring rows of windows of ``length`` steps starting ``starts`` steps after the oldest."""
        oldest = self.position if self.size == self.capacity else 0
        return (oldest + starts[:, None] + np.arange(length)) % self.capacity

    def sample_sequences(self, batch_size: int, length: int, rng: np.random.Generator) -> dict:
        """``batch_size`` windows of ``length`` steps of one environment each, plus the next
        observation: ``observations`` and ``previous`` have ``length + 1`` steps; ``continues``
        is 1 up to the first episode end in the window (exclusive)."""
        if self.size < length + 1:
            raise InvalidInputError(f"replay holds {self.size} steps, fewer than {length + 1}")
        rows = self._rows(rng.integers(0, self.size - length, size=batch_size), length + 1)
        envs = rng.integers(0, self.actions.shape[1], size=batch_size)[:, None]
        steps = rows[:, :-1]
        return {
            "observations": self.observations[rows, envs],
            "previous": self.previous[rows, envs],
            "actions": self.actions[steps, envs],
            "rewards": self.rewards[steps, envs],
            "continues": (np.cumsum(self.ends[steps, envs], axis=1) == 0).astype(np.float32),
        }

    def sample_reward_frames(self, batch_size: int, rng: np.random.Generator) -> dict:
        """``batch_size`` stacks of 3 consecutive observations of one episode and the class of
        the reward after the last, drawn so that zero and non-zero rewards are equally likely
        (uniformly when the replay holds only one kind)."""
        if self.size < REWARD_FRAMES:
            raise InvalidInputError(f"replay holds {self.size} steps, fewer than {REWARD_FRAMES}")
        rows = self._rows(np.arange(self.size - REWARD_FRAMES + 1), REWARD_FRAMES)
        # Windows inside one episode: no end before their last step.
        complete = ~self.ends[rows[:, :-1]].any(axis=1)  # (windows, envs)
        window, env = np.nonzero(complete)
        nonzero = self.rewards[rows[window, -1], env] != 0
        groups = [np.flatnonzero(nonzero), np.flatnonzero(~nonzero)]
        groups = [g for g in groups if len(g)]
        group = rng.integers(len(groups), size=batch_size)
        picks = np.array([groups[g][rng.integers(len(groups[g]))] for g in group])
        rows, env = rows[window[picks]], env[picks]
        return {
            "frames": self.observations[rows, env[:, None]],
            "classes": reward_classes(self.rewards[rows[:, -1], env]),
        }


def previous_of_rollout(actions, rewards, dones, num_actions: int) -> np.ndarray:
    """The ``previous`` inputs along one sequence of steps that starts an episode."""

    def shifted(x, first_value=0.0):  # the value of the step before, at every step
        return np.concatenate([[first_value], np.asarray(x, np.float32)[:-1]])

    return UnrealNetwork.previous_features(
        shifted(actions).astype(np.int64), shifted(rewards), shifted(dones, 1.0), num_actions
    )


class _Actor:
    """One stream of experience: ``num_envs`` environments stepped in lockstep, with their LSTM
    state, ``previous`` inputs, running returns and replay (one per worker thread)."""

    def __init__(self, agent: Unreal, seed: int):
        c = agent.config
        self.envs = make_vector_env(agent.env_id, c["num_envs"], seed=seed)
        self.replay = UnrealReplay(
            c["replay_steps"], c["num_envs"], agent.observation_shape, agent.num_actions
        )

    def reset(self, agent: Unreal, seed: int) -> None:
        n = agent.config["num_envs"]
        self.observations, _ = self.envs.reset(seed=seed)
        self.state = np.zeros((n, agent.state_size), np.float32)
        self.previous = agent._previous(np.zeros(n), np.zeros(n), np.ones(n))
        self.running_returns = np.zeros(n)


#: Settings of ``unreal_pixel_cartpole`` (registered at the end of this module).
UNREAL_PIXEL_CARTPOLE = {
    **UNREAL_DEFAULTS,
    "total_steps": 500_000,
    "network": {"dense_units": 128, "lstm_units": 64},
}


#: Settings of ``unreal_breakout`` (registered at the end of this module).
UNREAL_BREAKOUT = {
    **UNREAL_DEFAULTS,
    "total_steps": 10_000_000,
    "num_envs": 16,
    "replay_steps": 125,
    "network": {},
}


class Unreal(Agent):
    """UNREAL on a conv-LSTM advantage actor-critic, synchronous or asynchronous (see the
    module)."""

    def __init__(self, name: str = "unreal_pixel_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        c = self.config
        if c["num_workers"] < 0:
            raise InvalidInputError(f"num_workers must be >= 0, got {c['num_workers']}")
        self.replay_model, self.reward_model = auxiliary_heads(self.model, c["cell_size"])
        self.uses_replay = c["pixel_control_weight"] > 0 or c["value_replay_weight"] > 0
        self.uses_reward_prediction = c["reward_prediction_weight"] > 0
        unique = {}
        for model in (self.model, self.replay_model, self.reward_model):
            unique.update({id(v): v for v in model.trainable_variables})
        self.variables = list(unique.values())
        self.optimizer = _rmsprop(c)
        self.optimizer.build(self.variables)
        self.state_size = self.model.inputs[2].shape[-1]
        self.lock = threading.Lock()
        self.actors = [_Actor(self, self.seed + 1000 * i) for i in range(max(1, c["num_workers"]))]
        self.reset_envs(self.seed)

    @property
    def replay(self) -> UnrealReplay:
        """The (first worker's) replay."""
        return self.actors[0].replay

    # --- acting -----------------------------------------------------------------------------
    def reset_envs(self, seed: int) -> None:
        for i, actor in enumerate(self.actors):
            actor.reset(self, seed + 1000 * i)

    def _previous(self, actions, rewards, first) -> np.ndarray:
        return UnrealNetwork.previous_features(actions, rewards, first, self.num_actions)

    @tf.function(reduce_retracing=True)
    def _step(self, observations, previous, state):
        logits, values, state = self.model(
            [tf.cast(observations, tf.float32)[:, None], previous[:, None], state]
        )
        return logits[:, 0], values[:, 0, 0], state

    def greedy_actions(self, observations, state=None):
        n = len(observations)
        if state is None:
            state = (
                np.zeros((n, self.state_size), np.float32),
                self._previous(np.zeros(n), np.zeros(n), np.ones(n)),
            )
        logits, _, lstm_state = self._step(np.asarray(observations), state[1], state[0])
        actions = np.argmax(logits, axis=-1)
        return actions, (lstm_state.numpy(), self._previous(actions, np.zeros(n), np.zeros(n)))

    def next_state(self, state, actions, rewards, dones):
        return state[0], self._previous(actions, rewards, dones)

    # --- learning ---------------------------------------------------------------------------
    @staticmethod
    def rollout_loss(model, rollout, gamma: float = 0.99):
        # The rollout as one sequence from a zero state, with the actor-critic loss.
        num_actions = model.outputs[0].shape[-1]
        previous = previous_of_rollout(
            rollout["actions"], rollout["rewards"], rollout["dones"], num_actions
        )
        zeros = np.zeros((1, model.inputs[2].shape[-1]), np.float32)
        logits, values, _ = model(
            [rollout["observations"][None], previous[None], zeros], training=True
        )
        returns = discounted_returns(rollout["rewards"], rollout["dones"], gamma)
        return actor_critic_loss(logits[0], values[0, :, 0], rollout["actions"], returns)[0]

    def _rollout(self, actor: _Actor, rng: np.random.Generator) -> tuple:
        """``n_steps`` of ``actor``'s environments with the current policy, stored in its replay;
        returns the arguments of a gradient step (rollout, LSTM state at its start, auxiliary
        samples from the replay)."""
        c = self.config
        start_state = actor.state
        steps = {k: [] for k in ("observations", "previous", "actions", "rewards", "dones")}
        for _ in range(c["n_steps"]):
            logits, _, state = self._step(actor.observations, actor.previous, actor.state)
            actions = sample_actions(logits.numpy(), rng)
            observations, rewards, terminated, truncated, info = actor.envs.step(actions)
            actor.running_returns += rewards
            done = terminated | truncated
            learned = np.sign(rewards) if c["clip_rewards"] else rewards.astype(np.float32)
            actor.replay.add(actor.observations, actor.previous, actions, learned, done)
            targets = learned.astype(np.float32)
            cut = truncated & ~terminated
            if cut.any():  # time limit: bootstrap from the final observation (Pardo et al. 2018)
                final = np.stack(info["final_obs"][cut])
                after = self._previous(actions[cut], rewards[cut], np.zeros(cut.sum()))
                targets[cut] += c["gamma"] * self._step(final, after, state.numpy()[cut])[1]
            for key, value in zip(
                steps, (actor.observations, actor.previous, actions, targets, done)
            ):
                steps[key].append(value)
            actor.observations, actor.state = observations, state.numpy()
            actor.previous = self._previous(actions, rewards, done)
            with self.lock:
                self.steps += c["num_envs"]
                self.log_episodes(actor.running_returns[done])
            actor.running_returns[done] = 0.0
        last_values = self._step(actor.observations, actor.previous, actor.state)[1].numpy()
        returns = discounted_returns(
            np.asarray(steps["rewards"]), np.asarray(steps["dones"]), c["gamma"], last_values
        )
        # (time, envs, ...) -> (envs, time, ...) sequences
        rollout = {k: np.swapaxes(np.asarray(v), 0, 1) for k, v in steps.items() if k != "dones"}
        auxiliary = {}
        if self.uses_replay and len(actor.replay) > c["sequence_length"]:
            auxiliary["replay"] = actor.replay.sample_sequences(
                c["auxiliary_batch"], c["sequence_length"], rng
            )
        if self.uses_reward_prediction and len(actor.replay) >= REWARD_FRAMES:
            auxiliary["reward"] = actor.replay.sample_reward_frames(c["auxiliary_batch"], rng)
        return (
            rollout["observations"],
            rollout["previous"],
            start_state,
            rollout["actions"],
            np.swapaxes(returns, 0, 1),
            auxiliary,
        )

    def iterate(self) -> None:
        workers = self.config["num_workers"]
        if workers == 0:
            losses = self._train_step(*self._rollout(self.actors[0], self.rng))
            self.metrics = {k: float(v) for k, v in losses.items()}
            return
        steps = self.config["steps_per_iteration"] // workers
        seeds = self.rng.integers(2**31, size=workers)
        run_workers(
            self._worker,
            [(actor, steps, np.random.default_rng(s)) for actor, s in zip(self.actors, seeds)],
        )

    def _worker(self, actor: _Actor, steps: int, rng: np.random.Generator) -> None:
        """An asynchronous worker: rollouts of its own environments, gradients applied to the
        shared networks (Mnih et al. 2016)."""
        done = 0
        while done < steps:
            losses, gradients = self._gradients(*self._rollout(actor, rng))
            with self.lock:
                self._apply(gradients)
                self.metrics = {k: float(v) for k, v in losses.items()}
            done += self.config["n_steps"] * self.config["num_envs"]

    def auxiliary_losses(self, replay: dict | None = None, reward: dict | None = None) -> dict:
        """The auxiliary losses (unweighted) on replayed ``replay`` sequences and ``reward``
        frames (:class:`UnrealReplay` samples); each is left out when its sample is None."""
        c, losses = self.config, {}
        if replay is not None:
            observations = tf.cast(replay["observations"], tf.float32)
            zeros = tf.zeros((tf.shape(observations)[0], self.state_size))
            previous = tf.convert_to_tensor(replay["previous"], tf.float32)
            values, q_values = self.replay_model([observations, previous, zeros], training=True)
            continues = replay["continues"]
            count = tf.maximum(tf.reduce_sum(continues), 1.0)
            value_targets = n_step_targets(
                replay["rewards"], tf.stop_gradient(values[..., 0]), continues, c["gamma"]
            )
            errors = tf.square(value_targets - values[:, :-1, 0])
            losses["value_replay"] = tf.reduce_sum(errors * continues) / count
            newest = observations[:, :, -1]  # the newest frame of each observation
            pseudo_rewards = pixel_change(newest[:, :-1], newest[:, 1:], c["cell_size"])
            q_targets = n_step_targets(
                pseudo_rewards,
                tf.stop_gradient(tf.reduce_max(q_values, axis=-1)),
                continues[..., None, None],
                c["pixel_control_gamma"],
            )
            taken = tf.gather(q_values[:, :-1], replay["actions"], axis=-1, batch_dims=2)
            per_step = tf.reduce_sum(tf.square(q_targets - taken), axis=(2, 3))
            losses["pixel_control"] = tf.reduce_sum(per_step * continues) / count
        if reward is not None:
            logits = self.reward_model(tf.cast(reward["frames"], tf.float32), training=True)
            losses["reward_prediction"] = keras.ops.mean(
                keras.losses.sparse_categorical_crossentropy(
                    reward["classes"], logits, from_logits=True
                )
            )
        return losses

    def _losses(self, observations, previous, state, actions, returns, auxiliary):
        """``(total, metrics)``: the actor-critic loss of a rollout plus the weighted auxiliary
        losses of the replayed samples in ``auxiliary``."""
        c = self.config
        logits, values, _ = self.model(
            [tf.cast(observations, tf.float32), previous, state], training=True
        )
        total, policy, value, entropy = actor_critic_loss(
            tf.reshape(logits, (-1, self.num_actions)),
            tf.reshape(values, (-1,)),
            tf.reshape(actions, (-1,)),
            tf.reshape(returns, (-1,)),
            c["value_coefficient"],
            c["entropy_coefficient"],
        )
        losses = self.auxiliary_losses(auxiliary.get("replay"), auxiliary.get("reward"))
        weights = {
            "value_replay": c["value_replay_weight"] * c["value_coefficient"],
            "pixel_control": c["pixel_control_weight"],
            "reward_prediction": c["reward_prediction_weight"],
        }
        for key, loss in losses.items():
            total += weights[key] * loss
        metrics = {"policy_loss": policy, "value_loss": value, "entropy": entropy, **losses}
        return total, {"loss": total, **metrics}

    @tf.function(reduce_retracing=True)
    def _train_step(self, *arguments):
        with tf.GradientTape() as tape:
            total, metrics = self._losses(*arguments)
        self._apply(tape.gradient(total, self.variables))
        return metrics

    @tf.function(reduce_retracing=True)
    def _gradients(self, *arguments):
        with tf.GradientTape() as tape:
            total, metrics = self._losses(*arguments)
        gradients = tape.gradient(total, self.variables)
        # Heads whose loss is switched off get zeros (no update), so every call has one form.
        return metrics, [
            tf.zeros_like(v) if g is None else g for g, v in zip(gradients, self.variables)
        ]

    @tf.function
    def _apply(self, gradients) -> None:
        self.optimizer.apply_gradients(
            [(g, v) for g, v in zip(gradients, self.variables) if g is not None]
        )

    # --- checkpoints --------------------------------------------------------------------------
    def trackables(self):
        return {
            **super().trackables(),
            "replay_heads": self.replay_model,
            "reward_head": self.reward_model,
        }

    @staticmethod
    def _replay_file(directory: Path, worker: int) -> Path:
        return directory / (REPLAY if worker == 0 else REPLAY.replace(".npz", f"_{worker}.npz"))

    def save_extra(self, directory: Path) -> None:
        for i, actor in enumerate(self.actors):
            actor.replay.save(self._replay_file(directory, i))

    def load_extra(self, directory: Path) -> None:
        for i, actor in enumerate(self.actors):
            if self._replay_file(directory, i).is_file():
                actor.replay.load(self._replay_file(directory, i))


register(
    "unreal_pixel_cartpole",
    chapter=13,
    builder=UnrealNetwork,
    task=ReinforcementLearning(Unreal, "PixelCartPole-v1", UNREAL_PIXEL_CARTPOLE),
    summary="UNREAL: conv-LSTM A2C/A3C + pixel control, reward prediction, value replay (2017)",
    target=Target(
        "mean_return",
        475.0,
        "PixelCartPole-v1",
        "CartPole-v1's criterion, from 2 40x40 frames, each action held 4 steps",
    ),
    defaults={"observation_shape": (2, 40, 40), "num_actions": 2},
    tiny={"filters": (4, 4), "dense_units": 8, "lstm_units": 8},
)
register(
    "unreal_breakout",
    chapter=13,
    builder=UnrealNetwork,
    task=ReinforcementLearning(Unreal, "ALE/Breakout-v5", UNREAL_BREAKOUT),
    summary="UNREAL on Breakout: conv-LSTM A2C/A3C with the three auxiliary tasks",
    target=Target(
        "mean_return", 401.0, "ALE/Breakout-v5", "Nature DQN's 401 (UNREAL reports human-norm.)"
    ),
    defaults={"observation_shape": (4, 84, 84), "num_actions": 4},
    tiny={"filters": (4, 4), "dense_units": 8, "lstm_units": 8},
)
