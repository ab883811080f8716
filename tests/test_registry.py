import pytest

import fdl_keras
from fdl_keras.registry import Target


def test_book_classifiers_are_registered_with_chapter_and_target():
    specs = {s.name: s for s in fdl_keras.list_models()}
    assert specs["mnist_mlp"].chapter == 5 and specs["mnist_cnn"].chapter == 7
    mlp_target = specs["mnist_mlp"].target
    assert mlp_target == Target("accuracy", 0.982, "mnist", mlp_target.reference)
    assert specs["mnist_cnn"].target.value == pytest.approx(0.993)
    assert [s.chapter for s in fdl_keras.list_models()] == sorted(s.chapter for s in specs.values())


def test_unknown_name_lists_closest_names():
    with pytest.raises(fdl_keras.UnknownModelError, match=r"did you mean mnist_cnn") as err:
        fdl_keras.build("mnist_cnm")
    assert "fdl list" in str(err.value)
    assert "\n" not in str(err.value)


def test_build_applies_overrides_and_rejects_unknown_arguments():
    model = fdl_keras.build("mnist_mlp", hidden_units=(32,), dropout=0.0)
    assert model.get_config()["hidden_units"] == (32,)
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10
    with pytest.raises(TypeError, match="has no argument 'hidden'"):
        fdl_keras.build("mnist_mlp", hidden=3)


def test_book_cnn_architecture():
    model = fdl_keras.build("mnist_cnn")
    # conv 5x5x1x32 + conv 5x5x32x64 + dense 3136x1024 + dense 1024x10 (with biases)
    expected = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (3136 * 1024 + 1024) + 10250
    assert model.count_params() == expected
    assert model.get_layer("dropout").rate == 0.5
    assert model.output_shape == (None, 10)
