"""Interpretable baselines beside a Keras MLP on a tabular set (chapter 11).

A decision tree, a random forest and a logistic regression (scikit-learn) are models whose
reasoning can be read off directly: the tree's splits and impurity importances, the forest's
averaged importances, the regression's standardised coefficients. :class:`TabularMLP` is the
opaque model they stand beside; the explanation methods of this package (permutation
importance, partial dependence, LIME, SHAP) are then asked to recover what the baselines show.
Reference: Buduma, Buduma & Papa, *Fundamentals of Deep Learning* (2nd ed.), ch. 11;
Breiman, "Random Forests", Machine Learning 2001.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from fdl_keras.layers import classification_head
from fdl_keras.registry import FitConfig, Target, register
from fdl_keras.serialization import ConfigModel, serializable
from fdl_keras.tasks import Classification


@register(
    "tabular_mlp",
    chapter=11,
    dataset="breast_cancer",
    task=Classification(input_arg="input_shape"),
    target=Target("accuracy", 0.95, "breast_cancer", "logistic regression 97-98%"),
    fit=FitConfig(
        epochs=40,
        learning_rate=1e-3,
        batch_size=32,
        cpu_steps_per_execution=8,  # 2.2x the step rate on a CPU (benchmarks/cpu_defaults.py)
    ),
    tiny={"hidden_units": (16,), "dropout": 0.0},
)
@serializable
class TabularMLP(ConfigModel):
    """A feed-forward classifier for standardised tabular features (ReLU, dropout, softmax).

    Args:
        input_shape: ``(num_features,)``.
        num_classes: output classes.
        hidden_units: width of each hidden layer.
        dropout: dropout rate after each hidden layer.
        output_activation: ``"softmax"`` for probabilities, ``None`` for logits.

    Example:
        >>> TabularMLP(input_shape=(8,), num_classes=2).output_shape
        (None, 2)
    """

    def __init__(
        self,
        input_shape: tuple[int, ...] = (30,),
        num_classes: int = 2,
        hidden_units: tuple[int, ...] = (64, 32),
        dropout: float = 0.1,
        output_activation: str | None = "softmax",
        **kwargs,
    ):
        arguments = dict(locals())
        if len(input_shape) != 1 or input_shape[0] < 1:
            raise ValueError(f"input_shape must be (num_features,), got {input_shape}")
        if not hidden_units or min(hidden_units) < 1:
            raise ValueError(f"hidden_units must be positive widths, got {hidden_units}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(input_shape), name="features")
        x = inputs
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i + 1}")(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
        outputs = classification_head(x, num_classes, output_activation)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._remember(arguments)


@dataclass(frozen=True)
class Baseline:
    """A fitted scikit-learn model, its test accuracy and its per-feature importance."""

    name: str
    model: object
    accuracy: float
    importance: np.ndarray  # impurity importance, or |coefficient| for the linear model


def fit_baselines(x_train, y_train, x_test, y_test, *, seed: int = 0) -> dict[str, Baseline]:
    """Fits a depth-4 decision tree, a 200-tree random forest and an L2 logistic regression.

    The regression's importance is its mean absolute coefficient over classes, comparable
    between features because the inputs are standardised.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    models = {
        "decision_tree": DecisionTreeClassifier(max_depth=4, random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1),
        "logistic_regression": LogisticRegression(max_iter=2000),
    }
    fitted = {}
    for name, model in models.items():
        model.fit(x_train, y_train)
        if hasattr(model, "feature_importances_"):
            importance = np.asarray(model.feature_importances_)
        else:
            importance = np.abs(np.asarray(model.coef_)).mean(axis=0)
        fitted[name] = Baseline(name, model, float(model.score(x_test, y_test)), importance)
    return fitted
