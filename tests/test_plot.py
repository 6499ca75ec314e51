"""Tests of specfwi.plot: every view draws on an Agg figure with the documented colour scales."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import specfwi as sf  # noqa: E402
from specfwi.errors import InvalidParameterError  # noqa: E402
from specfwi.plot.color_scale import color_limits  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def mesh() -> sf.UnstructuredMesh:
    mesh = sf.mesh.rectangle((0.0, 3000.0), (-1000.0, 0.0), 6, 2, tensor_order=3)
    nodes = mesh.get_element_nodes()
    mesh.attach_field("VP", 1500.0 - nodes[..., 1])  # positive: 1500 .. 2500
    mesh.attach_field("SIGNED", np.sin(nodes[..., 0] / 500.0) * (1.0 + nodes[..., 1] / 2000.0) - 0.2)
    return mesh


def image_limits(ax) -> tuple[float, float]:
    (mappable,) = [c for c in ax.collections if c.get_array() is not None]
    return mappable.norm.vmin, mappable.norm.vmax


def test_field_of_a_positive_field_spans_the_data_range(mesh):
    ax = sf.plot.field(mesh, "VP")
    assert image_limits(ax) == pytest.approx((1500.0, 2500.0))
    assert ax.get_xlabel() == "x (m)" and ax.get_ylabel() == "y (m)" and ax.get_title() == "VP"
    assert ax.get_aspect() == 1.0
    colorbar_axes = [other for other in ax.figure.axes if other is not ax]
    assert len(colorbar_axes) == 1 and colorbar_axes[0].get_ylabel() == "VP"
    ax.figure.canvas.draw()


def test_field_clip_saturates_a_positive_field(mesh):
    ax = sf.plot.field(mesh, "VP", clip=0.8, title="vp")
    assert image_limits(ax) == pytest.approx((1500.0, 2000.0))
    assert ax.get_title() == "vp"


def test_field_of_a_signed_field_is_symmetric_and_honours_clip(mesh):
    values = mesh.element_nodal_fields["SIGNED"]
    assert values.min() < 0.0 < values.max() and -values.min() != pytest.approx(values.max())
    largest = np.abs(values).max()
    assert image_limits(sf.plot.field(mesh, "SIGNED")) == pytest.approx((-largest, largest))
    assert image_limits(sf.plot.field(mesh, "SIGNED", clip=0.25)) == pytest.approx((-0.25 * largest, 0.25 * largest))


def test_field_draws_into_a_given_axes_with_a_given_colormap(mesh):
    figure, (left, right) = plt.subplots(1, 2)
    assert sf.plot.field(mesh, "VP", ax=right, cmap="magma") is right
    (mappable,) = right.collections
    assert mappable.get_cmap().name == "magma"
    assert not left.collections


def test_field_rejects_an_unknown_name(mesh):
    with pytest.raises(InvalidParameterError, match="'name' must be one of the mesh fields"):
        sf.plot.field(mesh, "VS")


@pytest.mark.parametrize("clip", [0, -1, 2, 0.0, float("nan"), "0.5", True])
def test_bad_clip_is_rejected_by_every_map(mesh, clip):
    with pytest.raises(InvalidParameterError, match="'clip' must be"):
        sf.plot.field(mesh, "VP", clip=clip)
    with pytest.raises(InvalidParameterError, match="'clip' must be"):
        sf.plot.gradient(mesh, "VP", clip=clip)
    with pytest.raises(InvalidParameterError, match="'clip' must be"):
        sf.plot.wavefield(mesh, np.zeros(mesh.n_global_nodes), clip=clip)


class GradientHolder:
    """Stands in for an object with a ``.model`` attribute, like the seed's gradients."""

    def __init__(self, model):
        self.model = model


def test_gradient_is_always_symmetric(mesh):
    largest = 2500.0
    for g in (mesh, GradientHolder(mesh)):
        ax = sf.plot.gradient(g, "VP", clip=0.5)
        assert image_limits(ax) == pytest.approx((-0.5 * largest, 0.5 * largest))
        assert ax.get_title() == "gradient VP"


def test_gradient_of_a_regular_grid_dataset():
    x, y = np.linspace(0.0, 3000.0, 31), np.linspace(-1000.0, 0.0, 11)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    dataset = xr.Dataset({"vp": (["x", "y"], np.cos(xx / 400.0) * yy)}, coords={"x": x, "y": y})
    largest = float(np.abs(dataset["vp"]).max())
    ax = sf.plot.gradient(GradientHolder(dataset), "VP", clip=0.1, title="grid")
    assert image_limits(ax) == pytest.approx((-0.1 * largest, 0.1 * largest))
    assert ax.get_title() == "grid"
    ax.figure.canvas.draw()
    with pytest.raises(InvalidParameterError, match="'parameter' must be one of the dataset variables"):
        sf.plot.gradient(dataset, "RHO")


