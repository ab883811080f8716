"""Folding a sequence's time axis into the batch, so per-frame layers apply to every step.

``FoldTime`` turns ``(batch, time, ...)`` into ``(batch * time, ...)``; after per-frame layers
(convolutions of each observation), ``UnfoldTime`` restores ``(batch, time, ...)``. The same
graph then serves whole sequences in training and single steps when acting.
"""

from __future__ import annotations

import keras

from fdl_keras.serialization import serializable


@serializable
class FoldTime(keras.layers.Layer):
    """``(batch, time, ...)`` to ``(batch * time, ...)``, to apply per-frame layers to sequences.

    Example:
        >>> tuple(FoldTime()(keras.ops.zeros((2, 3, 4, 5))).shape)
        (6, 4, 5)
    """

    def call(self, inputs):
        return keras.ops.reshape(inputs, (-1, *inputs.shape[2:]))

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[2:])


@serializable
class UnfoldTime(keras.layers.Layer):
    """``(batch * time, ...)`` back to ``(batch, time, ...)``, with batch and time read from
    ``reference``, the sequence that was folded.

    Example:
        >>> sequence = keras.ops.zeros((2, 3, 4, 5))
        >>> tuple(UnfoldTime()(FoldTime()(sequence), sequence).shape)
        (2, 3, 4, 5)
    """

    def call(self, folded, reference):
        shape = keras.ops.shape(reference)
        return keras.ops.reshape(folded, (shape[0], shape[1], *folded.shape[1:]))

    def compute_output_shape(self, folded_shape, reference_shape):
        return (reference_shape[0], reference_shape[1], *folded_shape[1:])
