"""A zero-phase Butterworth band-pass on the time axis of traces, and its exact transpose.

The filter is ``scipy.signal.sosfiltfilt`` of a Butterworth band-pass of ``order`` (``butter(order,
(f_min, f_max), btype="bandpass", output="sos")``, so 2 * order poles, applied forward and
backward: the amplitude response is squared, the phase is zero) with odd padding of ``padlen`` =
3 * (2 * n_sections + 1) samples at both ends (scipy's default length, passed explicitly). It is a
linear map F on each trace: with E the odd extension, S the causal filter from zero state, b its
response to no input from the steady-state initial conditions ``sosfilt_zi``, L v = S v + b v[0],
J the time reversal and K the crop back to the trace,

    F = K J L J L E,        F^T = E^T L^T J L^T J K^T,        L^T w = J S J w + e_0 (b . w).

:meth:`Bandpass.transpose` applies F^T (dot-product tested against ``sosfiltfilt`` itself).
A misfit of filtered traces chi(F u) has, in the adjoint-source convention of :mod:`specfwi.misfit`
(delta chi = sum_k dt c_k a_k delta u_k, c the trapezoid weights), the adjoint source
C^-1 F^T C a' for a' the adjoint source with respect to F u: :meth:`Bandpass.adjoint_source`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt, sosfilt_zi, sosfiltfilt

from ..errors import invalid
from .traces import trapezoid_weights, uniform_time_step

DEFAULT_ORDER = 4
MAX_ORDER = 10
BAND_ALLOWED = "(f_min, f_max) in Hz with 0 < f_min < f_max (finite numbers)"


@dataclass(frozen=True)
class Bandpass:
    """Zero-phase Butterworth band-pass between ``min_frequency_in_hertz`` and ``max_frequency_in_hertz``.

    ``order`` is the order of the Butterworth prototype (the filter runs forward and backward, so
    its amplitude response is that of twice the order). Arrays are (..., n_time) on a uniform
    time axis; ``max_frequency_in_hertz`` must be below the traces' Nyquist frequency 1 / (2 dt).
    """

    min_frequency_in_hertz: float
    max_frequency_in_hertz: float
    _: KW_ONLY
    order: int = DEFAULT_ORDER

    def __post_init__(self):
        band = (self.min_frequency_in_hertz, self.max_frequency_in_hertz)
        if not all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in band) or not (
                0.0 < band[0] < band[1] < np.inf):
            raise invalid("bandpass", band, BAND_ALLOWED)
        if isinstance(self.order, bool) or not isinstance(self.order, (int, np.integer)) or not (
                1 <= self.order <= MAX_ORDER):
            raise invalid("order", self.order, f"an integer in [1, {MAX_ORDER}]")
        object.__setattr__(self, "min_frequency_in_hertz", float(band[0]))
        object.__setattr__(self, "max_frequency_in_hertz", float(band[1]))
        object.__setattr__(self, "order", int(self.order))

    def to_dict(self) -> dict:
        return {"min_frequency_in_hertz": self.min_frequency_in_hertz,
                "max_frequency_in_hertz": self.max_frequency_in_hertz, "order": self.order}

    @classmethod
    def from_dict(cls, dictionary: dict) -> Bandpass:
        return cls(dictionary["min_frequency_in_hertz"], dictionary["max_frequency_in_hertz"],
                   order=dictionary["order"])

    @property
    def padding_length(self) -> int:
        """Samples of odd padding at each end (3 * (2 * n_sections + 1), n_sections = order)."""
        return 3 * (2 * self.order + 1)

    def check_time_axis(self, time: NDArray[np.float64], *, name: str = "time") -> float:
        """The time step (s) of ``time`` after checking the band is below its Nyquist frequency and the
        axis is longer than the padding."""
        time_step = uniform_time_step(time, name=name)
        nyquist_frequency = 0.5 / time_step
        band = (self.min_frequency_in_hertz, self.max_frequency_in_hertz)
        if self.max_frequency_in_hertz >= nyquist_frequency:
            raise invalid("bandpass", band, f"(f_min, f_max) with f_max below the Nyquist frequency of the traces, "
                          f"{nyquist_frequency!r} Hz (time step {time_step!r} s)")
        if np.asarray(time).size <= self.padding_length:
            raise invalid(name, f"{np.asarray(time).size} samples",
                          f"more than {self.padding_length} samples (the padding of the band-pass of order "
                          f"{self.order})")
        return time_step

    def _sections(self, time_step: float) -> NDArray[np.float64]:
        return butter(self.order, (self.min_frequency_in_hertz, self.max_frequency_in_hertz), btype="bandpass",
                      output="sos", fs=1.0 / time_step)

    def apply(self, values: NDArray[np.float64], time: NDArray[np.float64]) -> NDArray[np.float64]:
        """F values: the filtered traces, same shape, filtered along the last axis (time, s)."""
        time_step = self.check_time_axis(time)
        return sosfiltfilt(self._sections(time_step), values, axis=-1, padtype="odd", padlen=self.padding_length)

    def transpose(self, values: NDArray[np.float64], time: NDArray[np.float64]) -> NDArray[np.float64]:
        """F^T values (the plain transpose of :meth:`apply` on the last axis), same shape."""
        sections = self._sections(self.check_time_axis(time))
        padding = self.padding_length
        n_time = values.shape[-1]
        padded = np.zeros(values.shape[:-1] + (n_time + 2 * padding,))
        padded[..., padding:padding + n_time] = values                      # K^T
        # Response of the cascade to no input from the steady-state initial conditions: b, (n_padded,).
        initial_response, _ = sosfilt(sections, np.zeros(padded.shape[-1]), zi=sosfilt_zi(sections))

        def causal_filter_transpose(signal):                                 # L^T
            result = sosfilt(sections, signal[..., ::-1], axis=-1)[..., ::-1]
            result[..., 0] += signal @ initial_response
            return result

        padded = causal_filter_transpose(padded[..., ::-1])[..., ::-1]      # J L^T J
        padded = causal_filter_transpose(padded)                           # L^T
        return _odd_extension_transpose(padded, padding)                    # E^T

    def adjoint_source(self, adjoint_source: NDArray[np.float64], time: NDArray[np.float64]) -> NDArray[np.float64]:
        """C^-1 F^T C a: the adjoint source with respect to unfiltered traces from one with respect to filtered ones."""
        weights = trapezoid_weights(time)
        return self.transpose(adjoint_source * weights, time) / weights


def _odd_extension_transpose(extended: NDArray[np.float64], padding: int) -> NDArray[np.float64]:
    """Transpose of ``scipy.signal.odd_ext(x, padding, axis=-1)``: (..., n + 2 padding) -> (..., n).

    odd_ext prepends 2 x[0] - x[padding], ..., 2 x[0] - x[1] and appends
    2 x[-1] - x[-2], ..., 2 x[-1] - x[-1 - padding].
    """
    n_time = extended.shape[-1] - 2 * padding
    left, right = extended[..., :padding], extended[..., padding + n_time:]
    result = extended[..., padding:padding + n_time].copy()
    result[..., 0] += 2.0 * left.sum(axis=-1)
    result[..., 1:padding + 1] -= left[..., ::-1]
    result[..., -1] += 2.0 * right.sum(axis=-1)
    result[..., n_time - 1 - padding:n_time - 1] -= right[..., ::-1]
    return result


def check_bandpass(bandpass) -> Bandpass | None:
    """Validate a ``bandpass`` option: None, a ``Bandpass``, or a pair (f_min, f_max) in Hz."""
    if bandpass is None or isinstance(bandpass, Bandpass):
        return bandpass
    if isinstance(bandpass, Sequence) and not isinstance(bandpass, str) and len(bandpass) == 2:
        return Bandpass(*bandpass)
    if isinstance(bandpass, np.ndarray) and bandpass.shape == (2,):
        return Bandpass(*bandpass.tolist())
    raise invalid("bandpass", bandpass, f"None or {BAND_ALLOWED}")
