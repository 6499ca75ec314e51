"""Test helpers for users and for the suite: Taylor (finite-difference) tests of gradients and
dot-product tests of adjoint operators.

``check_gradient`` compares central finite differences of a scalar function with a claimed
directional derivative; ``assert_adjoint`` checks <F u, v> = <u, F^T v> on seeded random vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import invalid

DEFAULT_N_STEPS = 8
DEFAULT_STEP_REDUCTION = 0.25
DEFAULT_RELATIVE_INITIAL_STEP = 1e-2
ROUND_OFF_FACTOR = 1e3


@dataclass(frozen=True)
class TaylorResult:
    """Outcome of :func:`check_gradient`.

    Attributes
    ----------
    value : f(x).
    directional_derivative : <gradient, direction>.
    steps : (n_steps,) step lengths h, decreasing.
    finite_differences : (n_steps,) central differences (f(x + h d) - f(x - h d)) / 2h.
    relative_errors : (n_steps,) |fd - <g, d>| / max(|<g, d>|, |fd|) (0 where both vanish).
    remainders : (n_steps,) first-order remainders |f(x + h d) - f(x) - h <g, d>|.
    remainder_slope : least-squares slope of log(remainder) against log(h) over the steps whose
        remainder is above round-off (1e3 * eps * max|f|): ~2 for a correct gradient, ~1 for a
        wrong one; nan when fewer than two remainders are above round-off (f linear along d).
    """

    value: float
    directional_derivative: float
    steps: NDArray[np.float64]
    finite_differences: NDArray[np.float64]
    relative_errors: NDArray[np.float64]
    remainders: NDArray[np.float64]
    remainder_slope: float

    @property
    def best_relative_error(self) -> float:
        """Smallest relative error over the steps."""
        return float(np.min(self.relative_errors))

    def passed(self, tolerance: float, *, minimum_slope: float | None = None) -> bool:
        """True when ``best_relative_error <= tolerance`` and, if ``minimum_slope`` is given, the
        remainder slope is at least that (a nan slope, meaning an exactly linear f, is accepted)."""
        slope_ok = minimum_slope is None or np.isnan(self.remainder_slope) or self.remainder_slope >= minimum_slope
        return self.best_relative_error <= tolerance and bool(slope_ok)

    def __str__(self) -> str:
        lines = [f"Taylor test: <gradient, direction> = {self.directional_derivative:.10e}, "
                 f"remainder slope = {self.remainder_slope:.3f}, best relative error = {self.best_relative_error:.3e}",
                 f"{'step':>12} {'finite difference':>20} {'relative error':>15} {'remainder':>12}"]
        for row in zip(self.steps, self.finite_differences, self.relative_errors, self.remainders):
            lines.append(f"{row[0]:12.4e} {row[1]:20.12e} {row[2]:15.4e} {row[3]:12.4e}")
        return "\n".join(lines)


def _remainder_slope(steps: NDArray[np.float64], remainders: NDArray[np.float64], round_off: float) -> float:
    above_round_off = remainders > round_off
    if np.count_nonzero(above_round_off) < 2:
        return float("nan")
    return float(np.polyfit(np.log(steps[above_round_off]), np.log(remainders[above_round_off]), 1)[0])


def check_gradient(function: Callable[[NDArray[np.float64]], float], x: ArrayLike, direction: ArrayLike,
                   gradient: ArrayLike, *, steps: ArrayLike | None = None, n_steps: int = DEFAULT_N_STEPS,
                   step_reduction: float = DEFAULT_STEP_REDUCTION) -> TaylorResult:
    """Taylor test of ``gradient`` (df/dx at ``x``) along ``direction``.

    Parameters
    ----------
    function : f(x) -> float, for x an array of the shape of ``x``.
    x, direction, gradient : arrays of one shape.
    steps : step lengths h (> 0); default ``n_steps`` values starting at 1e-2 ||x|| / ||d||
        (1e-2 / ||d|| when x = 0) and multiplied by ``step_reduction`` each time.
    """
    x = np.asarray(x, dtype=float)
    direction = np.asarray(direction, dtype=float)
    gradient = np.asarray(gradient, dtype=float)
    if direction.shape != x.shape or gradient.shape != x.shape:
        raise invalid("direction, gradient", f"shapes {direction.shape}, {gradient.shape}", f"the shape of x {x.shape}")
    direction_norm = np.linalg.norm(direction)
    if direction_norm == 0.0 or not np.isfinite(direction_norm):
        raise invalid("direction", "a zero or non-finite array", "a finite, non-zero array")
    if steps is None:
        if not 0.0 < step_reduction < 1.0:
            raise invalid("step_reduction", step_reduction, "in (0, 1)")
        initial_step = DEFAULT_RELATIVE_INITIAL_STEP * (np.linalg.norm(x) or 1.0) / direction_norm
        steps = initial_step * step_reduction ** np.arange(n_steps)
    steps = np.asarray(steps, dtype=float)
    if steps.ndim != 1 or steps.size == 0 or not np.all(np.isfinite(steps)) or np.any(steps <= 0.0):
        raise invalid("steps", steps, "a non-empty 1-D array of finite step lengths > 0")

    def evaluate(point: NDArray[np.float64]) -> float:
        output = function(point)
        value = np.asarray(output)
        if value.shape != () or value.dtype.kind not in "iuf" or not np.isfinite(value):
            raise invalid("function(x)", output, "a finite float")
        return float(value)

    value = evaluate(x)
    directional_derivative = float(np.sum(gradient * direction))
    forward = np.array([evaluate(x + step * direction) for step in steps])
    backward = np.array([evaluate(x - step * direction) for step in steps])
    finite_differences = (forward - backward) / (2.0 * steps)
    scale = np.maximum(np.abs(finite_differences), abs(directional_derivative))
    difference = np.abs(finite_differences - directional_derivative)
    relative_errors = np.divide(difference, scale, out=np.zeros_like(difference), where=scale > 0.0)
    remainders = np.abs(forward - value - steps * directional_derivative)
    round_off = ROUND_OFF_FACTOR * np.finfo(float).eps * max(abs(value), np.max(np.abs(forward)))
    return TaylorResult(value=value, directional_derivative=directional_derivative, steps=steps,
                        finite_differences=finite_differences, relative_errors=relative_errors,
                        remainders=remainders, remainder_slope=_remainder_slope(steps, remainders, round_off))


@dataclass(frozen=True)
class AdjointTestResult:
    """Outcome of :func:`assert_adjoint`: per trial <F u, v>, <u, F^T v> and their relative mismatch."""

    forward_products: NDArray[np.float64]
    adjoint_products: NDArray[np.float64]
    relative_errors: NDArray[np.float64]


def assert_adjoint(forward: Callable[[NDArray[np.float64]], ArrayLike],
                   adjoint: Callable[[NDArray[np.float64]], ArrayLike], input_shape: tuple[int, ...] | int,
                   output_shape: tuple[int, ...] | int, *, rtol: float = 1e-10,
                   rng: np.random.Generator | int | None = None, n_trials: int = 3) -> AdjointTestResult:
    """Dot-product test: |<F u, v> - <u, F^T v>| <= rtol * max(|<F u, v>|, |<u, F^T v>|).

    ``u`` (``input_shape``) and ``v`` (``output_shape``) are standard normal samples from ``rng``
    (a Generator, or a seed; default seed 0). Raises AssertionError naming both products, or
    when an output has the wrong shape; returns the products otherwise.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    input_shape, output_shape = tuple(np.atleast_1d(input_shape)), tuple(np.atleast_1d(output_shape))
    forward_products, adjoint_products, relative_errors = [], [], []
    for trial in range(n_trials):
        u = rng.standard_normal(input_shape)
        v = rng.standard_normal(output_shape)
        forward_u = np.asarray(forward(u), dtype=float)
        adjoint_v = np.asarray(adjoint(v), dtype=float)
        if forward_u.shape != output_shape or adjoint_v.shape != input_shape:
            raise AssertionError(f"shapes: forward(u) gave {forward_u.shape} (expected {output_shape}), "
                                 f"adjoint(v) gave {adjoint_v.shape} (expected {input_shape})")
        forward_product = float(np.sum(forward_u * v))
        adjoint_product = float(np.sum(u * adjoint_v))
        scale = max(abs(forward_product), abs(adjoint_product))
        relative_error = abs(forward_product - adjoint_product) / scale if scale > 0.0 else 0.0
        if not relative_error <= rtol:
            raise AssertionError(f"dot-product test failed in trial {trial}: <F u, v> = {forward_product!r}, "
                                 f"<u, F^T v> = {adjoint_product!r}, relative mismatch {relative_error:.3e} "
                                 f"> rtol = {rtol:.1e}")
        forward_products.append(forward_product)
        adjoint_products.append(adjoint_product)
        relative_errors.append(relative_error)
    return AdjointTestResult(np.array(forward_products), np.array(adjoint_products), np.array(relative_errors))
