"""``sf.TrustRegion``: a trust-region L-BFGS that accepts or rejects each trial by actual against predicted reduction.

The model of the misfit around x is m(p) = f + g'p + p'Bp/2 with B = H^-1, H the L-BFGS inverse
Hessian (two-loop recursion, H0 = gamma * P with the preconditioner P; see
:mod:`specfwi.inversion.quasi_newton`). The subproblem is solved on the quasi-Newton segment:
p = t d with d = -H g (free components only, under bounds) and t in [0, 1] the largest step inside
the max-norm region |p|_inf <= radius and the bounds. Along it B d = -g, so the model is known
exactly without B: m(t d) - f = t g'd - t^2 g'd / 2 (the predicted reduction, with its minimum at t = 1).
The segment is used rather than a dogleg because the preconditioner is only available as an
operator P (an approximate inverse Hessian), and the Cauchy leg would need P^-1.

A trial is accepted when rho = (f(x) - f(x + p)) / predicted > eta. Radius: x2 when rho > 0.75
and the step reached the region; x0.25 of the step's max-norm when rho < 0.25 (rejected or not).

Bounds (``bound_handling``): "stop" ends the segment at the first bound it meets (t also <= the
largest feasible step), so its model is exact; "project" takes t from the radius alone and clips
the trial into the box, p = P(x + t d) - x, with the predicted reduction -g'p (1 - t/2) (exact when
nothing is clipped; should clipping leave no predicted decrease, the step stops at the bound as with
"stop"). With "stop", a component approaching its bound cuts every step short until it reaches it,
one component after another; "project" lets the others move on.
"""

from __future__ import annotations

import numpy as np

from ..errors import invalid
from ..parameters import check_positive_number
from .optimizer import BoundHandling, Optimizer, check_bound_handling, check_memory

GOOD_RATIO = 0.75
POOR_RATIO = 0.25
SHRINK_FACTOR = 0.25
GROW_FACTOR = 2.0
SMALLEST_RELATIVE_RADIUS = 1e-12


class TrustRegion(Optimizer):
    """Trust-region L-BFGS over flat float64 vectors.

    Parameters
    ----------
    initial_trust_region_linf : first radius of the max-norm trust region (inversion-space units:
        0.05 is 5 % with relative scaling), > 0. It also scales the first step (empty memory).
    memory : quasi-Newton pairs kept (>= 1).
    eta : acceptance threshold of rho, 0 <= eta < 0.25.
    bound_handling : "stop" (default: a step ends at the first bound it meets) or "project" (steps of the
        trust radius, clipped into the bounds); see the module docstring.
    """

    def __init__(self, initial_trust_region_linf: float = 0.05, *, memory: int = 5, eta: float = 0.01,
                 bound_handling: BoundHandling = "stop"):
        self.initial_trust_region_linf = check_positive_number("initial_trust_region_linf", initial_trust_region_linf)
        self.memory = check_memory(memory)
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0.0 <= eta < POOR_RATIO:
            raise invalid("eta", eta, f"a number in [0, {POOR_RATIO})")
        self.eta = float(eta)
        self.bound_handling: BoundHandling = check_bound_handling(bound_handling)

    def to_dict(self) -> dict:
        """The options, as stored in the project (see Optimizer._with_bound_handling)."""
        return self._with_bound_handling({"type": "TrustRegion",
                                          "initial_trust_region_linf": self.initial_trust_region_linf,
                                          "memory": self.memory, "eta": self.eta})

    def start(self, x0, *, bounds=None):
        state = super().start(x0, bounds=bounds)
        state.trust_radius_linf = self.initial_trust_region_linf
        return state

    def _first_step_linf(self, state) -> float:
        return state.trust_radius_linf

    def _start_search(self, state, bounds) -> None:
        self._propose_step(state, bounds)

    def _propose_step(self, state, bounds) -> None:
        direction = state.direction
        largest = float(np.max(np.abs(direction)))
        t = min(1.0, state.trust_radius_linf / largest)
        if self.bound_handling == "project":
            trial = bounds.project(state.x + t * direction)
            predicted = -float(state.gradient @ (trial - state.x)) * (1.0 - 0.5 * t)
            if predicted > 0:  # else (clipping turned the step uphill) the segment stops at the bound
                state.trial, state.predicted_reduction = trial, predicted
                return
        t = min(t, bounds.max_step(state.x, direction))
        if not t > 0:
            self._stop(state, "the bounds leave no room along the quasi-Newton direction")
            return
        slope = float(state.gradient @ direction)
        state.predicted_reduction = -slope * (t - 0.5 * t * t)
        state.trial = bounds.project(state.x + t * direction)

    def _receive(self, state, misfit, gradient, bounds, precondition) -> None:
        ratio = (state.misfit - misfit) / state.predicted_reduction
        step_linf = float(np.max(np.abs(state.trial - state.x)))
        if ratio < POOR_RATIO:
            state.trust_radius_linf = SHRINK_FACTOR * step_linf
        elif ratio > GOOD_RATIO and step_linf >= (1.0 - 1e-9) * state.trust_radius_linf:
            state.trust_radius_linf = GROW_FACTOR * state.trust_radius_linf
        if ratio > self.eta:
            self._accept(state, state.trial, misfit, gradient, bounds)
            self._begin_iteration(state, bounds, precondition)
            return
        state.last_outcome = "rejected"
        if state.trust_radius_linf <= SMALLEST_RELATIVE_RADIUS * (1.0 + float(np.max(np.abs(state.x)))):
            self._stop(state, "the trust region shrank to nothing without an acceptable step")
            return
        self._propose_step(state, bounds)
