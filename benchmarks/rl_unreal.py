"""UNREAL against the same agent without its auxiliary tasks (the conv-LSTM A2C baseline), and
ablations of single auxiliary tasks.

Each variant trains ``unreal_pixel_cartpole`` on ``PixelCartPole-v1`` (2 stacked 40x40 grey
frames, each action repeated for 4 CartPole steps) with the same seed, step budget and
wall-time cap, one after the other; the baseline sets the three auxiliary weights to 0. Records
for each: steps reached, wall time, the mean of the last 50 training episodes every 5k agent
steps (``marks``), the mean of the last 100 at the end, 100 greedy evaluation episodes, the
machine's load average before and after (the CPU is shared), appended as JSON lines to
``benchmarks/out/unreal/results.jsonl``; the learning curves go to
``benchmarks/out/unreal/unreal_vs_a2c_seed<seed>.png``.

Run (in the background, on a shared CPU):
    nice -n 10 python benchmarks/rl_unreal.py --seed 0 --steps 100000 --minutes 6 \
        > benchmarks/out/rl_unreal.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "unreal"
NAME = "unreal_pixel_cartpole"
VARIANTS = {
    "unreal": {},
    "a2c_baseline": {
        "pixel_control_weight": 0.0,
        "reward_prediction_weight": 0.0,
        "value_replay_weight": 0.0,
    },
    "no_value_replay": {"value_replay_weight": 0.0},
    "no_pixel_control": {"pixel_control_weight": 0.0},
    # The paper's asynchronous form: 4 threads with 2 environments each (8 in all, as above).
    "unreal_async": {"num_workers": 4, "num_envs": 2},
}
MARK = 5_000  # agent steps between recorded points of the learning curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300_000, help="step budget of each variant")
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-time cap of each")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="run these variants")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON", help="for both")
    args = parser.parse_args()

    from fdl_keras.rl import train_agent

    shared = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for variant, settings in VARIANTS.items():
        if args.only and variant not in args.only:
            continue
        run_dir = OUT / f"{variant}_seed{args.seed}"
        shutil.rmtree(run_dir, ignore_errors=True)
        load_before = os.getloadavg()
        result = train_agent(
            NAME,
            total_steps=args.steps,
            seed=args.seed,
            run_dir=run_dir,
            time_limit_s=args.minutes * 60,
            verbose=2,
            **{**shared, **settings},
        )
        evaluation = result["agent"].evaluate(100)
        results[variant] = result
        returns, ends = np.asarray(result["episode_returns"]), np.asarray(result["episode_ends"])
        marks = {
            step: round(float(returns[ends <= step][-50:].mean()), 1)
            for step in range(MARK, result["steps"] + 1, MARK)
            if (ends <= step).any()
        }
        record = {
            "variant": variant,
            "name": NAME,
            "env": result["env_id"],
            "seed": args.seed,
            "settings": {**shared, **settings},
            "steps": result["steps"],
            "budget": args.steps,
            "episodes": result["episodes"],
            "train_mean_return_last100": result["mean_return"],
            "marks": marks,
            "solved_at": result["solved_at"],
            "wall_time_s": round(result["wall_time_s"], 1),
            "greedy_eval_mean": float(evaluation.mean()),
            "greedy_eval_std": float(evaluation.std()),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        print(json.dumps(record), flush=True)
        with open(OUT / "results.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
    plot(results, OUT / f"unreal_vs_a2c_seed{args.seed}.png")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for variant, result in results.items():
        returns, ends = np.asarray(result["episode_returns"]), np.asarray(result["episode_ends"])
        window = min(100, len(returns))
        if window:
            mean = np.convolve(returns, np.ones(window) / window, "valid")
            ax.plot(ends[window - 1 :], mean, label=f"{variant} (mean of {window} episodes)")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("training return")
    ax.set_title(f"{NAME} on PixelCartPole-v1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
