"""Copy, repeat-copy and bAbI providers; the memory task's scoring; errors on bad input."""

import numpy as np
import pytest
import tensorflow as tf

import fdl_keras
from fdl_keras.data import load_dataset
from fdl_keras.data.memory_tasks import (
    BITS,
    MAX_REPEATS,
    copy_batch,
    pad_steps,
    padded_length,
    parse_babi,
    to_length_classes,
)
from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
from fdl_keras.memory import MemoryNetwork, models
from fdl_keras.memory.models import babi_task_errors, bit_errors


def test_copy_batch_asks_for_the_sequence_back_after_the_delimiter():
    x, y, w = (t.numpy() for t in copy_batch([1, 2], 3, 5))
    assert x.shape == (3, 11, BITS + 2) and y.shape == (3, 11, BITS) and w.shape == (3, 11)
    np.testing.assert_array_equal(y[:, 6:], x[:, :5, :BITS])  # the bits, written back
    np.testing.assert_array_equal(w, [[0] * 6 + [1] * 5] * 3)
    assert (x[:, 5, BITS] == 1).all() and x[:, 6:].sum() == 0 and x[:, :5, BITS:].sum() == 0
    again = copy_batch([1, 2], 3, 5)[0].numpy()
    np.testing.assert_array_equal(x, again)  # a function of the seed alone


def test_repeat_copy_repeats_and_announces_the_count():
    x, y, w = (t.numpy() for t in copy_batch([0, 0], 2, 3, 4, repeat_task=True))
    assert x.shape[1] == 3 + 1 + 12 and w.sum() == 2 * 12
    np.testing.assert_allclose(x[:, 3, BITS + 1], 4 / MAX_REPEATS)
    np.testing.assert_array_equal(y[:, 4:], np.tile(x[:, :3, :BITS], (1, 4, 1)))


def test_copy_dataset_lengths_and_fresh_epochs():
    data = load_dataset("copy", batch_size=4, limit=16)
    first = [b[0].shape[1] for b in data.train]
    assert len(first) == 4 and all(3 <= t <= 41 and t % 2 == 1 for t in first)
    data.set_epoch(0)
    epoch0 = next(iter(data.train))[0].numpy()
    data.set_epoch(1)
    epoch1 = next(iter(data.train))[0].numpy()
    data.set_epoch(0)
    again = next(iter(data.train))[0].numpy()
    np.testing.assert_array_equal(epoch0, again)  # epoch e's batches are fixed by (seed, e)
    assert epoch0.shape != epoch1.shape or not np.array_equal(epoch0, epoch1)


def test_batches_are_padded_to_a_few_length_classes():
    # multiples of 8 up to 64 steps, then at most 1/8 of padding
    expected = {1: 8, 8: 8, 9: 16, 41: 48, 64: 64, 65: 80, 100: 112, 1149: 1280}
    assert {n: padded_length(n) for n in expected} == expected
    with pytest.raises(InvalidInputError, match="got 0"):
        padded_length(0)
    data = load_dataset("repeat_copy", batch_size=4, limit=256)
    padded = list(to_length_classes(data.validation))  # a fixed split: the same batches again
    lengths = {x.shape[1] for x, _, _ in padded}
    assert lengths <= {8, 16, 24, 32, 40, 48, 56, 64} and len(lengths) > 3
    for (x, y, w), (px, py, pw) in zip(data.validation, padded):  # zeros after the real steps
        steps = x.shape[1]
        assert px.shape[1] == padded_length(steps) and not pw[:, steps:].numpy().any()
        for a, b in ((x, px), (y, py), (w, pw)):
            np.testing.assert_array_equal(b[:, :steps], a)
            assert not b[:, steps:].numpy().any()
    data = load_dataset("babi", batch_size=32)
    lengths = [x.shape[1] for x, _, _ in to_length_classes(data.train)]
    assert all(n == padded_length(n) for n in lengths)
    assert len(set(lengths)) <= 20 < len(lengths)  # 177 batches of 65 lengths: 18 classes


def test_models_compiled_with_xla_train_on_length_classes():
    spec = fdl_keras.get_spec("ntm_copy")
    data = load_dataset("copy", batch_size=4, limit=64)
    model = spec.build(**spec.tiny)
    for jit, expected in ((True, {8, 16, 24, 32, 40, 48}), (False, set(range(3, 42, 2)))):
        spec.compile(model, jit_compile=jit)
        splits = spec.pairs(model, data)
        lengths = {x.shape[1] for split in splits for x, _, _ in split}
        assert lengths <= expected and len(lengths) > 2


