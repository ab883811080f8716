"""Steps and wall time to solve CartPole-v1 (mean return >= 475 over 100 episodes) per agent.

Two criteria are recorded: ``solved_at``, the environment step at which the mean return of the
last 100 *training* episodes (stochastic or epsilon-greedy policy) first reached 475; and the mean
return of 100 *greedy* evaluation episodes at the end (SB3 zoo style). With ``--eval-every N``
a third: ``eval_solved_at``, the first step at which ``--eval-during-episodes`` greedy episodes,
played every N steps (SB3's EvalCallback), averaged >= 475; the run then stops there instead.
Each run stops when solved, at ``--steps`` or after ``--minutes``. Appends one JSON line per run to
``benchmarks/out/rl/results.jsonl`` and writes the learning curve to ``<name>_seed<seed>.png``.

Run (one at a time, in the background, on a shared CPU):
    nice -n 10 python benchmarks/rl_cartpole.py ppo_cartpole > benchmarks/out/rl_ppo.log 2>&1 &
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

OUT = Path(__file__).resolve().parent / "out" / "rl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="registered RL system, e.g. ppo_cartpole")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="step budget (default: the system's)")
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-time budget")
    parser.add_argument("--env", help="another environment, e.g. FlickeringCartPole-v1")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON", help="agent settings")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--eval-epsilon", type=float, default=0.0, help="0.05 for Atari")
    parser.add_argument("--no-stop", action="store_true", help="run the whole budget")
    parser.add_argument(
        "--eval-every",
        type=int,
        help="greedy evaluations every N steps; the run stops at the first whose mean is >= 475",
    )
    parser.add_argument("--eval-during-episodes", type=int, default=100)
    parser.add_argument("--resume", action="store_true", help="continue the run in out/rl/<tag>")
    args = parser.parse_args()

    from fdl_keras.rl import train_agent

    settings = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    tag = "_".join(
        [args.name]
        + ([args.env.split("-")[0]] if args.env else [])
        + [f"{k}{v}" for k, v in sorted(settings.items()) if k != "network"]
        + [f"seed{args.seed}"]
    )
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        shutil.rmtree(OUT / tag, ignore_errors=True)
    result = train_agent(
        args.name,
        total_steps=args.steps,
        seed=args.seed,
        env_id=args.env,
        run_dir=OUT / tag,
        stop_at_return=None if args.no_stop else 475.0,  # CartPole-v1 solved
        time_limit_s=args.minutes * 60,
        eval_every=args.eval_every,
        eval_episodes=args.eval_during_episodes,
        verbose=2,
        **settings,
    )
    start = time.perf_counter()
    evaluation = result["agent"].evaluate(args.eval_episodes, epsilon=args.eval_epsilon)
    record = {
        "name": args.name,
        "tag": tag,
        "resumed_from": result["resumed_from"],
        "env": result["env_id"],
        "seed": args.seed,
        "settings": settings,
        "steps": result["steps"],
        "budget": result["agent"].total_steps,
        "episodes": result["episodes"],
        "solved_at": result["solved_at"],
        "eval_every": args.eval_every,
        "eval_solved_at": result["eval_solved_at"],
        "evaluations": result["evaluations"],
        "train_mean_return_last100": result["mean_return"],
        "wall_time_s": round(result["wall_time_s"], 1),
        "greedy_eval_mean": float(evaluation.mean()),
        "greedy_eval_std": float(evaluation.std()),
        "eval_epsilon": args.eval_epsilon,
        "eval_time_s": round(time.perf_counter() - start, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(record))
    with open(OUT / "results.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    plot(result, OUT / f"{tag}.png")


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    returns, ends = np.asarray(result["episode_returns"]), np.asarray(result["episode_ends"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(ends, returns, ".", alpha=0.3, label="episode return")
    if len(returns) >= 100:
        ax.plot(ends[99:], np.convolve(returns, np.ones(100) / 100, "valid"), label="mean of 100")
    target = result["agent"].spec.target
    if target is not None and target.dataset == result["env_id"]:
        ax.axhline(target.value, color="grey", ls="--", lw=1, label=f"target {target.value:g}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(f"{result['name']} on {result['env_id']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
