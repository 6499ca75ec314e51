"""``sf.LBFGS``: limited-memory BFGS with a line search satisfying the strong Wolfe conditions.

The line search (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithms 3.5 and 3.6)
runs as a resumable state machine: every ``update`` receives one trial's misfit and gradient
and either accepts it, or proposes the next trial step length. A step alpha is accepted when

    f(x + alpha d) <= f(x) + c1 alpha g'd          (sufficient decrease)
    |g(x + alpha d)'d| <= c2 |g'd|                 (strong curvature)

Bounds (``bound_handling``): with "stop" (the default) the search ends at the largest feasible step
along d: a step that reaches it and still decreases enough is accepted (the bound stops the
search), so one component approaching its bound cuts every step short until it reaches it. With
"project" the trials are x(alpha) = P(x + alpha d), P the projection into the box, with no
largest step: alpha d in both conditions becomes the projected step x(alpha) - x, and g'd the
slope of the projected path, g'd restricted to the components that are not clipped.

After ``max_line_search_evaluations`` the best sufficient-decrease point is proposed once more and
accepted (phase "fallback"); if there is none, the memory restarts along the preconditioned gradient.
"""

from __future__ import annotations

import numpy as np

from ..errors import invalid
from ..parameters import check_positive_number
from .optimizer import BoundHandling, Optimizer, check_bound_handling, check_memory
from .state import LineSearchState

EXTRAPOLATION_FACTOR = 2.0
INTERPOLATION_SAFEGUARD = 0.1
"""A zoom trial keeps this fraction of the bracket's width away from its ends."""


def _cubic_minimiser(search: LineSearchState) -> float:
    """Minimiser of the cubic through both ends of the bracket, kept inside it (bisection otherwise)."""
    a, b = search.alpha_lo, search.alpha_hi
    width = b - a
    d1 = search.slope_lo + search.slope_hi - 3.0 * (search.misfit_lo - search.misfit_hi) / (a - b)
    radicand = d1 * d1 - search.slope_lo * search.slope_hi
    low, high = min(a, b) + INTERPOLATION_SAFEGUARD * abs(width), max(a, b) - INTERPOLATION_SAFEGUARD * abs(width)
    if radicand >= 0:
        d2 = np.sign(width) * np.sqrt(radicand)
        denominator = search.slope_hi - search.slope_lo + 2.0 * d2
        if denominator != 0:
            alpha = b - width * (search.slope_hi + d2 - d1) / denominator
            if np.isfinite(alpha) and low <= alpha <= high:
                return float(alpha)
    return 0.5 * (a + b)


