"""``get_misfit``: built-in misfits by name, user callables, windows, and validation of results."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np
import xarray as xr

from ..errors import invalid
from .bandpass import Bandpass, check_bandpass
from .cross_correlation import cross_correlation_time_shift
from .l2 import l2, l2_energy_no_observed_data
from .traces import check_traces, match_observed
from .window import Window, check_window, window_weights

MisfitName = Literal["L2_energy_no_observed_data", "L2", "cross_correlation_time_shift"]

# name -> (function on (synthetic, observed, time) arrays, whether observed data are required)
_BUILT_IN = {
    "L2_energy_no_observed_data": (l2_energy_no_observed_data, False),
    "L2": (l2, True),
    "cross_correlation_time_shift": (cross_correlation_time_shift, True),
}
MISFIT_NAMES: tuple[str, ...] = tuple(_BUILT_IN)


class MisfitResult(NamedTuple):
    """A misfit value and its adjoint source (a DataArray like the synthetic, see :mod:`specfwi.misfit`)."""

    value: float
    adjoint_source: xr.DataArray


class Misfit:
    """A validated misfit: ``misfit(synthetic, observed=None) -> MisfitResult``.

    Built by :func:`get_misfit`. Inputs are checked (dims, uniform time axis, finite values,
    observed data present exactly when required, matching receivers and time axis). Both traces
    are band-passed (F, see :mod:`specfwi.misfit.bandpass`), then multiplied by the window
    weights W, before ``function`` sees them; the adjoint source it returns goes back through
    the chain rule: multiplied by W, then C^-1 F^T C. The adjoint source comes back with dims
    ("receiver", "time") and the synthetic's coordinates.
    """

    def __init__(self, function: Callable, *, name: str, requires_observed_data: bool | None,
                 window: Window | dict[str, Window] | None = None, bandpass: Bandpass | None = None):
        self.function = function
        self.name = name
        self.requires_observed_data = requires_observed_data
        self.window = window
        self.bandpass = bandpass

    def __repr__(self) -> str:
        return f"Misfit(name={self.name!r}, window={self.window!r}, bandpass={self.bandpass!r})"

    def check_time_axis(self, time: np.ndarray) -> None:
        """Check that traces on ``time`` (s) suit the misfit's band-pass (below their Nyquist frequency),
        and those of a wrapped function that has such a check (a ``Misfit``, or the project's misfit against
        observed data)."""
        if self.bandpass is not None:
            self.bandpass.check_time_axis(time)
        wrapped_check = getattr(self.function, "check_time_axis", None)
        if wrapped_check is not None:
            wrapped_check(time)

    def __call__(self, synthetic: xr.DataArray, observed: xr.DataArray | None = None) -> MisfitResult:
        synthetic = check_traces("synthetic", synthetic)
        if observed is None and self.requires_observed_data:
            raise invalid("observed", None, f"traces (the misfit {self.name!r} compares with observed data)")
        if observed is not None and self.requires_observed_data is False:
            raise invalid("observed", "traces", f"None (the misfit {self.name!r} uses no observed data)")
        if observed is not None:
            observed = match_observed(observed, synthetic)
        time = synthetic["time"].values
        if self.bandpass is not None:
            synthetic = synthetic.copy(data=self.bandpass.apply(synthetic.values, time))
            observed = None if observed is None else observed.copy(data=self.bandpass.apply(observed.values, time))
        weights = None if self.window is None else window_weights(self.window, synthetic)
        if weights is not None:
            synthetic = synthetic.copy(data=synthetic.values * weights)
            observed = None if observed is None else observed.copy(data=observed.values * weights)
        value, adjoint_source = self._checked_output(self.function(synthetic, observed), synthetic)
        if weights is not None:
            adjoint_source = adjoint_source.copy(data=adjoint_source.values * weights)
        if self.bandpass is not None:
            adjoint_source = adjoint_source.copy(data=self.bandpass.adjoint_source(adjoint_source.values, time))
        return MisfitResult(value, adjoint_source)

    def _checked_output(self, output, synthetic: xr.DataArray) -> tuple[float, xr.DataArray]:
        if not isinstance(output, tuple) or len(output) != 2:
            raise invalid(f"output of misfit {self.name!r}", type(output).__name__,
                          "a tuple (value, adjoint_source)")
        value, adjoint_source = output
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise invalid(f"misfit value of {self.name!r}", value, "a finite real number")
        expected = (f"a finite real array or DataArray of the synthetic's dims {synthetic.dims} "
                    f"and shape {synthetic.shape}")
        if isinstance(adjoint_source, xr.DataArray):
            if set(adjoint_source.dims) != set(synthetic.dims):
                raise invalid(f"adjoint source of {self.name!r}", f"a DataArray with dims {adjoint_source.dims}",
                              expected)
            adjoint_source = adjoint_source.transpose(*synthetic.dims).values
        if not isinstance(adjoint_source, np.ndarray) or adjoint_source.dtype.kind not in "iuf":
            raise invalid(f"adjoint source of {self.name!r}", type(adjoint_source).__name__, expected)
        if adjoint_source.shape != synthetic.shape or not np.all(np.isfinite(adjoint_source)):
            raise invalid(f"adjoint source of {self.name!r}", f"an array of shape {adjoint_source.shape} with "
                          f"{int(np.sum(~np.isfinite(adjoint_source)))} non-finite entries", expected)
        return float(value), synthetic.copy(data=adjoint_source.astype(float))


def _built_in_adapter(function: Callable) -> Callable:
    def on_traces(synthetic: xr.DataArray, observed: xr.DataArray | None):
        return function(synthetic.values, None if observed is None else observed.values, synthetic["time"].values)
    return on_traces


def get_misfit(misfit: MisfitName | Callable, *, window: Window | dict[str, Window] | None = None,
               bandpass: Bandpass | tuple[float, float] | None = None) -> Misfit:
    """A misfit callable ``(synthetic, observed=None) -> MisfitResult(value, adjoint_source)``.

    Parameters
    ----------
    misfit : a name from ``MISFIT_NAMES`` or a callable ``(synthetic, observed) -> (value,
        adjoint_source)`` on DataArrays; its output is validated (finite float; adjoint source
        a finite array or DataArray of the synthetic's shape) and must follow the adjoint-source
        convention of :mod:`specfwi.misfit`.
    window : None, a ``Window`` for every receiver, or a dict receiver name -> ``Window``
        (receivers absent from the dict get weight 0).
    bandpass : None, or (f_min, f_max) in Hz or a ``Bandpass``: a zero-phase Butterworth band-pass
        applied to synthetic and observed traces before the window.
    """
    window = check_window(window)
    bandpass = check_bandpass(bandpass)
    if isinstance(misfit, Misfit) and window is None and bandpass is None:
        return misfit
    if isinstance(misfit, str):
        if misfit not in _BUILT_IN:
            raise invalid("misfit", misfit, f"one of {list(MISFIT_NAMES)} or a callable")
        function, requires_observed_data = _BUILT_IN[misfit]
        return Misfit(_built_in_adapter(function), name=misfit, requires_observed_data=requires_observed_data,
                      window=window, bandpass=bandpass)
    if callable(misfit):
        return Misfit(misfit, name=getattr(misfit, "name", getattr(misfit, "__name__", type(misfit).__name__)),
                      requires_observed_data=getattr(misfit, "requires_observed_data", None), window=window,
                      bandpass=bandpass)
    raise invalid("misfit", misfit, f"one of {list(MISFIT_NAMES)} or a callable")
