"""Recurrent cells: an LSTM cell that resets its state at episode boundaries.

Reference: Jaderberg et al., "Reinforcement Learning with Unsupervised Auxiliary Tasks", ICLR 2017
(UNREAL: an LSTM agent trained on rollouts that cross episode boundaries).
"""

from __future__ import annotations

import keras

from fdl_keras.serialization import serializable


@serializable
class ResettingLSTMCell(keras.layers.Layer):
    """An LSTM cell whose state is zeroed where the last input feature (an episode-start flag)
    is 1; the other features are the cell's input.

    Hand-written because ``keras.layers.LSTM`` starts a sequence from a given state but cannot
    reset it inside one, and a rollout of several environments crosses episode boundaries
    (UNREAL, Jaderberg et al. 2017). Use it in ``keras.layers.RNN``.

    Args:
        units: state size.

    Example:
        >>> rnn = keras.layers.RNN(ResettingLSTMCell(8), return_sequences=True)
        >>> tuple(rnn(keras.ops.zeros((2, 5, 3 + 1))).shape)  # 3 features and the flag
        (2, 5, 8)
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.cell = keras.layers.LSTMCell(units, name="cell")
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        self.cell.build((input_shape[0], input_shape[-1] - 1))

    def call(self, inputs, states, training=False):
        keep = 1.0 - inputs[:, -1:]
        return self.cell(inputs[:, :-1], [s * keep for s in states], training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