def test_gradient_rejects_other_objects():
    with pytest.raises(InvalidParameterError, match="'g' must be an UnstructuredMesh"):
        sf.plot.gradient(np.zeros((3, 3)), "VP")


def test_wavefield_draws_a_global_nodal_snapshot(mesh):
    coordinates = mesh.global_node_coordinates
    values = np.exp(-((coordinates[:, 0] - 1000.0) ** 2 + (coordinates[:, 1] + 500.0) ** 2) / 300.0**2)
    ax = sf.plot.wavefield(mesh, values, clip=0.5, title="t = 0.3 s")
    largest = values.max()
    assert image_limits(ax) == pytest.approx((-0.5 * largest, 0.5 * largest))
    assert ax.get_title() == "t = 0.3 s"
    (mappable,) = [c for c in ax.collections if c.get_array() is not None]
    np.testing.assert_allclose(np.sort(mappable.get_array()), np.sort(values[mesh.global_node_index].ravel()))
    with pytest.raises(InvalidParameterError, match="'values' must be an array of shape"):
        sf.plot.wavefield(mesh, values[:-1])


def make_traces(amplitudes) -> xr.DataArray:
    time = np.linspace(0.0, 1.0, 201)
    values = np.array([a * np.sin(2 * np.pi * 5.0 * time) for a in amplitudes])
    names = [f"r{k}" for k in range(len(amplitudes))]
    return xr.DataArray(values, dims=("receiver", "time"), coords={"receiver": names, "time": time}, name="phi")


@pytest.mark.parametrize("normalize", [True, False])
def test_traces_wiggles_are_scaled_per_trace_or_globally(normalize):
    traces = make_traces([1.0, 4.0, 0.0])
    ax = sf.plot.traces(traces, normalize=normalize)
    (lines,) = ax.collections
    excursions = [np.ptp(segment[:, 1]) for segment in lines.get_segments()]
    expected = [0.9, 0.9, 0.0] if normalize else [0.225, 0.9, 0.0]
    np.testing.assert_allclose(excursions, expected, atol=1e-3)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["r0", "r1", "r2"]
    assert ax.get_xlabel() == "time (s)" and ax.get_title() == "phi"
    ax.figure.canvas.draw()


def test_traces_accept_time_first_and_reject_other_input():
    traces = make_traces([1.0, 2.0])
    ax = sf.plot.traces(traces.transpose("time", "receiver"))
    assert len(ax.collections[0].get_segments()) == 2
    with pytest.raises(InvalidParameterError, match="'traces' must be an xarray.DataArray"):
        sf.plot.traces(traces.values)


def test_traces_show_where_windows_start_and_end_and_which_receivers_they_leave_out():
    traces = make_traces([1.0, 2.0, 3.0])
    windows = {"r0": sf.Window(0.2, 0.6), "r1": sf.Window(0.5, 1.8)}   # r1 ends after the traces; r2 is left out
    ax = sf.plot.traces(traces, windows=windows)
    wiggles, edges = ax.collections
    np.testing.assert_allclose(wiggles.get_colors()[:, :3], [[0, 0, 0], [0, 0, 0], [0.7, 0.7, 0.7]])
    np.testing.assert_allclose([segment[:, 0] for segment in edges.get_segments()], [[0.2, 0.2], [0.6, 0.6],
                                                                                      [0.5, 0.5]])
    np.testing.assert_allclose([segment[:, 1] for segment in edges.get_segments()], [[-0.45, 0.45], [-0.45, 0.45],
                                                                                      [0.55, 1.45]])
    ax.figure.canvas.draw()
    window = sf.Window(0.2, 0.6)
    for bad in (window, [window], {"r0": (0.2, 0.6)}, {"another_event's_receiver": window}):
        with pytest.raises(InvalidParameterError, match="'windows' must be None, or a dict receiver name -> Window"):
            sf.plot.traces(traces, windows=bad)
    with pytest.raises(InvalidParameterError, match="'windows' must be"):
        sf.plot.traces(traces.drop_vars("receiver"), windows=windows)


def test_misfit_history():
    ax = sf.plot.misfit_history([10.0, 4.0, 2.0, 1.5])
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2, 3])
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "iteration"
    assert sf.plot.misfit_history([1e3, 1.0, 1e-2]).get_yscale() == "log"
    with pytest.raises(InvalidParameterError, match="'values' must be a non-empty 1D sequence"):
        sf.plot.misfit_history([])


def test_color_limits_of_one_signed_field():
    assert color_limits(np.array([-1.0, 3.0])) == (-3.0, 3.0)
    assert color_limits(np.array([-3.0, -1.0]), clip=0.5) == (-1.5, -1.0)
    assert color_limits(np.zeros(4), symmetric=True) == (-1.0, 1.0)


def test_axes_must_be_matplotlib_axes(mesh):
    with pytest.raises(InvalidParameterError, match="'ax' must be None or a matplotlib Axes"):
        sf.plot.field(mesh, "VP", ax="left")
