"""Policy, value and Q networks of chapter 13; each agent's module registers the systems it trains.

- :class:`ActorCriticNetwork`: a policy head (action logits) and a value head on separate
  tanh towers with orthogonal initialisation (the PPO/A2C baselines of Schulman et al. 2017 and
  SB3); REINFORCE uses its value head as the baseline, TRPO updates only its policy tower.
- :class:`QNetwork`: an MLP of action values for CartPole DQN.
- :class:`NatureQNetwork`: the convolutional Q-network of Mnih et al., "Human-level control
  through deep reinforcement learning", Nature 2015 (three ReLU convolutions, a 512-unit ReLU
  layer, one linear output per action) on 4 stacked 84x84 grey frames.
- :class:`RecurrentQNetwork`: the DRQN of Hausknecht & Stone 2015, an LSTM over the observation
  sequence, with its state as an explicit input and output so acting can carry it step by step.
- :class:`UnrealNetwork`: the conv-LSTM actor-critic of UNREAL (Jaderberg et al. 2017), fed the
  previous action and reward; its auxiliary heads live with the agent in
  :mod:`fdl_keras.rl.unreal`.

Every network is deterministic: sampling and exploration stay in the agents, outside the graph,
so the exported SavedModel/ONNX policies are pure functions of the observation.
Reference: Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 13.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from fdl_keras.layers import FoldTime, ResettingLSTMCell, UnfoldTime
from fdl_keras.registry import Target
from fdl_keras.serialization import ConfigModel, serializable

CARTPOLE_TARGET = Target(
    "mean_return", 475.0, "CartPole-v1", "mean over 100 episodes; SB3 zoo: PPO 100k steps, DQN 50k"
)
CARTPOLE = {"observation_shape": (4,), "num_actions": 2}


def _check_shape(observation_shape, num_actions: int) -> None:
    if not observation_shape or min(observation_shape) < 1:
        raise ValueError(f"observation_shape must be positive sizes, got {observation_shape}")
    if num_actions < 2:
        raise ValueError(f"num_actions must be >= 2, got {num_actions}")


def _dense_tower(x, hidden_units, activation: str, prefix: str):
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.Orthogonal(math.sqrt(2)),
            name=f"{prefix}_hidden_{i + 1}",
        )(x)
    return x


@serializable
class ActorCriticNetwork(ConfigModel):
    """Action logits and a state value from two separate MLP towers.

    Args:
        observation_shape: shape of one observation (flattened when it has several axes).
        num_actions: size of the discrete action space.
        hidden_units: width of each hidden layer of each tower.
        activation: hidden activation.

    Example:
        >>> model = ActorCriticNetwork((4,), 2, hidden_units=(16,))
        >>> [tuple(o.shape) for o in model.outputs]
        [(None, 2), (None, 1)]
    """

    def __init__(
        self,
        observation_shape: tuple[int, ...] = (4,),
        num_actions: int = 2,
        hidden_units: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        **kwargs,
    ):
        arguments = dict(locals())
        _check_shape(observation_shape, num_actions)

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(observation_shape), name="observation")
        x = keras.layers.Flatten(name="flatten")(inputs) if len(observation_shape) > 1 else inputs
        # Small initial logits give a near-uniform first policy; gain 1 suits the value scale.
        logits = keras.layers.Dense(
            num_actions, kernel_initializer=keras.initializers.Orthogonal(0.01), name="logits"
        )(_dense_tower(x, hidden_units, activation, "policy"))
        value = keras.layers.Dense(
            1, kernel_initializer=keras.initializers.Orthogonal(1.0), name="value"
        )(_dense_tower(x, hidden_units, activation, "value"))
        super().__init__(inputs=inputs, outputs=[logits, value], **kwargs)

        # === Config ===
        self._remember(arguments)

    @property
    def policy_variables(self) -> list:
        """Trainable variables of the policy tower and logits (what TRPO's natural step moves)."""
        return [
            v
            for layer in self.layers
            if layer.name.startswith("policy_") or layer.name == "logits"
            for v in layer.trainable_variables
        ]

    @property
    def value_variables(self) -> list:
        """Trainable variables of the value tower and head."""
        return [
            v
            for layer in self.layers
            if layer.name.startswith("value")
            for v in layer.trainable_variables
        ]


@serializable
class QNetwork(ConfigModel):
    """An MLP of one action value per action.

    Args:
        observation_shape: shape of one observation (flattened when it has several axes).
        num_actions: size of the discrete action space.
        hidden_units: width of each hidden layer.
        activation: hidden activation.

    Example:
        >>> QNetwork((4,), 2, hidden_units=(32,)).output_shape
        (None, 2)
    """

    def __init__(
        self,
        observation_shape: tuple[int, ...] = (4,),
        num_actions: int = 2,
        hidden_units: tuple[int, ...] = (256, 256),
        activation: str = "relu",
        **kwargs,
    ):
        arguments = dict(locals())
        _check_shape(observation_shape, num_actions)

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(observation_shape), name="observation")
        x = keras.layers.Flatten(name="flatten")(inputs) if len(observation_shape) > 1 else inputs
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}")(x)
        outputs = keras.layers.Dense(num_actions, name="q_values")(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class NatureQNetwork(ConfigModel):
    """The Nature DQN: conv 8x8/4, 4x4/2, 3x3/1 (ReLU), dense 512 (ReLU), linear action values.

    Args:
        observation_shape: ``(frames, height, width)`` of stacked grey frames in [0, 255], as
            ``FrameStackObservation`` returns them (frames first; moved last inside the model).
        num_actions: size of the discrete action space.
        filters: filters of the three convolutions.
        dense_units: width of the hidden dense layer.

    Example:
        >>> NatureQNetwork(num_actions=4).output_shape
        (None, 4)
    """

    def __init__(
        self,
        observation_shape: tuple[int, int, int] = (4, 84, 84),
        num_actions: int = 4,
        filters: tuple[int, int, int] = (32, 64, 64),
        dense_units: int = 512,
        **kwargs,
    ):
        arguments = dict(locals())
        _check_shape(observation_shape, num_actions)
        if len(observation_shape) != 3 or len(filters) != 3:
            raise ValueError(
                f"need observation_shape (frames, h, w) and 3 filters, got {observation_shape}, "
                f"{filters}"
            )

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(observation_shape), name="observation")
        x = keras.layers.Permute((2, 3, 1), name="frames_last")(inputs)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(x)
        for i, (units, size, stride) in enumerate(zip(filters, (8, 4, 3), (4, 2, 1))):
            x = keras.layers.Conv2D(
                units, size, strides=stride, activation="relu", name=f"conv_{i + 1}"
            )(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(dense_units, activation="relu", name="hidden")(x)
        outputs = keras.layers.Dense(num_actions, name="q_values")(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class RecurrentQNetwork(ConfigModel):
    """DRQN: action values at every step of an observation sequence, through an LSTM.

    Inputs are ``[observations (batch, time, *observation_shape), state (batch, 2 * lstm_units)]``
    and outputs ``[q_values (batch, time, actions), updated_state]``, the LSTM's ``h`` and ``c``
    side by side: training unrolls sequences from a zero state, acting feeds one step at a time
    and carries the state it gets back.

    Args:
        observation_shape: shape of one observation.
        num_actions: size of the discrete action space.
        hidden_units: width of the dense encoder before the LSTM.
        lstm_units: LSTM state size.

    Example:
        >>> model = RecurrentQNetwork((4,), 2, lstm_units=16)
        >>> [tuple(o.shape) for o in model.outputs]
        [(None, None, 2), (None, 32)]
    """

    def __init__(
        self,
        observation_shape: tuple[int, ...] = (4,),
        num_actions: int = 2,
        hidden_units: int = 64,
        lstm_units: int = 64,
        **kwargs,
    ):
        arguments = dict(locals())
        _check_shape(observation_shape, num_actions)

        # === Functional Model ===
        observations = keras.Input(shape=(None, *observation_shape), name="observations")
        state = keras.Input(shape=(2 * lstm_units,), name="state")
        x = keras.layers.Dense(hidden_units, activation="relu", name="encoder")(observations)
        x, h, c = keras.layers.LSTM(
            lstm_units, return_sequences=True, return_state=True, name="lstm"
        )(x, initial_state=[state[:, :lstm_units], state[:, lstm_units:]])
        q_values = keras.layers.Dense(num_actions, name="q_values")(x)
        # tf2onnx lists graph outputs by name: "q_values" < "updated_state" keeps their order.
        updated_state = keras.layers.Concatenate(name="updated_state")([h, c])
        super().__init__(inputs=[observations, state], outputs=[q_values, updated_state], **kwargs)

        # === Config ===
        self._remember(arguments)


@serializable
class UnrealNetwork(ConfigModel):
    """The UNREAL agent's policy: conv encoder, LSTM, policy logits and value at every step.

    Jaderberg et al., "Reinforcement Learning with Unsupervised Auxiliary Tasks", ICLR 2017: conv
    16 8x8/4 and 32 4x4/2 (ReLU), a 256-unit ReLU layer, an LSTM that also gets the previous
    action (one-hot) and reward, and linear policy and value heads.

    Inputs are ``[observations (batch, time, frames, height, width) in [0, 255],
    previous (batch, time, num_actions + 2), state (batch, 2 * lstm_units)]``; ``previous`` holds
    the one-hot previous action, the previous reward (clipped to [-1, 1]) and a flag that is 1 at
    an episode's first step and zeroes the LSTM state there (:meth:`previous_features` makes
    it). Outputs are ``[logits (batch, time, actions), value (batch, time, 1), updated_state]``.
    The frames of all time steps are convolved as one batch, so one graph serves sequences for
    training and single steps for acting.

    Args:
        observation_shape: ``(frames, height, width)`` of stacked grey frames, frames first.
        num_actions: size of the discrete action space.
        filters: filters of the two convolutions.
        dense_units: width of the encoder's dense layer.
        lstm_units: LSTM state size.

    Example:
        >>> model = UnrealNetwork((2, 40, 40), 2, lstm_units=32)
        >>> [tuple(o.shape) for o in model.outputs]
        [(None, None, 2), (None, None, 1), (None, 64)]
    """

    def __init__(
        self,
        observation_shape: tuple[int, int, int] = (2, 40, 40),
        num_actions: int = 2,
        filters: tuple[int, int] = (16, 32),
        dense_units: int = 256,
        lstm_units: int = 256,
        **kwargs,
    ):
        arguments = dict(locals())
        _check_shape(observation_shape, num_actions)
        if len(observation_shape) != 3 or len(filters) != 2 or min(observation_shape[1:]) < 16:
            raise ValueError(
                "need observation_shape (frames, height >= 16, width >= 16) and 2 filters, got "
                f"{observation_shape}, {filters}"
            )

        # === Functional Model ===
        observations = keras.Input(shape=(None, *observation_shape), name="observations")
        previous = keras.Input(shape=(None, num_actions + 2), name="previous")
        state = keras.Input(shape=(2 * lstm_units,), name="state")
        # Time steps are folded into the batch for the convolutions (Conv3D with a depth-1 kernel
        # would do the same, but its gradient is ~100x slower on CPU).
        x = FoldTime(name="fold_time")(observations)
        x = keras.layers.Permute((2, 3, 1), name="frames_last")(x)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(x)
        for i, (units, size, stride) in enumerate(zip(filters, (8, 4), (4, 2))):
            x = keras.layers.Conv2D(
                units, size, strides=stride, activation="relu", name=f"conv_{i + 1}"
            )(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = UnfoldTime(name="conv_features")(x, observations)
        x = keras.layers.Dense(dense_units, activation="relu", name="features")(x)
        x = keras.layers.Concatenate(name="lstm_inputs")([x, previous])
        x, h, c = keras.layers.RNN(
            ResettingLSTMCell(lstm_units), return_sequences=True, return_state=True, name="lstm"
        )(x, initial_state=[state[:, :lstm_units], state[:, lstm_units:]])
        logits = keras.layers.Dense(
            num_actions, kernel_initializer=keras.initializers.Orthogonal(0.01), name="logits"
        )(x)
        value = keras.layers.Dense(1, name="value")(x)
        updated_state = keras.layers.Concatenate(name="updated_state")([h, c])
        super().__init__(
            inputs=[observations, previous, state], outputs=[logits, value, updated_state], **kwargs
        )

        # === Config ===
        self._remember(arguments)

    @staticmethod
    def previous_features(actions, rewards, first, num_actions: int) -> np.ndarray:
        """The ``previous`` input: one-hot ``actions``, ``rewards`` clipped to [-1, 1], and the
        episode-start flags ``first`` (where it is 1, action and reward are zeroed)."""
        first = np.asarray(first, np.float32)[..., None]
        one_hot = np.eye(num_actions, dtype=np.float32)[np.asarray(actions, np.int64)]
        reward = np.clip(np.asarray(rewards, np.float32), -1.0, 1.0)[..., None]
        return np.concatenate([one_hot * (1 - first), reward * (1 - first), first], axis=-1)
