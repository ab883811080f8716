"""Exported policies: SavedModel/ONNX export of a policy or Q-network, and greedy episodes.

A policy network's first output ranks the actions (logits or Q-values), so the greedy policy is
its argmax in any runtime. :func:`play_episode` plays one seeded episode with a ``run(inputs)``
function (``fdl_keras.export``'s Keras or onnxruntime runner), threading the state of a
recurrent network (its last input, its last output) from step to step, and feeding UNREAL's
previous action and reward; the same seed and the same network give the same actions in every
runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from fdl_keras.export import export
from fdl_keras.export.onnx import onnx_runner
from fdl_keras.export.verify import keras_runner
from fdl_keras.rl.envs import make_env
from fdl_keras.rl.networks import UnrealNetwork

Runner = Callable[[list[np.ndarray]], list[np.ndarray]]


def export_policy(model, directory: str | Path, env_id: str, *, seed: int = 0) -> dict:
    """Exports ``model`` with ``fdl_keras.export``, verified on real observations of ``env_id``.

    Returns the export report; ``directory`` gets ``model.keras``, ``saved_model/``,
    ``model.onnx`` and ``report.json``.
    """
    return export(model, directory, settings={"environment": env_id, "seed": seed})


def keras_policy(model) -> Runner:
    """``run(inputs)`` of the Keras model (inference mode)."""
    return keras_runner(model)


def onnx_policy(path: str | Path) -> Runner:
    """``run(inputs)`` of an exported ``model.onnx`` on onnxruntime (CPU)."""
    return onnx_runner(path)


def play_episode(
    run: Runner,
    env_id: str,
    *,
    seed: int = 0,
    state_size: int | None = None,
    feeds_previous: bool = False,
    max_steps: int = 10_000,
    render: bool = False,
) -> dict:
    """Plays one episode of ``env_id`` (reset with ``seed``) with the greedy policy of ``run``.

    Args:
        run: ``run(list of input arrays) -> list of output arrays``; output 0 ranks the actions.
        env_id: the environment.
        seed: the episode's seed.
        state_size: state size of a recurrent network (inputs: observation sequence, state).
        feeds_previous: the network's second input is UNREAL's ``previous`` (last action and
            reward, episode-start flag; :meth:`UnrealNetwork.previous_features`).
        max_steps: a safety bound on the episode length.
        render: also return the ``rgb_array`` frames.

    Returns:
        ``{"actions", "rewards", "return", "frames"}`` (``frames`` empty unless ``render``).
    """
    env = make_env(env_id, seed=seed, render_mode="rgb_array" if render else None)
    observation, _ = env.reset(seed=seed)
    state = [np.zeros((1, state_size), np.float32)] if state_size else []
    previous = UnrealNetwork.previous_features([0], [0.0], [1.0], env.action_space.n)
    actions, rewards, frames = [], [], []
    for _ in range(max_steps):
        if render:
            frames.append(env.render())
        batch = np.asarray(observation, np.float32)[None]
        step = [previous[:, None]] if feeds_previous else []
        outputs = run([batch[:, None], *step, *state] if state_size else [batch])
        state = [np.asarray(outputs[-1], np.float32)] if state_size else []
        action = int(np.argmax(np.asarray(outputs[0]).reshape(-1)))
        observation, reward, terminated, truncated, _ = env.step(action)
        previous = UnrealNetwork.previous_features([action], [reward], [0.0], env.action_space.n)
        actions.append(action)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    env.close()
    return {
        "actions": np.asarray(actions),
        "rewards": np.asarray(rewards),
        "return": float(np.sum(rewards)),
        "frames": frames,
    }
