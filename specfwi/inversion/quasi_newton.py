"""The pieces both optimisers share: bounds, the L-BFGS inverse Hessian, descent directions with restart.

The inverse Hessian approximation H is the two-loop recursion over the stored pairs (s, y)
with H0 = gamma * P, P the preconditioner (symmetric positive semi-definite, the identity by
default) and gamma = s'y / y'Py of the newest pair. With an empty memory, gamma scales -P g to a
max-norm of ``first_step_linf``. Bounds are boxes on the flat vector: a component at a bound
where the gradient points outward is held fixed: the direction is -H applied to the gradient of
the free components, restricted to them (a reduced-space quasi-Newton step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import invalid
from .state import OptimizerState

Preconditioner = Callable[[NDArray[np.float64]], NDArray[np.float64]]
CURVATURE_TOLERANCE = 1e-10
"""A pair is kept when s'y > CURVATURE_TOLERANCE * |s| |y| (else H would lose positive definiteness)."""
AT_BOUND_TOLERANCE = 1e-12


def identity(vector: NDArray[np.float64]) -> NDArray[np.float64]:
    return vector


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bounds (n,) of every component of the flat vector (-inf / inf where free)."""

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]

    @classmethod
    def of(cls, bounds: "Bounds | None", n: int) -> "Bounds":
        if bounds is None:
            return cls(np.full(n, -np.inf), np.full(n, np.inf))
        if bounds.lower.shape != (n,) or bounds.upper.shape != (n,) or np.any(bounds.lower > bounds.upper):
            raise invalid("bounds", f"arrays of shapes {bounds.lower.shape}, {bounds.upper.shape}",
                          f"lower <= upper, each of shape ({n},)")
        return bounds

    def project(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.clip(x, self.lower, self.upper)

    def free_direction(self, x: NDArray[np.float64], direction: NDArray[np.float64]) -> NDArray[np.float64]:
        """The direction with the components that would leave the box at once set to 0."""
        scale = AT_BOUND_TOLERANCE * (1.0 + np.abs(x))
        blocked = ((x <= self.lower + scale) & (direction < 0)) | ((x >= self.upper - scale) & (direction > 0))
        return np.where(blocked, 0.0, direction)

    def max_step(self, x: NDArray[np.float64], direction: NDArray[np.float64]) -> float:
        """The largest alpha with x + alpha * direction inside the box (inf if unbounded)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            to_bound = np.where(direction < 0, (self.lower - x) / direction,
                                np.where(direction > 0, (self.upper - x) / direction, np.inf))
        return float(max(np.min(to_bound, initial=np.inf), 0.0))


def inverse_hessian_times(state: OptimizerState, vector: NDArray[np.float64], precondition: Preconditioner,
                          first_step_linf: float) -> NDArray[np.float64]:
    """H vector by the two-loop recursion (see the module docstring)."""
    q = np.array(vector, dtype=float)
    s_memory, y_memory = state.s_memory, state.y_memory
    rho = [1.0 / float(s @ y) for s, y in zip(s_memory, y_memory)]
    alphas = []
    for s, y, rho_i in reversed(list(zip(s_memory, y_memory, rho))):
        alpha = rho_i * float(s @ q)
        q -= alpha * y
        alphas.append(alpha)
    r = np.asarray(precondition(q), dtype=float)
    if len(s_memory):
        s, y = s_memory[-1], y_memory[-1]
        gamma = float(s @ y) / float(y @ np.asarray(precondition(y), dtype=float))
    else:
        largest = float(np.max(np.abs(r), initial=0.0))
        gamma = first_step_linf / largest if largest > 0 else 1.0
    r *= gamma
    for (s, y, rho_i), alpha in zip(zip(s_memory, y_memory, rho), reversed(alphas)):
        beta = rho_i * float(y @ r)
        r += (alpha - beta) * s
    return r


def descent_direction(state: OptimizerState, bounds: Bounds, precondition: Preconditioner,
                      first_step_linf: float) -> NDArray[np.float64] | None:
    """-H g restricted to the free components; the memory is cleared (a restart) if that is no
    descent direction, and -g itself is the last resort. None when no descent is possible."""
    gradient = state.gradient
    free = bounds.free_direction(state.x, -gradient) != 0
    free_gradient = np.where(free, gradient, 0.0)

    def quasi_newton() -> NDArray[np.float64]:
        direction = -inverse_hessian_times(state, free_gradient, precondition, first_step_linf)
        return bounds.free_direction(state.x, np.where(free, direction, 0.0))

    direction = quasi_newton()
    if float(gradient @ direction) < 0:
        return direction
    if len(state.s_memory):
        state.s_memory = np.zeros((0, len(state.x)))
        state.y_memory = np.zeros((0, len(state.x)))
        state.n_restarts += 1
        direction = quasi_newton()
        if float(gradient @ direction) < 0:
            return direction
    direction = -free_gradient
    largest = float(np.max(np.abs(direction), initial=0.0))
    if largest == 0.0 or not float(gradient @ direction) < 0:
        return None
    return direction * (first_step_linf / largest)


def remember_pair(state: OptimizerState, s: NDArray[np.float64], y: NDArray[np.float64], memory: int) -> None:
    """Append the pair (s, y) when its curvature s'y is positive enough; keep the newest ``memory`` pairs."""
    if not float(s @ y) > CURVATURE_TOLERANCE * np.linalg.norm(s) * np.linalg.norm(y):
        return
    s_memory = state.s_memory if len(state.s_memory) else np.zeros((0, len(s)))
    y_memory = state.y_memory if len(state.y_memory) else np.zeros((0, len(y)))
    state.s_memory = np.vstack([s_memory, s])[-memory:]
    state.y_memory = np.vstack([y_memory, y])[-memory:]


def check_vector(name: str, vector, n: int | None = None) -> NDArray[np.float64]:
    vector = np.asarray(vector, dtype=float)
    if vector.ndim != 1 or (n is not None and vector.shape != (n,)) or not np.all(np.isfinite(vector)):
        raise invalid(name, f"an array of shape {vector.shape}", "a finite flat float vector"
                      + ("" if n is None else f" of length {n}"))
    return vector

