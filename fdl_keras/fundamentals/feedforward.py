"""The feed-forward MNIST classifier of chapters 3-5.

A 784-256-256-10 network of ReLU units with a softmax output, with the chapter 4 regularisers
(dropout, L1/L2 weight penalties, max-norm constraints) as options.
Reference: Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 3-5;
Srivastava et al., "Dropout", JMLR 2014 (dropout and max-norm).
"""

from __future__ import annotations

import keras

from fdl_keras.layers import classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable


@register(
    "mnist_mlp",
    chapter=5,
    dataset="mnist",
    target=Target("accuracy", 0.982, "mnist", "Keras reference MLP 98.40%"),
    # XLA and 16 steps per execution on a CPU (benchmarks/vs_pytorch.py); the divergence guard
    # measures growth from the untrained model's loss (NaNGuard.set_reference). XLA's 3-4 s of
    # compiling a run is repaid from ~1,700 steps on (benchmarks/xla_short_runs.py).
    fit=FitConfig(
        epochs=30,
        learning_rate=1e-3,
        batch_size=128,
        cpu_jit_compile=True,
        cpu_steps_per_execution=16,
        cpu_jit_min_steps=2000,
    ),
    defaults={"dropout": 0.3},
    tiny={"hidden_units": (16, 16)},
)
@serializable
class FeedForwardClassifier(ConfigModel):
    """Feed-forward net (784-256-256-10, ReLU, softmax) with dropout, L1/L2 and max-norm options.

    Args:
        image_shape: shape of one input image; it is flattened.
        num_classes: output classes.
        hidden_units: width of each hidden layer.
        activation: hidden activation.
        dropout: dropout rate after each hidden layer (0 disables it).
        l1: L1 weight penalty on every dense kernel.
        l2: L2 weight penalty on every dense kernel.
        max_norm: max L2 norm of each unit's incoming weights (None disables it).
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> model = FeedForwardClassifier(hidden_units=(64,))
        >>> model.output_shape
        (None, 10)
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (28, 28, 1),
        num_classes: int = 10,
        hidden_units: tuple[int, ...] = (256, 256),
        activation: str = "relu",
        dropout: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        max_norm: float | None = None,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not hidden_units or min(hidden_units) < 1:
            raise ValueError(f"hidden_units must be positive widths, got {hidden_units}")
        regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
        constraint = keras.constraints.MaxNorm(max_norm) if max_norm else None

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(image_shape), name="image")
        x = keras.layers.Flatten(name="flatten")(inputs)
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(
                units,
                activation=activation,
                kernel_regularizer=regularizer,
                kernel_constraint=constraint,
                name=f"hidden_{i + 1}",
            )(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
        outputs = classification_head(
            x,
            num_classes,
            output_activation,
            kernel_regularizer=regularizer,
            kernel_constraint=constraint,
        )
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)
