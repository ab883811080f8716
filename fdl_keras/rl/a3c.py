"""Advantage actor-critic: asynchronous (A3C) and synchronous (A2C).

Mnih, Badia, Mirza, Graves, Lillicrap, Harley, Silver & Kavukcuoglu, "Asynchronous Methods for
Deep Reinforcement Learning", ICML 2016; A2C is its synchronous, batched form (Wu et al. 2017,
OpenAI Baselines), with the SB3 zoo settings for CartPole-v1.

Both minimise ``-log pi(a|s) * A + c_v * (R - V(s))^2 - c_e * H(pi(.|s))`` over rollouts of
``n_steps`` (``t_max`` in the paper) with ``n``-step returns ``R`` (GAE with ``lambda = 1``) and
advantages ``A = R - V(s)``, using RMSProp.

- :class:`A2C` steps ``num_envs`` environments in lockstep and takes one gradient step on the
  whole batch.
- :class:`A3C` runs ``num_workers`` Python threads, each with its own environment: a worker
  rolls out with the *shared* network, computes its gradient, and applies it to the shared
  weights with the shared optimizer, while the other workers keep acting and computing on
  whatever weights they read (the paper's lock-free Hogwild style; here only the optimizer
  update holds a lock, because a Keras optimizer is not thread-safe). TensorFlow ops release the
  GIL, so workers overlap on several cores; on this package's 2-core CPU the point is the
  algorithm, not speed.
"""

from __future__ import annotations

import threading

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.registry import register
from fdl_keras.rl.agent import ActorCriticAgent, OnPolicyAgent, sample_actions
from fdl_keras.rl.envs import CARTPOLE as CARTPOLE_ID
from fdl_keras.rl.envs import make_env
from fdl_keras.rl.networks import CARTPOLE, CARTPOLE_TARGET, ActorCriticNetwork
from fdl_keras.rl.ppo import log_probabilities
from fdl_keras.rl.returns import discounted_returns
from fdl_keras.tasks import ReinforcementLearning

ACTOR_CRITIC_CARTPOLE = {  # shared by A2C and A3C
    "total_steps": 500_000,
    "n_steps": 5,
    "gamma": 0.99,
    "learning_rate": 7e-4,
    "value_coefficient": 0.5,
    "entropy_coefficient": 0.0,
    "max_grad_norm": 0.5,
    "network": {},
}


def actor_critic_loss(
    logits, values, actions, returns, value_coefficient=0.5, entropy_coefficient=0.0
):
    """``(total, policy, value, entropy)`` of the advantage actor-critic loss."""
    advantages = keras.ops.stop_gradient(returns - values)
    policy_loss = -keras.ops.mean(log_probabilities(logits, actions) * advantages)
    value_loss = keras.ops.mean(keras.ops.square(returns - values))
    entropy = -keras.ops.mean(
        keras.ops.sum(keras.ops.softmax(logits) * keras.ops.log_softmax(logits), axis=-1)
    )
    total = policy_loss + value_coefficient * value_loss - entropy_coefficient * entropy
    return total, policy_loss, value_loss, entropy


def _losses_and_gradients(model, config: dict, observations, actions, returns):
    """The actor-critic losses of a batch and the gradients of their total."""
    with tf.GradientTape() as tape:
        logits, values = model(observations, training=True)
        losses = actor_critic_loss(
            logits,
            values[:, 0],
            actions,
            returns,
            config["value_coefficient"],
            config["entropy_coefficient"],
        )
    return losses, tape.gradient(losses[0], model.trainable_variables)


def _rmsprop(config: dict):
    # RMSProp as in the A3C paper and SB3's A2C (decay 0.99, epsilon 1e-5).
    return keras.optimizers.RMSprop(
        config["learning_rate"], rho=0.99, epsilon=1e-5, global_clipnorm=config["max_grad_norm"]
    )


def _rollout_loss(model, rollout, gamma: float = 0.99):
    logits, values = model(rollout["observations"], training=True)
    returns = discounted_returns(rollout["rewards"], rollout["dones"], gamma)
    return actor_critic_loss(logits, values[:, 0], rollout["actions"], returns)[0]


#: Settings of ``a2c_cartpole`` (registered at the end of this module).
A2C_CARTPOLE = {**ACTOR_CRITIC_CARTPOLE, "num_envs": 8, "gae_lambda": 1.0}


