"""`fdl bench NAME`: train-step, pipeline and each runtime's latency, as a user runs it."""

import re
import subprocess
import sys

import pytest

from fdl_keras.errors import InvalidInputError


def test_fdl_bench_times_the_step_the_pipeline_and_every_runtime():
    pytest.importorskip(
        "onnxruntime_ep_openvino", reason="the OpenVINO plugin (fdl_keras[openvino]) is absent"
    )
    result = subprocess.run(
        [sys.executable, "-m", "fdl_cli", "bench", "mnist_mlp", "--steps", "3", "--openvino"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "mnist_mlp (classification), batch 128, training in float32" in out
    assert float(re.search(r"train step\s+([\d.]+) ms", out).group(1)) > 0
    assert re.search(r"steps/s fed from it [\d.]+ vs from memory [\d.]+ \(ratio [\d.]+\)", out)
    for runtime in ("keras", "saved_model", "onnxruntime", "onnxruntime_openvino"):
        one, sixty_four = map(float, re.search(rf"{runtime}\s+([\d.]+)\s+([\d.]+)", out).groups())
        assert 0 < one and 0 < sixty_four
    diff = re.search(r"onnxruntime_openvino's largest difference from Keras: (\S+)", out).group(1)
    assert float(diff) <= 1e-5  # float32 held on OpenVINO too


def test_fdl_bench_times_a_16_bit_step_and_refuses_it_where_training_is_float32_only():
    from fdl_keras.bench import bench, format_bench

    result = bench("mnist_mlp", steps=3, precision="mixed_bfloat16")
    assert result["precision"] == "mixed_bfloat16" and result["train_step_ms"] > 0
    assert "training in mixed_bfloat16" in format_bench(result)
    assert result["onnxruntime_ms_batch1"] > 0  # the float32 model a run saves, exported
    with pytest.raises(InvalidInputError, match="'precision' does not apply to it"):
        bench("ppo_cartpole", precision="mixed_float16")
