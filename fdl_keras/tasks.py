"""Tasks: the behaviour that differs between families of book systems.

Every registry entry (:class:`~fdl_keras.registry.ModelSpec`) holds a task object that knows,
for its family, which builder arguments come from the dataset's info, how to compile (the loss
follows the model's head), how a dataset becomes training pairs, the example batch the model
contract fits on, the sample that export verifies on, how to evaluate, and which trainer runs
it. The CLI, the trainer, export and the tests ask the spec, which asks its task: adding a family
is adding a task class here, never a branch elsewhere. The shape follows keras-hub's ``Task``
(``compile()`` defaults derived from the head).

- :class:`Classification`: ``(inputs, label)`` pairs, sparse cross-entropy (``from_logits`` from
  the head), accuracy.
- :class:`Reconstruction`: image-to-image, the input is its own target (autoencoders).
- :class:`StyleTransfer`: a reconstruction trained with Johnson et al.'s perceptual loss.
- :class:`Generative`: a model with its own ``train_step`` whose exported graph takes noise.
- :class:`ReinforcementLearning`: an agent that trains a policy network on an environment.
"""

from __future__ import annotations

import importlib
import inspect
import numbers
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fdl_keras.errors import InvalidInputError

if TYPE_CHECKING:
    from fdl_keras.data import Dataset
    from fdl_keras.registry import ModelSpec
    from fdl_keras.training.trainer import TrainResult

#: Options every trainer takes.
COMMON_OPTIONS = frozenset({"seed", "run_dir", "verbose", "tensorboard", "overwrite"})
#: Options of the ``fit`` trainer.
FIT_OPTIONS = COMMON_OPTIONS | {
    "dataset",
    "epochs",
    "batch_size",
    "learning_rate",
    "strategy",
    "precision",
    "limit",
    "augment",
    "callbacks",
}
EXPORT_SAMPLE_SIZE = 8
#: Size given to a variable (``None``) axis of an input when a sample has to be made up:
#: divisible by 4 (the style network halves twice), a short sequence for recurrent nets.
VARIABLE_AXIS_SIZE = 16
RANDOM_VGG_SEED = 0


class Task:
    """Base class: what one family of systems does differently. Subclasses override the verbs."""

    #: How ``fdl info`` names the family.
    label: ClassVar[str] = "task"
    #: The :func:`fdl_keras.train` options this family uses; any other given option is refused.
    options: ClassVar[frozenset[str]] = COMMON_OPTIONS

    def source(self, spec: ModelSpec) -> str:
        """What the system learns from (a dataset or an environment), for ``fdl list``."""
        return spec.dataset or "-"

    def describe(self, spec: ModelSpec) -> dict[str, Any]:
        """Lines of ``fdl info`` that belong to the family."""
        return {"family": self.label, "data": self.source(spec)}

    def builder_args(self, spec: ModelSpec, info: Any) -> dict[str, Any]:
        """Builder arguments read from the data's info (image shape, classes, vocabulary)."""
        return {}

    def train(self, spec: ModelSpec, options: dict[str, Any]) -> TrainResult:
        """Trains ``spec`` with ``options`` (already checked against :attr:`options`)."""
        raise NotImplementedError

    def evaluate(
        self, spec: ModelSpec, model, *, settings: Mapping[str, Any], limit: int | None = None
    ) -> dict[str, float]:
        """Test metrics of a trained ``model`` (``settings`` are its run's ``run.json``), with
        the count they are over: ``examples`` (test examples) or ``episodes``."""
        raise NotImplementedError

    def example_batch(self, spec: ModelSpec, model, size: int = 8) -> tuple[Any, Any]:
        """A real ``(inputs, targets)`` batch for the model contract's fit step."""
        raise NotImplementedError

    def contract_step(self, spec: ModelSpec, model, x, y) -> dict[str, list[float]]:
        """One training step of the family's own loss on ``(x, y)``; returns its history.

        A model that is compiled already keeps its optimizer, so calls after the first continue
        it and a model loaded from ``.keras`` continues with its restored optimizer state.
        """
        raise NotImplementedError

    def export_sample(
        self,
        spec: ModelSpec,
        model,
        *,
        settings: Mapping[str, Any] | None = None,
        size: int = EXPORT_SAMPLE_SIZE,
    ) -> tuple[list[np.ndarray], str]:
        """Inputs that export verifies the runtimes on, and where they came from."""
        return noise_sample(model, size)


