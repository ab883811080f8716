"""Choosing a ``tf.distribute`` strategy by name.

``default`` runs on the one device TensorFlow picks; ``mirrored`` copies the model to every local
GPU; ``tpu`` connects to the TPU host this process runs on. ``multiworker`` is recognised but
refused: Keras 3's ``fit`` fails under ``MultiWorkerMirroredStrategy`` (checked with two local
workers on TF 2.21 / Keras 3.15; keras-team/keras#20585). The TF backend's
``keras.distribution`` is a prototype, so these are plain ``tf.distribute`` strategies used with
``model.fit``.
"""

from __future__ import annotations

from fdl_keras.config import STRATEGIES
from fdl_keras.errors import InvalidInputError

__all__ = ["STRATEGIES", "get_strategy"]


def get_strategy(name: str = "default"):
    """Returns the ``tf.distribute.Strategy`` called ``name`` (see module docstring)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        # Keras 3's fit cannot reduce values across workers under this strategy: with two local
        # workers (TF 2.21, Keras 3.15) the first step fails converting a PerReplica value
        # (keras-team/keras#20585). Fail early and clearly instead of deep inside fit.
        raise InvalidInputError(
            "strategy 'multiworker' is not supported by Keras 3's model.fit "
            "(keras-team/keras#20585); use 'mirrored' for all GPUs of one host"
        )
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.NotFoundError) as exc:
            raise InvalidInputError(
                f"strategy 'tpu' found no TPU ({exc}); run on a TPU host or use --strategy default"
            ) from None
        return tf.distribute.TPUStrategy(resolver)
    raise InvalidInputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
