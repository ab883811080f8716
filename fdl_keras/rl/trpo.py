"""Trust region policy optimisation: a natural-gradient step under a KL constraint.

Schulman, Levine, Moritz, Jordan & Abbeel, "Trust Region Policy Optimization", ICML 2015
(appendix C for the conjugate gradient and line search); GAE advantages (Schulman et al. 2016);
settings of the sb3-contrib zoo for CartPole-v1.

Each iteration maximises the surrogate ``L(theta) = E[pi_theta(a|s) / pi_old(a|s) * A]`` subject
to ``KL(pi_old || pi_theta) <= max_kl``: the step direction ``s = F^-1 g`` solves the Fisher
system by conjugate gradient with Fisher-vector products (the Hessian of the mean KL times a
vector, by double back-propagation; the Fisher matrix is never formed), is scaled to the trust
region's edge, ``sqrt(2 * max_kl / s^T F s) * s``, and shrunk by a backtracking line search until
the KL bound holds and the surrogate improves. The KL between categorical policies is tfp's. The
value tower is fitted separately, by Adam on the GAE value targets.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.registry import register
from fdl_keras.rl.agent import OnPolicyAgent
from fdl_keras.rl.envs import CARTPOLE as CARTPOLE_ID
from fdl_keras.rl.networks import CARTPOLE, CARTPOLE_TARGET, ActorCriticNetwork
from fdl_keras.rl.ppo import log_probabilities
from fdl_keras.tasks import ReinforcementLearning


def _distributions():
    import tensorflow_probability as tfp  # imported on first use: it takes seconds

    return tfp.distributions


def mean_kl(old_logits, logits):
    """Mean ``KL(pi_old || pi)`` of categorical policies given by their logits (tfp)."""
    tfd = _distributions()
    return tf.reduce_mean(
        tfd.Categorical(logits=old_logits).kl_divergence(tfd.Categorical(logits=logits))
    )


def conjugate_gradient(matvec, b: tf.Tensor, iterations: int = 15, tolerance: float = 1e-10):
    """Solves ``A x = b`` for symmetric positive-definite ``A`` given only ``matvec(v) = A v``.

    Written out (Schulman et al. 2015, appendix C) because the Fisher matrix is only available
    as a product; ``tf.linalg.experimental.conjugate_gradient`` wants a ``LinearOperator``.
    """
    x = tf.zeros_like(b)
    r = tf.identity(b)  # residual b - A x
    p = tf.identity(b)
    rr = tf.tensordot(r, r, 1)
    for _ in range(iterations):
        ap = matvec(p)
        alpha = rr / (tf.tensordot(p, ap, 1) + 1e-12)
        x += alpha * p
        r -= alpha * ap
        new_rr = tf.tensordot(r, r, 1)
        if new_rr < tolerance:
            break
        p = r + (new_rr / rr) * p
        rr = new_rr
    return x


#: Settings of ``trpo_cartpole`` (registered at the end of this module).
TRPO_CARTPOLE = {
    "total_steps": 100_000,
    "num_envs": 2,
    "n_steps": 512,
    "gamma": 0.99,
    "gae_lambda": 0.98,
    "max_kl": 0.01,
    "cg_iterations": 15,
    "cg_damping": 0.1,
    "line_search_shrink": 0.8,
    "line_search_steps": 10,
    "value_learning_rate": 1e-3,
    "value_epochs": 20,
    "value_batch_size": 512,
    "network": {},
}


class TRPO(OnPolicyAgent):
    """TRPO on a vector of environments; the policy and value towers are updated separately."""

    def __init__(self, name: str = "trpo_cartpole", **kwargs):
        super().__init__(name, **kwargs)
        self.policy_variables = self.model.policy_variables
        self.optimizer = keras.optimizers.Adam(self.config["value_learning_rate"])
        self.optimizer.build(self.model.value_variables)

    @staticmethod
    def rollout_loss(model, rollout, gamma: float = 0.99):
        # The contract's gradient step: TRPO's surrogate (at theta_old) plus the value error.
        from fdl_keras.rl.returns import discounted_returns

        logits, values = model(rollout["observations"], training=True)
        returns = discounted_returns(rollout["rewards"], rollout["dones"], gamma)
        advantages = returns - keras.ops.stop_gradient(values[:, 0])
        log_probs = log_probabilities(logits, rollout["actions"])
        ratio = keras.ops.exp(log_probs - keras.ops.stop_gradient(log_probs))
        return -keras.ops.mean(ratio * advantages) + keras.ops.mean((returns - values[:, 0]) ** 2)

    # --- flat views of the policy parameters ------------------------------------------------
    def _flat(self, tensors) -> tf.Tensor:
        return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)

    def _assign_flat(self, flat: tf.Tensor) -> None:
        start = 0
        for v in self.policy_variables:
            size = int(np.prod(v.shape))
            v.assign(tf.reshape(flat[start : start + size], v.shape))
            start += size

    # --- the TRPO pieces --------------------------------------------------------------------
    @tf.function(reduce_retracing=True)
    def _surrogate(self, observations, actions, old_logits, advantages):
        logits, _ = self.model(observations)
        ratio = tf.exp(log_probabilities(logits, actions) - log_probabilities(old_logits, actions))
        return tf.reduce_mean(ratio * advantages), mean_kl(old_logits, logits)

    @tf.function(reduce_retracing=True)
    def _surrogate_gradient(self, observations, actions, old_logits, advantages):
        with tf.GradientTape() as tape:
            surrogate, _ = self._surrogate(observations, actions, old_logits, advantages)
        return self._flat(tape.gradient(surrogate, self.policy_variables))

    @tf.function(reduce_retracing=True)
    def _fisher_vector_product(self, observations, old_logits, vector):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                kl = mean_kl(old_logits, self.model(observations)[0])
            gradient = self._flat(inner.gradient(kl, self.policy_variables))
            gradient_dot_vector = tf.tensordot(gradient, tf.stop_gradient(vector), 1)
        product = self._flat(outer.gradient(gradient_dot_vector, self.policy_variables))
        return product + self.config["cg_damping"] * vector

    @tf.function(reduce_retracing=True)
    def _value_step(self, observations, value_targets):
        with tf.GradientTape() as tape:
            values = self.model(observations, training=True)[1][:, 0]
            loss = tf.reduce_mean(tf.square(value_targets - values))
        variables = self.model.value_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def iterate(self) -> None:
        c = self.config
        batch = self.collect()
        observations = tf.constant(batch["observations"], tf.float32)
        actions = tf.constant(batch["actions"])
        old_logits = tf.constant(batch["logits"])
        advantages = batch["advantages"]
        advantages = tf.constant((advantages - advantages.mean()) / (advantages.std() + 1e-8))

        # Natural gradient direction by conjugate gradient on F s = g.
        g = self._surrogate_gradient(observations, actions, old_logits, advantages)
        direction = conjugate_gradient(
            lambda v: self._fisher_vector_product(observations, old_logits, v),
            g,
            c["cg_iterations"],
        )
        shs = tf.tensordot(
            direction, self._fisher_vector_product(observations, old_logits, direction), 1
        )
        full_step = tf.sqrt(2.0 * c["max_kl"] / (shs + 1e-12)) * direction

        # Backtracking line search: shrink until the KL bound holds and the surrogate improves.
        old_parameters = self._flat(self.policy_variables)
        old_surrogate, _ = self._surrogate(observations, actions, old_logits, advantages)
        accepted, kl = False, 0.0
        for k in range(c["line_search_steps"]):
            self._assign_flat(old_parameters + c["line_search_shrink"] ** k * full_step)
            surrogate, kl = self._surrogate(observations, actions, old_logits, advantages)
            if kl <= c["max_kl"] and surrogate > old_surrogate:
                accepted = True
                break
        if not accepted:
            self._assign_flat(old_parameters)

        size = len(batch["actions"])
        for _ in range(c["value_epochs"]):
            order = self.rng.permutation(size)
            for start in range(0, size, c["value_batch_size"]):
                index = order[start : start + c["value_batch_size"]]
                value_loss = self._value_step(
                    tf.gather(observations, index), batch["value_targets"][index]
                )
        self.metrics = {
            "kl": float(kl),
            "step_accepted": float(accepted),
            "surrogate_gain": float(surrogate - old_surrogate) if accepted else 0.0,
            "value_loss": float(value_loss),
        }


register(
    "trpo_cartpole",
    chapter=13,
    builder=ActorCriticNetwork,
    task=ReinforcementLearning(TRPO, CARTPOLE_ID, TRPO_CARTPOLE),
    summary="TRPO: conjugate-gradient natural step, KL line search, GAE (Schulman et al. 2015)",
    target=CARTPOLE_TARGET,
    defaults=CARTPOLE,
    tiny={"hidden_units": (8,)},
)
