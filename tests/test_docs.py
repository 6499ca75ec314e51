"""The documentation runs: every python block of docs/tutorial.md, in order, in one namespace; those of
docs/inversion.md and docs/solver.md each on its own."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(DOCS / "tutorial.md")
    assert len(blocks) >= 8
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOCS / "tutorial.md"), "exec"), namespace)
    assert namespace["after"] < namespace["before"]


def test_inversion_guide_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(DOCS / "inversion.md")
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, str(DOCS / "inversion.md"), "exec"), {})


def test_solver_guide_runs():
    blocks = python_blocks(DOCS / "solver.md")
    assert len(blocks) == 1
    for block in blocks:
        exec(compile(block, str(DOCS / "solver.md"), "exec"), {})
