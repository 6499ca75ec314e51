"""Verification of the discrete adjoint gradient (specfwi.gradient): Taylor tests for every misfit,
boundary condition and mesh kind, checkpointing, the gradient file, the source imprint, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from specfwi.errors import InvalidParameterError, SpecfwiError
from specfwi.misfit import trapezoid_weights, uniform_time_step
from specfwi.solver import SimulationSetup
from specfwi.solver import adjoint
from specfwi.solver import options as solver_options
from specfwi.solver.adjoint import plan_checkpoints
from specfwi.testing import TaylorResult, check_gradient

WAVELET = sf.Ricker(center_frequency=8.0)
# An explicit time step: observed and synthetic traces share one time axis whatever the model.
OPTIONS = dict(wavelet=WAVELET, end_time_in_seconds=0.5, time_step_in_seconds=2e-3, progress=False)
TAYLOR_RELATIVE_STEPS = 1e-3 * 0.1 ** np.arange(4)  # |step * direction| / |model|: 1e-3 .. 1e-6
GRADIENT_TOLERANCE = 1e-6
CROSS_CORRELATION_TOLERANCE = 1e-4
MINIMUM_REMAINDER_SLOPE = 1.9  # second-order Taylor remainder: the gradient is the derivative, not just close


def small_event() -> sf.Event:
    """One source and two receivers inside both conftest meshes (rectangular and distorted), off the nodes."""
    return sf.Event(event_name="small", sources=sf.ScalarPoint2D(x=210.0, y=-255.0, f=1.0),
                    receivers=sf.ArrayPoint2D(x=np.array([350.0, 480.0]), y=-62.0, fields=["phi"]))


def smooth_random_field(mesh: sf.UnstructuredMesh, rng: np.random.Generator) -> np.ndarray:
    """A sum of three random plane-wave products of 80-300 m wavelengths, (n_elements, n_gll), max |.| = 1."""
    nodes = mesh.get_element_nodes()
    x, y = nodes[..., 0], nodes[..., 1]
    field = np.zeros(x.shape)
    for _ in range(3):
        wavenumbers = 2.0 * np.pi / rng.uniform(80.0, 300.0, 2)
        phases = rng.uniform(0.0, 2.0 * np.pi, 2)
        field += rng.standard_normal() * np.sin(wavenumbers[0] * x + phases[0]) * np.cos(wavenumbers[1] * y + phases[1])
    return field / np.max(np.abs(field))


def observed_traces(mesh: sf.UnstructuredMesh, event: sf.Event, *, relative_change: float = 0.03,
                    **options) -> xr.DataArray:
    """Traces of the model with VP changed by up to ``relative_change`` (smoothly): the "observed" data."""
    perturbed = mesh.copy()
    vp = mesh.element_nodal_fields["VP"]
    perturbed.attach_field("VP", vp * (1.0 + relative_change * smooth_random_field(mesh, np.random.default_rng(99))))
    return sf.simulate(perturbed, event, **{**OPTIONS, **options})


def taylor_test(mesh: sf.UnstructuredMesh, parameters: tuple[str, ...], *, misfit, observed=None, window=None,
                bandpass=None, seed: int = 0, **options) -> TaylorResult:
    """Taylor test of sf.compute_gradient along a smooth random perturbation of ``parameters`` (together)."""
    event = small_event()
    options = {**OPTIONS, **options}
    result = sf.compute_gradient(mesh, event, misfit=misfit, observed=observed, window=window, bandpass=bandpass,
                                 **options)
    rng = np.random.default_rng(seed)
    model = np.stack([mesh.element_nodal_fields[name] for name in parameters])
    direction = np.stack([mesh.element_nodal_fields[name].mean() * smooth_random_field(mesh, rng)
                          for name in parameters])
    gradient = np.stack([result.gradient.element_nodal_fields[name] for name in parameters])

    def misfit_of(values):
        perturbed = mesh.copy()
        for name, value in zip(parameters, values):
            perturbed.attach_field(name, value)
        return sf.compute_misfit(perturbed, event, misfit=misfit, observed=observed, window=window,
                                 bandpass=bandpass, **options)

    steps = TAYLOR_RELATIVE_STEPS * np.linalg.norm(model) / np.linalg.norm(direction)
    taylor = check_gradient(misfit_of, model, direction, gradient, steps=steps)
    assert taylor.value == pytest.approx(result.misfit, rel=1e-12)
    assert taylor.value > 0.0 and abs(taylor.directional_derivative) > 0.0
    return taylor


@pytest.mark.parametrize("parameter", ["VP", "RHO"])
@pytest.mark.parametrize("misfit", ["L2_energy_no_observed_data", "L2"])
def test_gradient_passes_the_taylor_test_with_absorbing_boundaries(model_mesh, misfit, parameter):
    observed = observed_traces(model_mesh, small_event()) if misfit == "L2" else None
    result = taylor_test(model_mesh, (parameter,), misfit=misfit, observed=observed)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_gradient_passes_the_taylor_test_with_a_free_surface(model_mesh):
    event = small_event()
    observed = observed_traces(model_mesh, event, free_surface=True)
    result = taylor_test(model_mesh, ("VP", "RHO"), misfit="L2", observed=observed, free_surface=True)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_gradient_passes_the_taylor_test_on_a_distorted_mesh(distorted_model_mesh):
    result = taylor_test(distorted_model_mesh, ("VP", "RHO"), misfit="L2_energy_no_observed_data", seed=1)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_cross_correlation_time_shift_gradient_passes_the_taylor_test(model_mesh):
    observed = observed_traces(model_mesh, small_event())
    result = taylor_test(model_mesh, ("VP",), misfit="cross_correlation_time_shift", observed=observed, seed=2)
    assert result.passed(CROSS_CORRELATION_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_windowed_misfit_gradient_passes_the_taylor_test(model_mesh):
    observed = observed_traces(model_mesh, small_event())
    window = sf.Window(0.2, 0.45, taper_width_in_seconds=0.05)
    result = taylor_test(model_mesh, ("VP", "RHO"), misfit="L2", observed=observed, window=window, seed=3)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_top_muted_misfit_gradient_passes_the_taylor_test(model_mesh):
    event = small_event()
    observed = observed_traces(model_mesh, event)
    windows = sf.TopMute(2000.0, 0.15, taper_width_in_seconds=0.05).windows(event, OPTIONS["end_time_in_seconds"])
    offsets = np.hypot(np.array([350.0, 480.0]) - 210.0, -62.0 + 255.0)                # 238 and 332 m
    np.testing.assert_allclose([window.start_in_seconds for window in windows.values()], 0.15 + offsets / 2000.0)
    result = taylor_test(model_mesh, ("VP", "RHO"), misfit="L2", observed=observed, window=windows, seed=6)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_bandpassed_misfit_gradient_passes_the_taylor_test(model_mesh):
    observed = observed_traces(model_mesh, small_event())
    window = sf.Window(0.1, 0.5, taper_width_in_seconds=0.05)
    result = taylor_test(model_mesh, ("VP", "RHO"), misfit="L2", observed=observed, window=window,
                         bandpass=(4.0, 12.0), seed=5)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def squared_energy_misfit(synthetic: xr.DataArray, observed) -> tuple[float, np.ndarray]:
    """A user misfit: chi = sum_r E_r^2 with E_r = 1/2 int u_r^2 dt; adjoint source 2 E_r u_r.

    (In the convention of specfwi.misfit: delta chi = sum_k dt c_k a_k delta u_k.)
    """
    time = synthetic["time"].values
    energies = 0.5 * uniform_time_step(time) * (synthetic.values**2 @ trapezoid_weights(time))
    return float(np.sum(energies**2)), 2.0 * energies[:, None] * synthetic.values


def test_user_callable_misfit_gradient_passes_the_taylor_test(model_mesh):
    result = taylor_test(model_mesh, ("VP", "RHO"), misfit=squared_energy_misfit, seed=4)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


def test_gradient_is_exact_for_a_sharp_single_node_perturbation(model_mesh):
    """Not only smooth directions: the derivative for one element-nodal value (a corner shared by elements)."""
    event = small_event()
    result = sf.compute_gradient(model_mesh, event, misfit="L2_energy_no_observed_data", **OPTIONS)
    element, node = 9, 0
    gradient = result.gradient.element_nodal_fields["VP"][element, node]
    vp = model_mesh.element_nodal_fields["VP"]
    direction = np.zeros_like(vp)
    direction[element, node] = 1.0

    def misfit_of(values):
        perturbed = model_mesh.copy()
        perturbed.attach_field("VP", values)
        return sf.compute_misfit(perturbed, event, misfit="L2_energy_no_observed_data", **OPTIONS)

    taylor = check_gradient(misfit_of, vp, direction, gradient * direction, steps=[10.0, 1.0, 0.1])
    assert gradient != 0.0
    assert taylor.passed(GRADIENT_TOLERANCE), str(taylor)


# ---------------------------------------------------------------------- checkpointing
def test_checkpointed_gradient_equals_the_stored_wavefield_gradient(model_mesh):
    event = small_event()
    options = dict(misfit="L2_energy_no_observed_data", **OPTIONS)
    stored = sf.compute_gradient(model_mesh, event, **options)
    n_steps, n_nodes = stored.traces.sizes["time"] - 1, model_mesh.n_global_nodes
    everything = plan_checkpoints(n_steps, n_nodes, 1e9)
    assert everything.stores_everything  # the default budget stores this small run entirely
    memory = everything.memory_in_bytes / 4.0 / 1024**2
    plan = plan_checkpoints(n_steps, n_nodes, memory)
    assert 1 < plan.segment_length < n_steps and math.ceil(n_steps / plan.segment_length) >= 3, plan
    checkpointed = sf.compute_gradient(model_mesh, event, checkpoint_memory_in_megabytes=memory, **options)
    assert checkpointed.misfit == stored.misfit
    np.testing.assert_array_equal(checkpointed.traces.values, stored.traces.values)
    for name in ("VP", "RHO"):
        expected = stored.gradient.element_nodal_fields[name]
        np.testing.assert_allclose(checkpointed.gradient.element_nodal_fields[name], expected, rtol=1e-12,
                                   atol=1e-12 * np.max(np.abs(expected)))


def test_checkpointing_recomputes_every_segment_but_the_last(model_mesh, monkeypatch):
    """The forward run stores the last segment's states (the adjoint needs them first); the others are recomputed."""
    recomputed = []
    run_forward = SimulationSetup.run_forward_in_solver_order

    def counting(setup, **options):
        if options.get("description") == "recompute":
            recomputed.append((options["first_step"], options["last_step"]))
        return run_forward(setup, **options)

    monkeypatch.setattr(SimulationSetup, "run_forward_in_solver_order", counting)
    memory = 0.25
    result = sf.compute_gradient(model_mesh, small_event(), misfit="L2_energy_no_observed_data",
                                 checkpoint_memory_in_megabytes=memory, **OPTIONS)
    n_steps = result.traces.sizes["time"] - 1
    plan = plan_checkpoints(n_steps, model_mesh.n_global_nodes, memory)
    starts = list(range(0, n_steps, plan.segment_length))
    assert len(starts) >= 3, plan
    assert sorted(recomputed) == [(start, start + plan.segment_length) for start in starts[:-1]]