class A2C(OnPolicyAgent):
    """Synchronous advantage actor-critic on ``num_envs`` environments in lockstep."""

    rollout_loss = staticmethod(_rollout_loss)

    def __init__(self, name: str = "a2c_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        self.optimizer = _rmsprop(self.config)
        self.optimizer.build(self.model.trainable_variables)

    def iterate(self) -> None:
        batch = self.collect()
        losses = self._train_step(batch["observations"], batch["actions"], batch["value_targets"])
        self.metrics = dict(zip(("loss", "policy_loss", "value_loss", "entropy"), losses))

    @tf.function(reduce_retracing=True)
    def _train_step(self, observations, actions, returns):
        losses, gradients = _losses_and_gradients(
            self.model, self.config, observations, actions, returns
        )
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        return losses


def run_workers(work, arguments: list[tuple]) -> None:
    """Runs ``work(*args)`` for every ``args`` of ``arguments``, each in its own thread, and
    re-raises the first exception any of them raised once all have stopped."""
    errors: list[BaseException] = []

    def guarded(*args):
        try:
            work(*args)
        except BaseException as error:  # re-raised below, in the calling thread
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


#: Settings of ``a3c_cartpole`` (registered at the end of this module).
A3C_CARTPOLE = {**ACTOR_CRITIC_CARTPOLE, "num_workers": 4, "steps_per_iteration": 2_000}


class A3C(ActorCriticAgent):
    """Asynchronous advantage actor-critic: worker threads updating one shared network."""

    rollout_loss = staticmethod(_rollout_loss)

    def __init__(self, name: str = "a3c_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        self.optimizer = _rmsprop(self.config)
        self.optimizer.build(self.model.trainable_variables)
        self.lock = threading.Lock()
        self.envs = [
            make_env(self.env_id, seed=self.seed + i) for i in range(self.config["num_workers"])
        ]
        self.reset_envs(self.seed)

    def reset_envs(self, seed: int) -> None:
        self.worker_observations = [
            env.reset(seed=seed + 1000 * i)[0] for i, env in enumerate(self.envs)
        ]
        self.worker_returns = [0.0] * len(self.envs)

    @tf.function(reduce_retracing=True)
    def _gradients(self, observations, actions, returns):
        return _losses_and_gradients(self.model, self.config, observations, actions, returns)[1]

    @tf.function
    def _apply(self, gradients):
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))

    def _worker(self, i: int, steps: int, rng: np.random.Generator) -> None:
        c, env = self.config, self.envs[i]
        done_steps = 0
        while done_steps < steps:
            observations, actions, rewards, dones = [], [], [], []
            last_value = 0.0
            for _ in range(c["n_steps"]):
                observation = np.asarray(self.worker_observations[i], np.float32)
                logits, _ = self._forward(observation[None])
                action = int(sample_actions(logits.numpy(), rng)[0])
                next_observation, reward, terminated, truncated, _ = env.step(action)
                self.worker_returns[i] += reward
                if truncated and not terminated:  # time limit: bootstrap (Pardo et al. 2018)
                    reward += c["gamma"] * float(self._forward(next_observation[None])[1][0])
                observations.append(observation)
                actions.append(action)
                rewards.append(reward)
                dones.append(terminated or truncated)
                done_steps += 1
                with self.lock:
                    self.steps += 1
                    if terminated or truncated:
                        self.log_episodes(self.worker_returns[i])
                if terminated or truncated:
                    self.worker_returns[i] = 0.0
                    next_observation, _ = env.reset()
                self.worker_observations[i] = next_observation
                if terminated or truncated:
                    break
            else:
                last_value = float(self._forward(np.float32(next_observation)[None])[1][0])
            returns = discounted_returns(rewards, dones, c["gamma"], last_value)
            gradients = self._gradients(np.asarray(observations), np.asarray(actions), returns)
            with self.lock:
                self._apply(gradients)

    def iterate(self) -> None:
        workers = self.config["num_workers"]
        steps = self.config["steps_per_iteration"] // workers
        seeds = self.rng.integers(2**31, size=workers)
        run_workers(
            self._worker, [(i, steps, np.random.default_rng(s)) for i, s in enumerate(seeds)]
        )


register(
    "a2c_cartpole",
    chapter=13,
    builder=ActorCriticNetwork,
    task=ReinforcementLearning(A2C, CARTPOLE_ID, A2C_CARTPOLE),
    summary="A2C: synchronous advantage actor-critic on 8 envs (Mnih et al. 2016)",
    target=CARTPOLE_TARGET,
    defaults=CARTPOLE,
    tiny={"hidden_units": (8,)},
)
register(
    "a3c_cartpole",
    chapter=13,
    builder=ActorCriticNetwork,
    task=ReinforcementLearning(A3C, CARTPOLE_ID, A3C_CARTPOLE),
    summary="A3C: worker threads apply their gradients to shared weights (Mnih et al. 2016)",
    target=CARTPOLE_TARGET,
    defaults=CARTPOLE,
    tiny={"hidden_units": (8,)},
)
