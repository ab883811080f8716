"""Chapter 13, deep reinforcement learning: environments, networks, agents and their training.

The networks (:mod:`fdl_keras.rl.networks`) are registered systems and import without
gymnasium; environments and agents need the ``rl`` extra and are imported when first used.
"""

from fdl_keras.rl.train import AGENTS, make_agent, train_agent

__all__ = ["AGENTS", "make_agent", "train_agent"]
