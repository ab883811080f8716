"""`fdl bench NAME`: train-step, pipeline and each runtime's latency, as a user runs it."""

import re
import subprocess
import sys

import pytest

from fdl_keras.errors import InvalidInputError


def test_fdl_bench_times_the_step_the_pipeline_and_every_runtime(openvino_offered):
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
    runtimes = ["keras", "saved_model", "onnxruntime"] + ["onnxruntime_openvino"] * openvino_offered
    for runtime in runtimes:
        one, sixty_four = map(float, re.search(rf"{runtime}\s+([\d.]+)\s+([\d.]+)", out).groups())
        assert 0 < one and 0 < sixty_four
    if openvino_offered:
        diff = re.search(r"onnxruntime_openvino's largest difference from Keras: (\S+)", out)
        assert float(diff.group(1)) <= 1e-5  # float32 held on OpenVINO too
    else:  # no plugin, or no device for this CPU: the others are timed, the reason printed
        assert re.search(
            r"onnxruntime_openvino: onnxruntime's OpenVINO provider (is missing|"
            r"offers no device)",
            out,
        ), out
    if sys.platform == "linux":  # the share of CPU time a hypervisor took meanwhile
        steal, idle = map(
            float,
            re.search(r"([\d.]+) % taken by the host \(steal\), ([\d.]+) % idle", out).groups(),
        )
        assert 0 <= steal <= 100 and 0 <= idle <= 100


def test_fdl_bench_times_a_16_bit_step_and_refuses_it_where_training_is_float32_only():
    from fdl_keras.bench import bench, format_bench

    result = bench("mnist_mlp", steps=3, precision="mixed_bfloat16")
    assert result["precision"] == "mixed_bfloat16" and result["train_step_ms"] > 0
    assert "training in mixed_bfloat16" in format_bench(result)
    assert result["onnxruntime_ms_batch1"] > 0  # the float32 model a run saves, exported
    with pytest.raises(InvalidInputError, match="'precision' does not apply to it"):
        bench("ppo_cartpole", precision="mixed_float16")


def test_cpu_share_reads_steal_and_idle_from_proc_stat_and_flags_a_busy_host(tmp_path):
    from fdl_keras.bench import cpu_share, cpu_ticks, format_bench

    def stat(user, idle, iowait, steal):
        path = tmp_path / f"stat-{user}-{steal}"
        path.write_text(f"cpu  {user} 0 10 {idle} {iowait} 0 0 {steal} 0 0\ncpu0 1 2 3 4\n")
        return cpu_ticks(path)

    before = stat(1000, 500, 0, 0)
    assert before == dict(
        user=1000, nice=0, system=10, idle=500, iowait=0, irq=0, softirq=0, steal=0
    )
    share = cpu_share(
        before, stat(1600, 600, 100, 200)
    )  # +600 user, +100 idle, +100 wait, +200 steal
    assert share == pytest.approx({"steal": 0.2, "idle": 0.2, "busy": 0.6})
    assert cpu_ticks(tmp_path / "absent") is None and cpu_share(None, before) is None
    assert cpu_share(before, before) is None  # no time elapsed: no fractions
    (tmp_path / "old").write_text("cpu 5 0 1 7\n")  # an old kernel: fewer columns
    assert cpu_ticks(tmp_path / "old")["steal"] == 0
    (tmp_path / "odd").write_text("intr 1 2\n")  # not the cpu line first, or damaged
    (tmp_path / "damaged").write_text("cpu 5 x 1 7\n")
    assert cpu_ticks(tmp_path / "odd") is None and cpu_ticks(tmp_path / "damaged") is None

    result = {"name": "m", "family": "f", "batch_size": 1, "precision": "float32",
              "train_step_ms": 1.0, "keras_ms_batch1": 1.0, "keras_ms_batch64": 2.0,
              "saved_model_ms_batch1": 1.0, "saved_model_ms_batch64": 2.0}  # fmt: skip
    quiet = format_bench({**result, "cpu_share": {"steal": 0.01, "idle": 0.3, "busy": 0.69}})
    assert "1.0 % taken by the host (steal), 30.0 % idle" in quiet and "inflated" not in quiet
    busy = format_bench({**result, "cpu_share": share})
    assert "20.0 % taken by the host (steal)" in busy and "inflated by it" in busy
    assert "taken by the host" not in format_bench({**result, "cpu_share": None})
