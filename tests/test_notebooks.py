"""Runs every chapter notebook top to bottom in fast mode (FDL_FAST=1: tiny data and epochs)."""

import re
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
CHAPTERS = {
    "01_linear_algebra",
    "02_probability",
    "03_neural_network",
    "04_training",
    "05_mnist_feedforward",
    "06_optimizers",
    "07_cnn",
    "08_embeddings",
    "09a_tagging_parsing_sentiment",
    "09b_translation",
    "10_generative",
    "11_interpretability",
    "12_memory_networks",
    "13_reinforcement_learning",
}
MAX_BYTES = 1_000_000


def test_every_notebook_is_a_paired_source_committed_executed():
    """One notebook per chapter (per part for chapter 9), its source a jupytext percent script
    in notebooks/src/ with the same cells, committed with the outputs of a full run (plots
    that show on the web, no errors, under 1 MB)."""
    nbformat = pytest.importorskip("nbformat")
    jupytext = pytest.importorskip("jupytext")
    stems = {p.stem for p in NOTEBOOKS}
    assert stems == {p.stem for p in (FOLDER / "src").glob("*.py")}
    assert CHAPTERS <= stems and all(re.fullmatch(r"\d\d[a-z]?_\w+", s) for s in stems), stems
    assert not list(FOLDER.glob("build_ch*.py"))
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        source = jupytext.read(FOLDER / "src" / f"{path.stem}.py")
        pairs = [(c.cell_type, c.source.strip()) for c in nb.cells]
        assert pairs == [(c.cell_type, c.source.strip()) for c in source.cells], path.name
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert all(c.execution_count is not None for c in code), f"{path.name} is not executed"
        outputs = [o for c in code for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"], path.name
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name}: no plot"
        assert path.stat().st_size <= MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("FDL_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    assert code, f"{path.name} has no code"
    # The notebook checks its own results: its last code cell asserts the chapter's claim.
    assert re.search(r"^\s*assert\b", code[-1].source, re.MULTILINE), (
        f"{path.name}: the last code cell should assert what the chapter showed"
    )
    # Committed outputs (a full run) hold no error either.
    assert not _errors(nb), f"{path.name} was committed with an error output"
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError at the first cell that fails
    # Every code cell ran, once, in order: none was skipped, so the final asserts ran.
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    # An exception that a cell caught and printed is a failure too.
    printed = [
        out.get("text", "")
        for cell in code
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    ]
    caught = [t for t in printed if "Traceback (most recent call last)" in t]
    assert not caught, caught


def _errors(nb) -> list:
    return [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def test_there_are_notebooks():
    nbformat = pytest.importorskip("nbformat")
    stems = {p.stem for p in NOTEBOOKS}
    assert CHAPTERS <= stems, stems
    for path in NOTEBOOKS:  # valid notebooks that the test above can run
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.get("kernelspec", {}).get("language", "python") == "python", path.name
