"""The optimisers on problems with known answers: quadratics, Rosenbrock, bounds, restarts, resumption."""

from __future__ import annotations

import numpy as np
import pytest

import specfwi as sf
from specfwi.errors import InvalidParameterError
from specfwi.inversion import Bounds, OptimizerState


def quadratic(n: int = 8, seed: int = 0):
    """f = (x - x*)' A (x - x*) / 2 with a condition number of 100; returns (function, minimiser)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
    matrix = basis @ np.diag(np.logspace(0, 2, n)) @ basis.T
    solution = rng.standard_normal(n)

    def function(x):
        r = x - solution
        return 0.5 * float(r @ matrix @ r), matrix @ r

    return function, solution


def rosenbrock(x):
    value = 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2
    gradient = np.array([-400.0 * x[0] * (x[1] - x[0] ** 2) - 2.0 * (1.0 - x[0]), 200.0 * (x[1] - x[0] ** 2)])
    return value, gradient


def run(method, function, x0, *, n_evaluations: int, bounds=None, precondition=None, record=None):
    state = method.start(x0, bounds=bounds)
    for _ in range(n_evaluations):
        if state.status != "running":
            break
        trial = method.propose(state)
        value, gradient = function(trial)
        if record is not None:
            record.append((state.copy(), trial, value, gradient))
        state = method.update(state, value, gradient, bounds=bounds, precondition=precondition)
    return state


METHODS = [sf.LBFGS(memory=5, initial_step_linf=0.5), sf.TrustRegion(initial_trust_region_linf=0.5, memory=5)]


@pytest.mark.parametrize("method", METHODS, ids=["lbfgs", "trust_region"])
def test_quadratic_converges(method):
    function, solution = quadratic()
    state = run(method, function, np.zeros(8), n_evaluations=150)
    assert np.max(np.abs(state.x - solution)) < 1e-6


@pytest.mark.parametrize("method", METHODS, ids=["lbfgs", "trust_region"])
def test_rosenbrock_converges(method):
    state = run(method, rosenbrock, np.array([-1.2, 1.0]), n_evaluations=300)
    assert np.max(np.abs(state.x - 1.0)) < 1e-5, state


def test_accepted_steps_satisfy_strong_wolfe():
    method = sf.LBFGS(memory=3, initial_step_linf=0.5, c1=1e-4, c2=0.9)
    record = []
    state = run(method, rosenbrock, np.array([-1.2, 1.0]), n_evaluations=60, record=record)
    n_checked = 0
    for before, trial, value, gradient in record[1:]:
        after_iteration = [later for later in record if later[0].n_evaluations == before.n_evaluations + 1]
        accepted = (after_iteration and after_iteration[0][0].iteration > before.iteration) or (
            not after_iteration and state.iteration > before.iteration)
        if not accepted or not np.array_equal(trial, (after_iteration[0][0] if after_iteration else state).x):
            continue
        slope_0 = float(before.gradient @ before.direction)
        step = np.linalg.lstsq(before.direction[:, None], trial - before.x, rcond=None)[0][0]
        assert value <= before.misfit + method.c1 * step * slope_0
        assert abs(float(gradient @ before.direction)) <= method.c2 * abs(slope_0)
        n_checked += 1
    assert n_checked >= 10


def test_trust_region_rejects_by_ratio_and_shrinks():
    """On Rosenbrock from far, a large region gives trials that the ratio test rejects; the radius shrinks."""
    method = sf.TrustRegion(initial_trust_region_linf=2.0)
    record = []
    state = run(method, rosenbrock, np.array([-1.2, 1.0]), n_evaluations=200, record=record)
    outcomes = [later[0].last_outcome for later in record[1:]] + [state.last_outcome]
    assert "rejected" in outcomes and "accepted" in outcomes
    for (before, _, value, _), after in zip(record[1:], [r[0] for r in record[2:]] + [state]):
        ratio = (before.misfit - value) / before.predicted_reduction
        assert (after.last_outcome == "accepted") == (ratio > method.eta)
        if after.last_outcome == "rejected":
            assert after.trust_radius_linf < before.trust_radius_linf
            assert after.misfit == before.misfit


@pytest.mark.parametrize("method", METHODS + [sf.LBFGS(memory=5, initial_step_linf=0.5, bound_handling="project"),
                                    sf.TrustRegion(initial_trust_region_linf=0.5, bound_handling="project")],
                         ids=["lbfgs", "trust_region", "lbfgs_project", "trust_region_project"])
def test_bounds_are_respected(method):
    """The minimiser of the quadratic lies outside the box: every trial stays inside, the result is the
    box-constrained minimiser (projected gradient zero)."""
    function, solution = quadratic(seed=1)
    bounds = Bounds(np.full(8, -0.3), np.full(8, 0.3))
    record = []
    state = run(method, function, np.zeros(8), n_evaluations=300, bounds=bounds, record=record)
    trials = np.array([trial for _, trial, _, _ in record])
    assert np.all(trials >= -0.3) and np.all(trials <= 0.3)
    assert np.any(np.abs(solution) > 0.3)
    _, gradient = function(state.x)
    projected = np.clip(state.x - gradient, -0.3, 0.3) - state.x
    assert np.max(np.abs(projected)) < 1e-5


@pytest.mark.parametrize("make_method", [
    lambda handling: sf.TrustRegion(initial_trust_region_linf=4.0, memory=5, bound_handling=handling),
    lambda handling: sf.LBFGS(memory=5, initial_step_linf=4.0, bound_handling=handling)],
    ids=["trust_region", "lbfgs"])
def test_projected_steps_pass_bounds_that_stop_the_segment(make_method):
    """A separable quadratic whose minimiser lies beyond the upper bound 1 in 12 components that start at
    different distances from it: stopping at the first bound met costs about one step per component
    before all of them reach it; clipping into the box puts them there at once. Both converge."""
    n = 24
    bounded = np.arange(n) % 2 == 0
    curvature = np.linspace(1.0, 3.0, n)
    solution = np.where(bounded, 3.0, 0.5)
    x0 = np.where(bounded, 1.0 - 0.1 * np.cumsum(bounded), 0.0)

    def function(x):
        r = x - solution
        return 0.5 * float(np.sum(curvature * r * r)), curvature * r

    bounds = Bounds(np.full(n, -5.0), np.full(n, 1.0))
    expected = np.minimum(solution, 1.0)
    evaluations = {}
    for handling in ("stop", "project"):
        method = make_method(handling)
        record = []
        state = run(method, function, x0, n_evaluations=60, bounds=bounds, record=record)
        trials = np.array([trial for _, trial, _, _ in record])
        assert np.all(trials <= 1.0) and np.all(trials >= -5.0)
        at_bounds = [k for k, (_, trial, _, _) in enumerate(record) if np.all(trial[bounded] == 1.0)]
        evaluations[handling] = at_bounds[0] + 1 if at_bounds else np.inf
        assert np.max(np.abs(state.x - expected)) < 1e-6
    assert evaluations["project"] <= 3 and evaluations["stop"] >= 10


@pytest.mark.parametrize("method", METHODS, ids=["lbfgs", "trust_region"])
def test_restart_when_not_a_descent_direction(method):
    """A memory whose pair has negative curvature (crafted: update never stores one) gives an ascent
    direction; the optimiser clears its memory and moves downhill."""
    function, _ = quadratic()
    state = method.start(np.zeros(8))
    state = method.update(state, *function(method.propose(state)))
    assert len(state.s_memory) == 0
    crafted = state.to_dict()
    crafted["s_memory"] = -state.gradient[None, :] * 1e-3
    crafted["y_memory"] = state.gradient[None, :] * 1e-3 * 50.0
    crafted["n_evaluations"] = 1
    forged = OptimizerState.from_dict(crafted)
    from specfwi.inversion.quasi_newton import descent_direction, identity
    direction = descent_direction(forged, Bounds.of(None, 8), identity, 0.5)
    assert forged.n_restarts == 1 and len(forged.s_memory) == 0
    assert float(state.gradient @ direction) < 0


@pytest.mark.parametrize("method", METHODS, ids=["lbfgs", "trust_region"])
def test_serialised_state_resumes_identically(method):
    function, _ = quadratic()
    straight = run(method, function, np.zeros(8), n_evaluations=25)
    state = method.start(np.zeros(8))
    for _ in range(25):
        state = OptimizerState.from_dict({key: (value.copy() if isinstance(value, np.ndarray) else value)
                                          for key, value in state.to_dict().items()})
        trial = method.propose(state)
        state = method.update(state, *function(trial))
    for key, value in straight.to_dict().items():
        np.testing.assert_array_equal(state.to_dict()[key], value, err_msg=key)


def test_preconditioner_is_the_first_direction():
    """With an empty memory the first trial moves along -P g, scaled to the initial max-norm step."""
    function, _ = quadratic()
    scales = np.linspace(1.0, 3.0, 8)
    method = sf.LBFGS(initial_step_linf=0.1)
    state = method.start(np.zeros(8))
    value, gradient = function(state.trial)
    state = method.update(state, value, gradient, precondition=lambda v: scales * v)
    expected = -scales * gradient
    np.testing.assert_allclose(state.trial, 0.1 * expected / np.max(np.abs(expected)), rtol=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(InvalidParameterError, match="memory"):
        sf.LBFGS(memory=0)
    with pytest.raises(InvalidParameterError, match="c1, c2"):
        sf.LBFGS(c1=0.5, c2=0.4)
    with pytest.raises(InvalidParameterError, match="initial_trust_region_linf"):
        sf.TrustRegion(initial_trust_region_linf=-1.0)
    with pytest.raises(InvalidParameterError, match="'bound_handling' must be one of"):
        sf.TrustRegion(bound_handling="clip")
    with pytest.raises(InvalidParameterError, match="'bound_handling' must be one of"):
        sf.LBFGS(bound_handling="clip")
    method = sf.LBFGS()
    state = method.start(np.zeros(3))
    with pytest.raises(InvalidParameterError, match="gradient"):
        method.update(state, 1.0, np.zeros(4))
