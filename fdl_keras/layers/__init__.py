"""Custom Keras layers shared across the book's parts, each serialisable as ``fdl_keras>Name``.

Check a new layer with :func:`fdl_keras.layers.contract.check_layer_contract`.
"""

from fdl_keras.layers.attention import (
    BahdanauAttention,
    CachedMultiHeadAttention,
    LuongAttention,
    TokenMask,
)
from fdl_keras.layers.heads import classification_head
from fdl_keras.layers.normalization import (
    FusedBatchNorm,
    GroupNorm,
    PerImageStandardization,
    instance_norm,
)
from fdl_keras.layers.positional import SinusoidalPositionEncoding
from fdl_keras.layers.recurrent import ExportableGRU, PackedBidirectional, ResettingLSTMCell
from fdl_keras.layers.shortcuts import ZeroPadShortcut
from fdl_keras.layers.sparsity import KLSparsity, KSparse
from fdl_keras.layers.time_folding import FoldTime, UnfoldTime

__all__ = [
    "BahdanauAttention",
    "CachedMultiHeadAttention",
    "FoldTime",
    "FusedBatchNorm",
    "GroupNorm",
    "KLSparsity",
    "KSparse",
    "LuongAttention",
    "ExportableGRU",
    "PackedBidirectional",
    "PerImageStandardization",
    "ResettingLSTMCell",
    "SinusoidalPositionEncoding",
    "TokenMask",
    "UnfoldTime",
    "ZeroPadShortcut",
    "classification_head",
    "instance_norm",
]
