"""Dependency-parser decoding (greedy and beam search) against another commit's, in one
process: the current ``fdl_keras.sequence.beam.beam_search`` and that of ``--base`` (its
``beam.py`` and ``transitions.py``, loaded from git) run alternately.

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
import statistics
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
from fdl_keras.sequence import beam  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "out"


def _module_at(rev: str, path: str, name: str, *, replace: tuple[str, str] | None = None):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if replace:
        source = source.replace(*replace)
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def base_beam(rev: str):
    """``rev``'s beam module, importing ``rev``'s transition system."""
    _module_at(rev, "fdl_keras/sequence/transitions.py", "base_transitions")
    return _module_at(
        rev,
        "fdl_keras/sequence/beam.py",
        "base_beam",
        replace=("from fdl_keras.sequence.transitions import", "from base_transitions import"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    versions = {"base": base_beam(args.base), "now": beam}
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
                start = time.perf_counter()
                out = module.beam_search(model, test, beam=width)
                times[name].append(time.perf_counter() - start)
                heads[name] = [o["heads"] for o in out]
        row = {
            "beam": width,
            "sentences": len(test),
            "base_s": statistics.median(times["base"]),
            "now_s": statistics.median(times["now"]),
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
