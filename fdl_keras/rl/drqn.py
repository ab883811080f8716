"""Deep recurrent Q-learning: an LSTM Q-network trained on sequences from replay.

Hausknecht & Stone, "Deep Recurrent Q-Learning for Partially Observable MDPs", AAAI Fall
Symposium 2015. On ``FlickeringCartPole-v1`` a single observation is blanked half of the time and
never shows velocities, so a feed-forward DQN sees an aliased state; the LSTM can integrate the
frames it has seen.

Acting carries the LSTM state from step to step (reset at each episode start). Learning follows
the paper's "bootstrapped random updates": sequences of ``sequence_length`` consecutive steps
start at random points of the replay, the LSTM is unrolled from a zero state, and every step of
the sequence is regressed (Huber loss) on ``r + gamma * max_a' Q_target(s', a')``, with both
networks unrolled over the same observations so ``Q_target(s')`` sees the same history. Steps
after an episode end inside a sequence are masked out. Everything else is the DQN agent's.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import register
from fdl_keras.rl.buffers import RingStorage
from fdl_keras.rl.dqn import DQN, DQN_CARTPOLE, q_learning_targets
from fdl_keras.rl.networks import CARTPOLE, RecurrentQNetwork
from fdl_keras.tasks import ReinforcementLearning

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated", "ends")


class SequenceReplay(RingStorage):
    """A ring of transitions in the order they happened, sampled as fixed-length sequences.

    Args:
        capacity: transitions kept.
        observation_shape: shape of one observation.
        observation_dtype: storage type.
    """

    fields = FIELDS

    def __init__(self, capacity: int, observation_shape, observation_dtype="float32"):
        if capacity < 2:
            raise InvalidInputError(f"replay capacity must be >= 2, got {capacity}")
        self.capacity = int(capacity)
        self.observations = np.zeros((capacity, *observation_shape), dtype=observation_dtype)
        self.next_observations = np.zeros_like(self.observations)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.ends = np.zeros(capacity, dtype=bool)  # the episode ended here (either way)
        self.position = 0
        self.size = 0

    def add(self, observation, action, reward, next_observation, terminated, truncated) -> None:
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = terminated
        self.ends[i] = terminated or truncated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, length: int, rng: np.random.Generator) -> dict:
        """``batch_size`` windows of ``length`` consecutive steps that never cross the ring's
        write position; ``observations`` has ``length + 1`` steps (the last one is ``s'`` of the
        window's last step) and ``mask`` is 0 after an episode end or on a time-limit cut."""
        if self.size < length:
            raise InvalidInputError(f"replay holds {self.size} steps, fewer than {length}")
        oldest = self.position if self.size == self.capacity else 0
        starts = oldest + rng.integers(0, self.size - length + 1, size=batch_size)
        index = (starts[:, None] + np.arange(length)) % self.capacity
        ends = self.ends[index]
        # Valid: no episode ended strictly before this step within the window ...
        before = np.cumsum(ends, axis=1) - ends
        # ... and the step was not cut by a time limit (its s' would not be the next step).
        cut = ends & (self.terminated[index] == 0)
        mask = ((before == 0) & ~cut).astype(np.float32)
        observations = np.concatenate(
            [self.observations[index], self.next_observations[index[:, -1:]]], axis=1
        )
        return {
            "observations": observations,
            "actions": self.actions[index],
            "rewards": self.rewards[index],
            "terminated": self.terminated[index],
            "mask": mask,
        }


#: Settings of ``drqn_flickering_cartpole`` (registered at the end of this module).
DRQN_FLICKERING_CARTPOLE = {
    **DQN_CARTPOLE,
    "total_steps": 100_000,
    "learning_rate": 1e-3,
    "batch_size": 32,
    "buffer_size": 50_000,
    "sequence_length": 16,
    "train_frequency": 16,
    "gradient_steps": 4,
    "target_update_interval": 500,
    "exploration_fraction": 0.2,
    "exploration_final": 0.02,
}


class DRQN(DQN):
    """DQN with an LSTM Q-network, carried state when acting and sequence replay."""

    def make_buffer(self) -> SequenceReplay:
        dtype = self.env.observation_space.dtype
        return SequenceReplay(self.config["buffer_size"], self.observation_shape, dtype)

    @property
    def state_size(self) -> int:
        """Size of the network's state input (LSTM ``h`` and ``c`` side by side)."""
        return self.model.inputs[1].shape[-1]

    @staticmethod
    def rollout_loss(model, rollout, gamma: float = 0.99):
        # The rollout as one sequence, with the agent's sequence targets.
        observations = np.concatenate([rollout["observations"], rollout["next_observations"][-1:]])[
            None
        ]
        zeros = np.zeros((1, model.inputs[1].shape[-1]), np.float32)
        q_values = model([observations, zeros], training=True)[0][0]
        next_q = keras.ops.stop_gradient(q_values[1:])
        targets = q_learning_targets(rollout["rewards"], rollout["terminated"], next_q, gamma)
        taken = keras.ops.take_along_axis(q_values[:-1], rollout["actions"][:, None], axis=-1)
        return keras.losses.Huber()(targets, taken[:, 0])

    def reset_state(self) -> None:
        self.state = np.zeros((1, self.state_size), np.float32)

    def reset_envs(self, seed: int) -> None:
        super().reset_envs(seed)
        self.reset_state()

    @tf.function(reduce_retracing=True)
    def _step(self, observations, state):
        q_values, state = self.model([tf.cast(observations, tf.float32), state])
        return q_values[:, 0], state

    def greedy_actions(self, observations, state=None):
        observations = np.asarray(observations, np.float32)[:, None]
        if state is None:
            state = np.zeros((len(observations), self.state_size), np.float32)
        q_values, state = self._step(observations, state)
        return np.argmax(q_values, axis=-1), state

    def act(self, observation) -> int:
        # The state must follow every observation, also when the action is random.
        q_values, self.state = self._step(
            np.asarray(observation, np.float32)[None, None], self.state
        )
        if self.rng.random() < self.epsilon():
            return int(self.rng.integers(self.num_actions))
        return int(np.argmax(q_values[0]))

    def iterate(self) -> None:
        c = self.config
        for _ in range(c["train_frequency"]):
            action = self.act(self.observation)
            next_observation, reward, terminated, truncated, _ = self.env.step(action)
            self.episode_return += reward
            self.buffer.add(
                self.observation, action, reward, next_observation, terminated, truncated
            )
            self.observation = next_observation
            self.steps += 1
            if terminated or truncated:
                self.log_episodes(self.episode_return)
                self.observation, _ = self.env.reset()
                self.episode_return = 0.0
                self.reset_state()
            if self.steps % c["target_update_interval"] == 0:
                self.sync_target()
        if self.steps >= max(c["learning_starts"], c["sequence_length"]):
            for _ in range(c["gradient_steps"]):
                batch = self.buffer.sample(c["batch_size"], c["sequence_length"], self.rng)
                self.metrics = {"loss": self._train_step(**batch), "epsilon": self.epsilon()}

    @tf.function
    def _train_step(self, observations, actions, rewards, terminated, mask):
        observations = tf.cast(observations, tf.float32)
        zeros = tf.zeros((tf.shape(observations)[0], self.state_size))
        next_target = self.target_model([observations, zeros])[0][:, 1:]
        online = None
        if self.config["double_dqn"]:
            online = self.model([observations, zeros])[0][:, 1:]
        targets = q_learning_targets(rewards, terminated, next_target, self.config["gamma"], online)
        with tf.GradientTape() as tape:
            q_values = self.model([observations, zeros], training=True)[0][:, :-1]
            taken = tf.gather(q_values, actions, batch_dims=2)
            per_step = keras.losses.huber(tf.stop_gradient(targets)[..., None], taken[..., None])
            loss = tf.reduce_sum(per_step * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss


register(
    "drqn_flickering_cartpole",
    chapter=13,
    builder=RecurrentQNetwork,
    task=ReinforcementLearning(DRQN, "FlickeringCartPole-v1", DRQN_FLICKERING_CARTPOLE),
    summary="DRQN: LSTM Q-network on sequences, for CartPole with blanked observations",
    defaults=CARTPOLE,
    tiny={"hidden_units": 8, "lstm_units": 8},
)
