"""The example notebook runs: every cell of examples/seed_tutorial.ipynb, in a fresh kernel.

The notebook asserts its own physical facts (the relative gradient is the raw one times the prior,
the cutout zeroes the gradient near the source, the update lowers the misfit); this test runs it
with nbclient, fails on any cell's error, and checks that it draws its figures and is stored without
outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPOSITORY = Path(__file__).resolve().parent.parent
NOTEBOOK = REPOSITORY / "examples" / "seed_tutorial.ipynb"


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(not cell.outputs and cell.execution_count is None for cell in code_cells)


def test_the_notebook_runs_and_draws_its_figures(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    # the kernel runs in tmp_path: it imports specfwi from this checkout, not from wherever it is installed
    python_path = os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    client.execute(env={**os.environ, "PYTHONPATH": python_path})  # raises CellExecutionError on a failing cell
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) >= 5  # model, mesh, traces, raw gradient, the mapping panels
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "misfit" in printed and (tmp_path / "seed_tutorial_project").is_dir()
    texts = "".join(output.get("data", {}).get("text/plain", "") for output in outputs)
    assert "<specfwi Project at" in texts and "<UnstructuredMesh:" in texts and "<InversionModel:" in texts
