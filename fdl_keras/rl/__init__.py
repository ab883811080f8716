"""Chapter 13, deep reinforcement learning: environments, networks, agents and their training.

Each agent's module (``reinforce``, ``trpo``, ``ppo``, ``a3c``, ``dqn``, ``drqn``, ``unreal``)
registers the systems it trains with a :class:`fdl_keras.tasks.ReinforcementLearning` task.
"""

from fdl_keras.rl.train import make_agent, train_agent

__all__ = ["make_agent", "train_agent"]
