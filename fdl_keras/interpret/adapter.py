"""A scikit-learn estimator around any trained Keras classifier of the package.

``sklearn.inspection.permutation_importance``, ``partial_dependence`` and
``PartialDependenceDisplay`` take a fitted scikit-learn estimator; :class:`KerasClassifier`
is one, answering ``predict``/``predict_proba``/``score`` with the Keras model. Inputs are
2-D ``(examples, features)`` as scikit-learn expects and are reshaped to the model's input
(an image model is explained pixel by pixel). It never trains: ``fit`` only records the classes.
Reference: Breiman 2001 (permutation importance); Friedman, "Greedy function approximation: a
gradient boosting machine", Ann. Statist. 2001 (partial dependence).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from fdl_keras.errors import InvalidInputError

PREDICT_BATCH = 1024


def predict_probabilities(model, batch_size: int = PREDICT_BATCH) -> Callable:
    """``f(x) -> class probabilities`` for a Keras classifier (softmax applied to logits)."""
    from fdl_keras.tasks import outputs_probabilities

    probabilities = outputs_probabilities(model)
    shape = tuple(model.inputs[0].shape[1:])
    dtype = model.inputs[0].dtype

    def f(x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != int(np.prod(shape)):
            raise InvalidInputError(
                f"inputs of shape {x.shape} do not fit {model.name}'s input {shape}; pass one "
                "row per example with that many values"
            )
        x = x.reshape((len(x), *shape)).astype(dtype)
        out = [
            np.asarray(model(x[i : i + batch_size], training=False))
            for i in range(0, len(x), batch_size)
        ] or [np.zeros((0, model.outputs[0].shape[-1]), np.float32)]
        out = np.concatenate(out).astype(np.float64)
        if not probabilities:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        return out

    return f


class KerasClassifier(ClassifierMixin, BaseEstimator):
    """A trained Keras classifier as a fitted scikit-learn classifier.

    Args:
        model: a Keras classifier (softmax or logits head).
        batch_size: examples per forward pass.

    Example:
        >>> from sklearn.inspection import permutation_importance
        >>> est = KerasClassifier(model).fit(x_test, y_test)  # records the classes only
        >>> permutation_importance(est, x_test, y_test, n_repeats=5).importances_mean
    """

    def __init__(self, model=None, batch_size: int = PREDICT_BATCH):
        self.model = model
        self.batch_size = batch_size

    def fit(self, x=None, y=None) -> KerasClassifier:
        """Records ``classes_`` (0..num_classes-1); the Keras model is already trained."""
        if self.model is None:
            raise InvalidInputError("KerasClassifier needs a trained Keras model: pass model=")
        self.classes_ = np.arange(self.model.outputs[0].shape[-1])
        self.n_features_in_ = int(np.prod(self.model.inputs[0].shape[1:]))
        self._f = predict_probabilities(self.model, self.batch_size)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "classes_")

    def predict_proba(self, x) -> np.ndarray:
        if not hasattr(self, "_f"):
            self.fit()
        return self._f(x)

    def predict(self, x) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


def permutation_importance(model, x, y, *, n_repeats: int = 10, seed: int = 0):
    """``sklearn.inspection.permutation_importance`` of a Keras classifier on ``(x, y)``
    (accuracy drop when a feature's column is shuffled)."""
    from sklearn.inspection import permutation_importance as sk_importance

    estimator = KerasClassifier(model).fit()
    return sk_importance(estimator, x, y, n_repeats=n_repeats, random_state=seed)


def partial_dependence(model, x, features, *, grid_resolution: int = 20):
    """``sklearn.inspection.partial_dependence`` of a Keras classifier (average probability of
    the positive class — the last one — as ``features`` sweep a grid)."""
    from sklearn.inspection import partial_dependence as sk_dependence

    estimator = KerasClassifier(model).fit()
    return sk_dependence(
        estimator, x, features, grid_resolution=grid_resolution, response_method="predict_proba"
    )


def plot_partial_dependence(model, x, features, *, feature_names=None, ax=None, **kwargs):
    """``PartialDependenceDisplay.from_estimator`` for a Keras classifier (the usual plot,
    with per-example ICE lines when ``kind="both"``)."""
    from sklearn.inspection import PartialDependenceDisplay

    estimator = KerasClassifier(model).fit()
    return PartialDependenceDisplay.from_estimator(
        estimator, x, features, feature_names=feature_names, ax=ax, **kwargs
    )
