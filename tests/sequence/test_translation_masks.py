"""Masks of both translation models: padding never changes an output, a future target token
never changes a past position's logits, and the one-step decoder reproduces teacher forcing."""

import numpy as np
import pytest

import fdl_keras
from fdl_keras.sequence.decoding import keras_runtime

NAMES = ["seq2seq_attention_fr_en", "transformer_fr_en"]
SOURCE = np.array([[11, 25, 37, 3, 0], [41, 3, 0, 0, 0]], np.int32)
TARGET = np.array([[2, 14, 15, 16, 17], [2, 18, 19, 0, 0]], np.int32)


@pytest.fixture(scope="module", params=NAMES)
def model(request):
    import keras

    keras.utils.set_random_seed(0)
    spec = fdl_keras.get_spec(request.param)
    return spec.build(**{**spec.tiny, "source_vocab_size": 60, "target_vocab_size": 50})


def logits(model, source, target):
    return np.asarray(model([source, target], training=False))


def test_padding_never_changes_an_output(model):
    reference = logits(model, SOURCE, TARGET)
    padded = logits(model, np.pad(SOURCE, ((0, 0), (0, 6))), np.pad(TARGET, ((0, 0), (0, 3))))
    np.testing.assert_allclose(padded[:, :5], reference, atol=1e-5)
    # The second sentence alone, without the first one's longer padding, gives its logits too.
    alone = logits(model, SOURCE[1:, :2], TARGET[1:, :3])
    np.testing.assert_allclose(alone[0], reference[1, :3], atol=1e-5)


def test_a_future_position_never_changes_a_past_one(model):
    reference = logits(model, SOURCE, TARGET)
    for k in range(1, TARGET.shape[1]):
        changed = TARGET.copy()
        changed[:, k:] = np.random.default_rng(k).integers(4, 50, size=changed[:, k:].shape)
        out = logits(model, SOURCE, changed)
        np.testing.assert_allclose(out[:, :k], reference[:, :k], atol=1e-6)
        assert not np.allclose(out[:, k:], reference[:, k:], atol=1e-4)  # the future does move


def test_one_step_decoder_reproduces_teacher_forcing(model):
    reference = logits(model, SOURCE, TARGET)
    runtime = keras_runtime(model)
    state = runtime.start(SOURCE)
    for index in range(TARGET.shape[1]):
        step, attention, state = runtime.advance(state, TARGET[:, index : index + 1], index)
        np.testing.assert_allclose(step, reference[:, index], atol=1e-5)
        np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)
        assert (attention[SOURCE == 0] == 0).all()  # no attention on padding
