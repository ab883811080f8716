"""The Neural Turing Machine cell (Graves, Wayne, Danihelka, "Neural Turing Machines",
arXiv:1410.5401, 2014).

Hand-written (no maintained Keras 3 implementation exists): an LSTM controller drives read and
write heads that address an ``N x W`` memory by content (cosine similarity times a key strength),
interpolate with their previous weighting, shift it by circular convolution and sharpen it.
Numerically safe over long sequences: the memory starts at a small constant (bounded, as in
pytorch-ntm), add vectors are ``tanh``-bounded and erase gates in [0, 1] so the memory stays
bounded, and :mod:`~fdl_keras.memory.addressing` puts epsilons into the cosine similarity and the
sharpening; train with gradient clipping (the chapter's systems use Adam with ``clipnorm``).
"""

from __future__ import annotations

import tensorflow as tf

from fdl_keras.memory import addressing
from fdl_keras.memory.controller import ControlledMemoryCell, check_sizes
from fdl_keras.serialization import serializable

#: The value every memory cell starts at.
MEMORY_INIT = 1e-6


@serializable
class NTMCell(ControlledMemoryCell):
    """One step of an NTM: write with the write heads, then read the new memory.

    The state is a flat list of 2-D tensors (``keras.layers.RNN`` carries it): controller
    ``h, c``; the memory ``(N * W)``; read weightings ``(R * N)``; write weightings
    ``(Hw * N)``; read vectors ``(R * W)``. Weightings start on slot 0, so location addressing
    works from the first step. The output is ``[h, reads]``.

    Args:
        units: LSTM controller size.
        memory_size: memory slots ``N``.
        word_size: slot width ``W``.
        read_heads: read heads ``R``.
        write_heads: write heads ``Hw``.
        shift_range: largest shift ``S``; heads shift by ``-S .. S``.

    Example:
        >>> rnn = keras.layers.RNN(NTMCell(16, memory_size=8, word_size=4), return_sequences=True)
        >>> tuple(rnn(keras.ops.zeros((2, 5, 3))).shape)  # h (16) and one read vector (4)
        (2, 5, 20)
    """

    def __init__(
        self,
        units: int,
        memory_size: int = 64,
        word_size: int = 16,
        read_heads: int = 1,
        write_heads: int = 1,
        shift_range: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_sizes(
            "NTMCell",
            units=units,
            memory_size=memory_size,
            word_size=word_size,
            read_heads=read_heads,
            write_heads=write_heads,
        )
        if not 0 <= shift_range < memory_size / 2:
            raise ValueError(
                f"NTMCell: shift_range must be in [0, memory_size/2), got {shift_range}"
            )
        self.units, self.memory_size, self.word_size = units, memory_size, word_size
        self.read_heads, self.write_heads, self.shift_range = read_heads, write_heads, shift_range
        n, w, r, hw = memory_size, word_size, read_heads, write_heads
        self.state_size = [units, units, n * w, r * n, hw * n, r * w]
        self.output_size = units + r * w
        self._address_width = w + 3 + (2 * shift_range + 1)  # key, beta, g, gamma, shift
        heads = (r + hw) * self._address_width + hw * 2 * w  # + erase and add per write head
        self._add_controller(units, heads)

    def get_initial_state(self, batch_size=None):
        n, w, r, hw = self.memory_size, self.word_size, self.read_heads, self.write_heads
        zeros = tf.zeros(tf.stack([batch_size, 1]))
        first_slot = tf.one_hot(tf.zeros(tf.stack([batch_size]), tf.int32), n)
        return [
            tf.tile(zeros, [1, self.units]),
            tf.tile(zeros, [1, self.units]),
            tf.tile(zeros, [1, n * w]) + MEMORY_INIT,
            tf.tile(first_slot, [1, r]),
            tf.tile(first_slot, [1, hw]),
            tf.tile(zeros, [1, r * w]),
        ]

    def _address(self, params, memory, previous):
        """Head parameters ``(B, H, width)`` -> weightings ``(B, H, N)`` (NTM eqs. 5-9)."""
        w, s = self.word_size, 2 * self.shift_range + 1
        key, beta, gate = params[..., :w], params[..., w], params[..., w + 1]
        gamma, shift = params[..., w + 2], params[..., w + 3 : w + 3 + s]
        content = addressing.content_weighting(memory, key, tf.nn.softplus(beta))
        gated = addressing.interpolate(content, previous, tf.sigmoid(gate))
        shifted = addressing.circular_shift(gated, tf.nn.softmax(shift, axis=-1))
        return addressing.sharpen(shifted, 1.0 + tf.nn.softplus(gamma))

    def call(self, inputs, states, training=False):
        h, c, memory, read_w, write_w, reads = states
        n, w, r, hw = self.memory_size, self.word_size, self.read_heads, self.write_heads
        memory = tf.reshape(memory, [-1, n, w])
        read_w = tf.reshape(read_w, [-1, r, n])
        write_w = tf.reshape(write_w, [-1, hw, n])

        output, (h, c) = self.controller(tf.concat([inputs, reads], -1), [h, c], training=training)
        params = self.interface(output)
        width = self._address_width
        read_params = tf.reshape(params[:, : r * width], [-1, r, width])
        rest = params[:, r * width :]
        write_params = tf.reshape(rest, [-1, hw, width + 2 * w])

        write_w = self._address(write_params[..., :width], memory, write_w)
        erase = tf.sigmoid(write_params[..., width : width + w])
        add = tf.tanh(write_params[..., width + w :])
        memory = addressing.write_memory(memory, write_w, erase, add)
        read_w = self._address(read_params, memory, read_w)
        reads = tf.reshape(addressing.read_memory(memory, read_w), [-1, r * w])

        flat = [
            tf.reshape(memory, [-1, n * w]),
            tf.reshape(read_w, [-1, r * n]),
            tf.reshape(write_w, [-1, hw * n]),
        ]
        return tf.concat([h, reads], -1), [h, c, *flat, reads]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "memory_size": self.memory_size,
            "word_size": self.word_size,
            "read_heads": self.read_heads,
            "write_heads": self.write_heads,
            "shift_range": self.shift_range,
        }
