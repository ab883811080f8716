"""Environment makers: CartPole, flickering CartPole, Breakout, vector environments."""

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'")

from fdl_keras.errors import InvalidInputError  # noqa: E402
from fdl_keras.rl.envs import (  # noqa: E402
    env_shapes,
    make_env,
    make_vector_env,
    random_rollout,
)


def test_cartpole_shapes_and_seeding():
    assert env_shapes("CartPole-v1") == ((4,), 2)
    a = random_rollout("CartPole-v1", 50, seed=3)
    b = random_rollout("CartPole-v1", 50, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["observations"].dtype == np.float32 and a["actions"].dtype == np.int64


def test_flickering_cartpole_blanks_with_probability_p():
    env = make_env("FlickeringCartPole-v1", flicker=0.3)
    observation, _ = env.reset(seed=0)
    blank = []
    for _ in range(400):
        blank.append(not observation.any())
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            observation, _ = env.reset()
    assert 0.2 < np.mean(blank) < 0.4
    # The flicker is seeded and leaves the environment's own randomness alone.
    shown = 0
    for seed in range(20):
        plain = make_env("CartPole-v1").reset(seed=seed)[0]
        first = [make_env("FlickeringCartPole-v1", flicker=0.5).reset(seed=seed)[0] for _ in "ab"]
        np.testing.assert_array_equal(first[0], first[1])
        if first[0].any():  # not blanked: exactly CartPole's own first observation
            np.testing.assert_array_equal(first[0], plain)
            shown += 1
    assert 3 <= shown <= 17, shown  # both cases were checked


def test_flicker_probability_is_checked():
    with pytest.raises(InvalidInputError, match="flicker"):
        make_env("FlickeringCartPole-v1", flicker=1.0)


def test_unknown_environment_names_the_known_ones():
    with pytest.raises(InvalidInputError, match="CartPole-v1"):
        make_env("NoSuchEnv-v0")


def test_breakout_is_preprocessed_and_stacked():
    pytest.importorskip("ale_py", reason="Atari needs ale-py (rl extra)")
    pytest.importorskip("cv2", reason="AtariPreprocessing needs opencv (rl extra)")
    env = make_env("ALE/Breakout-v5", seed=0)
    observation, _ = env.reset(seed=0)
    assert observation.shape == (4, 84, 84) and observation.dtype == np.uint8
    assert env.action_space.n == 4
    env.close()


def test_vector_env_resets_finished_copies_in_the_same_step():
    envs = make_vector_env("CartPole-v1", 3, seed=0)
    envs.reset(seed=0)
    for _ in range(200):
        _, _, terminated, truncated, info = envs.step(np.zeros(3, dtype=np.int64))
        if (terminated | truncated).any():
            done = terminated | truncated
            assert info["_final_obs"][done].all()
            break
    else:
        pytest.fail("no episode ended within 200 steps of always pushing left")
    envs.close()
