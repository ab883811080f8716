"""Pictures of a memory network at work: read and write weightings over time and memory usage.

:func:`memory_trace` steps the cell of a :class:`~fdl_keras.memory.models.MemoryNetwork` through
one sequence and keeps its state at every step; :func:`plot_memory_trace` draws the weightings
(time on the x axis, memory slots on the y axis), as in Graves et al. 2014 fig. 6 and Graves et
al. 2016 fig. 1.
"""

from __future__ import annotations

import numpy as np

from fdl_keras.errors import InvalidInputError
from fdl_keras.memory.dnc import DNCCell
from fdl_keras.memory.ntm import NTMCell


def memory_trace(model, sequence: np.ndarray) -> dict[str, np.ndarray]:
    """The cell's weightings at each step of one ``sequence`` (no batch axis).

    Returns ``read_weights`` ``(T, R, N)``, ``write_weights`` ``(T, Hw, N)`` (``Hw`` = 1 for a
    DNC) and, for a DNC, ``usage`` ``(T, N)``; also ``outputs`` (the logits, ``(T, D)``).

    Raises:
        InvalidInputError: the model has no NTM or DNC core, or ``sequence`` is empty.
    """
    import tensorflow as tf

    core = model.get_layer("memory")
    cell = getattr(core, "cell", None)
    if not isinstance(cell, (NTMCell, DNCCell)):
        raise InvalidInputError(
            f"{model.name} has no NTM or DNC core to trace (its core is {type(core).__name__})"
        )
    sequence = np.asarray(sequence)
    if len(sequence) == 0:
        raise InvalidInputError("memory_trace needs a sequence of at least one step, got 0")
    x = tf.convert_to_tensor(sequence[None])
    if "embedding" in [layer.name for layer in model.layers]:
        x = model.get_layer("embedding")(x)
    head = model.get_layer("logits")
    states = cell.get_initial_state(batch_size=1)
    n = cell.memory_size
    trace: dict[str, list] = {"read_weights": [], "write_weights": [], "outputs": []}
    if isinstance(cell, DNCCell):
        trace["usage"] = []
    for t in range(x.shape[1]):
        output, states = cell(x[:, t], states)
        trace["outputs"].append(head(output)[0].numpy())
        if isinstance(cell, NTMCell):
            read, write = states[3], states[4]
        else:
            read, write = states[6], states[7]
            trace["usage"].append(states[3][0].numpy())
        trace["read_weights"].append(read[0].numpy().reshape(-1, n))
        trace["write_weights"].append(write[0].numpy().reshape(-1, n))
    return {k: np.stack(v) for k, v in trace.items()}


def plot_memory_trace(trace: dict[str, np.ndarray], title: str = ""):
    """A matplotlib figure: write weightings, read weightings (and usage) as slot-by-time
    images."""
    import matplotlib.pyplot as plt

    panels = [("write weightings", trace["write_weights"][:, 0])]
    panels += [
        (f"read weightings (head {i + 1})", trace["read_weights"][:, i])
        for i in range(trace["read_weights"].shape[1])
    ]
    if "usage" in trace:
        panels.append(("usage", trace["usage"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3), squeeze=False)
    for ax, (name, values) in zip(axes[0], panels):
        ax.imshow(values.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, origin="lower")
        ax.set(title=name, xlabel="time step", ylabel="memory slot")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = ["memory_trace", "plot_memory_trace"]
