"""The model contract (``fdl_keras.testing``) for ``training="rl"`` systems.

Instead of a labelled batch and ``fit``, an RL network gets real observations of its environment
(a seeded random-policy rollout) and one gradient step of its agent's own loss on that rollout.
"""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf

from fdl_keras.registry import ModelSpec
from fdl_keras.rl.envs import random_rollout
from fdl_keras.rl.train import agent_class


def example_inputs(environment: str, model, size: int = 8, seed: int = 0):
    """Model inputs made of real observations of ``environment`` (a gymnasium id).

    A recurrent network (inputs: sequences, then states or per-step inputs such as UNREAL's
    previous action and reward) gets ``size`` sequences of 4 steps and zeros for the rest.
    """
    return as_inputs(model, random_rollout(environment, size * 4, seed=seed)["observations"])


def as_inputs(model, observations: np.ndarray):
    """``observations`` shaped for ``model``: a batch, or sequences of 4 plus zeros for its other
    inputs (a state, or a sequence input: its time axis gets 4 steps)."""
    if len(model.inputs) == 1:
        return observations[: len(observations) // 4]
    sequences = observations.reshape(-1, 4, *observations.shape[1:])
    others = [
        np.zeros((len(sequences), *(4 if d is None else d for d in t.shape[1:])), np.float32)
        for t in model.inputs[1:]
    ]
    return [sequences, *others]


def agent_loss_step(spec: ModelSpec, model, size: int = 32, seed: int = 0) -> SimpleNamespace:
    """One Adam step of the agent's loss for ``spec`` on a real rollout, applied to ``model``.

    Returns an object shaped like the ``History`` of ``fit``: ``.history = {"loss": [value]}``.
    """
    rollout = random_rollout(spec.source, size, seed=seed)
    loss_fn = agent_class(spec.name).rollout_loss
    optimizer = keras.optimizers.Adam(1e-3)
    with tf.GradientTape() as tape:
        loss = loss_fn(model, rollout)
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return SimpleNamespace(history={"loss": [float(loss)]})
