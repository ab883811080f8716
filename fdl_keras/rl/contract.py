"""The model contract (``fdl_keras.testing``) for ``training="rl"`` systems.

Instead of a labelled batch and ``fit``, an RL network gets real observations of its environment
(a seeded random-policy rollout) and gradient steps of its agent's own loss on that rollout.
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
    previous action and reward) gets ``size`` consecutive sequences of 4 steps and zeros for its
    per-step inputs; its state is zero in the first half of the batch and, in the second half,
    the state it carries in from the sequences before (:func:`carry_states`), so that a check
    on these inputs covers the recurrence from a zero and from a non-zero state.
    """
    inputs = as_inputs(model, random_rollout(environment, size * 4, seed=seed)["observations"])
    return carry_states(model, inputs) if isinstance(inputs, list) else inputs


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


def carry_states(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """``inputs`` (consecutive sequences of one rollout, zero states) with the state of each
    sequence in the second half of the batch replaced by the state the model carries into it:
    the one it returns after running every sequence before it, in order, from a zero state.

    A state input is one that the model also returns: an output of the same shape (the LSTM's
    ``h`` and ``c`` of DRQN and UNREAL).
    """
    returned = {
        i: k
        for i, tensor in enumerate(model.inputs[1:], start=1)
        for k, output in enumerate(model.outputs)
        if tuple(output.shape[1:]) == tuple(tensor.shape[1:])
    }
    carried = [np.array(a) for a in inputs]
    running = {i: np.zeros_like(carried[i][:1]) for i in returned}
    half = len(carried[0]) // 2
    for j in range(1, len(carried[0]) if returned else 0):
        step = [running.get(i, a[j - 1 : j]) for i, a in enumerate(carried)]
        outputs = keras.tree.flatten(model.predict_on_batch(step))
        for i, k in returned.items():
            running[i] = np.asarray(outputs[k])
            if j >= half:
                carried[i][j] = running[i][0]
    return carried


def agent_loss_step(spec: ModelSpec, model, size: int = 32, seed: int = 0) -> SimpleNamespace:
    """One Adam step of the agent's loss for ``spec`` on a real rollout, applied to ``model``.

    The rollout is the same on every call with the same ``seed``, so repeated calls take
    several steps on one rollout. Agents keep their optimizer outside the network: each call
    makes a new one. Returns an object shaped like the ``History`` of ``fit``:
    ``.history = {"loss": [value before the step]}``.
    """
    agent = agent_class(spec.name)
    rollout = random_rollout(spec.source, size, seed=seed)
    optimizer = keras.optimizers.Adam(1e-3)
    with tf.GradientTape() as tape:
        loss = agent.rollout_loss(model, rollout, **fixed_targets(agent))
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return SimpleNamespace(history={"loss": [float(loss)]})


def fixed_targets(agent: type) -> dict:
    """Arguments of ``agent.rollout_loss`` that keep its targets still while it is minimised.

    Q-learning (DQN, DRQN) regresses Q(s, a) on r + gamma max_a' Q(s', a'). The agent reads
    Q(s', a') from a target network that stays still between syncs, but ``rollout_loss`` reads
    it from the network it trains, so each step moves the targets with the weights: a few
    semi-gradient steps need not lower that loss (on FlickeringCartPole they raise it). With
    ``gamma = 0`` the targets are the rewards: the same loss code, a fixed regression. The
    actor-critic agents need nothing: their value targets are the rollout's discounted returns
    (PPO's lambda-returns, which lean little on the values), and their losses fall as they are.
    """
    from fdl_keras.rl.dqn import DQN

    return {"gamma": 0.0} if issubclass(agent, DQN) else {}
