"""Mixed precision: one system of each fit family trains under a 16-bit policy (the layers compute
in 16 bits, float16 scales the loss), and the model it saves computes and exports in float32.

Not here: PCA (fitted by an SVD, not trained by steps), the memory networks (refused: their
addressing needs float32) and the reinforcement-learning agents (refused, below)."""

import json
import math
import warnings

import keras
import numpy as np
import pytest

import fdl_keras
from fdl_keras.errors import InvalidInputError
from fdl_keras.registry import get_spec
from fdl_keras.runs import load_model_file
from fdl_keras.tasks import accelerator_present
from fdl_keras.training.precision import FLOAT16_FLAGS, cpu_flags

pytestmark = pytest.mark.slow


class Seen(keras.callbacks.Callback):
    """Records the policy and optimizer the model trains with."""

    def on_train_begin(self, logs=None):
        self.policy = self.model.dtype_policy.name
        self.optimizer = type(self.model.optimizer).__name__
        self.compute = {layer.compute_dtype for layer in self.model._flatten_layers()}


FROM_DATA = ("image_shape", "vocabulary_size", "num_tags")  # the run's data decides these
CASES = [
    ("mnist_mlp", "mixed_float16", {"dataset": "digits"}),  # classification
    ("vae", "mixed_float16", {"dataset": "digits"}),  # generative, own train_step
    ("dcgan", "mixed_bfloat16", {"dataset": "digits"}),  # two optimizers
    ("fast_style_transfer", "mixed_bfloat16", {"vgg_weights": "random"}),  # style, VGG loss
    ("sparse_autoencoder_mnist", "mixed_float16", {}),  # reconstruction, KL regulariser
    ("seq2seq_attention_fr_en", "mixed_float16", {"tiny": False}),  # translation, masked softmax
    ("lstm_sentiment", "mixed_bfloat16", {"tiny": False}),  # text classification
    ("word2vec_brown", "mixed_float16", {"tiny": False, "limit": 2000}),  # word embedding
    ("pos_tagger", "mixed_bfloat16", {}),  # tagging, batch norm over windows
    ("dependency_parser", "mixed_float16", {}),  # transition parsing
    ("rationale_movie_reviews", "mixed_float16", {}),  # rationalisation, own train_step
    ("mnist_fast", "mixed_bfloat16", {"dataset": "digits"}),  # the fast recipe's network
]


@pytest.mark.parametrize("name, precision, options", CASES, ids=[c[0] for c in CASES])
def test_one_system_of_each_family_trains_in_mixed_precision(
    name, precision, options, tmp_path, capsys
):
    options = dict(options)
    tiny = get_spec(name).tiny if options.pop("tiny", True) else {}
    seen = Seen()
    result = fdl_keras.train(
        name,
        precision=precision,
        epochs=1,
        limit=options.pop("limit", 32),
        batch_size=16,
        run_dir=tmp_path,
        verbose=0,
        callbacks=[seen],
        **options,
        **{k: v for k, v in tiny.items() if k not in FROM_DATA},
    )
    half = precision.removeprefix("mixed_")
    assert seen.policy == precision and half in seen.compute
    err = capsys.readouterr().err.splitlines()
    warned = [line for line in err if line.startswith("warning: mixed_float16 on this CPU")]
    # the package's rule: a float16 run warns on a CPU without float16 matrix instructions
    # (an AMX Xeon with avx512_fp16 trains float16 natively and is not warned)
    native_fp16 = bool(cpu_flags() & set(FLOAT16_FLAGS))
    expected = precision == "mixed_float16" and not accelerator_present() and not native_fp16
    assert len(warned) == expected
    if precision == "mixed_float16" and name != "dcgan":
        assert seen.optimizer == "LossScaleOptimizer"
    assert all(math.isfinite(v) for v in result.test_metrics.values())
    assert json.loads((tmp_path / "run.json").read_text())["precision"] == precision
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved = load_model_file(tmp_path / "model.keras")
    # The float32 model keeps what every optimizer learnt (a GAN's two lost theirs, and Keras
    # warned "Skipping variable loading for optimizer" at each load).
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    named = getattr(saved, "optimizer_variables", None)
    for attribute in named() if named is not None else ["optimizer"]:
        optimizer = getattr(saved, attribute, None)
        if optimizer is None:  # not compiled into the file
            continue
        assert int(np.asarray(optimizer.iterations)) >= 1, attribute
        # Adam's moments (plain SGD, word2vec's, has none)
        moments = [v for v in optimizer.variables if v.name not in ("iteration", "learning_rate")]
        assert all(np.any(np.asarray(v)) for v in moments), attribute
    assert saved.dtype_policy.name == "float32"
    assert all(str(t.dtype) == "float32" for t in saved.outputs)
    inputs, _ = get_spec(name).export_sample(saved, settings=None, size=2)
    assert all(np.all(np.isfinite(np.asarray(o))) for o in keras.tree.flatten(saved(inputs)))


def test_float16_on_a_cpu_warns_in_one_line_and_nothing_else_does(monkeypatch):
    from fdl_keras import tasks
    from fdl_keras.training import precision
    from fdl_keras.training.precision import slow_precision_warning

    monkeypatch.setattr(tasks, "accelerator_present", lambda: False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    warning = slow_precision_warning("mixed_float16")
    assert "\n" not in warning
    assert "use --precision mixed_bfloat16 (native here: avx512_bf16) or float32" in warning
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    assert "use float32 (mixed_bfloat16 is native only with" in slow_precision_warning(
        "mixed_float16"
    )
    assert slow_precision_warning("mixed_bfloat16") is None
    assert slow_precision_warning("float32") is None
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_fp16"}))
    assert slow_precision_warning("mixed_float16") is None  # float16 is native there
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset())
    monkeypatch.setattr(tasks, "accelerator_present", lambda: True)  # a GPU: float16 pays
    assert slow_precision_warning("mixed_float16") is None


def test_unknown_precision_and_agents_are_refused_in_one_line(tmp_path):
    with pytest.raises(InvalidInputError, match="unknown precision 'half'; choose one of"):
        fdl_keras.train("mnist_mlp", precision="half", run_dir=tmp_path)
    for name in ("ppo_cartpole", "dnc_babi"):  # agents; memory cells need float32 addressing
        with pytest.raises(InvalidInputError, match="'precision' does not apply"):
            fdl_keras.train(name, precision="mixed_bfloat16", run_dir=tmp_path)
