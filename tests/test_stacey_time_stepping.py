"""The fourth-order ("gyro") step at the Stacey nodes (docs/solver.md, "Time integrator"): its order in time,
its long-run stability, its exact discrete adjoint (Taylor tests, checkpoints) and restarts from a ForwardState."""

from __future__ import annotations

import numpy as np
import pytest

import specfwi as sf
from specfwi.solver import SimulationSetup
from specfwi.solver.setup import ForwardState
from test_gradient import GRADIENT_TOLERANCE, MINIMUM_REMAINDER_SLOPE, observed_traces, small_event, taylor_test

WAVELET = sf.Ricker(center_frequency=8.0)
END_TIME_IN_SECONDS = 0.5


def corner_event() -> sf.Event:
    """A source in a bottom element of both conftest meshes (its weights touch the Stacey nodes: the F_t term) and two receivers."""
    return sf.Event(event_name="corner", sources=sf.ScalarPoint2D(x=160.0, y=-360.0, f=1.0),
                    receivers=sf.ArrayPoint2D(x=np.array([350.0, 560.0]), y=-62.0, fields=["phi"]))


def traces_at(mesh, event, divisor, **options):
    """Receiver traces at dt / divisor (dt: the default step), on the default step's samples."""
    run = dict(wavelet=WAVELET, end_time_in_seconds=END_TIME_IN_SECONDS, progress=False, **options)
    dt = sf.simulate(mesh, event, **run).attrs["time_step_in_seconds"]
    traces = sf.simulate(mesh, event, time_step_in_seconds=dt / divisor, **run)
    return traces.values[:, ::divisor]


@pytest.mark.parametrize("event", [small_event(), corner_event()], ids=["inside", "corner"])
@pytest.mark.parametrize("free_surface", [False, True])
def test_time_stepping_with_stacey_damping_is_fourth_order(model_mesh, event, free_surface):
    """Errors at dt, dt/2, dt/4 against dt/16 fall by about 16 per halving (the second-order step: 4-5)."""
    options = dict(absorbing_boundaries="stacey", free_surface=free_surface)
    reference = traces_at(model_mesh, event, 16, **options)
    errors = [np.linalg.norm(traces_at(model_mesh, event, divisor, **options) - reference)
              / np.linalg.norm(reference) for divisor in (1, 2, 4)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(ratios >= 10.0), (errors, ratios)


@pytest.mark.parametrize("free_surface", [False, True])
def test_the_gyro_step_stays_bounded_and_decays_from_a_random_state_over_20000_steps(free_surface):
    """A random state (every mode, the highest included) on a tiny mesh, at the default step: bounded, then gone."""
    mesh = sf.mesh.rectangle((0.0, 300.0), (-200.0, 0.0), 3, 2, tensor_order=4)
    mesh.attach_field("VP", np.full(mesh.get_element_nodes().shape[:2], 2000.0))
    mesh.attach_field("RHO", np.full(mesh.get_element_nodes().shape[:2], 1000.0))
    event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=150.0, y=-100.0, f=0.0),
                     receivers=sf.ArrayPoint2D(x=np.array([100.0]), y=-100.0, fields=["phi"]))
    setup = SimulationSetup.build(mesh, event, wavelet=WAVELET, end_time_in_seconds=10.0,
                                  options=sf.SolverOptions(progress=False, absorbing_boundaries="stacey",
                                                           free_surface=free_surface))
    assert len(setup.stacey.nodes) > 0
    rng = np.random.default_rng(3)
    mask = setup.dirichlet_mask
    state = ForwardState(mask * rng.standard_normal(mesh.n_global_nodes), mask * rng.standard_normal(mesh.n_global_nodes),
                         setup.layers.zero_memory(), np.zeros(len(setup.stacey.nodes)))
    # the change of a step: a constant field (K 1 = 0, no motion) is a steady state without a free surface.
    # Growth of 1e-4 per step (a spectral radius 1 + 1e-4) would multiply it by e^2 over the run.
    initial = np.linalg.norm(state.current - state.previous)
    changes = []
    for _ in range(20):  # 20 x 1000 steps
        state = setup.run_forward(first_step=0, last_step=1000, state=state)
        changes.append(np.linalg.norm(state.current - state.previous))
    assert setup.n_steps >= 1000
    assert max(changes) < 0.5 * initial and changes[-1] < 0.1 * initial, (initial, changes)


