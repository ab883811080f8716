"""Shared RL fixtures: one short PPO run serves the learning and the export tests."""

import pytest


@pytest.fixture(scope="session")
def ppo_result():
    pytest.importorskip(
        "gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'"
    )
    from fdl_keras.rl import train_agent

    return train_agent("ppo_cartpole", total_steps=8_192, seed=0, verbose=0)
