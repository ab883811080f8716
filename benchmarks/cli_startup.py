"""How long ``fdl`` takes before it does anything, against ``import tensorflow`` in the same run.

Times (median of ``--repeats``, default 5) ``fdl list``, ``fdl --help``, ``fdl train mnist_cnm``
(an unknown name: a one-line error), ``fdl info mnist_cnn``, and as references
``python -c "import tensorflow"`` and ``python -c "import fdl_keras"``. Prints a Markdown table:
median seconds, the ratio to ``import tensorflow``, the exit code and the stderr lines of the
command (TensorFlow's start-up log would show up there). Commands alternate within each round
so a change in the machine's load hits them all alike.

    python benchmarks/cli_startup.py

Goal: ``fdl list`` <= 1.5 s and no TensorFlow log lines on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

FDL = [sys.executable, "-m", "fdl_cli"]
COMMANDS = [
    ("`fdl list`", [*FDL, "list"]),
    ("`fdl --help`", [*FDL, "--help"]),
    ("`fdl train mnist_cnm` (unknown name)", [*FDL, "train", "mnist_cnm"]),
    ("`fdl info mnist_cnn`", [*FDL, "info", "mnist_cnn"]),
    ('`python -c "import tensorflow"`', [sys.executable, "-c", "import tensorflow"]),
    ('`python -c "import fdl_keras"`', [sys.executable, "-c", "import fdl_keras"]),
]
REFERENCE = '`python -c "import tensorflow"`'
#: TensorFlow's start-up lines: absl's (I0000 00:00:... file.cc:N]) and the notes around them.
TF_LOG = re.compile(r"^[IWEF]\d{4} |absl::|oneDNN|cuda|rebuild TensorFlow|tensorflow/")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user has it
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    result: dict[str, subprocess.CompletedProcess] = {}
    load_before = load()
    for _ in range(args.repeats):
        for label, command in COMMANDS:
            start = time.perf_counter()
            proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
            times[label].append(time.perf_counter() - start)
            result[label] = proc
    load_after = load()
    reference = statistics.median(times[REFERENCE])
    print(f"load average (1, 5, 15 min): {load_before} before, {load_after} after; "
          f"{os.cpu_count()} CPUs; median of {args.repeats}")  # fmt: skip
    print()
    print(
        "| command | median s | min-max s | / import tensorflow | exit | stderr lines "
        "| of them TensorFlow log |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, _ in COMMANDS:
        median = statistics.median(times[label])
        proc = result[label]
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        tf_lines = sum(bool(TF_LOG.search(x)) for x in lines)
        print(
            f"| {label} | {median:.2f} | {min(times[label]):.2f}-{max(times[label]):.2f} | "
            f"{median / reference:.2f} | {proc.returncode} | {len(lines)} | {tf_lines} |"
        )
    print()
    for label, _ in COMMANDS:
        lines = [x for x in result[label].stderr.splitlines() if x.strip()]
        for line in lines[:5]:
            print(f"stderr of {label}: {line[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
