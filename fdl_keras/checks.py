"""Type checks of the package's public arguments against their type hints.

A value of the wrong type (``hidden_units="256"``, ``learning_rate="0.1"``, a number as a
folder) failed deep inside Keras or the trainer; these checks name the argument, the type it
takes and the value in one line. Written by hand: ``typeguard`` and ``beartype`` check hints,
but raise ``TypeError``s worded for programmers and take neither lists for tuples nor NumPy
scalars for Python ones.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.errors import InvalidInputError


def checked_arguments(function: Callable) -> Callable:
    """Decorates a public function so that each argument given is checked against its type
    hint (NumPy scalars taken as Python ones) before the function runs.

    Raises:
        InvalidInputError: ``{function}: {argument} must be {type}, got {value!r}``.
    """
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        hints = typing.get_type_hints(function)
        bound = signature.bind(*args, **kwargs)
        for name, value in list(bound.arguments.items()):
            hint = hints.get(name)
            if hint in (None, Any) or signature.parameters[name].kind in (
                inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.VAR_POSITIONAL,
            ):
                continue
            value = bound.arguments[name] = python_value(value)
            if not fits_type(value, hint):
                raise InvalidInputError(
                    f"{function.__name__}: {name} must be {describe_type(hint)}, got {value!r}"
                )
        return function(*bound.args, **bound.kwargs)

    return wrapper


def python_value(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays as Python ones (Keras layers refuse ``np.int64``
    widths)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return type(value)(python_value(v) for v in value)
    return value


def fits_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of type ``hint`` (the hints of builders and options: scalars,
    classes, ``X | None``, ``tuple[int, ...]`` and fixed-length tuples, lists standing for
    tuples and any ``os.PathLike`` for ``Path``); a hint it cannot read accepts anything."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(fits_type(value, arg) for arg in args)
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint in (tuple, list):
        return isinstance(value, (tuple, list))
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            return False
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            return all(fits_type(v, args[0]) for v in value) if args else True
        return len(value) == len(args) and all(fits_type(v, a) for v, a in zip(value, args))
    if hint is Path:
        return isinstance(value, os.PathLike)
    return isinstance(value, hint) if inspect.isclass(hint) else True


def describe_type(hint: Any) -> str:
    """``hint`` in words: ``a tuple of ints``, ``None or a float`` ..."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is type(None):
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(arg) for arg in args)
    if origin in (tuple, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a tuple of {_plural(args[0])}"
        return f"a tuple of {len(args)} {_plural(args[0]) if len(set(args)) == 1 else 'values'}"
    name = getattr(hint, "__name__", str(hint))
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _plural(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_plural(arg) for arg in typing.get_args(hint))
    return "Nones" if hint is type(None) else f"{getattr(hint, '__name__', hint)}s"