def noise_sample(model, size: int = EXPORT_SAMPLE_SIZE, seed: int = 0):
    """Uniform [0, 1) inputs for ``model``, every ``None`` axis :data:`VARIABLE_AXIS_SIZE` long.

    The last resort of export for a model no registry entry describes.
    """
    rng = np.random.default_rng(seed)
    arrays = [
        rng.uniform(
            size=(size, *(VARIABLE_AXIS_SIZE if d is None else d for d in t.shape[1:]))
        ).astype(t.dtype)
        for t in model.inputs
    ]
    return arrays, f"uniform noise (variable axes {VARIABLE_AXIS_SIZE} long)"


# --- Families trained by model.fit ----------------------------------------------------------


class FitTask(Task):
    """A family trained by ``model.fit`` on a registered dataset (:mod:`fdl_keras.training`)."""

    options = FIT_OPTIONS
    # The optional ``FitConfig`` settings this family's ``compile`` applies; a spec that sets
    # any other is refused by ``ModelSpec.compile`` rather than trained without it.
    fit_settings: ClassVar[frozenset[str]] = frozenset({"optimizer_options"})

    def train(self, spec, options):
        from fdl_keras.training.trainer import fit_system

        return fit_system(spec, options)

    def compile(
        self,
        spec: ModelSpec,
        model,
        *,
        learning_rate: float | None = None,
        total_steps: int | None = None,
        steps_per_execution: int | None = None,
        jit_compile: bool | str = "auto",
    ) -> None:
        """Compiles ``model`` with the spec's optimizer and schedule and :meth:`loss`, at the
        spec's XLA / steps-per-execution defaults for this device unless given."""
        jit_compile, steps_per_execution = device_defaults(
            spec, jit_compile, steps_per_execution, total_steps
        )
        model.compile(
            optimizer=make_optimizer(spec, learning_rate, total_steps),
            loss=self.spec_loss(spec, model),
            metrics=list(self.metrics(model)),
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )

    def loss(self, model):
        raise NotImplementedError

    def spec_loss(self, spec: ModelSpec, model):
        """The loss ``spec`` trains ``model`` with: :meth:`loss`; a family whose loss takes
        settings of ``spec.fit`` (a classifier's ``label_smoothing``) overrides it."""
        return self.loss(model)

    def metrics(self, model) -> tuple:
        return ()

    def pairs(self, spec: ModelSpec, model, data: Dataset, seed: int = 0) -> tuple:
        """``(train, validation, test)`` pipelines of what ``fit`` takes."""
        return data.train, data.validation, data.test

    def dataset_name(self, spec: ModelSpec, settings: Mapping[str, Any] | None) -> str:
        return (settings or {}).get("dataset") or spec.dataset

    def evaluate(self, spec, model, *, settings, limit=None):
        from fdl_keras.data import load_dataset

        data = load_dataset(
            self.dataset_name(spec, settings),
            batch_size=(settings or {}).get("batch_size") or spec.fit.batch_size,
            seed=(settings or {}).get("seed", 0),
            limit=limit if limit is not None else (settings or {}).get("limit"),
        )
        if not model.compiled:
            self.compile(spec, model)
        test = self.pairs(spec, model, data, seed=(settings or {}).get("seed", 0))[2]
        metrics = model.evaluate(test, verbose=0, return_dict=True)
        return {**{k: float(v) for k, v in metrics.items()}, "examples": data.info.num_test}

    def contract_step(self, spec, model, x, y):
        if not model.compiled:
            self.compile(spec, model)
        return model.fit(x, y, epochs=1, batch_size=len(x), verbose=0).history

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        images, source = real_images(self.dataset_name(spec, settings), model, size)
        return [images], source

    def example_batch(self, spec, model, size=8):
        images, _ = real_images(spec.dataset, model, size)
        return images, images


