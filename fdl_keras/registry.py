"""The model registry: one :class:`ModelSpec` per book system.

The CLI, the tests and the benchmarks all walk this registry, so a system registered once is
listed, trained, tested and exported everywhere.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fdl_keras.errors import UnknownModelError

# Modules that register systems; imported on first use of the registry.
SYSTEM_MODULES = (
    "fdl_keras.fundamentals.feedforward",
    "fdl_keras.vision.cnn",
    "fdl_keras.vision.cifar_cnn",
    "fdl_keras.vision.resnet",
    "fdl_keras.vision.style_transfer",
    "fdl_keras.rl.networks",
    "fdl_keras.generative.vae",
    "fdl_keras.generative.gan",
    "fdl_keras.generative.score",
)

TRAINING_MODES = ("fit", "custom", "rl")
MODEL_KWARGS = ("name", "trainable", "dtype")  # passed on to keras.Model


@dataclass(frozen=True)
class Target:
    """A quality target: ``metric`` must reach ``value`` on ``dataset``'s test split."""

    metric: str
    value: float
    dataset: str
    reference: str = ""

    def __str__(self) -> str:
        shown = f"{self.value:.1%}" if self.metric == "accuracy" else f"{self.value:g}"
        return f"{self.metric} >= {shown} on {self.dataset}"


@dataclass(frozen=True)
class FitConfig:
    """How a ``training="fit"`` system is compiled and trained by default."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "cosine"  # "cosine" decays to 0 over the run; "constant" keeps it.
    epochs: int = 10
    batch_size: int = 128
    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    augment: str | None = None
    steps_per_execution: int = 1


@dataclass(frozen=True)
class ModelSpec:
    """Everything the package needs to know about one book system."""

    name: str
    chapter: int
    builder: Callable[..., Any]
    summary: str
    dataset: str
    training: str = "fit"
    task: str = "classification"
    target: Target | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    tiny: Mapping[str, Any] = field(default_factory=dict)
    fit: FitConfig = field(default_factory=FitConfig)

    def __post_init__(self) -> None:
        if self.training not in TRAINING_MODES:
            raise ValueError(f"training must be one of {TRAINING_MODES}, got {self.training!r}")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "tiny", MappingProxyType(dict(self.tiny)))

    def build(self, **overrides: Any) -> Any:
        """Builds the model from the spec's defaults updated with ``overrides``."""
        params = [
            name
            for name, p in inspect.signature(self.builder).parameters.items()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]
        unknown = [k for k in overrides if k not in params and k not in MODEL_KWARGS]
        if unknown:
            choices = ", ".join(params)
            raise TypeError(f"{self.name} has no argument {unknown[0]!r}; it takes: {choices}")
        return self.builder(**{**self.defaults, **overrides})

    def export_signature(self, model: Any = None) -> list:
        """The ``tf.TensorSpec`` s that export traces: one per input of ``model`` (or a default
        build). Noise and other random draws are inputs here, never ops inside the graph."""
        from fdl_keras.export.onnx import input_signature

        return input_signature(model if model is not None else self.build())


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register(name: str, *, chapter: int, dataset: str, **spec_fields: Any) -> Callable:
    """Class/function decorator that registers a book system under ``name``.

    Stack it to register several systems (e.g. ResNet depths) with one builder. The summary is
    the first line of the builder's docstring unless ``summary=`` is given.
    """

    def decorator(builder: Callable) -> Callable:
        summary = spec_fields.pop("summary", None) or (builder.__doc__ or "").strip().split("\n")[0]
        spec = ModelSpec(
            name=name,
            chapter=chapter,
            builder=builder,
            dataset=dataset,
            summary=summary,
            **spec_fields,
        )
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = spec
        return builder

    return decorator


def load_systems() -> None:
    """Imports every system module, registering its specs and Keras classes."""
    global _loaded
    if not _loaded:
        for module in SYSTEM_MODULES:
            importlib.import_module(module)
        _loaded = True


def list_models(chapter: int | None = None) -> list[ModelSpec]:
    """All registered systems, ordered by chapter then name."""
    load_systems()
    specs = sorted(_REGISTRY.values(), key=lambda s: (s.chapter, s.name))
    return [s for s in specs if chapter is None or s.chapter == chapter]


def get_spec(name: str) -> ModelSpec:
    """The spec registered as ``name``; an unknown name lists the closest ones."""
    load_systems()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else "none is close"
    raise UnknownModelError(
        f"unknown model {name!r} ({hint}); `fdl list` shows all {len(_REGISTRY)} models"
    )


def build(name: str, **overrides: Any) -> Any:
    """Builds the registered model ``name`` (``fdl_keras.build("mnist_cnn", dropout=0.3)``)."""
    return get_spec(name).build(**overrides)