class LBFGS(Optimizer):
    """Limited-memory BFGS over flat float64 vectors.

    Parameters
    ----------
    memory : number of quasi-Newton pairs kept (>= 1).
    initial_step_linf : max-norm of the first step, and of every step after a restart (inversion-space
        units: 0.05 is 5 % with relative scaling).
    c1, c2 : the Wolfe constants, 0 < c1 < c2 < 1.
    max_line_search_evaluations : evaluations per line search before the fallback (>= 1).
    bound_handling : "stop" (default: no step beyond the first bound met) or "project" (trials clipped
        into the bounds); see the module docstring.
    """

    def __init__(self, memory: int = 5, *, initial_step_linf: float = 0.05, c1: float = 1e-4, c2: float = 0.9,
                 max_line_search_evaluations: int = 10, bound_handling: BoundHandling = "stop"):
        self.memory = check_memory(memory)
        self.initial_step_linf = check_positive_number("initial_step_linf", initial_step_linf)
        self.c1 = check_positive_number("c1", c1)
        self.c2 = check_positive_number("c2", c2)
        if not self.c1 < self.c2 < 1.0:
            raise invalid("c1, c2", (c1, c2), "0 < c1 < c2 < 1")
        if (isinstance(max_line_search_evaluations, bool) or not isinstance(max_line_search_evaluations, int)
                or max_line_search_evaluations < 1):
            raise invalid("max_line_search_evaluations", max_line_search_evaluations, "an integer >= 1")
        self.max_line_search_evaluations = max_line_search_evaluations
        self.bound_handling: BoundHandling = check_bound_handling(bound_handling)

    def to_dict(self) -> dict:
        """The options, as stored in the project (see Optimizer._with_bound_handling)."""
        return self._with_bound_handling({
            "type": "LBFGS", "memory": self.memory, "initial_step_linf": self.initial_step_linf, "c1": self.c1,
            "c2": self.c2, "max_line_search_evaluations": self.max_line_search_evaluations})

    def _first_step_linf(self, state) -> float:
        return self.initial_step_linf

    def _start_search(self, state, bounds) -> None:
        alpha_max = np.inf if self.bound_handling == "project" else bounds.max_step(state.x, state.direction)
        slope = float(state.gradient @ state.direction)
        state.line_search = LineSearchState(phase="bracket", alpha=min(1.0, alpha_max), alpha_max=alpha_max,
                                            misfit_0=state.misfit, slope_0=slope, alpha_lo=0.0,
                                            misfit_lo=state.misfit, slope_lo=slope)
        self._propose_step(state, bounds)

    def _propose_step(self, state, bounds) -> None:
        state.trial = bounds.project(state.x + state.line_search.alpha * state.direction)

    def _receive(self, state, misfit, gradient, bounds, precondition) -> None:
        search = state.line_search
        search.n_evaluations += 1
        if search.phase == "fallback":
            self._finish(state, state.trial, misfit, gradient, bounds, precondition)
            return
        alpha, slope = search.alpha, float(gradient @ state.direction)
        predicted_decrease = alpha * search.slope_0
        if self.bound_handling == "project":
            unclipped = state.trial == state.x + alpha * state.direction
            slope = float(gradient @ np.where(unclipped, state.direction, 0.0))
            predicted_decrease = float(state.gradient @ (state.trial - state.x))
        decrease_fails = misfit > search.misfit_0 + self.c1 * predicted_decrease or misfit >= search.misfit_lo
        curvature_holds = abs(slope) <= -self.c2 * search.slope_0
        state.last_outcome = "rejected"
        if search.phase == "bracket":
            if decrease_fails:
                self._set_hi(search, alpha, misfit, slope)
                search.phase = "zoom"
            elif curvature_holds or alpha >= search.alpha_max:
                self._finish(state, state.trial, misfit, gradient, bounds, precondition)
                return
            elif slope >= 0:
                self._set_hi(search, search.alpha_lo, search.misfit_lo, search.slope_lo)
                self._set_lo(search, alpha, misfit, slope)
                search.phase = "zoom"
            else:
                self._set_lo(search, alpha, misfit, slope)
                search.alpha = min(EXTRAPOLATION_FACTOR * alpha, search.alpha_max)
        else:
            if decrease_fails:
                self._set_hi(search, alpha, misfit, slope)
            elif curvature_holds:
                self._finish(state, state.trial, misfit, gradient, bounds, precondition)
                return
            else:
                if slope * (search.alpha_hi - search.alpha_lo) >= 0:
                    self._set_hi(search, search.alpha_lo, search.misfit_lo, search.slope_lo)
                self._set_lo(search, alpha, misfit, slope)
        if search.n_evaluations >= self.max_line_search_evaluations:
            self._give_up(state, bounds, precondition)
            return
        if search.phase == "zoom":
            search.alpha = _cubic_minimiser(search)
        self._propose_step(state, bounds)

    @staticmethod
    def _set_lo(search: LineSearchState, alpha, misfit, slope) -> None:
        search.alpha_lo, search.misfit_lo, search.slope_lo = alpha, misfit, slope

    @staticmethod
    def _set_hi(search: LineSearchState, alpha, misfit, slope) -> None:
        search.alpha_hi, search.misfit_hi, search.slope_hi = alpha, misfit, slope

    def _finish(self, state, x_new, misfit, gradient, bounds, precondition) -> None:
        self._accept(state, x_new, misfit, gradient, bounds)
        self._begin_iteration(state, bounds, precondition)

    def _give_up(self, state, bounds, precondition) -> None:
        """Too many evaluations: propose the best point again if it decreased the misfit (its evaluation is
        then accepted as it comes: in a project it is a cached result), else restart the memory."""
        search = state.line_search
        if search.alpha_lo > 0:
            search.phase, search.alpha = "fallback", search.alpha_lo
            self._propose_step(state, bounds)
            return
        if len(state.s_memory) == 0:
            self._stop(state, f"the line search found no decrease in {search.n_evaluations} evaluations along "
                              "the (preconditioned) steepest descent direction")
            return
        state.s_memory = np.zeros((0, len(state.x)))
        state.y_memory = np.zeros((0, len(state.x)))
        state.n_restarts += 1
        self._begin_iteration(state, bounds, precondition)
