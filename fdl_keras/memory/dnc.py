"""The Differentiable Neural Computer cell (Graves et al., "Hybrid computing using a neural
network with dynamic external memory", Nature 538, 2016).

Hand-written (DeepMind's ``dnc`` is TF1/Sonnet 1; no Keras 3 version is maintained): an LSTM
controller emits the interface vector; the memory is written where the allocation weighting
(slots sorted by usage, freed by the free gates) or a content lookup points, and read by
content or along the temporal link matrix (forward and backward read modes), with several read
heads. The addressing steps are :mod:`fdl_keras.memory.addressing`; the link matrix's diagonal
is zeroed and its pairwise term is ``w + w^T`` (the book's ``pairwise_add`` bug is not
repeated).
"""

from __future__ import annotations

import tensorflow as tf

from fdl_keras.memory import addressing
from fdl_keras.memory.controller import ControlledMemoryCell, check_sizes
from fdl_keras.serialization import serializable


@serializable
class DNCCell(ControlledMemoryCell):
    """One DNC step: usage and allocation, write, link update, then the reads.

    The state is a flat list of 2-D tensors: controller ``h, c``; memory ``(N * W)``; usage
    ``(N)``; link matrix ``(N * N)``; precedence ``(N)``; read weightings ``(R * N)``; write
    weighting ``(N)``; read vectors ``(R * W)``; all start at zero. The output is ``[h, reads]``
    (the paper's output ``W_y [h; r]`` is the model's head).

    Args:
        units: LSTM controller size.
        memory_size: memory slots ``N``.
        word_size: slot width ``W``.
        read_heads: read heads ``R``.

    Example:
        >>> rnn = keras.layers.RNN(DNCCell(16, memory_size=8, word_size=4, read_heads=2))
        >>> tuple(rnn(keras.ops.zeros((2, 5, 3))).shape)  # h (16) and two read vectors (2 x 4)
        (2, 24)
    """

    def __init__(
        self, units: int, memory_size: int = 32, word_size: int = 16, read_heads: int = 2, **kwargs
    ):
        super().__init__(**kwargs)
        check_sizes(
            "DNCCell",
            units=units,
            memory_size=memory_size,
            word_size=word_size,
            read_heads=read_heads,
        )
        self.units, self.memory_size = units, memory_size
        self.word_size, self.read_heads = word_size, read_heads
        n, w, r = memory_size, word_size, read_heads
        self.state_size = [units, units, n * w, n, n * n, n, r * n, n, r * w]
        self.output_size = units + r * w
        interface = r * w + r + w + 1 + w + w + r + 1 + 1 + 3 * r
        self._add_controller(units, interface)

    def get_initial_state(self, batch_size=None):
        return [tf.zeros(tf.stack([batch_size, size])) for size in self.state_size]

    def _split(self, xi):
        """The interface vector's parts, each through its paper activation."""
        w, r = self.word_size, self.read_heads
        sizes = [r * w, r, w, 1, w, w, r, 1, 1, 3 * r]
        parts = tf.split(xi, sizes, axis=-1)
        return {
            "read_keys": tf.reshape(parts[0], [-1, r, w]),
            "read_strengths": 1.0 + tf.nn.softplus(parts[1]),
            "write_key": parts[2][:, None, :],
            "write_strength": 1.0 + tf.nn.softplus(parts[3]),
            "erase": tf.sigmoid(parts[4])[:, None, :],
            "write_vector": parts[5][:, None, :],
            "free_gates": tf.sigmoid(parts[6]),
            "allocation_gate": tf.sigmoid(parts[7][:, 0]),
            "write_gate": tf.sigmoid(parts[8][:, 0]),
            "read_modes": tf.nn.softmax(tf.reshape(parts[9], [-1, r, 3]), axis=-1),
        }

    def call(self, inputs, states, training=False):
        h, c, memory, usage, link, precedence, read_w, write_w, reads = states
        n, w, r = self.memory_size, self.word_size, self.read_heads
        memory = tf.reshape(memory, [-1, n, w])
        link = tf.reshape(link, [-1, n, n])
        read_w = tf.reshape(read_w, [-1, r, n])

        output, (h, c) = self.controller(tf.concat([inputs, reads], -1), [h, c], training=training)
        xi = self._split(self.interface(output))

        # Dynamic allocation, then the write weighting and the write.
        usage = addressing.update_usage(usage, write_w, read_w, xi["free_gates"])
        allocation = addressing.allocation_weighting(usage)
        content = addressing.content_weighting(memory, xi["write_key"], xi["write_strength"])
        write_w = addressing.write_weighting(
            content[:, 0], allocation, xi["allocation_gate"], xi["write_gate"]
        )
        memory = addressing.write_memory(
            memory, write_w[:, None, :], xi["erase"], xi["write_vector"]
        )

        # Temporal linkage, then the reads (backward, content, forward modes).
        link = addressing.update_link(link, write_w, precedence)
        precedence = addressing.update_precedence(precedence, write_w)
        forward, backward = addressing.directional_weights(link, read_w)
        content = addressing.content_weighting(memory, xi["read_keys"], xi["read_strengths"])
        modes = xi["read_modes"]
        read_w = modes[..., 0:1] * backward + modes[..., 1:2] * content + modes[..., 2:3] * forward
        reads = tf.reshape(addressing.read_memory(memory, read_w), [-1, r * w])

        new_states = [
            h,
            c,
            tf.reshape(memory, [-1, n * w]),
            usage,
            tf.reshape(link, [-1, n * n]),
            precedence,
            tf.reshape(read_w, [-1, r * n]),
            write_w,
            reads,
        ]
        return tf.concat([h, reads], -1), new_states

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "memory_size": self.memory_size,
            "word_size": self.word_size,
            "read_heads": self.read_heads,
        }
