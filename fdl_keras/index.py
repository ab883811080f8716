"""A static index of the registry, so ``fdl list`` answers without importing TensorFlow.

``systems.json`` beside this file holds one row per registered system (name, chapter, data,
target, summary, family and the ``fdl train`` options the family takes, so ``fdl train`` refuses
one that does not apply before TensorFlow loads). It is generated from the live registry by
``python -m fdl_keras.index`` and a test checks that it equals the registry, so it cannot go
stale unnoticed.
"""

from __future__ import annotations

import json
from pathlib import Path

INDEX = Path(__file__).with_name("systems.json")


def read_index() -> list[dict]:
    """The committed rows, ordered by chapter then name."""
    return json.loads(INDEX.read_text())


def live_index() -> list[dict]:
    """The rows of the registry as it is now (imports every system module)."""
    from fdl_keras.registry import list_models

    return [
        {
            "name": s.name,
            "chapter": s.chapter,
            "data": s.source,
            "target": str(s.target) if s.target else "-",
            "summary": s.summary,
            "family": s.task.label,
            "options": sorted(s.task.options),
        }
        for s in list_models()
    ]


def write_index() -> Path:
    """Writes :func:`live_index` to ``systems.json``."""
    INDEX.write_text(json.dumps(live_index(), indent=1) + "\n")
    return INDEX


if __name__ == "__main__":
    print(f"wrote {write_index()}")
