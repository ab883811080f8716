"""The environments of chapter 13: CartPole, flickering and pixel CartPole, Atari Breakout.

- ``CartPole-v1`` (Barto, Sutton & Anderson 1983), as shipped with gymnasium.
- ``FlickeringCartPole-v1``: CartPole whose observation is blanked to zeros with probability ``p``
  at every step, the partially observed setting of Hausknecht & Stone, "Deep Recurrent
  Q-Learning for Partially Observable MDPs", 2015 (there on Pong), where a recurrent Q-network
  has to remember what the last frames showed.
- ``PixelCartPole-v1``: CartPole seen only as pixels, 2 stacked 40x40 grey frames, for UNREAL
  (whose auxiliary tasks need pixels) at a cost this CPU can afford: gymnasium's own
  ``render_mode="rgb_array"`` draws 600x400 frames with pygame at 12.7 ms per step (measured here,
  with grey conversion and resizing), :class:`PixelCartPole` draws the small frame with OpenCV
  from the state in microseconds. Each action is repeated for 4 CartPole steps (gymnasium's
  ``RepeatAction``, as Atari's frame skip; rewards are summed, so returns still count CartPole
  steps, at most 500): in one 0.02 s step the pole's tip moves a tenth of a pixel, so two
  consecutive frames show no velocity, and a CNN trained on expert actions stays at chance
  (50 %); 4 steps apart it reaches 87 % (benchmarks/RESULTS_rl.md). A linear controller still
  balances for 500 steps at this decision rate.
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
PIXEL_CARTPOLE = "PixelCartPole-v1"
BREAKOUT = "ALE/Breakout-v5"
ENV_IDS = (CARTPOLE, FLICKERING_CARTPOLE, PIXEL_CARTPOLE, BREAKOUT)
ATARI_FRAMES = 4  # frames stacked into one Atari observation
PIXEL_FRAMES = 2  # frames stacked into one PixelCartPole observation (velocities are visible)
PIXEL_REPEAT = 4  # CartPole steps per PixelCartPole step (Atari's frame skip)


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


class PixelCartPole(gymnasium.ObservationWrapper):
    """CartPole's state drawn as a ``size`` x ``size`` grey image (uint8): track, cart and pole.

    Hand-written because gymnasium's renderer is too slow here (see the module docstring). The
    horizontal axis spans the track (x in [-2.4, 2.4]) as in gymnasium's picture; the pole is
    drawn 0.45 ``size`` long (longer than to scale) so that a tilt of a few degrees moves its tip
    by whole pixels.

    Args:
        env: a CartPole environment.
        size: height and width of the frame.
    """

    def __init__(self, env, size: int = 40):
        if size < 16:
            raise InvalidInputError(f"PixelCartPole frames need size >= 16, got {size}")
        super().__init__(env)
        self.size = size
        self.observation_space = gymnasium.spaces.Box(0, 255, (size, size), np.uint8)

    def observation(self, observation):
        import cv2

        x, _, theta, _ = (float(v) for v in observation)
        size, shift = self.size, 4  # cv2 draws with 4 fractional bits (1/16 pixel)
        frame = np.zeros((size, size), np.uint8)
        track = int(0.75 * size)
        cart = size / 2 + x * size / 4.8
        frame[track + 2, :] = 80
        half_width, height = 0.05 * size, 0.06 * size
        corner = (round((cart - half_width) * 16), round((track - height) * 16))
        opposite = (round((cart + half_width) * 16), round((track + height) * 16))
        cv2.rectangle(frame, corner, opposite, 255, -1, cv2.LINE_AA, shift)
        length = 0.45 * size
        tip = (cart + length * np.sin(theta), track - height - length * np.cos(theta))
        base = (round(cart * 16), round((track - height) * 16))
        cv2.line(frame, base, (round(tip[0] * 16), round(tip[1] * 16)), 170, 2, cv2.LINE_AA, shift)
        return frame


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
        env_id: one of :data:`ENV_IDS` or a gymnasium id.
        seed: seeds the action and observation spaces (the episodes are seeded by ``reset``).
        render_mode: e.g. ``"rgb_array"`` to render frames.
        flicker: blanking probability of ``FlickeringCartPole-v1``.
        **kwargs: passed on to ``gymnasium.make``.
    """
    if env_id == FLICKERING_CARTPOLE:
        env = FlickeringObservation(
            gymnasium.make(CARTPOLE, render_mode=render_mode, **kwargs), p=flicker, seed=seed
        )
    elif env_id == PIXEL_CARTPOLE:
        env = gymnasium.make(CARTPOLE, render_mode=render_mode, **kwargs)
        env = PixelCartPole(gymnasium.wrappers.RepeatAction(env, PIXEL_REPEAT))
        env = gymnasium.wrappers.FrameStackObservation(env, PIXEL_FRAMES)
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
