"""The model registry: one :class:`ModelSpec` per book system.

The CLI, the tests and the benchmarks all walk this registry, so a system registered once is
listed, trained, tested and exported everywhere.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fdl_keras.checks import checked_arguments, describe_type, fits_type, python_value
from fdl_keras.errors import InvalidInputError, UnknownArgumentError, UnknownModelError
from fdl_keras.tasks import Classification, FitTask, Task

# Modules that register systems (and the losses their saved models name); imported on first
# use of the registry.
SYSTEM_MODULES = (
    "fdl_keras.losses",
    "fdl_keras.fundamentals.feedforward",
    "fdl_keras.vision.cnn",
    "fdl_keras.vision.mnist_fast",
    "fdl_keras.vision.cifar_cnn",
    "fdl_keras.vision.resnet",
    "fdl_keras.vision.style_transfer",
    "fdl_keras.rl.reinforce",
    "fdl_keras.rl.trpo",
    "fdl_keras.rl.ppo",
    "fdl_keras.rl.a3c",
    "fdl_keras.rl.dqn",
    "fdl_keras.rl.drqn",
    "fdl_keras.rl.unreal",
    "fdl_keras.generative.vae",
    "fdl_keras.generative.gan",
    "fdl_keras.generative.score",
    "fdl_keras.embeddings",
    "fdl_keras.sequence.tagger",
    "fdl_keras.sequence.parser",
    "fdl_keras.sequence.sentiment",
    "fdl_keras.sequence.seq2seq",
    "fdl_keras.sequence.transformer",
    "fdl_keras.interpret",
    "fdl_keras.memory",
)

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
    """How a system trained by ``model.fit`` is optimised by default (the loss and metrics come
    from its task and its head)."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    # Further arguments of the Keras optimizer (e.g. ``{"beta_2": 0.99}`` for Adam).
    optimizer_options: Mapping[str, Any] = field(default_factory=dict)
    # "cosine" decays to 0 over the run; "warmup_cosine" first rises linearly from 0 over
    # ``warmup`` of the run (Goyal et al. 2017), then decays; "constant" keeps the rate.
    schedule: str = "cosine"
    epochs: int = 10
    batch_size: int = 128
    augment: str | None = None
    steps_per_execution: int = 1
    warmup: float = 0.1
    # On a machine with no GPU/TPU: XLA and steps per execution, chosen per model from
    # measurements (benchmarks/vs_pytorch.py). None keeps Keras' "auto" (no XLA on a CPU) and
    # ``steps_per_execution``. An accelerator always gets Keras' "auto" (XLA on).
    cpu_jit_compile: bool | None = None
    cpu_steps_per_execution: int | None = None
    # With ``cpu_jit_compile``: XLA only for runs of at least this many training steps (XLA
    # compiles a program per input shape; a short run does not repay the compile time).
    cpu_jit_min_steps: int | None = None
    explosion_factor: float | None = 1e3  # a loss this many times its first value diverged
    # Classifiers: the one-hot target smoothed towards uniform (Szegedy et al. 2016), 0 = none;
    # the loss that training and evaluation report is then the smoothed cross-entropy.
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        options = MappingProxyType(dict(self.optimizer_options))
        object.__setattr__(self, "optimizer_options", options)


