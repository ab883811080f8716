"""Proximal policy optimisation with the clipped surrogate and GAE.

Schulman, Wolski, Dhariwal, Radford & Klimov, "Proximal Policy Optimization Algorithms", 2017;
advantages by GAE (Schulman et al., ICLR 2016). Structure after keras-io's
``examples/rl/ppo_cartpole.py``; settings of the SB3 zoo for CartPole-v1.

Each iteration collects ``n_steps`` from each of ``num_envs`` environments with the current
policy, computes GAE advantages and value targets, and then runs ``epochs`` passes of shuffled
minibatches over the loss
``-min(rho * A, clip(rho, 1 - eps, 1 + eps) * A) + c_v * (V - V_target)^2 - c_e * H``
with ``rho = pi(a | s) / pi_old(a | s)``. Learning rate and clip range fall linearly to 0.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.rl.agent import Agent, sample_actions
from fdl_keras.rl.envs import make_vector_env
from fdl_keras.rl.returns import generalized_advantages


def log_probabilities(logits, actions):
    """``log pi(a | s)`` of ``actions`` under the categorical policy with ``logits``."""
    return -keras.losses.sparse_categorical_crossentropy(actions, logits, from_logits=True)


def ppo_loss(
    logits,
    values,
    actions,
    old_log_probs,
    advantages,
    value_targets,
    clip_range: float,
    value_coefficient: float = 0.5,
    entropy_coefficient: float = 0.0,
):
    """``(total, policy, value, entropy)`` of PPO's clipped objective (advantages normalised)."""
    advantages = (advantages - keras.ops.mean(advantages)) / (keras.ops.std(advantages) + 1e-8)
    ratio = keras.ops.exp(log_probabilities(logits, actions) - old_log_probs)
    clipped = keras.ops.clip(ratio, 1.0 - clip_range, 1.0 + clip_range)
    policy_loss = -keras.ops.mean(keras.ops.minimum(ratio * advantages, clipped * advantages))
    value_loss = keras.ops.mean(keras.ops.square(value_targets - values))
    probabilities = keras.ops.softmax(logits)
    entropy = -keras.ops.mean(keras.ops.sum(probabilities * keras.ops.log_softmax(logits), axis=-1))
    total = policy_loss + value_coefficient * value_loss - entropy_coefficient * entropy
    return total, policy_loss, value_loss, entropy


class PPO(Agent):
    """PPO-clip on a vector of environments."""

    settings = {
        "ppo_cartpole": {
            "total_steps": 100_000,
            "num_envs": 8,
            "n_steps": 32,
            "batch_size": 256,
            "epochs": 20,
            "gamma": 0.98,
            "gae_lambda": 0.8,
            "learning_rate": 1e-3,
            "clip_range": 0.2,
            "value_coefficient": 0.5,
            "entropy_coefficient": 0.0,
            "max_grad_norm": 0.5,
            "network": {},
        }
    }

    def __init__(self, name: str = "ppo_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        c = self.config
        rollout = c["num_envs"] * c["n_steps"]
        iterations = math.ceil(self.total_steps / rollout)
        updates = iterations * c["epochs"] * math.ceil(rollout / c["batch_size"])
        schedule = keras.optimizers.schedules.PolynomialDecay(c["learning_rate"], updates, 0.0)
        self.optimizer = keras.optimizers.Adam(
            schedule, epsilon=1e-5, global_clipnorm=c["max_grad_norm"]
        )
        self.optimizer.build(self.model.trainable_variables)
        self.envs = make_vector_env(self.env_id, c["num_envs"], seed=self.seed)
        self.reset_envs(self.seed)

    @staticmethod
    def rollout_loss(model, rollout, gamma: float = 0.99, gae_lambda: float = 0.95):
        logits, values = model(rollout["observations"], training=True)
        values = values[:, 0]
        old_log_probs = keras.ops.stop_gradient(log_probabilities(logits, rollout["actions"]))
        advantages, targets = generalized_advantages(
            rollout["rewards"], np.asarray(values), rollout["dones"], 0.0, gamma, gae_lambda
        )
        return ppo_loss(
            logits, values, rollout["actions"], old_log_probs, advantages, targets, 0.2
        )[0]

    def reset_envs(self, seed: int) -> None:
        self.observations, _ = self.envs.reset(seed=seed)
        self.running_returns = np.zeros(self.config["num_envs"])

    @tf.function(reduce_retracing=True)
    def _forward(self, observations):
        logits, values = self.model(tf.cast(observations, tf.float32))
        return logits, values[:, 0]

    def greedy_actions(self, observations, state=None):
        logits, _ = self._forward(np.asarray(observations))
        return np.argmax(logits, axis=-1), state

    def collect(self) -> dict[str, np.ndarray]:
        """``n_steps`` of every environment with the current stochastic policy, plus GAE."""
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
        return batch

    def iterate(self) -> None:
        c = self.config
        batch = self.collect()
        data = {
            "observations": batch["observations"].reshape(-1, *self.observation_shape),
            "actions": batch["actions"].reshape(-1),
            "old_log_probs": _log_softmax_taken(batch["logits"], batch["actions"]).reshape(-1),
            "advantages": batch["advantages"].reshape(-1),
            "value_targets": batch["value_targets"].reshape(-1),
        }
        clip_range = np.float32(c["clip_range"] * (1.0 - self.progress()))
        size = len(data["actions"])
        for _ in range(c["epochs"]):
            order = self.rng.permutation(size)
            for start in range(0, size, c["batch_size"]):
                index = order[start : start + c["batch_size"]]
                losses = self._update(clip_range, **{k: v[index] for k, v in data.items()})
        self.metrics = dict(zip(("loss", "policy_loss", "value_loss", "entropy"), losses))

    @tf.function(reduce_retracing=True)
    def _update(self, clip_range, observations, actions, old_log_probs, advantages, value_targets):
        with tf.GradientTape() as tape:
            logits, values = self.model(tf.cast(observations, tf.float32), training=True)
            losses = ppo_loss(
                logits,
                values[:, 0],
                actions,
                old_log_probs,
                advantages,
                value_targets,
                clip_range,
                self.config["value_coefficient"],
                self.config["entropy_coefficient"],
            )
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(losses[0], variables), variables))
        return losses


def _log_softmax_taken(logits: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """``log softmax(logits)[action]`` in numpy, for the log-probabilities of the rollout."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.take_along_axis(log_probs, actions[..., None], axis=-1)[..., 0]
