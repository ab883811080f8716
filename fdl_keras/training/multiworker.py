"""Multi-worker data parallelism for ``fit`` systems (``MultiWorkerMirroredStrategy``).

Keras 3's ``model.fit`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585: its
loop cannot reduce a ``PerReplica`` value across workers). :func:`distributed_fit` is the same
loop with the reduction done here: every step runs the model's **own** ``train_step`` (its loss,
optimizer, metrics, a GAN's or VAE's custom step alike) with ``strategy.run``; Keras scales the
loss by the number of replicas and the optimizer all-reduces (sums) the gradients, so each step
equals one step on the global batch. The logs are averaged over the workers and drive the same
Keras callbacks as ``fit`` (history log, epoch backup, divergence guard, progress).

Workers come from ``TF_CONFIG`` (``{"cluster": {"worker": ["host:port", ...]}, "task": {"type":
"worker", "index": i}}``); worker 0 is the chief. Data: every worker reads the same pipeline of
**global** batches (``--batch-size`` is the global batch) and keeps its contiguous slice of each
(auto-sharding is set OFF explicitly, so no file or element sharding happens behind the
scenes); with a global batch divisible by the number of workers this is exactly single-process
training on the same batches. The chief writes the run directory; worker ``i`` writes its own
``<run_dir>.worker-i`` (same files, same weights), and every worker resumes from the chief's
epoch backup, so a run whose worker died resumes when all workers are started again. The run
directory must be on storage every worker sees (one host, or a shared file system).

The same loop trains single-process runs whose pipeline has no stated length: Keras' ``fit``
takes one extra optimizer step per epoch on those (the exhausted iterator still advances the
optimizer's step count, which Adam's bias correction and the schedule read).

TPUs use ``--strategy tpu`` (``TPUStrategy``, which works with ``model.fit``); it cannot run on
this machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fdl_keras.errors import InvalidInputError


def worker_task() -> tuple[int, int]:
    """``(index, number of workers)`` of this process, from ``TF_CONFIG``.

    Raises:
        InvalidInputError: ``TF_CONFIG`` is missing, not JSON, or has no worker list/index.
    """
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        raise InvalidInputError(
            'strategy \'multiworker\' needs TF_CONFIG, e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\' '
            "on every worker (see README, 'Training on several machines')"
        )
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        index = int(config["task"]["index"])
        if config["task"].get("type", "worker") not in ("worker", "chief"):
            raise ValueError(f"task type {config['task']['type']!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"TF_CONFIG is not a worker cluster spec ({type(exc).__name__}: {exc}); it needs "
            '{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}'
        ) from None
    if not 0 <= index < len(workers):
        raise InvalidInputError(
            f"TF_CONFIG task index {index} is outside the {len(workers)} workers listed"
        )
    return index, len(workers)


def worker_run_dir(run_dir: Path, index: int) -> Path:
    """Where worker ``index`` writes: the run dir for the chief, ``<run_dir>.worker-i`` else."""
    return run_dir if index == 0 else run_dir.with_name(f"{run_dir.name}.worker-{index}")


def distribute(strategy, dataset, weigh_slices: bool = True):
    """``dataset`` (global batches) as a distributed dataset: replica ``r`` of ``R`` gets the
    ``r``-th contiguous slice of every batch. Auto-sharding is OFF (set explicitly).

    With ``weigh_slices`` and more than one replica, ``(x, y)`` slices get sample weights of
    their share of the batch (see below); a model with its own ``train_step`` that takes
    ``(x, y)`` only gets plain slices (an uneven last batch then weighs its examples slightly
    differently from one process)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    dataset = dataset.with_options(options)

    def replica_slice(context: tf.distribute.InputContext):
        count, index = context.num_input_pipelines, context.input_pipeline_id

        def take(*batch):
            size = tf.shape(tf.nest.flatten(batch)[0])[0]
            start, stop = index * size // count, (index + 1) * size // count
            part = tf.nest.map_structure(lambda t: t[start:stop], batch)
            if not weigh_slices or count == 1 or len(part) not in (2, 3):
                return part[0] if len(part) == 1 else part
            # Keras divides each replica's mean loss by the replica count; a short last batch
            # splits unevenly, so weight each slice by its share to get the global batch's mean.
            share = tf.cast(count * (stop - start), tf.float32) / tf.cast(size, tf.float32)
            weight = tf.fill([stop - start], share)
            if len(part) == 3:
                weight = weight * tf.cast(part[2], tf.float32)
            return part[0], part[1], weight

        return dataset.map(take)

    return strategy.distribute_datasets_from_function(replica_slice)


def _run_steps(strategy, model, dataset, step_name: str, on_batch=None) -> dict[str, float]:
    """Runs ``model.<step_name>`` on every batch of ``dataset`` with ``strategy.run``; returns
    the running logs over all workers (metric states are summed across replicas on read)."""
    import keras
    import tensorflow as tf

    step = getattr(model, step_name)
    # Keras' own steps take (x, y, sample_weight); a model's own step may take (x, y) only.
    default_step = getattr(type(model), step_name) is getattr(keras.Model, step_name)

    @tf.function
    def distributed_step(batch):
        return strategy.run(step, args=(batch,))

    logs: dict[str, float] = {}
    for index, batch in enumerate(distribute(strategy, dataset, weigh_slices=default_step)):
        if on_batch is not None:
            on_batch(index, None)
        distributed_step(batch)
        logs = {k: float(v) for k, v in model.get_metrics_result().items()}
        if on_batch is not None:
            on_batch(index, logs)
            if model.stop_training:
                break
    return logs


def distributed_evaluate(strategy, model, dataset) -> dict[str, float]:
    """``model.evaluate(dataset, return_dict=True)`` under a multi-worker strategy."""
    model.reset_metrics()
    return _run_steps(strategy, model, dataset, "test_step")


def distributed_fit(
    strategy,
    model,
    train,
    *,
    validation=None,
    epochs: int,
    initial_epoch: int = 0,
    callbacks: list | None = None,
    verbose: int | str = "auto",
):
    """``model.fit(train, validation_data=validation, ...)`` under ``MultiWorkerMirroredStrategy``
    (see the module docstring); returns the Keras ``History``."""
    import keras

    steps = int(train.cardinality()) if int(train.cardinality()) > 0 else None
    callback_list = keras.callbacks.CallbackList(
        callbacks or [],
        add_history=True,
        add_progbar=verbose not in (0, "0"),
        model=model,
        verbose=1 if verbose == "auto" else verbose,
        epochs=epochs,
        steps=steps,
    )
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)

        def on_batch(index, logs):
            if logs is None:
                callback_list.on_train_batch_begin(index)
            else:
                callback_list.on_train_batch_end(index, logs)

        logs = _run_steps(strategy, model, train, "train_step", on_batch)
        if validation is not None and not model.stop_training:
            val_logs = distributed_evaluate(strategy, model, validation)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return model.history
