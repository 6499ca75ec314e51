"""Cross-correlation time-shift misfit.

For each receiver r the time shift T_r maximises the cross-correlation

    C(tau) = sum_k c_k u(t_k) d(t_k - tau),

with c_k the trapezoid weights and d the cubic spline (scipy ``CubicSpline``, not-a-knot) through
the observed samples, zero outside the time axis. C is then a cubic spline in tau with knots at the
integer lags, so T_r is sub-sample: the best integer lag is refined by a bounded Brent search on
[lag - 1, lag + 1] samples and polished by Newton steps on C'(T) = 0. T_r > 0 means the synthetic
arrives later than the observed trace. The misfit is chi = 1/2 sum_r T_r^2.

Adjoint source: C'(T) = -sum_k c_k u_k d'(t_k - T) = 0 defines T(u), so by the implicit function
theorem dT/du_k = c_k d'(t_k - T) / C''(T) with C''(T) = sum_k c_k u_k d''(t_k - T) < 0. In the
convention delta chi = sum_k dt c_k a_k delta u_k this gives a_k = T d'(t_k - T) / (dt C''(T)).

A receiver whose synthetic or observed trace is identically zero (for example outside every
window) has no defined shift: it contributes T = 0 and a zero adjoint source. Traces should taper
to zero at both ends (or be windowed), since d is extended by zero outside the recorded span.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import SpecfwiError
from .traces import trapezoid_weights, uniform_time_step

BRENT_RELATIVE_TOLERANCE = 1e-8
NEWTON_RELATIVE_TOLERANCE = 1e-13
MAX_NEWTON_STEPS = 20


class _ShiftedCorrelation:
    """C(tau) and its derivatives for one receiver (u weighted by c_k, d as a zero-extended spline)."""

    def __init__(self, weighted_synthetic: NDArray[np.float64], observed: NDArray[np.float64],
                 time: NDArray[np.float64]):
        self.weighted_synthetic = weighted_synthetic
        self.time = time
        from scipy.interpolate import CubicSpline  # here, not at start-up: scipy.interpolate takes 0.5 s to import

        self.spline = CubicSpline(time, observed)

    def observed_derivative(self, shift: float, order: int) -> NDArray[np.float64]:
        """d^(order)(t_k - shift) for every k, zero outside the time axis."""
        shifted_time = self.time - shift
        inside = (shifted_time >= self.time[0]) & (shifted_time <= self.time[-1])
        return np.where(inside, self.spline(shifted_time, order), 0.0)

    def derivative(self, shift: float, order: int) -> float:
        """d^order C / d tau^order at tau = shift."""
        return (-1.0) ** order * float(self.weighted_synthetic @ self.observed_derivative(shift, order))


def receiver_time_shift(synthetic: NDArray[np.float64], observed: NDArray[np.float64],
                        time: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """Time shift T (s) of one receiver and dT/du_k / (dt c_k), shape (n_time,)."""
    if not np.any(synthetic) or not np.any(observed):
        return 0.0, np.zeros_like(synthetic)
    time_step = uniform_time_step(time)
    weighted_synthetic = trapezoid_weights(time) * synthetic
    correlation = _ShiftedCorrelation(weighted_synthetic, observed, time)
    from scipy.optimize import minimize_scalar  # here, not at start-up: scipy.signal takes 0.4-0.8 s to import
    from scipy.signal import correlate, correlation_lags

    sample_correlation = correlate(weighted_synthetic, observed, mode="full")
    best_lag = correlation_lags(time.size, time.size, mode="full")[np.argmax(sample_correlation)]
    bounds = ((best_lag - 1) * time_step, (best_lag + 1) * time_step)
    search = minimize_scalar(lambda shift: -correlation.derivative(shift, 0), bounds=bounds, method="bounded",
                             options={"xatol": BRENT_RELATIVE_TOLERANCE * time_step})
    shift = float(search.x)
    for _ in range(MAX_NEWTON_STEPS):
        curvature = correlation.derivative(shift, 2)
        if curvature >= 0.0:
            raise SpecfwiError(f"the cross-correlation has no strict maximum near the time shift {shift!r} s "
                               f"(C'' = {curvature!r} >= 0); check that the traces are not degenerate")
        step = correlation.derivative(shift, 1) / curvature
        shift = float(np.clip(shift - step, *bounds))
        if abs(step) <= NEWTON_RELATIVE_TOLERANCE * time_step:
            break
    curvature = correlation.derivative(shift, 2)
    sensitivity = correlation.observed_derivative(shift, 1) / (time_step * curvature)
    return shift, sensitivity


def cross_correlation_time_shift(synthetic: NDArray[np.float64], observed: NDArray[np.float64],
                                 time: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """chi = 1/2 sum_r T_r^2 (s^2) and its adjoint source, (n_receiver, n_time)."""
    value = 0.0
    adjoint_source = np.zeros_like(synthetic)
    for row in range(synthetic.shape[0]):
        shift, sensitivity = receiver_time_shift(synthetic[row], observed[row], time)
        value += 0.5 * shift**2
        adjoint_source[row] = shift * sensitivity
    return value, adjoint_source


def time_shifts(synthetic: NDArray[np.float64], observed: NDArray[np.float64],
                time: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-receiver time shifts T_r (s), shape (n_receiver,)."""
    return np.array([receiver_time_shift(synthetic[row], observed[row], time)[0]
                     for row in range(synthetic.shape[0])])
