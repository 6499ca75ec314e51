"""The demo (the seed workflow) at a small size: its figures, its summary and what the summary must show."""

import json

import pytest

from specfwi.demo import SOURCE_CUTOUT_RADIUS_IN_METERS, run_demo

FIGURES = ("gradient_preconditioning.png", "raw_gradient.png", "traces.png", "wavefield.png")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo")
    return output, run_demo(output, max_frequency_in_hertz=6.0, progress=False)


def test_demo_writes_its_figures_and_summary(demo):
    output, summary = demo
    for name in FIGURES:
        assert (output / name).stat().st_size > 10_000
    assert json.loads((output / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert not list(output.glob("*.tmp"))


def test_demo_summary_shows_what_each_mapping_step_does(demo):
    _, summary = demo
    panels = summary["gradient_panels"]
    near_source = f"share_within_{SOURCE_CUTOUT_RADIUS_IN_METERS:.0f}_m_of_source"
    assert summary["misfit"]["value"] > 0.0
    assert panels["raw (simulation space)"][near_source] > 0.1  # the source dominates the raw gradient
    # absolute scaling on the same mesh: the identity, but for the absorbing layers folded onto the box's edge
    assert panels["checks"]["absolute_equals_raw_off_the_box_edge_max_relative_difference"] < 1e-12
    assert panels["checks"]["relative_equals_raw_times_prior_off_the_box_edge_max_relative_difference"] < 1e-12
    assert panels["checks"]["mapped_max_abs_in_absorbing_layers"] == 0.0
    assert panels["checks"]["cutout_max_abs_inside_source_radius"] == 0.0
    assert panels["(c) relative + cutouts"][near_source] == 0.0


def test_second_demo_run_reuses_the_project(demo):
    output, first = demo
    second = run_demo(output, max_frequency_in_hertz=6.0, progress=False)
    assert second["misfit"] == first["misfit"]
    assert second["timings_in_seconds"]["gradient"] < first["timings_in_seconds"]["gradient"]
