"""Returns and advantages: the pure functions of the policy-gradient agents.

Written in numpy over ``(time,)`` or ``(time, envs)`` arrays; the backward recursions are
hand-written because neither Keras nor tfp has them with episode boundaries.

- Discounted return (Sutton & Barto, ch. 3): ``G_t = r_t + gamma * (1 - done_t) * G_{t+1}``.
- Generalised advantage estimation (Schulman et al., "High-Dimensional Continuous Control Using
  Generalized Advantage Estimation", ICLR 2016):
  ``delta_t = r_t + gamma * (1 - done_t) * V(s_{t+1}) - V(s_t)``,
  ``A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}``.

``done_t`` marks the last step of an episode. When an episode was cut by a time limit rather than
ended, the rollout adds ``gamma * V(final observation)`` to its last reward (Pardo et al., "Time
Limits in Reinforcement Learning", 2018), so a single ``done`` flag suffices here.
"""

from __future__ import annotations

import numpy as np


def discounted_returns(
    rewards: np.ndarray,
    dones: np.ndarray,
    gamma: float,
    last_value: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Discounted returns ``G_t`` of a rollout, bootstrapped from ``last_value`` after it.

    Args:
        rewards: ``(time,)`` or ``(time, envs)`` rewards.
        dones: same shape; true where a step ended its episode (nothing flows back across it).
        gamma: discount factor in [0, 1].
        last_value: value of the state after the last step (0 for a complete episode).

    Example:
        >>> discounted_returns(np.array([1.0, 1.0, 1.0]), np.array([0, 0, 1]), 0.5)
        array([1.75, 1.5 , 1.  ], dtype=float32)
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    not_done = 1.0 - np.asarray(dones, dtype=np.float64)
    returns = np.empty_like(rewards)
    following = np.broadcast_to(np.asarray(last_value, dtype=np.float64), rewards.shape[1:])
    for t in reversed(range(len(rewards))):
        following = rewards[t] + gamma * not_done[t] * following
        returns[t] = following
    return returns.astype(np.float32)


def generalized_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_value: np.ndarray | float,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE(gamma, lambda) advantages and the value targets ``advantages + values``.

    Args:
        rewards: ``(time,)`` or ``(time, envs)`` rewards.
        values: ``V(s_t)`` for the same steps.
        dones: true where a step ended its episode.
        last_value: ``V`` of the state after the last step.
        gamma: discount factor.
        lam: GAE's lambda: 0 gives the one-step TD error, 1 the Monte-Carlo advantage.

    Example:
        >>> advantages, _ = generalized_advantages([1.0, 1.0], [0.5, 0.5], [0, 1], 9.0, 1.0, 1.0)
        >>> advantages
        array([1.5, 0.5], dtype=float32)
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    not_done = 1.0 - np.asarray(dones, dtype=np.float64)
    next_values = np.concatenate(
        [values[1:], np.broadcast_to(last_value, values.shape[1:])[None]], axis=0
    )
    deltas = rewards + gamma * not_done * next_values - values
    advantages = np.empty_like(rewards)
    following = np.zeros(rewards.shape[1:])
    for t in reversed(range(len(rewards))):
        following = deltas[t] + gamma * lam * not_done[t] * following
        advantages[t] = following
    return advantages.astype(np.float32), (advantages + values).astype(np.float32)


def normalize(x: np.ndarray, epsilon: float = 1e-8) -> np.ndarray:
    """``x`` shifted and scaled to mean 0 and standard deviation 1."""
    x = np.asarray(x, dtype=np.float32)
    return (x - x.mean()) / (x.std() + epsilon)
