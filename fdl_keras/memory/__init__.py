"""Chapter 12: Neural Turing Machine and Differentiable Neural Computer.

:mod:`~fdl_keras.memory.addressing` (the addressing steps), :mod:`~fdl_keras.memory.ntm` and
:mod:`~fdl_keras.memory.dnc` (the cells, usable in ``keras.layers.RNN``),
:mod:`~fdl_keras.memory.models` (the registered systems ``ntm_copy``, ``lstm_copy``,
``dnc_babi``, ``lstm_babi`` and their task), :mod:`~fdl_keras.memory.visualize` (weightings over
time as images).
"""

from fdl_keras.memory import models  # noqa: F401 - registers the systems
from fdl_keras.memory.dnc import DNCCell
from fdl_keras.memory.models import MemoryNetwork, MemoryTask
from fdl_keras.memory.ntm import NTMCell

__all__ = ["DNCCell", "MemoryNetwork", "MemoryTask", "NTMCell"]