class Classification(FitTask):
    """``(inputs, class)`` pairs; the head decides ``from_logits`` of the cross-entropy.

    Args:
        input_arg: the builder argument that takes the dataset's input shape.
    """

    label = "classification"

    def __init__(self, input_arg: str = "image_shape"):
        self.input_arg = input_arg

    def builder_args(self, spec, info):
        return {self.input_arg: info.input_shape, "num_classes": info.num_classes}

    def loss(self, model, label_smoothing: float = 0.0):
        import keras

        from_logits = not outputs_probabilities(model)
        if label_smoothing:
            from fdl_keras.losses import SparseCrossentropy

            return SparseCrossentropy(label_smoothing=label_smoothing, from_logits=from_logits)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)

    fit_settings = frozenset({"optimizer_options", "label_smoothing"})

    def spec_loss(self, spec, model):
        return self.loss(model, label_smoothing=spec.fit.label_smoothing)

    def metrics(self, model):
        return ("accuracy",)

    def example_batch(self, spec, model, size=8):
        data = _load_or_standin(spec.dataset, size)
        images, labels = (t.numpy() for t in next(iter(data.train)))
        shape = tuple(model.inputs[0].shape[1:])
        images = fit_images(images, shape) if len(shape) == 3 else images
        # A stand-in set may have more classes than the model.
        return images, labels % model.outputs[0].shape[-1]


class Reconstruction(FitTask):
    """Image-to-image: the input is its own target (mean squared error)."""

    label = "reconstruction"

    def builder_args(self, spec, info):
        return {"image_shape": info.input_shape}

    def loss(self, model):
        return "mean_squared_error"

    def pairs(self, spec, model, data, seed=0):
        def same(split):
            return split and split.map(lambda x, y: (x, x))

        return same(data.train), same(data.validation), same(data.test)


class StyleTransfer(Reconstruction):
    """Johnson et al.'s feed-forward style network: content crops are their own targets, the
    loss compares VGG19 features with the content and Gram matrices with ``style_image``.

    Options: ``style_image`` (a path; default scikit-learn's ``flower.jpg``) and ``vgg_weights``
    (``imagenet``, a weights file, or ``random``).
    """

    label = "style transfer"
    options = FIT_OPTIONS | {"style_image", "vgg_weights"}

    #: Side of the photo crops export verifies on. onnxruntime's instance normalisation
    #: accumulates float32 error with the image area: on the default network the ONNX output
    #: differs from Keras by 4.2e-6 at 16x16, 6.5e-6 at 32x32 and 1.6e-5 at 64x64.
    export_size = 32

    def builder_args(self, spec, info):
        return {}  # one network styles images of any size

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        images, source = real_images(self.dataset_name(spec, settings), model, size)
        side = self.export_size
        return [images[:, :side, :side]], f"{source}, {side}x{side} corners"

    def loss(self, model, *, style_image: str | None = None, vgg_weights: str = "imagenet"):
        from fdl_keras.vision.style_transfer import PerceptualLoss, load_style_image

        weights = None if vgg_weights == "random" else vgg_weights
        if weights is None:
            import keras

            # Random VGG features are drawn from one seed, so training and a later evaluation
            # measure the same loss.
            keras.utils.set_random_seed(RANDOM_VGG_SEED)
        return PerceptualLoss(load_style_image(style_image), weights=weights)

    def compile(self, spec, model, *, style_image=None, vgg_weights="imagenet", **kwargs):
        learning_rate, total_steps = kwargs.get("learning_rate"), kwargs.get("total_steps")
        jit_compile, steps_per_execution = device_defaults(
            spec, kwargs.get("jit_compile", "auto"), kwargs.get("steps_per_execution"), total_steps
        )
        model.compile(
            optimizer=make_optimizer(spec, learning_rate, total_steps),
            loss=self.loss(model, style_image=style_image, vgg_weights=vgg_weights),
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )

    def evaluate(self, spec, model, *, settings, limit=None):
        model.compile(
            loss=self.loss(
                model,
                style_image=(settings or {}).get("style_image"),
                vgg_weights=(settings or {}).get("vgg_weights") or "imagenet",
            )
        )
        return super().evaluate(spec, model, settings=settings, limit=limit)

    def contract_step(self, spec, model, x, y):
        if not model.compiled:
            self.compile(spec, model, vgg_weights="random")
        elif model.loss is None:
            # A .keras file restores the optimizer but not the perceptual loss (it holds a VGG19
            # of its own): re-attach the loss, keeping the restored optimizer.
            model.compile(optimizer=model.optimizer, loss=self.loss(model, vgg_weights="random"))
        return model.fit(x, y, epochs=1, batch_size=len(x), verbose=0).history


