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

from fdl_keras.registry import register
from fdl_keras.rl.agent import OnPolicyAgent
from fdl_keras.rl.envs import CARTPOLE as CARTPOLE_ID
from fdl_keras.rl.networks import CARTPOLE, CARTPOLE_TARGET, ActorCriticNetwork
from fdl_keras.rl.returns import generalized_advantages
from fdl_keras.tasks import ReinforcementLearning


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


#: Settings of ``ppo_cartpole`` (registered at the end of this module).
PPO_CARTPOLE = {
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


class PPO(OnPolicyAgent):
    """PPO-clip on a vector of environments."""

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

    def iterate(self) -> None:
        c = self.config
        batch = self.collect()
        data = {
            "old_log_probs": _log_softmax_taken(batch["logits"], batch["actions"]),
            **{k: batch[k] for k in ("observations", "actions", "advantages", "value_targets")},
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


register(
    "ppo_cartpole",
    chapter=13,
    builder=ActorCriticNetwork,
    task=ReinforcementLearning(PPO, CARTPOLE_ID, PPO_CARTPOLE),
    summary="PPO: clipped surrogate, GAE, minibatch epochs on 8 envs (Schulman et al. 2017)",
    target=CARTPOLE_TARGET,
    defaults=CARTPOLE,
    tiny={"hidden_units": (8,)},
)
