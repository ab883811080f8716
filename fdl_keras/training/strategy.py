"""Choosing a ``tf.distribute`` strategy by name.

``default`` runs on the one device TensorFlow picks; ``mirrored`` copies the model to every local
GPU; ``multiworker`` trains across the hosts described by ``TF_CONFIG``; ``tpu`` connects to the
TPU host this process runs on. The TF backend's ``keras.distribution`` is a prototype, so these
are plain ``tf.distribute`` strategies used with ``model.fit``.
"""

from __future__ import annotations

import json
import os

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


def get_strategy(name: str = "default"):
    """Returns the ``tf.distribute.Strategy`` called ``name`` (see module docstring)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"]
        except (KeyError, ValueError) as exc:
            raise ValueError(
                "strategy 'multiworker' needs TF_CONFIG with a cluster.worker list and a task "
                f"(see tf.distribute.MultiWorkerMirroredStrategy); problem: {exc!r}"
            ) from None
        if not cluster:
            raise ValueError("TF_CONFIG lists no workers; add host:port entries to cluster.worker")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.NotFoundError) as exc:
            raise ValueError(
                f"strategy 'tpu' found no TPU ({exc}); run on a TPU host or use --strategy default"
            ) from None
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