@pytest.mark.parametrize("everything_stored", [True, False])
def test_a_reused_state_store_gives_the_same_gradient_whatever_it_held(model_mesh, everything_stored):
    """The store of forward states outlives a gradient for the next one; stale contents must not matter."""
    event = small_event()
    options = dict(misfit="L2_energy_no_observed_data", **OPTIONS)
    if not everything_stored:
        options["checkpoint_memory_in_megabytes"] = 0.25  # segments recomputed from checkpoints
    first = sf.compute_gradient(model_mesh, event, **options)
    plan = plan_checkpoints(first.traces.sizes["time"] - 1, model_mesh.n_global_nodes,
                            options.get("checkpoint_memory_in_megabytes", solver_options.DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES))
    assert plan.stores_everything == everything_stored
    states, residuals, forcings = adjoint._STATE_STORE._idle
    states.fill(np.nan)
    residuals.fill(np.nan)
    forcings.fill(np.nan)
    second = sf.compute_gradient(model_mesh, event, **options)
    assert adjoint._STATE_STORE._idle[0] is states  # reused, not reallocated
    assert second.misfit == first.misfit
    for name in ("VP", "RHO"):
        np.testing.assert_array_equal(second.gradient.element_nodal_fields[name],
                                      first.gradient.element_nodal_fields[name])


