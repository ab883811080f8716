"""What the NTM and DNC cells share: an LSTM controller that reads the step's input beside the
last read vectors and emits the interface vector through one dense layer (Graves et al. 2014,
2016), and the size checks of their arguments."""

from __future__ import annotations

import keras


def check_sizes(cell: str, **sizes: int) -> None:
    """Raises ``ValueError`` naming the first size below 1 (``cell`` names the layer)."""
    for what, value in sizes.items():
        if int(value) < 1:
            raise ValueError(f"{cell}: {what} must be >= 1, got {value}")


class ControlledMemoryCell(keras.layers.Layer):
    """Base of the memory cells: ``controller`` (``LSTMCell``) and ``interface`` (``Dense``).

    Subclasses set ``units``, ``read_heads`` and ``word_size`` and call
    :meth:`_add_controller`; the controller's input is the step's input and the ``R`` read
    vectors of width ``W``.
    """

    def _add_controller(self, units: int, interface_size: int) -> None:
        self.controller = keras.layers.LSTMCell(units, name="controller")
        self.interface = keras.layers.Dense(interface_size, name="interface")

    def build(self, input_shape):
        self.controller.build((input_shape[0], input_shape[-1] + self.read_heads * self.word_size))
        self.interface.build((input_shape[0], self.units))
