"""Single precision (``dtype="float32"``): forward runs and gradients agree with float64 to the round-off
of float32, on both kernel layouts, with checkpoints, free surface and absorbing sides; A1 keeps its
analytic accuracy; bad dtypes are refused before any work."""

from __future__ import annotations

import numpy as np
import pytest
from test_node_grid import EVENT, WAVELET, box_mesh, grid_on_small_meshes  # noqa: F401 (a fixture)
from test_solver import run_a1

import specfwi as sf
from specfwi.errors import InvalidParameterError
from specfwi.solver import SimulationSetup
import specfwi.solver.setup as solver_setup
from specfwi.solver.element_blocks import ElementBlocks
from specfwi.solver.node_grid import NodeGrid


def relative_difference(values, reference) -> float:
    return float(np.linalg.norm(values - reference) / np.linalg.norm(reference))


def test_float32_a1_matches_the_analytic_solution_as_float64_does():
    single, double = run_a1(4, 2.0, dtype="float32"), run_a1(4, 2.0)
    assert single.relative_error <= 1e-2
    assert single.least_squares_amplitude == pytest.approx(1.0, abs=1e-2)
    assert single.relative_error == pytest.approx(double.relative_error, rel=0.05)  # float64: 2.3e-4
    assert 1e-9 < relative_difference(single.trace, double.trace) < 1e-5  # float32 round-off, not float64's


@pytest.mark.parametrize("layout", [NodeGrid, ElementBlocks])
def test_float32_traces_and_snapshots_agree_with_float64_on_both_layouts(grid_on_small_meshes, monkeypatch, layout):
    mesh = box_mesh(4, 8, 4, seed=2)
    if layout is ElementBlocks:
        monkeypatch.setattr(solver_setup, "kernel_layout", lambda mesh, n: ElementBlocks.build(mesh.global_node_index))
    time_window, solver_options = dict(wavelet=WAVELET, end_time_in_seconds=0.25), dict(
        time_step_in_seconds=5e-4, free_surface=True, progress=False)
    options = {**time_window, **solver_options}
    setup = SimulationSetup.build(mesh, EVENT, **time_window,
                                  options=sf.SolverOptions(dtype="float32", **solver_options))
    assert isinstance(setup.layout, layout) and setup.dtype == np.float32
    assert all(array.dtype == np.float32 for array in (setup.operator[1], setup.step_coefficients.nodal,
                                                        setup.step_coefficients.special.factors, setup.force_series))
    assert setup.run_forward(last_step=3).current.dtype == np.float32
    double = sf.simulate(mesh, EVENT, **options)
    single = sf.simulate(mesh, EVENT, dtype=np.float32, **options)
    assert 1e-9 < relative_difference(single.values, double.values) < 1e-5
    snapshots = [sf.solver.simulate_wavefield(mesh, EVENT, snapshot_times_in_seconds=[0.15], dtype=dtype, **options)
                 for dtype in ("float64", "float32")]
    assert 1e-9 < relative_difference(snapshots[1].values, snapshots[0].values) < 1e-5


@pytest.mark.parametrize("dtype", ["float16", "int32", "double precision", complex])
def test_an_unknown_dtype_is_refused(model_mesh, dtype):
    with pytest.raises(InvalidParameterError, match="'dtype'.*float64.*float32"):
        sf.simulate(model_mesh, EVENT, wavelet=WAVELET, end_time_in_seconds=0.1, dtype=dtype)


@pytest.mark.parametrize("layout", [NodeGrid, ElementBlocks])
def test_float32_gradients_agree_with_float64_gradients(grid_on_small_meshes, monkeypatch, layout):
    """The float32 adjoint is the same recursion in float32 (sensitivities accumulated in float64); also with
    checkpoints (the budget below stores a fifth of the 500 steps)."""
    mesh = box_mesh(4, 8, 4, seed=4)
    if layout is ElementBlocks:
        monkeypatch.setattr(solver_setup, "kernel_layout", lambda mesh, n: ElementBlocks.build(mesh.global_node_index))
    options = dict(wavelet=WAVELET, misfit="L2_energy_no_observed_data", end_time_in_seconds=0.25,
                   time_step_in_seconds=5e-4, free_surface=True, progress=False)
    double = sf.compute_gradient(mesh, EVENT, **options)
    store_a_fifth = 100 * 2 * 4 * mesh.n_global_nodes / 1024**2
    single = sf.compute_gradient(mesh, EVENT, dtype="float32", checkpoint_memory_in_megabytes=store_a_fifth,
                                 **options)
    assert single.misfit == pytest.approx(double.misfit, rel=1e-5)
    for name in ("VP", "RHO"):
        difference = relative_difference(single.gradient.element_nodal_fields[name],
                                         double.gradient.element_nodal_fields[name])
        assert 1e-9 < difference < 1e-4, (name, difference)