@dataclass(frozen=True)
class ModelSpec:
    """Everything the package needs to know about one book system.

    ``task`` (a :class:`fdl_keras.tasks.Task`) holds what differs between families; the spec's
    verbs (:meth:`train`, :meth:`evaluate`, :meth:`export_sample` ...) ask it, so callers never
    branch on a family.
    """

    name: str
    chapter: int
    builder: Callable[..., Any]
    summary: str
    task: Task = field(default_factory=Classification)
    dataset: str | None = None
    target: Target | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    tiny: Mapping[str, Any] = field(default_factory=dict)
    fit: FitConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.task, Task):
            raise TypeError(f"{self.name}: task must be a fdl_keras.tasks.Task, got {self.task!r}")
        if self.fit is None and isinstance(self.task, FitTask):
            object.__setattr__(self, "fit", FitConfig())
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "tiny", MappingProxyType(dict(self.tiny)))

    def build(self, **overrides: Any) -> Any:
        """Builds the model from the spec's defaults updated with ``overrides``; the model is
        named after the system unless ``name=`` is given, so export can find its spec again."""
        signature = inspect.signature(self.builder)
        params = {
            name: p
            for name, p in signature.parameters.items()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
        unknown = [k for k in overrides if k not in params and k not in MODEL_KWARGS]
        if unknown:
            choices = ", ".join(params)
            raise UnknownArgumentError(
                f"{self.name} has no argument {unknown[0]!r}; it takes: {choices}"
            )
        overrides = {k: python_value(v) for k, v in overrides.items()}
        self.check_types({k: v for k, v in overrides.items() if k in params})
        return self.builder(**{"name": self.name, **self.defaults, **overrides})

    def check_types(self, arguments: Mapping[str, Any]) -> None:
        """Checks builder ``arguments`` against the builder's type hints (lists stand for
        tuples, ints for floats).

        Raises:
            InvalidInputError: one line naming the argument, its value, the type it needs and
                the spec's value for it (``hidden_units='256'`` failed deep inside Keras).
        """
        try:
            hints = typing.get_type_hints(
                self.builder.__init__ if inspect.isclass(self.builder) else self.builder
            )
        except Exception:  # noqa: BLE001 - an unresolvable hint is not the user's error
            return
        for key, value in arguments.items():
            hint = hints.get(key)
            if hint is not None and not fits_type(value, hint):
                example = self.defaults.get(key, _default_of(self.builder, key))
                raise InvalidInputError(
                    f"{self.name}: {key}={value!r} is not {describe_type(hint)}; give one such as "
                    f"{key}={example!r}"
                )

    # --- verbs, answered by the task ---------------------------------------------------------

    @property
    def family(self) -> str:
        """The family's name (``classification``, ``generative`` ...)."""
        return self.task.label

    @property
    def source(self) -> str:
        """What the system learns from: a dataset or an environment id."""
        return self.task.source(self)

    @property
    def options(self) -> frozenset[str]:
        """The :func:`fdl_keras.train` options that apply to this system."""
        return self.task.options

    def describe(self) -> dict[str, Any]:
        """What ``fdl info`` shows about the family (dataset or environment, agent, options)."""
        return {**self.task.describe(self), "fit": self.fit}

    def builder_args(self, info: Any) -> dict[str, Any]:
        """Builder arguments derived from a dataset's info (or an environment id)."""
        from fdl_keras.tasks import builder_accepts

        return builder_accepts(self.builder, self.task.builder_args(self, info))

    def model_args(self, info: Any, overrides: Mapping[str, Any] | None = None) -> dict:
        """The builder arguments of a run: those the data sets (:meth:`builder_args`) with
        ``overrides`` on top.

        Raises:
            InvalidInputError: an override gives an argument the data sets another value (an
                embedding with fewer rows than the vocabulary, or another input shape, would
                fail inside TensorFlow mid-run).
        """
        derived = self.builder_args(info)
        overrides = dict(overrides or {})
        for key, value in overrides.items():
            if key in derived and _plain(value) != _plain(derived[key]):
                source = getattr(info, "name", None) or "the"
                raise InvalidInputError(
                    f"{self.name}: {key}={value!r} does not fit the {source} data, which sets "
                    f"{key}={derived[key]!r}; leave {key} out (the data decides it)"
                )
        return {**derived, **overrides}

    def train(self, **options: Any) -> Any:
        """Trains the system with its family's trainer (see :func:`fdl_keras.train`)."""
        from fdl_keras.tasks import check_options

        given = {k: v for k, v in options.items() if k != "overrides"}
        check_options(self, self.task, given)
        return self.task.train(self, options)

    def evaluate(self, model, *, settings: Mapping[str, Any] | None = None, limit=None) -> dict:
        """Test metrics of a trained ``model`` of this system."""
        return self.task.evaluate(self, model, settings=settings or {}, limit=limit)

    def export_sample(self, model, *, settings=None, size: int = 8) -> tuple[list, str]:
        """The inputs export verifies on (real data where the family has it) and their source."""
        return self.task.export_sample(self, model, settings=settings, size=size)

    def example_batch(self, model, size: int = 8) -> tuple[Any, Any]:
        """A real ``(inputs, targets)`` batch for the model contract."""
        return self.task.example_batch(self, model, size)

    def contract_step(self, model, x, y) -> dict[str, list[float]]:
        """One training step of the family's loss on ``(x, y)``; returns the history dict."""
        return self.task.contract_step(self, model, x, y)

    def pairs(self, model, data: Any, seed: int = 0) -> tuple:
        """``(train, validation, test)`` pipelines of what ``fit`` takes (fit families only),
        with this machine's ``tf.data`` options (:func:`fdl_keras.data.pipeline.device_options`)."""
        from fdl_keras.data.pipeline import device_options

        return tuple(device_options(split) for split in self.task.pairs(self, model, data, seed))

    def compile(self, model, **kwargs: Any) -> None:
        """Compiles ``model`` as the family's trainer does (fit families only).

        Raises:
            InvalidInputError: ``fit`` sets an optional setting the family does not apply.
        """
        fit, settings = self.fit, getattr(self.task, "fit_settings", frozenset())
        if fit and fit.label_smoothing and "label_smoothing" not in settings:
            raise InvalidInputError(
                f"{self.name}: label_smoothing applies to classifiers only, not the "
                f"{self.family} family; set it to 0"
            )
        if fit and fit.optimizer_options and "optimizer_options" not in settings:
            raise InvalidInputError(
                f"{self.name}: the {self.family} family builds its own optimizer, so "
                "optimizer_options do not apply; leave them empty"
            )
        self.task.compile(self, model, **kwargs)

    def export_signature(self, model: Any = None) -> list:
        """The ``tf.TensorSpec`` s that export traces: one per input of ``model`` (or a default
        build). Noise and other random draws are inputs here, never ops inside the graph."""
        from fdl_keras.export.onnx import input_signature

        return input_signature(model if model is not None else self.build())


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register(
    name: str, *, chapter: int, builder: Callable | None = None, **spec_fields: Any
) -> Callable:
    """Registers a book system under ``name``: a decorator of its builder, or a plain call with
    ``builder=`` (how an agent's module registers the network it trains).

    Stack the decorator to register several systems (e.g. ResNet depths) with one builder. The
    summary is the first line of the builder's docstring unless ``summary=`` is given.
    """

    def decorator(builder: Callable) -> Callable:
        summary = spec_fields.pop("summary", None) or (builder.__doc__ or "").strip().split("\n")[0]
        spec = ModelSpec(
            name=name, chapter=chapter, builder=builder, summary=summary, **spec_fields
        )
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = spec
        return builder

    return decorator(builder) if builder is not None else decorator


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


@checked_arguments
def get_spec(name: str) -> ModelSpec:
    """The spec registered as ``name``; an unknown name lists the closest ones."""
    load_systems()
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise unknown_model(name, list(_REGISTRY))


def unknown_model(name: str, names: list[str]) -> UnknownModelError:
    """The one-line error for a model name that is not among ``names``."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else "none is close"
    return UnknownModelError(
        f"unknown model {name!r} ({hint}); `fdl list` shows all {len(names)} models"
    )


@checked_arguments
def build(name: str, **overrides: Any) -> Any:
    """Builds the registered model ``name`` (``fdl_keras.build("mnist_cnn", dropout=0.3)``)."""
    return get_spec(name).build(**overrides)


def spec_for_model(model) -> ModelSpec | None:
    """The spec a model was built from: the system its name names (``build`` names models after
    their system), else the only system built by its class, else None."""
    load_systems()
    spec = _REGISTRY.get(getattr(model, "name", ""))
    if spec is not None and (not isinstance(spec.builder, type) or isinstance(model, spec.builder)):
        return spec  # a builder function's models can only be told by name
    same_class = [s for s in _REGISTRY.values() if s.builder is type(model)]
    return same_class[0] if len(same_class) == 1 else None


def _plain(value: Any) -> Any:
    """``value`` with lists as tuples, for comparing a builder argument however it was given."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _default_of(builder: Callable[..., Any], key: str) -> Any:
    parameter = inspect.signature(builder).parameters[key]
    return None if parameter.default is parameter.empty else parameter.default
