"""Exported policies play the same episode on onnxruntime as in Keras."""

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="the RL tests need the rl extra: pip install -e '.[rl]'")

from fdl_keras.rl.policy import (  # noqa: E402
    export_policy,
    keras_policy,
    onnx_policy,
    play_episode,
)


def test_onnx_policy_plays_the_keras_episode(ppo_result, tmp_path):
    model = ppo_result["model"]
    report = export_policy(model, tmp_path, "CartPole-v1")
    assert report["passed"] and report["outputs"] == ["logits", "value"]
    in_keras = play_episode(keras_policy(model), "CartPole-v1", seed=5)
    on_onnx = play_episode(onnx_policy(tmp_path / "model.onnx"), "CartPole-v1", seed=5)
    assert len(in_keras["actions"]) > 50  # a trained policy, so the comparison means something
    np.testing.assert_array_equal(on_onnx["actions"], in_keras["actions"])
    assert on_onnx["return"] == in_keras["return"]
