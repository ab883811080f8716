"""REINFORCE with a baseline: the Monte-Carlo policy gradient of chapter 13.

Williams, "Simple Statistical Gradient-Following Algorithms for Connectionist Reinforcement
Learning", Machine Learning 1992; Sutton & Barto, *Reinforcement Learning* (2nd ed.), 13.4.

The agent plays complete episodes with its stochastic policy, computes the discounted return
``G_t`` of every step, and ascends ``log pi(a_t | s_t) * A_t`` with ``A_t = G_t - b(s_t)``: the
baseline ``b`` is the value head of :class:`~fdl_keras.rl.networks.ActorCriticNetwork`, fitted
to ``G_t`` by squared error, and the advantages of each batch are normalised to mean 0 and
standard deviation 1. Unlike the book's listing, the policy has hidden tanh layers and the loss
is averaged over the batch.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.registry import register
from fdl_keras.rl.agent import ActorCriticAgent, sample_actions
from fdl_keras.rl.envs import CARTPOLE as CARTPOLE_ID
from fdl_keras.rl.envs import make_env
from fdl_keras.rl.networks import CARTPOLE, CARTPOLE_TARGET, ActorCriticNetwork
from fdl_keras.rl.returns import discounted_returns
from fdl_keras.tasks import ReinforcementLearning


def reinforce_loss(logits, values, actions, returns, value_coefficient: float = 0.5):
    """``(total, policy, value)`` losses of REINFORCE with a learned baseline.

    Args:
        logits: ``(batch, actions)`` policy logits.
        values: ``(batch,)`` baseline values ``b(s_t)``.
        actions: ``(batch,)`` actions taken.
        returns: ``(batch,)`` discounted returns ``G_t``.
        value_coefficient: weight of the baseline's squared error.
    """
    advantages = keras.ops.stop_gradient(returns - values)
    advantages = (advantages - keras.ops.mean(advantages)) / (keras.ops.std(advantages) + 1e-8)
    log_probs = -keras.losses.sparse_categorical_crossentropy(actions, logits, from_logits=True)
    policy_loss = -keras.ops.mean(log_probs * advantages)
    value_loss = keras.ops.mean(keras.ops.square(returns - values))
    return policy_loss + value_coefficient * value_loss, policy_loss, value_loss


#: Settings of ``reinforce_cartpole`` (registered at the end of this module).
REINFORCE_CARTPOLE = {
    "total_steps": 300_000,
    "learning_rate": 1e-3,
    "gamma": 0.99,
    "episodes_per_update": 4,
    "value_coefficient": 0.5,
    "network": {},
}


class Reinforce(ActorCriticAgent):
    """REINFORCE with a value baseline on one environment, updated every few episodes."""

    def __init__(self, name: str = "reinforce_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        self.optimizer = keras.optimizers.Adam(self.config["learning_rate"])
        self.optimizer.build(self.model.trainable_variables)
        self.env = make_env(self.env_id, seed=self.seed)
        self.reset_envs(self.seed)

    @staticmethod
    def rollout_loss(model, rollout, gamma: float = 0.99):
        logits, values = model(rollout["observations"], training=True)
        returns = discounted_returns(rollout["rewards"], rollout["dones"], gamma)
        return reinforce_loss(logits, values[:, 0], rollout["actions"], returns)[0]

    def reset_envs(self, seed: int) -> None:
        self.observation, _ = self.env.reset(seed=seed)

    def play_episode(self) -> dict[str, np.ndarray]:
        """Plays one episode with the stochastic policy; returns its steps and returns."""
        observations, actions, rewards = [], [], []
        while True:
            observation = np.asarray(self.observation, np.float32)
            logits, _ = self._forward(observation[None])
            action = int(sample_actions(logits.numpy(), self.rng)[0])
            self.observation, reward, terminated, truncated, _ = self.env.step(action)
            observations.append(observation)
            actions.append(action)
            rewards.append(reward)
            self.steps += 1
            if terminated or truncated:
                break
        # A time limit is not the end of the task: bootstrap from the value of the last state.
        last_value = 0.0
        if truncated and not terminated:
            last_value = float(self._forward(np.asarray(self.observation, np.float32)[None])[1][0])
        self.log_episodes(np.sum(rewards))
        self.observation, _ = self.env.reset()
        dones = np.zeros(len(rewards))
        returns = discounted_returns(rewards, dones, self.config["gamma"], last_value)
        return {
            "observations": np.asarray(observations),
            "actions": np.asarray(actions),
            "returns": returns,
        }

    def iterate(self) -> None:
        episodes = [self.play_episode() for _ in range(self.config["episodes_per_update"])]
        batch = {key: np.concatenate([e[key] for e in episodes]) for key in episodes[0]}
        losses = self._update(batch["observations"], batch["actions"], batch["returns"])
        self.metrics = dict(zip(("loss", "policy_loss", "value_loss"), losses))

    @tf.function(reduce_retracing=True)
    def _update(self, observations, actions, returns):
        with tf.GradientTape() as tape:
            logits, values = self.model(observations, training=True)
            losses = reinforce_loss(
                logits, values[:, 0], actions, returns, self.config["value_coefficient"]
            )
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(losses[0], variables), variables))
        return losses


register(
    "reinforce_cartpole",
    chapter=13,
    builder=ActorCriticNetwork,
    task=ReinforcementLearning(Reinforce, CARTPOLE_ID, REINFORCE_CARTPOLE),
    summary="REINFORCE with a value baseline and discounted, normalised returns (Williams 1992)",
    target=CARTPOLE_TARGET,
    defaults=CARTPOLE,
    tiny={"hidden_units": (8,)},
)