def test_a_restart_from_a_forward_state_continues_the_run_exactly(distorted_model_mesh):
    setup = SimulationSetup.build(distorted_model_mesh, corner_event(), wavelet=WAVELET,
                                  end_time_in_seconds=END_TIME_IN_SECONDS,
                                  options=sf.SolverOptions(progress=False, absorbing_boundaries="stacey"))
    assert len(setup.stacey.source_positions) > 0  # the F_t term is exercised
    whole = setup.run_forward()
    halfway = setup.run_forward(last_step=setup.n_steps // 2)
    assert np.abs(halfway.stacey_stiffness).max() > 0.0
    restarted = setup.run_forward(first_step=setup.n_steps // 2, state=halfway)
    np.testing.assert_array_equal(restarted.current, whole.current)
    np.testing.assert_array_equal(restarted.stacey_stiffness, whole.stacey_stiffness)
    without = setup.run_forward(first_step=setup.n_steps // 2, state=ForwardState(
        halfway.previous, halfway.current, halfway.layer_memory, np.zeros_like(halfway.stacey_stiffness)))
    assert not np.array_equal(without.current, whole.current)  # the carried stiffness is part of the state


@pytest.mark.parametrize("distorted", [False, True])
@pytest.mark.parametrize("free_surface", [False, True])
@pytest.mark.parametrize("parameter", ["VP", "RHO"])
def test_gradient_passes_the_taylor_test_through_the_stacey_nodes(make_model_mesh, distorted, free_surface, parameter):
    mesh = make_model_mesh(distorted=distorted)
    options = dict(absorbing_boundaries="stacey", free_surface=free_surface)
    observed = observed_traces(mesh, small_event(), **options)
    result = taylor_test(mesh, (parameter,), misfit="L2", observed=observed, **options)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


@pytest.mark.parametrize("parameter", ["VP", "RHO"])
def test_gradient_passes_the_taylor_test_with_a_source_on_the_stacey_nodes(distorted_model_mesh, parameter):
    """The source's F_t enters the step (and the sensitivities) where its weights touch the Stacey nodes."""
    mesh = distorted_model_mesh
    event = corner_event()
    options = dict(wavelet=WAVELET, end_time_in_seconds=END_TIME_IN_SECONDS, time_step_in_seconds=2e-3,
                   progress=False, absorbing_boundaries="stacey", misfit="L2_energy_no_observed_data")
    result = sf.compute_gradient(mesh, event, **options)
    model = mesh.element_nodal_fields[parameter]
    nodes = mesh.get_element_nodes()
    direction = model.mean() * np.cos(nodes[..., 0] / 97.0) * np.sin(nodes[..., 1] / 61.0 + 0.3)

    def misfit_of(values):
        perturbed = mesh.copy()
        perturbed.attach_field(parameter, values)
        return sf.compute_misfit(perturbed, event, **options)

    steps = 1e-3 * 0.1 ** np.arange(4) * np.linalg.norm(model) / np.linalg.norm(direction)
    taylor = sf.testing.check_gradient(misfit_of, model, direction, result.gradient.element_nodal_fields[parameter],
                                       steps=steps)
    assert taylor.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(taylor)


def test_checkpointed_gradient_equals_the_stored_states_gradient_with_stacey(distorted_model_mesh):
    options = dict(wavelet=WAVELET, end_time_in_seconds=END_TIME_IN_SECONDS, time_step_in_seconds=2e-3,
                   misfit="L2_energy_no_observed_data", progress=False, absorbing_boundaries="stacey")
    stored = sf.compute_gradient(distorted_model_mesh, corner_event(), **options)
    checkpointed = sf.compute_gradient(distorted_model_mesh, corner_event(), checkpoint_memory_in_megabytes=0.25,
                                       **options)
    assert checkpointed.misfit == stored.misfit
    for name in ("VP", "RHO"):
        np.testing.assert_allclose(checkpointed.gradient.element_nodal_fields[name],
                                   stored.gradient.element_nodal_fields[name], rtol=0, atol=1e-12 * np.abs(
                                       stored.gradient.element_nodal_fields[name]).max())
