"""Absorbing layers (specfwi.mesh.absorbing, specfwi.solver.absorbing_layers): the mesh that carries them,
accuracy against the analytic unbounded solution, stability, the exact discrete adjoint through them,
and the options' errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from analytic import point_source_trace
from specfwi.errors import InvalidParameterError
from specfwi.mesh import AbsorbingLayers
from specfwi.solver import SimulationSetup
from test_gradient import GRADIENT_TOLERANCE, MINIMUM_REMAINDER_SLOPE, observed_traces, small_event, taylor_test

VELOCITY, DENSITY = 2000.0, 1000.0
WAVELET = sf.Ricker(center_frequency=10.0)


def homogeneous_model(extent=(0.0, 1200.0, -800.0, 0.0)) -> sf.model.GenericModel:
    x = np.linspace(extent[0], extent[1], 3)
    y = np.linspace(extent[2], extent[3], 3)
    return sf.model.GenericModel(name="homogeneous", data=xr.Dataset(
        {"vp": (["x", "y"], np.full((3, 3), VELOCITY)), "rho": (["x", "y"], np.full((3, 3), DENSITY))},
        coords={"x": x, "y": y}))


def gradient_model() -> sf.model.GenericModel:
    x = np.linspace(0.0, 1000.0, 5)
    y = np.linspace(-500.0, 0.0, 5)
    _, yy = np.meshgrid(x, y, indexing="ij")
    return sf.model.GenericModel(name="gradient", data=xr.Dataset(
        {"vp": (["x", "y"], 1500.0 - yy), "rho": (["x", "y"], 1000.0 - 0.5 * yy)}, coords={"x": x, "y": y}))


def layered_test_mesh(distorted: bool, make_model_mesh) -> sf.UnstructuredMesh:
    """The gradient tests' 6 x 4 mesh with its outer element rows and columns as layers (top: free)."""
    mesh = make_model_mesh(distorted=distorted)
    mesh.absorbing_layers = AbsorbingLayers((100.0, 500.0, -300.0, 0.0), {"x0": 100.0, "x1": 100.0, "y0": 100.0},
                                            2000.0)
    return mesh


# ---------------------------------------------------------------- the mesh


def test_layers_extend_the_box_by_whole_elements_with_edge_extended_properties():
    model = gradient_model()
    mesh = sf.mesh.from_volume_model(model, max_frequency_in_hertz=25.0, elements_per_wavelength=2.0)
    layers = mesh.absorbing_layers
    assert layers.box == model.extent
    x_min, x_max, y_min, y_max = mesh.extent
    assert x_min == pytest.approx(-layers.widths_in_meters["x0"]) and x_max == pytest.approx(1000.0 + layers.widths_in_meters["x1"])
    assert y_min == pytest.approx(-500.0 - layers.widths_in_meters["y0"]) and y_max == pytest.approx(layers.widths_in_meters["y1"])
    # default width: DEFAULT_NUMBER_OF_WAVELENGTHS of the largest boundary VP (2000 m/s) at 0.4 x 25 Hz, rounded up
    assert min(layers.widths_in_meters.values()) >= sf.mesh.absorbing.DEFAULT_NUMBER_OF_WAVELENGTHS * 2000.0 / 10.0
    nodes = mesh.get_element_nodes()
    clipped_y = np.clip(nodes[..., 1], -500.0, 0.0)
    np.testing.assert_allclose(mesh.element_nodal_fields["VP"], 1500.0 - clipped_y, rtol=1e-12)
    mask = mesh.layer_element_mask
    centroids = mesh.get_element_centroid()
    inside = (centroids[:, 0] > 0) & (centroids[:, 0] < 1000) & (centroids[:, 1] > -500) & (centroids[:, 1] < 0)
    np.testing.assert_array_equal(mask, ~inside)
    assert 0 < mask.sum() < mesh.n_elements


