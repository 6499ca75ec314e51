"""Scenario I1 at reduced size (6 Hz mesh, 2.5 Hz Ricker; benchmarks/i1_inversion.py --quick), through the
public API: the misfit drops and the largest VP increase lies at the Gaussian body."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_reduced_i1_finds_the_body(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import i1_inversion

    project = i1_inversion.build_i1(tmp_path / "i1", quick=True)
    project.inversions.iterate("i1", n_iterations=2)
    misfits = project.inversions.misfits("i1").sum("event").values
    assert misfits[-1] < 0.1 * misfits[0]
    error = i1_inversion.model_error_in_box(project)
    assert error(project.inversions.get_model("i1", 2)) < 0.5
    _, distance = i1_inversion.largest_increase(project, "i1", 2)
    assert distance < 100.0
    sys.modules.pop("i1_inversion", None)
