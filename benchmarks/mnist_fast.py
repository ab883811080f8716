"""Fast MNIST recipes: time to 99.0 % (``mnist_fast``) and 99.5 % (``mnist_fast_995``).

Each seed trains the registry entry through the package's trainer (``fdl_keras.train``: the
registered defaults, real MNIST, its validation split, epoch backups) and reads the run's
``metrics.json``: ``wall_time_s`` (``fit``, with its per-epoch validation) and
``evaluate_time_s`` (the 10,000 test images). Data loading and the process start are not
counted; the first epoch includes graph tracing. ``steal`` is the share of CPU time the host
of a virtual machine took meanwhile (``fdl_keras.bench.cpu_share``): times grow with it.

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data, nothing else running):
    python benchmarks/mnist_fast.py                       # both recipes, seeds 0 1 2
    python benchmarks/mnist_fast.py mnist_fast --seeds 0 1 2 3 4
Writes benchmarks/out/mnist_fast.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fdl_keras  # noqa: E402
from fdl_keras.bench import cpu_share, cpu_ticks  # noqa: E402

OUT = Path(__file__).parent / "out"
BUDGET_S = {"mnist_fast": 10.0, "mnist_fast_995": 120.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=["mnist_fast", "mnist_fast_995"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    results = {}
    print("| system | seed | test accuracy | fit s | evaluate s | total s | budget | steal |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.names:
        rows = []
        for seed in args.seeds:
            ticks = cpu_ticks()
            with tempfile.TemporaryDirectory() as tmp:
                fdl_keras.train(name, seed=seed, run_dir=Path(tmp) / "run", verbose=0)
                metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
            total = metrics["wall_time_s"] + metrics["evaluate_time_s"]
            share = cpu_share(ticks, cpu_ticks())  # the host's steal inflates the times
            row = {
                "seed": seed,
                "accuracy": metrics["test"]["accuracy"],
                "fit_s": metrics["wall_time_s"],
                "evaluate_s": metrics["evaluate_time_s"],
                "total_s": total,
                "load_average": os.getloadavg()[0],
                "steal": share and share["steal"],
            }
            rows.append(row)
            print(
                f"| `{name}` | {seed} | {100 * row['accuracy']:.2f} % | {row['fit_s']:.1f} | "
                f"{row['evaluate_s']:.1f} | {total:.1f} | {BUDGET_S.get(name, '-')} s | "
                f"{'-' if share is None else format(100 * row['steal'], '.1f') + ' %'} |",
                flush=True,
            )
        results[name] = {
            "runs": rows,
            "mean_accuracy": statistics.mean(r["accuracy"] for r in rows),
            "min_accuracy": min(r["accuracy"] for r in rows),
            "max_total_s": max(r["total_s"] for r in rows),
            "spec": repr(fdl_keras.get_spec(name).fit),
        }
    OUT.mkdir(exist_ok=True)
    (OUT / "mnist_fast.json").write_text(json.dumps(results, indent=2))
    for name, r in results.items():
        print(
            f"{name}: accuracy mean {100 * r['mean_accuracy']:.2f} %, min "
            f"{100 * r['min_accuracy']:.2f} %, slowest run {r['max_total_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
