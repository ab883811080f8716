"""Greedy and beam-search decoding: known answers on a hand-made model, and the onnxruntime
loop giving exactly the Keras loop's tokens on tiny translation models."""

import numpy as np
import pytest

import fdl_keras
from fdl_keras.errors import InvalidInputError
from fdl_keras.sequence.decoding import (
    Runner,
    Runtime,
    beam_search,
    greedy,
    keras_runtime,
    length_penalty,
    onnx_runtime,
    translate_ids,
)
from fdl_keras.sequence.subwords import BOS_ID, EOS_ID

A, B, VOCAB = 4, 5, 6


def table_runtime(probabilities):
    """A runtime whose next-token distribution is ``probabilities(last_token, index)``."""

    def encoder(arrays):
        return [np.zeros((len(arrays[0]), arrays[0].shape[1], 1), np.float32)]

    def step(arrays):
        token, index = arrays[0], arrays[1]
        logits = np.full((len(token), VOCAB), -30.0)
        for row, (last, i) in enumerate(zip(token[:, 0], index)):
            for word, p in probabilities(int(last), int(i)).items():
                logits[row, word] = np.log(p)
        return [logits.astype(np.float32), np.zeros((len(token), 1), np.float32)]

    return Runtime(
        Runner(["source_ids"], [(None, None)], encoder),
        Runner(["token", "index", "source_ids", "memory"], [], step),
    )


SOURCE = np.array([[7, 8, EOS_ID]], np.int32)


def test_beam_search_finds_the_likelier_translation_greedy_misses():
    # Greedy takes "a" (0.55) then stops (0.4): p = 0.22. "b" then stop has p = 0.43.
    table = {BOS_ID: {A: 0.55, B: 0.45}, A: {EOS_ID: 0.4, A: 0.3, B: 0.3}, B: {EOS_ID: 0.95}}
    runtime = table_runtime(lambda last, i: table[last])
    assert greedy(runtime, SOURCE) == [[A]]
    assert beam_search(runtime, SOURCE, beam=1) == [A]  # beam 1 is greedy
    assert beam_search(runtime, SOURCE, beam=2) == [B]


@pytest.mark.parametrize("alpha, expected", [(0.0, []), (0.6, [A, A, A])])
def test_length_normalisation_decides_between_short_and_long(alpha, expected):
    # Log-probabilities of the finished hypotheses: stop at once -1.0; "b" -1.10; "a a a"
    # log 0.3 = -1.20. Normalised by lp(1) = 1, lp(2) = 1.097, lp(4) = 1.275 (alpha 0.6) they
    # are -1.0, -1.006, -0.944: the longest wins, the shortest without normalisation.
    def table(last, index):
        if last == BOS_ID:
            return {EOS_ID: np.exp(-1.0), A: 0.3, B: 1 - np.exp(-1.0) - 0.3}
        if last == B or index >= 3:
            return {EOS_ID: 1.0}
        return {A: 1.0}

    assert beam_search(table_runtime(table), SOURCE, beam=3, alpha=alpha) == expected
    assert length_penalty(1) == 1.0 and length_penalty(4) == pytest.approx(1.5**0.6)


def test_bad_beam_is_refused():
    runtime = table_runtime(lambda last, i: {EOS_ID: 1.0})
    with pytest.raises(InvalidInputError, match="beam must be >= 1, got 0"):
        translate_ids(runtime, [[7, 8]], beam=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seq2seq_attention_fr_en", "transformer_fr_en"])
def test_onnx_loop_gives_exactly_the_keras_tokens(name, tmp_path):
    """Tiny random models (weights doubled, so the arg-max is rarely a near tie) on real
    held-out sentences: greedy and beam 3 tokens identical in Keras and onnxruntime."""
    import keras

    from fdl_keras.data import load_dataset
    from fdl_keras.sequence.translate import export_parts

    keras.utils.set_random_seed(1)
    spec = fdl_keras.get_spec(name)
    model = spec.build(**spec.tiny)
    for weight in model.trainable_weights:
        weight.assign(weight * 2.0)
    data = load_dataset("tatoeba_fr_en", limit=256)
    sources = data.ids["test"][0][:12]
    (source, _), _ = data.batch("test", 4)
    export_parts(model, source, tmp_path)
    in_keras, in_onnx = keras_runtime(model), onnx_runtime(tmp_path)
    cap = model.get_config().get("max_length")
    greedy_keras = translate_ids(in_keras, sources, cap=cap)
    assert greedy_keras == translate_ids(in_onnx, sources, cap=cap)
    assert any(len(t) > 2 for t in greedy_keras)  # real decoding, not an immediate stop
    beams = [translate_ids(r, sources[:4], beam=3, cap=cap) for r in (in_keras, in_onnx)]
    assert beams[0] == beams[1]
    one_by_one = translate_ids(in_keras, sources[:4], batch_size=1, cap=cap)
    assert translate_ids(in_keras, sources[:4], beam=1, cap=cap) == one_by_one
