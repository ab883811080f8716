"""Memory traces replay the model exactly and draw as images."""

import numpy as np
import pytest

import fdl_keras
from fdl_keras.data.memory_tasks import copy_batch
from fdl_keras.errors import InvalidInputError
from fdl_keras.memory.visualize import memory_trace, plot_memory_trace


def test_ntm_trace_replays_the_model_and_plots():
    model = fdl_keras.build("ntm_copy", units=8, memory_size=12, word_size=4)
    x = copy_batch([5, 5], 1, 5)[0].numpy()[0]
    trace = memory_trace(model, x)
    assert trace["write_weights"].shape == (11, 1, 12) and trace["read_weights"].shape == (
        11,
        1,
        12,
    )
    np.testing.assert_allclose(trace["outputs"], model(x[None])[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(trace["read_weights"].sum(-1), 1.0, atol=1e-4)
    figure = plot_memory_trace(trace, "ntm")
    assert len(figure.axes) == 2


def test_dnc_trace_has_usage_and_lstm_has_no_memory():
    model = fdl_keras.build("dnc_babi", **fdl_keras.get_spec("dnc_babi").tiny)
    tokens = np.array([2, 3, 4, 1, 5], "int32")
    trace = memory_trace(model, tokens)
    np.testing.assert_allclose(trace["outputs"], model(tokens[None])[0].numpy(), atol=1e-5)
    assert trace["usage"].shape == (5, 4) and len(plot_memory_trace(trace).axes) == 4
    with pytest.raises(InvalidInputError, match="no NTM or DNC core"):
        memory_trace(fdl_keras.build("lstm_copy", units=4), np.zeros((3, 10), "float32"))
    with pytest.raises(InvalidInputError, match="at least one step"):
        memory_trace(model, np.zeros((0,), "int32"))
