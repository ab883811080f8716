"""The environments of chapter 13: CartPole, a flickering CartPole, and Atari Breakout.

- ``CartPole-v1`` (Barto, Sutton & Anderson 1983), as shipped with gymnasium.
- ``FlickeringCartPole-v1``: CartPole whose observation is blanked to zeros with probability ``p``
  at every step, the partially observed setting of Hausknecht & Stone, "Deep Recurrent
  Q-Learning for Partially Observable MDPs", 2015 (there on Pong), where a recurrent Q-network
  has to remember what the last frames showed.
- ``ALE/Breakout-v5`` with gymnasium's ``AtariPreprocessing`` (no-op starts, frame skip 4 with
  max-pooling, 84x84 grey) and ``FrameStackObservation`` (4 frames): the input of the Nature DQN
  (Mnih et al., "Human-level control through deep reinforcement learning", Nature 2015), on the
  v5 protocol of Machado et al. 2018 (sticky actions).

gymnasium (and ale-py with opencv for Atari) is the optional ``rl`` extra; the network builders in
:mod:`fdl_keras.rl.networks` do not need it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fdl_keras.errors import InvalidInputError

try:
    import gymnasium
except ImportError as err:  # pragma: no cover - depends on the installation
    raise ImportError('reinforcement learning needs gymnasium: pip install -e ".[rl]"') from err

CARTPOLE = "CartPole-v1"
FLICKERING_CARTPOLE = "FlickeringCartPole-v1"
BREAKOUT = "ALE/Breakout-v5"
ENV_IDS = (CARTPOLE, FLICKERING_CARTPOLE, BREAKOUT)
ATARI_FRAMES = 4  # frames stacked into one Atari observation


class FlickeringObservation(gymnasium.ObservationWrapper):
    """Blanks the observation to zeros with probability ``p`` (Hausknecht & Stone 2015).

    The flicker has its own generator, seeded by ``reset(seed=...)``, so the environment's own
    random stream (its initial states) is the same as without the wrapper.

    Args:
        env: the environment to wrap.
        p: probability that an observation (the first of an episode too) is all zeros.
        seed: seed of the flicker before the first seeded ``reset``.
    """

    def __init__(self, env, p: float = 0.5, seed: int | None = None):
        if not 0.0 <= p < 1.0:
            raise InvalidInputError(f"flicker probability p must be in [0, 1), got {p}")
        super().__init__(env)
        self.p = p
        self.flicker_rng = np.random.default_rng(seed)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.flicker_rng = np.random.default_rng([seed, 1])
        return super().reset(seed=seed, options=options)

    def observation(self, observation):
        if self.flicker_rng.random() < self.p:
            return np.zeros_like(observation)
        return observation


def make_env(
    env_id: str = CARTPOLE,
    *,
    seed: int | None = None,
    render_mode: str | None = None,
    flicker: float = 0.5,
    **kwargs: Any,
):
    """Makes one of :data:`ENV_IDS` (or any gymnasium id, unwrapped) and seeds its spaces.

    Args:
        env_id: ``CartPole-v1``, ``FlickeringCartPole-v1``, ``ALE/Breakout-v5`` or a gymnasium id.
        seed: seeds the action and observation spaces (the episodes are seeded by ``reset``).
        render_mode: e.g. ``"rgb_array"`` to render frames.
        flicker: blanking probability of ``FlickeringCartPole-v1``.
        **kwargs: passed on to ``gymnasium.make``.
    """
    if env_id == FLICKERING_CARTPOLE:
        env = FlickeringObservation(
            gymnasium.make(CARTPOLE, render_mode=render_mode, **kwargs), p=flicker, seed=seed
        )
    elif env_id.startswith("ALE/"):
        import ale_py

        gymnasium.register_envs(ale_py)
        # AtariPreprocessing does the frame skipping (with max-pooling), so the ALE must not.
        env = gymnasium.make(env_id, frameskip=1, render_mode=render_mode, **kwargs)
        env = gymnasium.wrappers.AtariPreprocessing(
            env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True
        )
        env = gymnasium.wrappers.FrameStackObservation(env, ATARI_FRAMES)
    else:
        try:
            env = gymnasium.make(env_id, render_mode=render_mode, **kwargs)
        except gymnasium.error.Error as err:
            raise InvalidInputError(
                f"unknown environment {env_id!r} ({err}); chapter 13 uses {', '.join(ENV_IDS)}"
            ) from err
    if seed is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return env


def make_vector_env(env_id: str = CARTPOLE, num_envs: int = 8, *, seed: int = 0, **kwargs: Any):
    """``num_envs`` copies of :func:`make_env` stepped in turn (``gymnasium.vector.SyncVectorEnv``).

    The vector environment resets a finished copy in the same step (``AutoresetMode.SAME_STEP``):
    the returned observation starts the next episode and the last one of the finished episode is
    in ``info["final_obs"]``, so a rollout can bootstrap from it when time ran out. The copies are
    seeded ``seed, seed + 1, ...`` by the first ``reset(seed=seed)``.
    """
    if num_envs < 1:
        raise InvalidInputError(f"num_envs must be >= 1, got {num_envs}")
    return gymnasium.vector.SyncVectorEnv(
        [(lambda i=i: make_env(env_id, seed=seed + i, **kwargs)) for i in range(num_envs)],
        autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP,
    )


def env_shapes(env_id: str) -> tuple[tuple[int, ...], int]:
    """``(observation_shape, num_actions)`` of ``env_id``."""
    env = make_env(env_id)
    try:
        return tuple(env.observation_space.shape), int(env.action_space.n)
    finally:
        env.close()


def random_rollout(env_id: str, size: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """``size`` real transitions of ``env_id`` under a seeded uniformly random policy.

    Returns float32 ``observations``, ``next_observations``, ``rewards``, ``dones`` (the episode
    ended, by termination or time limit) and ``terminated``, and int64 ``actions``.
    """
    env = make_env(env_id, seed=seed)
    observation, _ = env.reset(seed=seed)
    steps = {k: [] for k in ("observations", "actions", "rewards", "next_observations")}
    dones, terminal = [], []
    for _ in range(size):
        action = env.action_space.sample()
        next_observation, reward, terminated, truncated, _ = env.step(action)
        for key, value in zip(steps, (observation, action, reward, next_observation)):
            steps[key].append(value)
        dones.append(terminated or truncated)
        terminal.append(terminated)
        observation = env.reset()[0] if terminated or truncated else next_observation
    env.close()
    rollout = {k: np.asarray(v, dtype=np.float32) for k, v in steps.items()}
    rollout["actions"] = rollout["actions"].astype(np.int64)
    rollout["dones"] = np.asarray(dones, dtype=np.float32)
    rollout["terminated"] = np.asarray(terminal, dtype=np.float32)
    return rollout
