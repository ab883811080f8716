"""The NTM and DNC cells: the layer contract, long sequences without NaN, dynamic lengths."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fdl_keras.layers.contract import check_layer_contract
from fdl_keras.memory import DNCCell, NTMCell

CELLS = {
    "ntm": lambda: NTMCell(8, memory_size=6, word_size=4, read_heads=2, write_heads=1),
    "dnc": lambda: DNCCell(8, memory_size=6, word_size=4, read_heads=2),
}


@pytest.mark.parametrize("kind", list(CELLS))
def test_layer_contract(kind, tmp_path):
    x = np.random.default_rng(0).normal(size=(3, 6, 5)).astype("float32")
    report = check_layer_contract(
        lambda: keras.layers.RNN(CELLS[kind](), return_sequences=True), x, tmp_path
    )
    assert report["passed"]


@pytest.mark.parametrize("kind", list(CELLS))
def test_long_sequences_stay_finite_with_finite_gradients(kind):
    """400 steps of large inputs: outputs, final memory and gradients all finite."""
    rnn = keras.layers.RNN(CELLS[kind](), return_sequences=True, return_state=True)
    x = tf.constant(np.random.default_rng(1).normal(scale=10.0, size=(2, 400, 5)), tf.float32)
    rnn(x[:, :1])

    @tf.function
    def forward_backward(x):
        with tf.GradientTape() as tape:
            out, *states = rnn(x)
            loss = tf.reduce_sum(out[:, -1] ** 2)
        return out, states, tape.gradient(loss, rnn.trainable_variables)

    out, states, grads = forward_backward(x)
    assert np.isfinite(out.numpy()).all()
    assert all(np.isfinite(s.numpy()).all() for s in states)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    memory = states[2].numpy()
    assert np.abs(memory).max() < 1e3  # bounded by the tanh add vectors (NTM) / gates


def test_dnc_weightings_are_distributions():
    rnn = keras.layers.RNN(CELLS["dnc"](), return_state=True)
    _, h, c, memory, usage, link, precedence, read_w, write_w, reads = rnn(
        tf.random.normal((2, 30, 5), seed=0)
    )
    read_w = read_w.numpy().reshape(2, 2, 6)
    # Content weightings sum to 1, forward/backward ones to at most 1 (rows of the link matrix).
    assert read_w.min() >= 0 and read_w.sum(-1).max() <= 1 + 1e-5
    assert 0 <= write_w.numpy().sum(-1).max() <= 1 + 1e-5
    assert usage.numpy().min() >= 0 and usage.numpy().max() <= 1 + 1e-5
    link = link.numpy().reshape(2, 6, 6)
    assert np.all(np.diagonal(link, axis1=1, axis2=2) == 0) and link.min() >= -1e-6


@pytest.mark.parametrize("bad", [{"units": 0}, {"memory_size": 0}, {"shift_range": 5}])
def test_bad_sizes_raise(bad):
    args = {"units": 4, "memory_size": 8, "word_size": 2, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        NTMCell(**args)


def test_dnc_declares_a_wider_export_tolerance_for_its_discontinuous_sort(tmp_path):
    import fdl_keras
    from fdl_keras.memory import MemoryNetwork
    from fdl_keras.memory import addressing as A

    # Why: the allocation jumps when two usages swap order, however small the change that
    # swaps them (here one float32 ulp), so two runtimes' last-bit rounding can move it.
    u = np.float32(0.5)
    above = np.nextafter(u, np.float32(1.0))
    before = A.allocation_weighting(tf.constant([[u, above, 0.1]], tf.float32)).numpy()
    after = A.allocation_weighting(tf.constant([[above, u, 0.1]], tf.float32)).numpy()
    assert np.abs(before - after).max() > 0.02  # (1 - u)^2 * 0.1 = 0.025 for a 6e-8 change

    assert MemoryNetwork("dnc", units=8, memory_size=4, word_size=4).export_atol == 1e-4
    assert MemoryNetwork("ntm", units=8, memory_size=4, word_size=4).export_atol is None
    assert MemoryNetwork("lstm", units=8).export_atol is None
    keras.utils.set_random_seed(0)
    model = MemoryNetwork("dnc", units=8, memory_size=4, word_size=4, read_heads=2)
    report = fdl_keras.export(model, tmp_path / "dnc", measure_latency=False)
    assert report["atol"] == 1e-4 and report["runtimes"]["onnx"]["max_abs_diff"] < 1e-6
    strict = fdl_keras.export(model, tmp_path / "strict", atol=1e-5, measure_latency=False)
    assert strict["atol"] == 1e-5 and strict["passed"]