class Generative(FitTask):
    """A model with its own ``train_step`` (ELBO, GAN, score matching) whose exported graph is
    the sampler: its inputs are noise (``model.noise_inputs``), never a dataset."""

    label = "generative"

    fit_settings = frozenset()  # the model builds its own optimizers and losses

    def builder_args(self, spec, info):
        return {"image_shape": info.input_shape}

    def compile(self, spec, model, *, learning_rate=None, **kwargs):
        # The model picks its optimizers (and its own XLA default, unless told or measured; a
        # run shorter than the spec's cpu_jit_min_steps compiles without XLA).
        model.compile(
            learning_rate=learning_rate or spec.fit.learning_rate,
            **asked_compile_options(spec, kwargs),
        )

    def pairs(self, spec, model, data, seed=0):
        # Seeded apart, so a VAE's stochastic binarisation differs between the splits; new
        # on every training epoch, the same on every pass over validation and test.
        splits = (data.train, data.validation, data.test)
        return tuple(
            s
            and model.training_data(
                s, seed=seed + i, order=data.order if i == 0 else None, fresh=i == 0
            )
            for i, s in enumerate(splits)
        )

    def contract_step(self, spec, model, x, y):
        if not model.compiled:
            model.compile()
        return model.fit(y, epochs=1, batch_size=len(y), verbose=0).history

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        noise = model.noise_inputs(size)
        return (list(noise) if isinstance(noise, (list, tuple)) else [noise]), (
            "the model's noise_inputs()"
        )

    def example_batch(self, spec, model, size=8):
        data = _load_or_standin(spec.dataset, size)
        return model.noise_inputs(size, seed=0), next(iter(data.train))[0].numpy()


# --- Reinforcement learning ------------------------------------------------------------------


class ReinforcementLearning(Task):
    """An agent (chapter 13) that trains the registered network on a gymnasium environment.

    Args:
        agent: the agent class, or ``"module:Class"`` to import it lazily.
        environment: the default environment id; any compatible gymnasium id can replace it.
        settings: the system's agent settings (zoo-style hyper-parameters) over the agent
            class's defaults.
    """

    label = "reinforcement learning"
    options = COMMON_OPTIONS | {"steps", "eval_every", "environment", "learning_rate"}

    def __init__(self, agent: type | str, environment: str, settings: Mapping[str, Any] = ()):
        self._agent = agent
        self.environment = environment
        self.settings = MappingProxyType(dict(settings))

    @property
    def agent(self) -> type:
        if isinstance(self._agent, str):
            module, name = self._agent.split(":")
            self._agent = getattr(importlib.import_module(module), name)
        return self._agent

    def source(self, spec):
        return self.environment

    def describe(self, spec):
        return {
            **super().describe(spec),
            "agent": f"{self.agent.__module__}.{self.agent.__qualname__}",
            "settings": dict(self.settings),
        }

    def environment_of(self, settings: Mapping[str, Any] | None) -> str:
        return (settings or {}).get("environment") or self.environment

    def builder_args(self, spec, info):
        from fdl_keras.rl.envs import env_shapes

        observation_shape, num_actions = env_shapes(info)
        return {"observation_shape": observation_shape, "num_actions": num_actions}

    def train(self, spec, options):
        from fdl_keras.rl.train import train_system

        return train_system(spec, options)

    def evaluate(self, spec, model, *, settings, limit=None):
        from fdl_keras.rl.train import evaluate_policy

        return evaluate_policy(spec, model, settings=settings, episodes=limit)

    def export_sample(self, spec, model, *, settings=None, size=EXPORT_SAMPLE_SIZE):
        from fdl_keras.rl.contract import example_inputs

        environment = self.environment_of(settings)
        inputs = example_inputs(environment, model, size, seed=(settings or {}).get("seed", 0))
        if isinstance(inputs, (list, tuple)):
            carried = " (the second half from the state carried in from the sequences before)"
            return list(inputs), f"random-policy observations of {environment}{carried}"
        return [inputs], f"random-policy observations of {environment}"

    def example_batch(self, spec, model, size=8):
        return self.export_sample(spec, model, size=size)[0], None

    def contract_step(self, spec, model, x, y):
        from fdl_keras.rl.contract import agent_loss_step

        return agent_loss_step(spec, model).history