def test_a_state_store_in_use_is_not_lent_twice_and_can_be_released():
    store = adjoint._StateStore()
    with store.borrowed(4, 2, 10) as outer:
        with store.borrowed(4, 2, 10) as inner:  # as a second thread would, while the first one computes
            assert inner[0] is not outer[0] and inner[1] is not outer[1]
    with store.borrowed(4, 2, 10) as again:
        assert again[0] is outer[0]  # the last one returned is kept
    with store.borrowed(5, 3, 10) as other:
        assert other[0].shape == (5, 10) and other[1].shape == (3, 10)
    store.release()
    assert store._idle is None


# ---------------------------------------------------------------------- the gradient as a result and a file
@pytest.fixture(scope="module")
def seed_like_gradient():
    """The seed tutorial's set-up (S1 of benchmarks/SCENARIOS.md) at 1/5 size: 600 m x 200 m, f0 = 25 Hz, end 0.4 s.

    Receivers are 20 m below the surface instead of at it: on the boundary the field is doubled and
    the absorbing condition adds its own boundary sensitivity, so at this size the receiver nearest
    to the source holds the largest density (measured: 0.43 of it at the source). With them 20 m deep the
    source holds the peak and nothing beyond 3 elements from it exceeds 0.38 of it.
    """
    scale = 0.2
    x, y = np.linspace(0.0, 3000.0 * scale, 10), np.linspace(-1000.0 * scale, 0.0, 10)
    depth = -np.meshgrid(x, y, indexing="ij")[1] / scale  # in the seed's (unscaled) metres
    data = xr.Dataset({"vp": (["x", "y"], 1500.0 + depth), "rho": (["x", "y"], 1000.0 + depth)},
                      coords={"x": x, "y": y})
    wavelet = sf.Ricker(center_frequency=5.0 / scale)
    mesh = sf.mesh.from_volume_model(sf.model.GenericModel("seed", data), elements_per_wavelength=1.0,
                                     max_frequency_in_hertz=wavelet.max_frequency_in_hertz)
    source = (500.0 * scale, -500.0 * scale)
    event = sf.Event(event_name="event", sources=sf.ScalarPoint2D(x=source[0], y=source[1], f=1.0),
                     receivers=sf.ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10) * scale, y=-20.0, fields=["phi"]))
    fields_before = {name: values.copy() for name, values in mesh.element_nodal_fields.items()}
    result = sf.compute_gradient(mesh, event, wavelet=wavelet, end_time_in_seconds=2.0 * scale,
                                 misfit="L2_energy_no_observed_data", progress=False)
    return mesh, source, fields_before, result


