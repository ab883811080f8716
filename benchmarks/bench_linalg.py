"""Speed benchmark: vectorised TensorFlow matmul against a Python triple loop (chapter 1).

Usage (from the repository root):
    python benchmarks/bench_linalg.py [--sizes 128 256] [--repeats 3]

Both sides multiply the same float64 n x n matrices; the loop side works on Python lists (the
textbook ``c[i][j] += a[i][k] * b[k][j]``), the TF side calls ``fdl_keras.fundamentals.linalg
.matmul`` (``tf.linalg.matmul`` plus the shape check). Each figure is the median of the repeats;
the results are checked to agree. Prints one markdown table row per size.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fdl_keras.fundamentals import linalg  # noqa: E402


def loop_matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    """``C = A B`` with three nested Python loops (i-k-j order, the fastest pure-Python one)."""
    n, inner, p = len(a), len(b), len(b[0])
    c = [[0.0] * p for _ in range(n)]
    for i in range(n):
        row_c, row_a = c[i], a[i]
        for k in range(inner):
            a_ik, row_b = row_a[k], b[k]
            for j in range(p):
                row_c[j] += a_ik * row_b[j]
    return c


def cpu_name() -> str:
    """``platform.processor()``, or the model name Linux reports when that is empty."""
    name = platform.processor()
    if not name and os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            name = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), ""
            )
    return name or platform.machine()


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the Python loop")
    parser.add_argument("--tf-repeats", type=int, default=50, help="repeats of the TF matmul")
    args = parser.parse_args()

    machine = f"{cpu_name()} ({platform.machine()}), {os.cpu_count()} cores"
    command = "python " + " ".join(sys.argv)
    rng = np.random.default_rng(0)
    print(
        f"TensorFlow {tf.__version__}, Python {platform.python_version()}; medians of "
        f"{args.repeats} (loop) and {args.tf_repeats} (TF) runs"
    )
    print("| n | dtype | Python loop | TF matmul | speed-up | machine | command |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        a, b = rng.normal(size=(n, n)), rng.normal(size=(n, n))
        a_tf, b_tf = tf.constant(a), tf.constant(b)
        a_list, b_list = a.tolist(), b.tolist()

        linalg.matmul(a_tf, b_tf)  # warm-up: kernel selection, thread pool start
        np.testing.assert_allclose(
            np.array(loop_matmul(a_list, b_list)), linalg.matmul(a_tf, b_tf).numpy(), atol=1e-9
        )
        t_loop = median_seconds(lambda a=a_list, b=b_list: loop_matmul(a, b), args.repeats)
        # .numpy() waits for the result, so the timing covers the whole product.
        t_tf = median_seconds(lambda a=a_tf, b=b_tf: linalg.matmul(a, b).numpy(), args.tf_repeats)
        print(
            f"| {n}x{n} | float64 | {t_loop * 1e3:.1f} ms | {t_tf * 1e3:.3f} ms "
            f"| {t_loop / t_tf:,.0f}x | {machine} | `{command}` |",
            flush=True,
        )


if __name__ == "__main__":
    main()
