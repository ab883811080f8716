"""Dataset preparation time: what every ``fdl train``, ``evaluate`` and ``export`` of a system
pays in its own process before the first step, against the same code at another commit.

Each timing is a fresh process that imports ``fdl_keras`` from one source tree and loads the
system's dataset as its run does (``load_dataset(spec.dataset, batch_size=spec.fit.batch_size,
seed=0)``, real files under ``FDL_DATA_DIR``). The two trees alternate round by round, and each
process also prints a digest of what it loaded (the dataset's arrays, its info, the first two
training batches and every validation and test batch), so a faster preparation is shown to give
the same data bit for bit.

Usage (repository root, nothing else running):
    python benchmarks/data_load_speed.py --base REV                  # the text systems
    python benchmarks/data_load_speed.py --base REV --rounds 5 lstm_sentiment
Writes benchmarks/out/data_load_speed.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "out"
SYSTEMS = (
    "lstm_sentiment",
    "word2vec_brown",
    "dependency_parser",
    "pos_tagger",
    "seq2seq_attention_fr_en",
    "dnc_babi",
    "mnist_cnn",
)


def _digest(value, h) -> None:
    import numpy as np

    if isinstance(value, dict):
        for key in sorted(value, key=str):
            h.update(repr(key).encode())
            _digest(value[key], h)
    elif isinstance(value, (list, tuple)) and value and not isinstance(value[0], str):
        h.update(f"seq{len(value)}".encode())
        for item in value:
            _digest(item, h)
    elif hasattr(value, "numpy") or isinstance(value, np.ndarray):
        array = np.asarray(value)
        h.update(f"{array.dtype}{array.shape}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    else:
        h.update(repr(value).encode())


def worker(name: str) -> None:
    """Loads ``name``'s dataset; prints one JSON line: seconds, digest, module file."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import fdl_keras
    from fdl_keras.data.registry import load_dataset

    spec = fdl_keras.get_spec(name)
    start = time.perf_counter()
    data = load_dataset(spec.dataset, batch_size=spec.fit.batch_size, seed=0)
    seconds = time.perf_counter() - start
    h = hashlib.sha256()
    _digest(dataclasses.asdict(data.info), h)
    _digest(data.arrays, h)
    data.set_epoch(0)
    _digest(list(data.train.take(2)), h)
    for split in (data.validation, data.test):
        if split is not None:
            _digest(list(split), h)
    print(json.dumps({"seconds": seconds, "digest": h.hexdigest(), "module": fdl_keras.__file__}))


def run(tree: Path, name: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{name} at {tree}: {done.stderr.strip().splitlines()[-1]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["module"]).is_relative_to(tree), (result["module"], tree)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("systems", nargs="*", default=list(SYSTEMS))
    parser.add_argument("--base", help="the commit to compare with (required)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    if not args.base:
        parser.error("--base REV is required: the commit to compare with")
    args.base = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.base, "fdl_keras"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        trees = {"base": base, "new": ROOT}
        rows = []
        for name in args.systems:
            times: dict[str, list[float]] = {"base": [], "new": []}
            digests: dict[str, set[str]] = {"base": set(), "new": set()}
            for _ in range(args.rounds):
                for which, tree in trees.items():
                    result = run(tree, name)
                    times[which].append(result["seconds"])
                    digests[which].add(result["digest"])
            row = {
                "system": name,
                "base_s": statistics.median(times["base"]),
                "new_s": statistics.median(times["new"]),
                "times": times,
                "same_data": len(digests["base"] | digests["new"]) == 1,
            }
            row["ratio"] = row["new_s"] / row["base_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    (OUT / "data_load_speed.json").write_text(json.dumps(rows, indent=2))
    print(f"\n| system | {args.base} s | now s | now / {args.base} | same data |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| `{r['system']}` | {r['base_s']:.2f} | {r['new_s']:.2f} | {r['ratio']:.2f} | "
            f"{'yes' if r['same_data'] else '**no**'} |"
        )


if __name__ == "__main__":
    main()