def test_gradient_result_is_a_mesh_with_vp_and_rho_and_the_model_is_untouched(seed_like_gradient):
    mesh, _, fields_before, result = seed_like_gradient
    gradient = result.gradient
    assert isinstance(gradient, sf.UnstructuredMesh) and gradient is not mesh
    assert sorted(gradient.element_nodal_fields) == ["RHO", "VP"]
    np.testing.assert_array_equal(gradient.vertices, mesh.vertices)
    np.testing.assert_array_equal(gradient.connectivity, mesh.connectivity)
    assert gradient.tensor_order == mesh.tensor_order
    for name, values in fields_before.items():
        np.testing.assert_array_equal(mesh.element_nodal_fields[name], values)
    assert result.misfit > 0.0 and result.traces.dims == ("receiver", "time")
    assert result.adjoint_source.shape == result.traces.shape


def test_gradient_file_round_trip(seed_like_gradient, tmp_path):
    gradient = seed_like_gradient[3].gradient
    path = gradient.write_h5(tmp_path / "gradient.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradient.h5", "gradient.xdmf"]  # nothing half-written
    loaded = sf.UnstructuredMesh.from_h5(path)
    assert sorted(loaded.element_nodal_fields) == ["RHO", "VP"]
    for name in ("VP", "RHO"):
        np.testing.assert_array_equal(loaded.element_nodal_fields[name], gradient.element_nodal_fields[name])
    np.testing.assert_array_equal(loaded.vertices, gradient.vertices)
    np.testing.assert_array_equal(loaded.connectivity, gradient.connectivity)
    assert loaded.tensor_order == gradient.tensor_order


