"""Source time functions (wavelets): callables ``w(t)`` with an exact second derivative.

Every wavelet is a callable ``w(t)`` (``t``: array of times in s; returns a float array of the
same shape) and has

- ``second_derivative(t)``: d^2 w / dt^2, exact (the 4th-order time integrator uses it);
- ``start_time_in_seconds``: a default simulation start, early enough that
  |w(t)| < 1e-6 * max|w| for every earlier t (each class states how it is found);
- ``center_frequency`` and ``max_frequency_in_hertz`` (Hz): meshing hints, None where not meaningful.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import KW_ONLY, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import invalid
from .checks import finite_number
from .serialization import AcquisitionObject

if TYPE_CHECKING:
    from scipy.interpolate import CubicSpline

START_TIME_RELATIVE_THRESHOLD = 1e-6
RICKER_DEFAULT_PEAK_IN_PERIODS = 1.2
RICKER_MAX_FREQUENCY_FACTOR = 2.5


class Wavelet(AcquisitionObject, ABC, abstract=True):
    """Base class of source time functions (see the module docstring for the interface)."""

    @abstractmethod
    def __call__(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        """w(t) at the given times (s); same shape as the input."""

    @abstractmethod
    def second_derivative(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        """d^2 w / dt^2 at the given times (s), in 1/s^2 times the unit of w."""

    @property
    @abstractmethod
    def start_time_in_seconds(self) -> float:
        """A default simulation start: |w(t)| < 1e-6 max|w| for every earlier t."""


@lru_cache(maxsize=None)
def _ricker_start_argument() -> float:
    """The a > 3/2 with (2a - 1) exp(-a) = START_TIME_RELATIVE_THRESHOLD (|w|/max|w| there)."""
    from scipy.optimize import brentq  # here, not at start-up (import time)

    return brentq(lambda a: (2.0 * a - 1.0) * np.exp(-a) - START_TIME_RELATIVE_THRESHOLD, 1.5, 100.0, xtol=1e-14)


@dataclass(frozen=True, eq=False)
class Ricker(Wavelet):
    """Ricker wavelet w(t) = amplitude * (1 - 2a) exp(-a), a = (pi f0 (t - time_shift))^2.

    Parameters
    ----------
    center_frequency : peak frequency f0 of the amplitude spectrum, Hz (> 0).
    time_shift_in_seconds : time of the peak, s; default 1.2 / f0.
    amplitude : value at the peak (finite, non-zero).

    ``max_frequency_in_hertz`` is 2.5 f0 (the spectrum there is ~1e-2 of its peak).
    ``start_time_in_seconds`` is exact: |w| decreases monotonically before the time where
    |w| = 1e-6 |amplitude| (reached at a = 17.3...), which is about time_shift - 1.32 / f0,
    i.e. -0.12 / f0 for the default shift.
    """

    center_frequency: float
    _: KW_ONLY
    time_shift_in_seconds: float | None = None
    amplitude: float = 1.0

    def __post_init__(self):
        frequency = finite_number("center_frequency", self.center_frequency)
        if frequency <= 0.0:
            raise invalid("center_frequency", self.center_frequency, "a finite frequency > 0 (Hz)")
        shift = self.time_shift_in_seconds
        shift = RICKER_DEFAULT_PEAK_IN_PERIODS / frequency if shift is None else finite_number(
            "time_shift_in_seconds", shift)
        amplitude = finite_number("amplitude", self.amplitude)
        if amplitude == 0.0:
            raise invalid("amplitude", self.amplitude, "a finite non-zero number")
        object.__setattr__(self, "center_frequency", frequency)
        object.__setattr__(self, "time_shift_in_seconds", shift)
        object.__setattr__(self, "amplitude", amplitude)

    def _argument(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        return (np.pi * self.center_frequency * (np.asarray(time_in_seconds, dtype=float)
                                                 - self.time_shift_in_seconds)) ** 2

    def __call__(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        a = self._argument(time_in_seconds)
        return self.amplitude * (1.0 - 2.0 * a) * np.exp(-a)

    def second_derivative(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        a = self._argument(time_in_seconds)
        b = (np.pi * self.center_frequency) ** 2
        return -2.0 * b * self.amplitude * (4.0 * a**2 - 12.0 * a + 3.0) * np.exp(-a)

    @property
    def start_time_in_seconds(self) -> float:
        return self.time_shift_in_seconds - np.sqrt(_ricker_start_argument()) / (np.pi * self.center_frequency)

    @property
    def max_frequency_in_hertz(self) -> float:
        return RICKER_MAX_FREQUENCY_FACTOR * self.center_frequency

    def _fields(self):
        return {"center_frequency": self.center_frequency, "time_shift_in_seconds": self.time_shift_in_seconds,
                "amplitude": self.amplitude}


@dataclass(frozen=True, eq=False, repr=False)
class SampledWavelet(Wavelet):
    """A wavelet given by samples, interpolated by a cubic spline (scipy ``CubicSpline``, not-a-knot).

    Parameters
    ----------
    time_in_seconds : (n,) strictly increasing finite times, s (n >= 2).
    values : (n,) finite sample values.

    w and its second derivative (from the spline) are zero outside [time[0], time[-1]]; give samples
    that taper to zero at both ends to avoid a jump there. ``start_time_in_seconds`` is time[0]
    (w is zero before it). ``center_frequency`` and ``max_frequency_in_hertz`` are None.
    """

    time_in_seconds: NDArray[np.float64]
    values: NDArray[np.float64]
    _spline: CubicSpline = field(init=False, repr=False)

    def __post_init__(self):
        time = np.array(self.time_in_seconds, dtype=float)
        values = np.array(self.values, dtype=float)
        if time.ndim != 1 or time.size < 2 or not np.all(np.isfinite(time)) or np.any(np.diff(time) <= 0.0):
            raise invalid("time_in_seconds", f"array of shape {time.shape}",
                          "a 1-D array of at least 2 strictly increasing finite times (s)")
        if values.shape != time.shape or not np.all(np.isfinite(values)):
            raise invalid("values", f"array of shape {values.shape} with "
                          f"{int(np.sum(~np.isfinite(values)))} non-finite entries",
                          f"a finite array of the shape of 'time_in_seconds' {time.shape}")
        time.setflags(write=False)
        values.setflags(write=False)
        object.__setattr__(self, "time_in_seconds", time)
        object.__setattr__(self, "values", values)
        from scipy.interpolate import CubicSpline  # here, not at start-up: scipy.interpolate takes 0.5 s to import

        object.__setattr__(self, "_spline", CubicSpline(time, values))

    def _evaluate(self, time_in_seconds: ArrayLike, derivative_order: int) -> NDArray[np.float64]:
        time = np.asarray(time_in_seconds, dtype=float)
        inside = (time >= self.time_in_seconds[0]) & (time <= self.time_in_seconds[-1])
        return np.where(inside, self._spline(time, derivative_order), 0.0)

    def __call__(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        return self._evaluate(time_in_seconds, 0)

    def second_derivative(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        return self._evaluate(time_in_seconds, 2)

    @property
    def start_time_in_seconds(self) -> float:
        return float(self.time_in_seconds[0])

    @property
    def center_frequency(self) -> None:
        return None

    @property
    def max_frequency_in_hertz(self) -> None:
        return None

    def _fields(self):
        return {"time_in_seconds": self.time_in_seconds.tolist(), "values": self.values.tolist()}

    def __repr__(self) -> str:
        return (f"SampledWavelet(n_samples={self.time_in_seconds.size}, "
                f"time_in_seconds=[{self.time_in_seconds[0]}, {self.time_in_seconds[-1]}])")
