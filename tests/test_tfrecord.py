"""TFRecord shards: written from any registered dataset, read back in the same order, sharded
per worker, and refused in one line when damaged."""

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.data import load_dataset
from fdl_keras.data.tfrecord import load_tfrecords, shard_name, worker_shards, write_tfrecords
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
from fdl_keras.registry import get_spec


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tfrecord") / "digits"
    write_tfrecords("digits", directory, shards=3, limit=400, batch_size=64)
    return directory


def test_shards_hold_the_memory_pipeline_in_its_epoch0_order(shards):
    memory = load_dataset("digits", batch_size=64, limit=400, augment=None)
    memory.set_epoch(0)
    disk = load_tfrecords(shards, batch_size=64, shuffle=False)
    assert disk.info.num_train == memory.info.num_train
    assert int(disk.train.cardinality()) == int(memory.train.cardinality())
    for split in ("train", "test"):
        a = [b for b in getattr(memory, split)]
        b = [b for b in getattr(disk, split)]
        assert len(a) == len(b)
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_a_model_trained_from_shards_equals_one_trained_from_memory(shards):
    spec = get_spec("mnist_mlp")
    weights = []
    for source in ("memory", "disk"):
        if source == "memory":
            data = load_dataset("digits", batch_size=64, limit=400, augment=None)
            data.set_epoch(0)
        else:
            data = load_tfrecords(shards, batch_size=64, shuffle=False)
        keras.utils.set_random_seed(0)
        model = spec.build(**spec.builder_args(data.info), dropout=0.0)
        spec.compile(model, learning_rate=1e-3, total_steps=10)
        model.fit(data.train, epochs=1, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_training_from_shards_runs_through_the_trainer_and_resumes_its_order(shards, tmp_path):
    result = fdl_keras.train(
        "mnist_mlp", dataset=f"tfrecord:{shards}", epochs=2, run_dir=tmp_path, verbose=0
    )
    assert result.history["loss"][-1] < result.history["loss"][0]
    data = load_tfrecords(shards, batch_size=64, seed=0)
    orders = []
    for epoch in (1, 1, 2):
        data.set_epoch(epoch)
        orders.append(np.concatenate([y.numpy() for _, y in data.train]))
    np.testing.assert_array_equal(orders[0], orders[1])  # epoch 1 again: the same batches
    assert not np.array_equal(orders[0], orders[2])  # the next epoch: another order


def test_every_worker_reads_its_own_shards():
    files = [shard_name("train", i, 5) for i in range(5)]
    parts = [worker_shards(files, 2, i) for i in range(2)]
    assert sorted(parts[0] + parts[1]) == files and not set(parts[0]) & set(parts[1])
    with pytest.raises(InvalidInputError, match="2 shards cannot feed 3 workers"):
        worker_shards(files[:2], 3, 0)


def test_damaged_or_misused_shards_are_refused_in_one_line(shards, tmp_path):
    with pytest.raises(InvalidInputError, match="exists; pass --overwrite"):
        write_tfrecords("digits", shards, shards=2)
    with pytest.raises(InvalidInputError, match="shards must be an integer >= 1"):
        write_tfrecords("digits", tmp_path / "x", shards=0)
    with pytest.raises(InvalidInputError, match="--limit does not apply to TFRecord"):
        load_dataset(f"tfrecord:{shards}", limit=10)
    with pytest.raises(DatasetNotFoundError, match="dataset.json not found: write TFRecord"):
        load_dataset(f"tfrecord:{tmp_path}")
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in shards.iterdir():
        if f.name != shard_name("test", 1, 3):
            (copy / f.name).write_bytes(f.read_bytes())
    with pytest.raises(DatasetNotFoundError, match=r"test-00001-of-00003.tfrecord is missing"):
        load_dataset(f"tfrecord:{copy}")


def test_a_shard_damaged_after_writing_stops_training_with_one_line_naming_it(
    shards, tmp_path, capsys
):
    from fdl_keras import cli

    copy = tmp_path / "digits"
    copy.mkdir()
    for f in shards.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    damaged = copy / shard_name("train", 1, 3)
    data = bytearray(damaged.read_bytes())
    data[100:140] = bytes(40)  # inside the second record: its checksum no longer matches
    damaged.write_bytes(bytes(data))
    argv = ["train", "mnist_mlp", "--dataset", f"tfrecord:{copy}", "--epochs", "1"]
    rc = cli.main([*argv, "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert f"{damaged} is damaged (corrupted record" in err
    assert f"fdl data to-tfrecord digits {copy} --overwrite" in err