@pytest.mark.parametrize("core, objective", [("ntm", "bits"), ("lstm", "answers")])
def test_padding_changes_neither_the_loss_nor_its_gradient(core, objective):
    """The networks are causal and the loss averages over the weighted steps only."""
    spec = fdl_keras.get_spec({"bits": "ntm_copy", "answers": "lstm_babi"}[objective])
    model = spec.build(**spec.tiny)
    if objective == "bits":
        batch = copy_batch([3, 4], 2, 5)
    else:
        data = load_dataset("babi", batch_size=2, limit=8)
        x, y, w = next(iter(data.train))
        real = int(np.flatnonzero(x.numpy().any(0))[-1]) + 1
        batch = (x[:, :real], y[:, :real], w[:, :real])
    loss_fn = models.MemoryTask(objective).loss(model)

    def loss_and_gradient(x, y, w):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True), sample_weight=w)
        gradient = tape.gradient(loss, model.trainable_weights)
        return loss.numpy(), [tf.convert_to_tensor(g).numpy() for g in gradient]

    steps = int(batch[2].shape[1])
    loss, gradient = loss_and_gradient(*batch)
    padded_loss, padded_gradient = loss_and_gradient(*pad_steps(batch, steps + 13))
    np.testing.assert_allclose(padded_loss, loss, rtol=1e-6)
    for a, b in zip(padded_gradient, gradient):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert np.isfinite(loss) and loss > 0


def test_babi_has_all_twenty_tasks_with_answers_at_the_markers():
    data = load_dataset("babi", batch_size=32)
    assert data.info.num_test == 20 * 1000  # 1,000 test questions per task
    x, y = data.arrays["test"]
    w, tasks = data.arrays["test_weights"], data.arrays["test_tasks"]
    assert sorted(set(tasks)) == list(range(1, 21))
    vocabulary = data.info.vocabulary
    marker = vocabulary.index("-")
    np.testing.assert_array_equal(w > 0, x == marker)  # loss only at the answer markers
    assert (y[w == 0] == 0).all() and (y[w > 0] > 1).all()
    words = " ".join(vocabulary[i] for i in x[0][x[0] > 0][:8])
    assert words == "john travelled to the hallway mary journeyed to"
    assert vocabulary[y[0][w[0] > 0][0]] == "hallway"
    xb, yb, wb = next(iter(data.train))
    assert xb.shape == yb.shape == wb.shape and wb.numpy().sum() > 0


def test_per_task_error_of_an_oracle_is_zero_and_of_a_constant_is_high(monkeypatch):
    data = load_dataset("babi", batch_size=32, limit=200)
    x, y = data.arrays["test"]
    answers = {np.trim_zeros(row, "b").tobytes(): target for row, target in zip(x, y)}

    def oracle(model):  # the right answer everywhere
        def predict(rows):
            return np.stack(
                [np.eye(176)[answers[np.trim_zeros(r, "b").tobytes()][: len(r)]] for r in rows]
            )

        return lambda rows: tf.constant(predict(rows))

    monkeypatch.setattr(models, "predictor", oracle)
    errors = babi_task_errors(None, data)
    assert set(errors) == set(range(1, 21)) and max(errors.values()) == 0.0
    monkeypatch.undo()
    model = MemoryNetwork("lstm", vocab_size=176, output_dim=176, units=4, embedding_dim=4)
    assert np.mean(list(babi_task_errors(model, data).values())) > 0.5  # untrained


def test_bit_errors_counts_wrong_bits_per_sequence():
    batch = tuple(t.numpy() for t in copy_batch([3, 3], 4, 6))
    model = MemoryNetwork("lstm", units=4)
    errors = bit_errors(model, [batch])
    assert 0 < errors <= 6 * BITS
    # All-wrong logits (the opposite of every target bit) count every answer bit.

    class Opposite:
        inputs = model.inputs

        def __call__(self, x, training=False):
            return 1.0 - 2.0 * batch[1]

    assert bit_errors(Opposite(), [batch]) == 6 * BITS


def test_corrupt_and_missing_babi_raise_one_line_errors(tmp_path, monkeypatch):
    bad = tmp_path / "qa1_bad_train.txt"
    bad.write_text("1 Mary moved.\nWhere is Mary?\n")
    with pytest.raises(InvalidInputError, match="qa1_bad_train.txt:2: not a bAbI line"):
        parse_babi(bad, 1)
    bad.write_text("1 Mary moved.\n2 Where is Mary?\t\t1\n")
    with pytest.raises(InvalidInputError, match="a question without an answer"):
        parse_babi(bad, 1)
    monkeypatch.setenv("FDL_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="bAbI tasks .* not found") as err:
        load_dataset("babi")
    assert "\n" not in str(err.value)
    folder = tmp_path / "babi" / "tasks_1-20_v1-2" / "en"
    folder.mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="task 1's train file .* is missing"):
        load_dataset("babi")


def test_bad_model_arguments_raise():
    with pytest.raises(InvalidInputError, match="core must be one of ntm, dnc, lstm"):
        MemoryNetwork("gru")
    with pytest.raises(InvalidInputError, match="units must be >= 1"):
        fdl_keras.build("ntm_copy", units=0)