# --- Helpers ---------------------------------------------------------------------------------


def make_optimizer(
    spec: ModelSpec, learning_rate: float | None, total_steps: int | None, **config: Any
):
    """The optimizer of ``spec.fit`` at ``learning_rate`` (its default when None), with cosine
    decay over ``total_steps`` when the spec's schedule asks for it; ``config`` (a family's own
    optimizer arguments, e.g. ``clipnorm``) then the spec's ``optimizer_options`` complete it."""
    import keras

    fit = spec.fit
    lr = fit.learning_rate if learning_rate is None else learning_rate
    check_learning_rate(lr)
    schedule = lr
    if fit.schedule == "cosine" and total_steps:
        schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=total_steps)
    elif fit.schedule == "warmup_cosine" and total_steps:
        warm = max(1, int(fit.warmup * total_steps))
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, max(1, total_steps - warm), warmup_target=lr, warmup_steps=warm
        )
    return keras.optimizers.get(
        {
            "class_name": fit.optimizer,
            "config": {**config, **fit.optimizer_options, "learning_rate": schedule},
        }
    )


def device_defaults(
    spec: ModelSpec,
    jit_compile: bool | str = "auto",
    steps_per_execution: int | None = None,
    total_steps: int | None = None,
) -> tuple[bool | str, int]:
    """``(jit_compile, steps_per_execution)`` for ``spec`` on this machine: what the caller
    gave, else the spec's CPU defaults when no GPU/TPU is visible and no distribution strategy
    is in scope (Keras' ``"auto"`` turns XLA off under one), else Keras' ``"auto"``. A run of
    ``total_steps`` below the spec's ``cpu_jit_min_steps`` compiles without XLA."""
    import tensorflow as tf

    fit = spec.fit
    told = jit_compile != "auto" and steps_per_execution is not None
    if told or accelerator_present() or tf.distribute.has_strategy():
        return jit_compile, steps_per_execution or fit.steps_per_execution
    if jit_compile == "auto" and fit.cpu_jit_compile is not None:
        long_enough = total_steps is None or total_steps >= (fit.cpu_jit_min_steps or 0)
        jit_compile = fit.cpu_jit_compile and long_enough
    if steps_per_execution is None:
        steps_per_execution = fit.cpu_steps_per_execution
    return jit_compile, steps_per_execution or fit.steps_per_execution