def test_free_surface_leaves_the_top_without_a_layer_and_options_build_what_they_say():
    model = gradient_model()
    options = dict(max_frequency_in_hertz=25.0, elements_per_wavelength=2.0)
    free = sf.mesh.from_volume_model(model, free_surface=True, **options)
    assert set(free.absorbing_layers.widths_in_meters) == {"x0", "x1", "y0"} and free.extent[3] == 0.0
    for option in ("stacey", False):
        plain = sf.mesh.from_volume_model(model, absorbing_boundaries=option, **options)
        assert plain.absorbing_layers is None and plain.extent == model.extent
    parameters = sf.AbsorbingBoundaryParameters(reference_velocity=2000.0, number_of_wavelengths=1.0,
                                                reference_frequency=5.0)
    wide = sf.mesh.from_volume_model(model, absorbing_boundaries=parameters, **options)
    assert min(wide.absorbing_layers.widths_in_meters.values()) >= 400.0
    sides = sf.mesh.from_volume_model(model, absorbing_boundaries=["x1"], **options)
    assert list(sides.absorbing_layers.widths_in_meters) == ["x1"] and sides.extent[0] == 0.0


def test_layers_survive_the_hdf5_round_trip_and_show_in_the_xdmf(tmp_path):
    mesh = sf.mesh.from_volume_model(gradient_model(), max_frequency_in_hertz=25.0, elements_per_wavelength=2.0)
    path = mesh.write_h5(tmp_path / "mesh.h5")
    read = sf.UnstructuredMesh.from_h5(path)
    assert read.absorbing_layers == mesh.absorbing_layers
    np.testing.assert_array_equal(read.layer_element_mask, mesh.layer_element_mask)
    assert 'Name="ABSORBING_LAYER"' in path.with_suffix(".xdmf").read_text()
    assert "absorbing layers" in repr(read)


@pytest.mark.parametrize("arguments", [dict(reference_velocity=0.0, number_of_wavelengths=1.0, reference_frequency=5.0),
                                       dict(reference_velocity=-1.0, number_of_wavelengths=1.0, reference_frequency=5.0),
                                       dict(reference_velocity=2000.0, number_of_wavelengths=0.0, reference_frequency=5.0),
                                       dict(reference_velocity=2000.0, number_of_wavelengths=1.0, reference_frequency=0.0),
                                       dict(reference_velocity=2000.0, number_of_wavelengths=1.0,
                                            reference_frequency=float("nan"))])
def test_bad_layer_parameters_are_refused(arguments):
    with pytest.raises(InvalidParameterError, match="must be a finite number > 0"):
        sf.AbsorbingBoundaryParameters(**arguments)


def test_layers_on_a_free_surface_and_parameters_for_a_mesh_without_layers_are_refused(model_mesh):
    options = dict(max_frequency_in_hertz=25.0, elements_per_wavelength=2.0)
    with pytest.raises(InvalidParameterError, match="free surface"):
        sf.mesh.from_volume_model(gradient_model(), absorbing_boundaries=["y1"], free_surface=True, **options)
    with pytest.raises(InvalidParameterError, match="absorbing_boundaries"):
        sf.mesh.from_volume_model(gradient_model(), absorbing_boundaries="sponge", **options)
    layered = sf.mesh.from_volume_model(gradient_model(), **options)
    event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=500.0, y=-250.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=np.array([800.0]), y=0.0, fields=["phi"]))
    with pytest.raises(InvalidParameterError, match="free_surface"):
        SimulationSetup.build(layered, event, wavelet=WAVELET, end_time_in_seconds=0.2,
                              options=sf.SolverOptions(free_surface=True))
    parameters = sf.AbsorbingBoundaryParameters(reference_velocity=2000.0, number_of_wavelengths=1.0,
                                                reference_frequency=5.0)
    with pytest.raises(InvalidParameterError, match="layers belong to the mesh"):
        SimulationSetup.build(model_mesh, small_event(), wavelet=WAVELET, end_time_in_seconds=0.2,
                              options=sf.SolverOptions(absorbing_boundaries=parameters))


# ---------------------------------------------------------------- the physics


