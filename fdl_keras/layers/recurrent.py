"""Recurrent layers: an LSTM cell that resets its state at episode boundaries, and a
bidirectional wrapper that runs its RNNs on packed (unpadded) sequences.

References: Jaderberg et al., "Reinforcement Learning with Unsupervised Auxiliary Tasks", ICLR
2017 (UNREAL: an LSTM agent trained on rollouts that cross episode boundaries); Schuster &
Paliwal, "Bidirectional Recurrent Neural Networks", IEEE TSP 1997.
"""

from __future__ import annotations

import keras
import numpy as np  # noqa: F401 (the docstring example)

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


MERGES = {
    "concat": lambda a, b: keras.ops.concatenate([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "ave": lambda a, b: (a + b) / 2,
    "mul": lambda a, b: a * b,
}


@serializable
class PackedBidirectional(keras.layers.Bidirectional):
    """``keras.layers.Bidirectional`` (same arguments, weights and results) whose two RNNs run
    unmasked on packed sequences.

    Given a mask, each direction first moves the unmasked steps to the front of the time axis
    (the forward RNN in order, the backward one in reverse order, like PyTorch's
    ``pack_padded_sequence``), runs its RNN without a mask, and scatters the outputs back;
    masked steps output 0, as Keras' masked ``Bidirectional`` does. Because the RNNs see no
    mask, exporters recognise them: tf2onnx writes native ONNX ``LSTM`` ops instead of a
    ``Loop`` of per-step masked arithmetic, which onnxruntime runs several times faster
    (``benchmarks/RESULTS_speed.md``). Hand-written: Keras has no packed-sequence RNN path.
    Without a mask, with ``return_state``, an initial state or ``return_sequences=False`` it is
    Keras' own computation.

    Example:
        >>> ids = np.array([[3, 5, 2, 0], [4, 0, 0, 0]])
        >>> x = keras.layers.Embedding(8, 4, mask_zero=True)(ids)
        >>> ours = PackedBidirectional(keras.layers.LSTM(3, return_sequences=True))
        >>> theirs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))
        >>> _ = theirs(x); ours.build(x.shape); ours.set_weights(theirs.get_weights())
        >>> float(keras.ops.max(keras.ops.abs(ours(x) - theirs(x)))) < 1e-6
        True
    """

    def call(self, sequences, initial_state=None, mask=None, training=None):
        keras_own = (
            mask is None
            or initial_state is not None
            or self.return_state
            or not self.return_sequences
            or self.merge_mode not in MERGES
        )
        if keras_own:
            return super().call(sequences, initial_state, mask=mask, training=training)
        ops = keras.ops
        valid = ops.cast(mask, "bool")
        steps = ops.shape(sequences)[1]
        time = ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
        # Sort keys, unique per row: unmasked steps first (in or against time), masked last.
        after = ops.where(valid, 0, steps)
        forward = self._packed(self.forward_layer, sequences, after + time, training)
        backward = self._packed(self.backward_layer, sequences, after + steps - 1 - time, training)
        output = MERGES[self.merge_mode](
            ops.cast(forward, self.compute_dtype), ops.cast(backward, self.compute_dtype)
        )
        return output * ops.cast(ops.expand_dims(valid, -1), output.dtype)

    @staticmethod
    def _packed(layer, sequences, keys, training):
        """``layer`` run unmasked over ``sequences`` reordered by ascending ``keys``, its
        outputs put back in the original order."""
        import tensorflow as tf  # tf.gather(batch_dims=1) exports to one GatherND per gather

        order = tf.argsort(keys, axis=1)
        packed = tf.gather(sequences, order, batch_dims=1)
        backwards = layer.go_backwards  # the order already runs backward
        layer.go_backwards = False
        try:
            outputs = layer(packed, training=training)
        finally:
            layer.go_backwards = backwards
        return tf.gather(outputs, tf.argsort(order, axis=1), batch_dims=1)


@serializable
class ExportableGRU(keras.layers.GRU):
    """``keras.layers.GRU`` (same arguments, weights and results) whose TensorFlow loop step is
    written as tf2onnx's GRU rewriter expects, so that the exported model holds a native ONNX
    ``GRU`` op instead of a ``Loop`` of per-step arithmetic.

    The step is Keras' own ``reset_after`` GRU (Cho et al. 2014; the cuDNN variant): both
    projections as ``MatMul -> BiasAdd -> Split`` with the kernels and the two bias rows read
    once before the loop, ``z * h + (1 - z) * tanh(x_h + r * (h W_h + b_h))``. Keras 3 writes
    the same arithmetic with ``AddV2`` and slices inside the loop, which the rewriter does not
    recognise; onnxruntime then runs the ``Loop`` an order of magnitude slower than its GRU
    kernel (``benchmarks/RESULTS_speed.md``). Hand-written: neither Keras nor tf2onnx has this
    path. With dropout, a mask, ``reset_after=False``, no bias, other activations, another
    backend or a GPU (where Keras runs cuDNN's kernel) it is Keras' own computation.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
        >>> ours, theirs = ExportableGRU(4), keras.layers.GRU(4)
        >>> _ = theirs(x); ours.build(x.shape); ours.set_weights(theirs.get_weights())
        >>> float(keras.ops.max(keras.ops.abs(ours(x) - theirs(x)))) < 1e-6
        True
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        exportable = (
            keras.backend.backend() == "tensorflow"
            and not _gpu_present()
            and mask is None
            and cell.reset_after
            and cell.use_bias
            and not (training and (cell.dropout or cell.recurrent_dropout))
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
        )
        if not exportable:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        import tensorflow as tf

        state = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
        # Read before the loop: the rewriter wants kernels and biases as loop inputs.
        kernel = tf.convert_to_tensor(cell.kernel)
        recurrent_kernel = tf.convert_to_tensor(cell.recurrent_kernel)
        input_bias, recurrent_bias = tf.unstack(tf.convert_to_tensor(cell.bias))

        def step(inputs, h):
            x_z, x_r, x_h = tf.split(tf.nn.bias_add(tf.matmul(inputs, kernel), input_bias), 3, -1)
            h_z, h_r, h_h = tf.split(
                tf.nn.bias_add(tf.matmul(h, recurrent_kernel), recurrent_bias), 3, -1
            )
            z = tf.sigmoid(x_z + h_z)
            r = tf.sigmoid(x_r + h_r)
            return z * h + (1 - z) * tf.tanh(x_h + r * h_h)

        # The loop of keras' TensorFlow ``rnn`` (private there), outputs in the order visited.
        steps = tf.shape(sequences)[1]
        time_major = tf.transpose(sequences, [1, 0, 2])
        if self.go_backwards:
            time_major = tf.reverse(time_major, [0])
        inputs = tf.TensorArray(time_major.dtype, size=steps).unstack(time_major)
        outputs = tf.TensorArray(state.dtype, size=steps)

        def body(t, h, outputs):
            h = step(inputs.read(t), h)
            return t + 1, h, outputs.write(t, h)

        _, last, outputs = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), state, outputs)
        )
        return last, tf.transpose(outputs.stack(), [1, 0, 2]), [last]


def _gpu_present() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))
