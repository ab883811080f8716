"""Choosing a ``tf.distribute`` strategy by name.

``default`` runs on the one device TensorFlow picks; ``mirrored`` copies the model to every local
GPU; ``tpu`` connects to the TPU host this process runs on; ``multiworker`` is
``MultiWorkerMirroredStrategy`` over the workers ``TF_CONFIG`` lists. Keras 3's ``fit`` fails
under that one (keras-team/keras#20585), so the trainer drives it with its own distributed loop
(:mod:`fdl_keras.training.multiworker`); the others use ``model.fit``. The TF backend's
``keras.distribution`` is a prototype, so these are plain ``tf.distribute`` strategies.
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
        from fdl_keras.training.multiworker import worker_task

        worker_task()  # TF_CONFIG present and well formed, else one line saying what it needs
        communication = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.AUTO
        )
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication)
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