def test_vp_gradient_density_peaks_at_the_source(seed_like_gradient):
    """The seed's raw-gradient pattern: the largest |d chi / d VP| per unit area lies at the source."""
    mesh, source, _, result = seed_like_gradient
    density = np.abs(result.gradient.element_nodal_fields["VP"] / mesh.quadrature_weights)
    nodes = mesh.get_element_nodes()
    distance = np.hypot(nodes[..., 0] - source[0], nodes[..., 1] - source[1])
    element_size = np.sqrt(np.mean(np.sum(mesh.quadrature_weights, axis=1)))
    peak = np.unravel_index(np.argmax(density), density.shape)
    assert distance[peak] <= 1.5 * element_size, f"peak at {nodes[peak]}, source at {source}"
    assert np.max(density[distance > 3.0 * element_size]) < 0.8 * density[peak]


# ---------------------------------------------------------------------- bad input fails fast
@pytest.fixture
def no_time_stepping(monkeypatch):
    """Fail the test if time stepping starts."""
    def forbidden(*args, **kwargs):
        raise AssertionError("bad input was not rejected before time stepping")
    monkeypatch.setattr(SimulationSetup, "run_forward_in_solver_order", forbidden)


BAD_GRADIENT_INPUT = {
    "unknown misfit": (dict(misfit="L3"), r"'misfit' must be one of \[.*'L2'.*\] or a callable, got 'L3'"),
    "L2 without observed data": (dict(misfit="L2"), r"'observed' must be traces .*'L2'.*got None"),
    "cross-correlation without observed data": (dict(misfit="cross_correlation_time_shift"),
                                                r"'observed' must be traces .*got None"),
    "zero checkpoint memory": (dict(misfit="L2_energy_no_observed_data", checkpoint_memory_in_megabytes=0.0),
                               r"'checkpoint_memory_in_megabytes' must be .*> 0, got 0\.0"),
    "nan checkpoint memory": (dict(misfit="L2_energy_no_observed_data", checkpoint_memory_in_megabytes=np.nan),
                              r"'checkpoint_memory_in_megabytes' must be .*, got nan"),
    "band-pass above the Nyquist frequency": (dict(misfit="L2_energy_no_observed_data", bandpass=(5.0, 300.0)),
                                              r"'bandpass' must be .*below the Nyquist frequency of the traces, "
                                              r"250\.0 Hz .*got \(5\.0, 300\.0\)"),
    "reversed band-pass": (dict(misfit="L2_energy_no_observed_data", bandpass=(12.0, 4.0)),
                           r"'bandpass' must be .*0 < f_min < f_max.*got \(12\.0, 4\.0\)"),
}


@pytest.mark.parametrize("case", list(BAD_GRADIENT_INPUT))
def test_bad_gradient_input_fails_fast_with_a_specfwi_error(case, model_mesh, no_time_stepping):
    arguments, message = BAD_GRADIENT_INPUT[case]
    with pytest.raises(InvalidParameterError, match=message) as raised:
        sf.compute_gradient(model_mesh, small_event(), **{**OPTIONS, **arguments})
    assert isinstance(raised.value, SpecfwiError) and isinstance(raised.value, ValueError)


def test_observed_data_on_another_time_axis_fail_before_time_stepping(model_mesh, no_time_stepping):
    observed = xr.DataArray(np.zeros((2, 100)), dims=("receiver", "time"),
                            coords={"receiver": ["REC_000", "REC_001"], "time": 1e-3 * np.arange(100)})
    with pytest.raises(InvalidParameterError, match=r"'observed.time' must be the synthetic time axis"):
        sf.compute_gradient(model_mesh, small_event(), misfit="L2", observed=observed, **OPTIONS)
