"""Highlighted words as HTML: rationales (kept words) and signed word attributions (LIME, SHAP).

A self-contained page (inline styles, no scripts) so it opens anywhere and sits in a notebook
through ``IPython.display.HTML``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body style='font-family:sans-serif;max-width:60em;margin:1em auto;line-height:1.6'>"
    "<h2>{title}</h2>{body}</body></html>"
)


def highlight(tokens: Sequence[str], weights: Sequence[float], *, signed: bool = True) -> str:
    """``tokens`` as ``<span>`` s shaded by ``weights``: green for positive, red for negative
    (``signed``), or yellow by magnitude for a 0/1 rationale (``signed=False``)."""
    weights = np.asarray(weights, np.float64)
    if len(weights) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(weights)} weights")
    scale = float(np.abs(weights).max()) or 1.0
    spans = []
    for token, weight in zip(tokens, weights):
        alpha = min(abs(weight) / scale, 1.0)
        if not signed:
            color = f"rgba(255,200,0,{alpha:.2f})"
        elif weight >= 0:
            color = f"rgba(0,160,0,{alpha:.2f})"
        else:
            color = f"rgba(220,0,0,{alpha:.2f})"
        tip = f" title='{weight:+.3f}'" if signed else ""
        spans.append(f"<span style='background:{color}'{tip}>{html.escape(token)}</span>")
    return " ".join(spans)


def rationale_page(
    reviews: Sequence[Sequence[str]],
    selections: Sequence[Sequence[float]],
    captions: Sequence[str],
    *,
    title: str = "Rationales",
) -> str:
    """One page with each review's kept words highlighted under its caption."""
    return _page(reviews, selections, captions, title=title, signed=False)


def attribution_page(
    texts: Sequence[Sequence[str]],
    weights: Sequence[Sequence[float]],
    captions: Sequence[str],
    *,
    title: str = "Word attributions",
) -> str:
    """One page with each text's words shaded by their signed attribution."""
    return _page(texts, weights, captions, title=title, signed=True)


def _page(texts, weights, captions, *, title: str, signed: bool) -> str:
    body = "".join(
        f"<h4>{html.escape(caption)}</h4><p>{highlight(tokens, w, signed=signed)}</p>"
        for tokens, w, caption in zip(texts, weights, captions, strict=True)
    )
    return PAGE.format(title=html.escape(title), body=body)


def write_page(path: str | Path, page: str) -> Path:
    """Writes ``page`` to ``path`` (UTF-8) and returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
