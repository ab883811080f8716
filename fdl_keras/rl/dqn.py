"""Deep Q-learning: experience replay, a target network, Huber loss and annealed epsilon-greedy.

Mnih et al., "Human-level control through deep reinforcement learning", Nature 2015; the
Double-DQN target of van Hasselt, Guez & Silver, "Deep Reinforcement Learning with Double
Q-learning", AAAI 2016.

The agent acts epsilon-greedily (epsilon falls linearly from 1 over the first part of the run),
stores transitions in a :class:`~fdl_keras.rl.buffers.ReplayBuffer` and regresses
``Q(s, a)`` on ``r + gamma * max_a' Q_target(s', a')`` with the Huber loss per sample (the
book's listing used neither); the target network is a copy of the Q-network refreshed every
``target_update_interval`` steps. With ``double_dqn`` the online network picks ``a'`` and the
target network evaluates it. The CartPole settings are those of the SB3 zoo; Breakout's follow
the Nature paper and the zoo (rewards clipped to their sign).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.registry import Target, register
from fdl_keras.rl.agent import Agent
from fdl_keras.rl.buffers import ReplayBuffer
from fdl_keras.rl.envs import CARTPOLE as CARTPOLE_ID
from fdl_keras.rl.envs import make_env
from fdl_keras.rl.networks import CARTPOLE, CARTPOLE_TARGET, NatureQNetwork, QNetwork
from fdl_keras.tasks import ReinforcementLearning

REPLAY = "replay.npz"


def q_learning_targets(rewards, dones, next_q_target, gamma: float, next_q_online=None):
    """One-step targets ``r + gamma * (1 - done) * Q_target(s', a')``.

    ``a'`` maximises ``next_q_target`` (DQN) or, when ``next_q_online`` is given, maximises the
    online network's values (Double DQN).
    """
    if next_q_online is None:
        next_values = keras.ops.max(next_q_target, axis=-1)
    else:
        best = keras.ops.argmax(next_q_online, axis=-1)
        next_values = keras.ops.take_along_axis(next_q_target, best[:, None], axis=-1)[:, 0]
    return rewards + gamma * (1.0 - dones) * next_values


def linear_epsilon(step: int, decay_steps: float, initial: float, final: float) -> float:
    """Epsilon annealed linearly from ``initial`` to ``final`` over ``decay_steps``, then held."""
    return float(np.interp(step, [0.0, max(decay_steps, 1.0)], [initial, final]))


#: Settings of ``dqn_cartpole`` (registered at the end of this module).
DQN_CARTPOLE = {
    "total_steps": 50_000,
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_frequency": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_initial": 1.0,
    "exploration_final": 0.04,
    "double_dqn": False,
    "max_grad_norm": 10.0,
    "clip_rewards": False,
    "network": {},
}


#: Settings of ``dqn_breakout`` (registered at the end of this module).
DQN_BREAKOUT = {
    "total_steps": 10_000_000,
    "learning_rate": 1e-4,
    "batch_size": 32,
    "buffer_size": 100_000,
    "learning_starts": 100_000,
    "gamma": 0.99,
    "target_update_interval": 1_000,
    "train_frequency": 4,
    "gradient_steps": 1,
    "exploration_fraction": 0.1,
    "exploration_initial": 1.0,
    "exploration_final": 0.01,
    "double_dqn": False,
    "max_grad_norm": 10.0,
    "clip_rewards": True,
    "network": {},
}


class DQN(Agent):
    """DQN (optionally Double DQN) on one environment."""

    def __init__(self, name: str = "dqn_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        c = self.config
        self.target_model = self.spec.build(
            observation_shape=self.observation_shape,
            num_actions=self.num_actions,
            **c.get("network", {}),
        )
        self.sync_target()
        self.optimizer = keras.optimizers.Adam(
            c["learning_rate"], global_clipnorm=c["max_grad_norm"]
        )
        self.optimizer.build(self.model.trainable_variables)
        self.loss_fn = keras.losses.Huber()
        self.env = make_env(self.env_id, seed=self.seed)
        self.buffer = self.make_buffer()
        self.episode_return = 0.0
        self.reset_envs(self.seed)

    def make_buffer(self):
        """The replay buffer, storing observations in the environment's dtype."""
        dtype = self.env.observation_space.dtype
        return ReplayBuffer(self.config["buffer_size"], self.observation_shape, dtype)

    def trackables(self):
        return {**super().trackables(), "target_model": self.target_model}

    @staticmethod
    def rollout_loss(model, rollout, gamma: float = 0.99):
        q_values = model(rollout["observations"], training=True)
        next_q = keras.ops.stop_gradient(model(rollout["next_observations"]))
        targets = q_learning_targets(rollout["rewards"], rollout["terminated"], next_q, gamma)
        taken = keras.ops.take_along_axis(q_values, rollout["actions"][:, None], axis=-1)
        return keras.losses.Huber()(targets, taken[:, 0])

    def reset_envs(self, seed: int) -> None:
        self.observation, _ = self.env.reset(seed=seed)
        self.episode_return = 0.0

    def save_extra(self, directory: Path) -> None:
        self.buffer.save(directory / REPLAY)

    def load_extra(self, directory: Path) -> None:
        if (directory / REPLAY).is_file():
            self.buffer.load(directory / REPLAY)

    @tf.function
    def sync_target(self) -> None:
        """Copies the Q-network's weights into the target network."""
        for target, online in zip(self.target_model.weights, self.model.weights):
            target.assign(online)

    def epsilon(self) -> float:
        c = self.config
        decay = c["exploration_fraction"] * self.total_steps
        return linear_epsilon(self.steps, decay, c["exploration_initial"], c["exploration_final"])

    @tf.function(reduce_retracing=True)
    def _q_values(self, observations):
        return self.model(tf.cast(observations, tf.float32))

    def greedy_actions(self, observations, state=None):
        return np.argmax(self._q_values(np.asarray(observations)), axis=-1), state

    def act(self, observation) -> int:
        """The epsilon-greedy action for one observation."""
        if self.rng.random() < self.epsilon():
            return int(self.rng.integers(self.num_actions))
        return int(self.greedy_actions(observation[None])[0][0])

    def iterate(self) -> None:
        c = self.config
        for _ in range(c["train_frequency"]):
            action = self.act(self.observation)
            next_observation, reward, terminated, truncated, _ = self.env.step(action)
            self.episode_return += reward
            if c["clip_rewards"]:
                reward = np.sign(reward)
            # Only termination zeroes the bootstrap; at a time limit s' is a real state.
            self.buffer.add(self.observation, action, reward, next_observation, terminated)
            self.observation = next_observation
            self.steps += 1
            if terminated or truncated:
                self.log_episodes(self.episode_return)
                self.observation, _ = self.env.reset()
                self.episode_return = 0.0
            if self.steps % c["target_update_interval"] == 0:
                self.sync_target()
        if self.steps >= c["learning_starts"]:
            for _ in range(c["gradient_steps"]):
                batch = self.buffer.sample(c["batch_size"], self.rng)
                self.metrics = {"loss": self._train_step(**batch), "epsilon": self.epsilon()}

    @tf.function
    def _train_step(self, observations, actions, rewards, next_observations, dones):
        observations = tf.cast(observations, tf.float32)
        next_observations = tf.cast(next_observations, tf.float32)
        online = self.model(next_observations) if self.config["double_dqn"] else None
        targets = q_learning_targets(
            rewards, dones, self.target_model(next_observations), self.config["gamma"], online
        )
        with tf.GradientTape() as tape:
            q_values = self.model(observations, training=True)
            taken = tf.gather(q_values, actions, batch_dims=1)
            loss = self.loss_fn(tf.stop_gradient(targets), taken)
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss


register(
    "dqn_cartpole",
    chapter=13,
    builder=QNetwork,
    task=ReinforcementLearning(DQN, CARTPOLE_ID, DQN_CARTPOLE),
    summary="DQN: replay, target network, Huber loss, annealed epsilon, Double-DQN option",
    target=CARTPOLE_TARGET,
    defaults=CARTPOLE,
    tiny={"hidden_units": (8,)},
)
register(
    "dqn_breakout",
    chapter=13,
    builder=NatureQNetwork,
    task=ReinforcementLearning(DQN, "ALE/Breakout-v5", DQN_BREAKOUT),
    summary="Nature DQN on Breakout: 3 ReLU convolutions on 4 stacked 84x84 frames",
    target=Target(
        "mean_return", 401.0, "ALE/Breakout-v5", "Mnih et al. 2015: 401 after 50M frames"
    ),
    defaults={"observation_shape": (4, 84, 84), "num_actions": 4},
    tiny={"filters": (4, 4, 4), "dense_units": 16},
)
