"""`fdl bench NAME`: train-step, pipeline and three runtimes' latency, as a user runs it."""

import re
import subprocess
import sys


def test_fdl_bench_times_the_step_the_pipeline_and_every_runtime():
    result = subprocess.run(
        [sys.executable, "-m", "fdl_cli", "bench", "mnist_mlp", "--steps", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert float(re.search(r"train step\s+([\d.]+) ms", out).group(1)) > 0
    assert re.search(r"steps/s fed from it [\d.]+ vs from memory [\d.]+ \(ratio [\d.]+\)", out)
    for runtime in ("keras", "saved_model", "onnxruntime"):
        one, sixty_four = map(float, re.search(rf"{runtime}\s+([\d.]+)\s+([\d.]+)", out).groups())
        assert 0 < one and 0 < sixty_four