def asked_compile_options(spec: ModelSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``jit_compile`` / ``steps_per_execution`` of ``options`` (a family's compile
    keywords) with the spec's CPU defaults filled in (:func:`device_defaults`), leaving out
    what stays Keras' default ("auto", one step), so a model's own ``compile`` defaults hold
    (``ncsn`` compiles with XLA)."""
    jit_compile, steps_per_execution = device_defaults(
        spec,
        options.get("jit_compile", "auto"),
        options.get("steps_per_execution"),
        options.get("total_steps"),
    )
    asked: dict[str, Any] = {}
    if jit_compile != "auto":
        asked["jit_compile"] = jit_compile
    if steps_per_execution != 1 or "steps_per_execution" in options:
        asked["steps_per_execution"] = steps_per_execution
    return asked


def accelerator_present() -> bool:
    """True when TensorFlow sees a GPU or TPU."""
    import tensorflow as tf

    return any(d.device_type in ("GPU", "TPU") for d in tf.config.list_physical_devices())


def check_learning_rate(lr: float) -> None:
    if not (lr > 0 and np.isfinite(lr)):
        raise InvalidInputError(f"learning rate must be a finite number > 0, got {lr}")


def check_count(what: str, value: Any) -> int:
    """``value`` as an ``int`` when it is an integer >= 1 (epochs, steps, batch size ...)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidInputError(f"{what} must be an integer >= 1, got {value!r}")
    return int(value)


def outputs_probabilities(model) -> bool:
    """True when the model's first output comes from a softmax or sigmoid (probabilities), False
    for logits, so the loss can set ``from_logits`` from the head."""
    layer = model.outputs[0]._keras_history.operation
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "") in ("softmax", "sigmoid")


def builder_accepts(builder, args: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``args`` that ``builder`` takes as keyword arguments."""
    params = inspect.signature(builder).parameters
    return {k: v for k, v in args.items() if k in params}


def _load_or_standin(name: str, size: int) -> Dataset:
    """``name``'s pipelines, or those of the first available of MNIST and digits when ``name``
    is not on this machine (CIFAR-10 offline)."""
    from fdl_keras.data import first_available, load_dataset
    from fdl_keras.errors import DatasetNotFoundError

    try:
        return load_dataset(name, batch_size=size, limit=8 * size)
    except DatasetNotFoundError:
        standin = first_available("mnist", "digits")[0]
        return load_dataset(standin, batch_size=size, limit=8 * size)


def real_images(name: str, model, size: int, split: str = "test") -> tuple[np.ndarray, str]:
    """``size`` real images of dataset ``name`` (a stand-in when absent) shaped for ``model``'s
    first input: resized (bilinear), grey repeated to RGB, ``None`` sizes filled with the
    data's own size."""
    data = _load_or_standin(name, size)
    images = data.sample_batch(size, split)[0]
    shape = tuple(model.inputs[0].shape[1:])
    images = fit_images(images, shape) if len(shape) == 3 else images
    return images, f"{data.info.name} {split} split"


def fit_images(images, shape: tuple) -> np.ndarray:
    """``images`` resized to ``shape`` (a ``None`` size is kept), channels repeated or averaged."""
    import tensorflow as tf

    height, width, channels = shape
    images = tf.convert_to_tensor(images)
    if images.shape[-1] != channels:
        images = (
            tf.repeat(images, channels, axis=-1)
            if images.shape[-1] == 1
            else tf.reduce_mean(images, axis=-1, keepdims=True)
        )
    size = (height or images.shape[1], width or images.shape[2])
    if tuple(images.shape[1:3]) != size:
        images = tf.image.resize(images, size)
    return images.numpy()


def check_options(spec: ModelSpec, task: Task, given: Mapping[str, Any]) -> None:
    """Refuses, in one line, an option that does not apply to ``spec``'s family."""
    refuse_inapplicable(spec.name, task.label, task.options, given)


def refuse_inapplicable(
    name: str, family: str, options: Collection[str], given: Mapping[str, Any]
) -> None:
    """Refuses, in one line, a ``given`` option (not ``None``) outside ``options``: the check of
    :func:`check_options` on the names alone (``fdl train`` runs it from the static index)."""
    for option, value in given.items():
        if value is not None and option not in options:
            usable = ", ".join(sorted(options))
            raise InvalidInputError(
                f"{name} is a {family} system: {option!r} does not apply to it "
                f"(its options: {usable})"
            )


__all__ = [
    "Classification",
    "FitTask",
    "Generative",
    "Reconstruction",
    "ReinforcementLearning",
    "StyleTransfer",
    "Task",
    "check_count",
    "check_options",
    "noise_sample",
]