def test_layers_leave_the_unbounded_analytic_solution_at_receivers_on_the_box_edges():
    """A homogeneous box with layers on all sides; receivers on its edges and corner. Against the analytic
    unbounded 2D solution (no fitted factor), with the Stacey condition on the same box as the contrast."""
    receivers_x = np.array([1200.0, 1200.0, 0.0, 600.0])
    receivers_y = np.array([-400.0, 0.0, -800.0, 0.0])
    source = (400.0, -400.0)
    event = sf.Event(event_name="edges", sources=sf.ScalarPoint2D(x=source[0], y=source[1], f=1.0),
                     receivers=[sf.Receiver2D(x=x, y=y, name=f"r{i}", fields=["phi"])
                                for i, (x, y) in enumerate(zip(receivers_x, receivers_y))])
    errors = {}
    for option in (True, "stacey"):
        mesh = sf.mesh.from_volume_model(homogeneous_model(), max_frequency_in_hertz=25.0,
                                         elements_per_wavelength=2.0, absorbing_boundaries=option)
        traces = sf.simulate(mesh, event, wavelet=WAVELET, end_time_in_seconds=1.2, progress=False)
        offsets = np.hypot(receivers_x - source[0], receivers_y - source[1])
        exact = np.stack([point_source_trace(traces.time.values, distance_in_meters=offset,
                                             velocity_in_meters_per_second=VELOCITY,
                                             density_in_kilograms_per_cubic_meter=DENSITY, amplitude=1.0,
                                             wavelet=WAVELET, wavelet_start_in_seconds=traces.time.values[0])
                          for offset in offsets])
        errors[option] = np.linalg.norm(traces.values - exact, axis=1) / np.linalg.norm(exact, axis=1)
    assert errors[True].max() < 0.02, errors
    assert np.linalg.norm(errors[True]) < 0.2 * np.linalg.norm(errors["stacey"]), errors


def test_the_layers_are_stable_long_after_the_wave_has_left():
    """Forty crossings of the box: the field decays to round-off and stays there."""
    mesh = sf.mesh.from_volume_model(homogeneous_model((0.0, 400.0, -400.0, 0.0)), max_frequency_in_hertz=25.0,
                                     elements_per_wavelength=2.0)
    event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=200.0, y=-200.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=np.array([300.0]), y=-100.0, fields=["phi"]))
    setup = SimulationSetup.build(mesh, event, wavelet=WAVELET, end_time_in_seconds=8.0,
                                  options=sf.SolverOptions(progress=False))
    peak = np.abs(setup.run_forward(last_step=setup.n_steps // 16).current).max()
    state = setup.run_forward(last_step=setup.n_steps // 2)
    halfway = np.abs(state.current).max()
    final = np.abs(setup.run_forward(first_step=setup.n_steps // 2, state=state).current).max()
    assert halfway < 1e-3 * peak and final <= halfway


# ---------------------------------------------------------------- the adjoint


@pytest.mark.parametrize("distorted", [False, True])
@pytest.mark.parametrize("parameter", ["VP", "RHO"])
def test_gradient_passes_the_taylor_test_through_the_layers(make_model_mesh, distorted, parameter):
    mesh = layered_test_mesh(distorted, make_model_mesh)
    observed = observed_traces(mesh, small_event())
    result = taylor_test(mesh, (parameter,), misfit="L2", observed=observed)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_layers_carry_gradient_and_checkpoints_give_the_stored_states_gradient(make_model_mesh):
    mesh = layered_test_mesh(False, make_model_mesh)
    options = dict(wavelet=sf.Ricker(center_frequency=8.0), end_time_in_seconds=0.5, time_step_in_seconds=2e-3,
                   misfit="L2_energy_no_observed_data", progress=False)
    stored = sf.compute_gradient(mesh, small_event(), **options)
    checkpointed = sf.compute_gradient(mesh, small_event(), checkpoint_memory_in_megabytes=0.5, **options)
    in_layers = mesh.layer_element_mask
    for name in ("VP", "RHO"):
        np.testing.assert_allclose(checkpointed.gradient.element_nodal_fields[name],
                                   stored.gradient.element_nodal_fields[name], rtol=0, atol=1e-12 * np.abs(
                                       stored.gradient.element_nodal_fields[name]).max())
        assert np.abs(stored.gradient.element_nodal_fields[name][in_layers]).max() > 0.0


def test_float32_runs_through_the_layers_agree_with_float64():
    mesh = sf.mesh.from_volume_model(gradient_model(), max_frequency_in_hertz=25.0, elements_per_wavelength=2.0)
    event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=500.0, y=-250.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=np.array([0.0, 1000.0]), y=0.0, fields=["phi"]))
    runs = {dtype: sf.simulate(mesh, event, wavelet=WAVELET, end_time_in_seconds=0.6, dtype=dtype, progress=False)
            for dtype in ("float64", "float32")}
    difference = np.linalg.norm(runs["float32"].values - runs["float64"].values) / np.linalg.norm(runs["float64"].values)
    assert 1e-9 < difference < 1e-4
    assert math.isfinite(difference)
