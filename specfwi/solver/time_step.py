"""Stability limit and default time step of the fourth-order Lax-Wendroff integrator.

The scheme u^{n+1} - 2u^n + u^{n-1} = dt^2 (A + dt^2/12 A^2) u^n, A = -M^{-1}K, is stable
while dt^2 * lambda_max(M^{-1}K) <= 12 (boundary damping only removes energy), so the limit is
dt_max = sqrt(12 / lambda_max). lambda_max is bounded from above by Lanczos iteration on the
symmetric operator M^{-1/2} K M^{-1/2}.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import StabilityError, invalid
from ..parameters import check_positive_number

#: Default time step as a fraction of the stability limit (chosen from the A1 accuracy study, docs/solver.md).
DEFAULT_COURANT_FRACTION = 0.9


def _inner(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product by a numpy reduction: on short vectors BLAS threads cost more than they save."""
    return float(np.add.reduce(a * b))


def largest_eigenvalue(apply_stiffness, mass: np.ndarray, *, relative_tolerance: float = 3e-3,
                       max_iterations: int = 300) -> float:
    """An upper estimate of lambda_max(M^{-1} K), 1/s^2; ``apply_stiffness(u) -> K u`` on global vectors.

    Lanczos iteration on M^{-1/2} K M^{-1/2} (no re-orthogonalisation: the extreme Ritz value
    converges regardless); returns the largest Ritz value theta plus its residual bound
    |beta_k s_k|, once that bound is below ``relative_tolerance`` * theta.
    """
    from scipy.linalg import eigh_tridiagonal  # here, not at start-up (import time)

    scale = 1.0 / np.sqrt(mass)
    vector = np.random.default_rng(0).standard_normal(len(mass))
    vector /= math.sqrt(_inner(vector, vector))
    previous = np.zeros_like(vector)
    alphas, betas = [], []
    beta = 0.0
    for iteration in range(min(max_iterations, len(mass))):
        product = scale * apply_stiffness(scale * vector)
        alpha = _inner(vector, product)
        product -= alpha * vector + beta * previous
        alphas.append(alpha)
        beta = math.sqrt(_inner(product, product))
        if iteration % 5 == 4 or beta == 0.0:
            values, vectors = eigh_tridiagonal(np.array(alphas), np.array(betas), select="i",
                                               select_range=(iteration, iteration))
            bound = abs(beta * vectors[-1, 0])
            if bound <= relative_tolerance * values[0] or beta == 0.0:
                return float(values[0] + bound)
        betas.append(beta)
        previous, vector = vector, product / beta
    return float(values[0] + bound)


def stability_limit_in_seconds(largest_eigenvalue_value: float) -> float:
    return math.sqrt(12.0 / largest_eigenvalue_value)


def check_time_step(time_step_in_seconds) -> None:
    """An explicit time step must be a finite number of seconds > 0 (None means automatic)."""
    if time_step_in_seconds is not None:
        check_positive_number("time_step_in_seconds", time_step_in_seconds,
                              allowed="a finite time > 0 s, or None for automatic")


def time_axis(start_time_in_seconds: float, end_time_in_seconds: float, time_step_in_seconds: float | None,
              stability_limit: float) -> tuple[float, int]:
    """(time step, number of steps N); samples are start + n dt for n = 0..N and the last reaches the end time.

    Without an explicit step, dt = DEFAULT_COURANT_FRACTION * limit, shortened so that N dt spans the
    interval exactly.
    """
    duration = end_time_in_seconds - start_time_in_seconds
    if not (np.isfinite(duration) and duration > 0):
        raise invalid("end_time_in_seconds", end_time_in_seconds, f"a finite time > start_time_in_seconds = {start_time_in_seconds}")
    if time_step_in_seconds is None:
        n_steps = math.ceil(duration / (DEFAULT_COURANT_FRACTION * stability_limit))
        return duration / n_steps, n_steps
    check_time_step(time_step_in_seconds)
    if time_step_in_seconds > stability_limit:
        raise StabilityError(f"'time_step_in_seconds' must be <= the stability limit {stability_limit:.6g} s of this "
                             f"mesh and model, got {time_step_in_seconds!r}")
    return float(time_step_in_seconds), math.ceil(duration / time_step_in_seconds - 1e-9)
