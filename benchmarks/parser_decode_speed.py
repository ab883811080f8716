"""Dependency-parser decoding (greedy and beam search) against the transition system of another
commit, in one process: ``fdl_keras.sequence.beam`` runs once with the current
``Configuration`` and ``features`` and once with those of ``--base``, alternately.

The parser is ``dependency_parser`` at its default configuration (random weights: decoding time
does not depend on them) on the first ``--sentences`` test sentences of the dependency
treebank; both runs must return the same heads.

Usage (repository root, nothing else running):
    python benchmarks/parser_decode_speed.py --base REV
Prints a Markdown table; writes benchmarks/out/parser_decode_speed.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fdl_keras  # noqa: E402
from fdl_keras.data.treebank import (  # noqa: E402
    dependency_sentences,
    parser_ids,
    parser_vocabularies,
)
from fdl_keras.sequence import beam, transitions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "out"


def base_transitions(rev: str):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:fdl_keras/sequence/transitions.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "base_transitions.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_transitions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    versions = {"base": base_transitions(args.base), "now": transitions}
    sentences, split = dependency_sentences()
    words, tags = parser_vocabularies()
    test = [parser_ids(w, t, words, tags) for (w, t, _), p in zip(sentences, split) if p == "test"]
    test = test[: args.sentences]
    model = fdl_keras.build("dependency_parser")
    rows = []
    for width in (1, 4):
        times: dict[str, list[float]] = {"base": [], "now": []}
        heads = {}
        for _ in range(args.rounds):
            for name, module in versions.items():
                beam.Configuration, beam.features = module.Configuration, module.features
                start = time.perf_counter()
                out = beam.beam_search(model, test, beam=width)
                times[name].append(time.perf_counter() - start)
                heads[name] = [o["heads"] for o in out]
        beam.Configuration, beam.features = transitions.Configuration, transitions.features
        row = {
            "beam": width,
            "sentences": len(test),
            "base_s": sorted(times["base"])[len(times["base"]) // 2],
            "now_s": sorted(times["now"])[len(times["now"]) // 2],
            "times": times,
            "same_heads": heads["base"] == heads["now"],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "parser_decode_speed.json").write_text(json.dumps(rows, indent=2))
    print(f"\n| beam | sentences | {args.base} s | now s | now / {args.base} | same heads |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['beam']} | {r['sentences']} | {r['base_s']:.2f} | {r['now_s']:.2f} | "
            f"{r['now_s'] / r['base_s']:.2f} | {'yes' if r['same_heads'] else '**no**'} |"
        )


if __name__ == "__main__":
    sys.exit(main())
