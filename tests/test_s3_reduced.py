"""Scenario S3's settings at reduced size (benchmarks/s3_marmousi.py --quick): the two-stage frequency
continuation through the public API, the top mute of its full-band stage, and each stage's own region of
interest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import specfwi as sf

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_reduced_s3_continues_from_the_low_band_within_each_stage_region(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import s3_marmousi

    settings = s3_marmousi.Settings(low_band_iterations=1, region="below_300m_faded_out")
    project = s3_marmousi.build_s3(tmp_path / "s3", quick=True, settings=settings)
    stages = settings.stages(2)
    assert stages == [("s3_low", 1), ("s3", 1)]
    misfit_configurations = {name: project.entities.get("misfit_configuration",
                                                        project.inversions.get(name).misfit_configuration)
                             for name, _ in stages}
    assert misfit_configurations["s3_low"].mute is None and misfit_configurations["s3_low"].bandpass is not None
    assert misfit_configurations["s3"].mute == settings.mute() == sf.TopMute(1500.0, 0.7)
    assert misfit_configurations["s3"].bandpass is None
    for name, n_iterations in stages:
        project.inversions.iterate(name, n_iterations=n_iterations)
        misfits = project.inversions.misfits(name).sum("event").values
        assert misfits[-1] < misfits[0]
    low_band_model = project.inversions.get_model("s3_low", 1).element_nodal_fields["VP"]
    np.testing.assert_array_equal(project.inversions.get_model("s3", 0).element_nodal_fields["VP"], low_band_model)
    prior = project.simulations.get_mesh("prior")
    result = project.inversions.get_model("s3", 1)
    depth = -prior.get_element_nodes()[..., 1]
    update = result.element_nodal_fields["VP"] - prior.element_nodal_fields["VP"]
    assert np.all(update[depth <= s3_marmousi.UPDATE_TOP_IN_METERS] == 0.0)
    assert np.abs(update[depth > 500.0]).max() > 10.0  # m/s: the model below moved
    full_band_update = result.element_nodal_fields["VP"] - low_band_model
    assert np.all(full_band_update[depth >= 2900.0] == 0.0)  # the full-band stage's region fades out there
    assert np.abs(low_band_model - prior.element_nodal_fields["VP"])[depth >= 2900.0].max() > 0.0  # to 0.3 only
    sys.modules.pop("s3_marmousi", None)
