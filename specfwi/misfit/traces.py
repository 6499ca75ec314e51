"""Receiver traces: validation, matching of observed to synthetic traces, and time quadrature.

Traces are ``xarray.DataArray`` objects with dims ("receiver", "time") and a uniformly
sampled ``time`` coordinate (s); a ``receiver`` coordinate (names) is optional. Time integrals
are trapezoidal: int f dt ~ sum_k dt * c_k * f(t_k) with ``c = trapezoid_weights(time)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from ..errors import invalid

TRACE_DIMS = ("receiver", "time")
UNIFORM_TIME_RELATIVE_TOLERANCE = 1e-6


def uniform_time_step(time: ArrayLike, *, name: str = "time") -> float:
    """The sample interval (s) of a uniformly sampled, increasing 1-D time axis of >= 2 samples."""
    time = np.asarray(time, dtype=float)
    if time.ndim != 1 or time.size < 2 or not np.all(np.isfinite(time)):
        raise invalid(name, f"array of shape {time.shape}", "a finite 1-D time axis of at least 2 samples (s)")
    steps = np.diff(time)
    time_step = (time[-1] - time[0]) / (time.size - 1)
    if time_step <= 0.0 or np.max(np.abs(steps - time_step)) > UNIFORM_TIME_RELATIVE_TOLERANCE * time_step:
        raise invalid(name, f"steps from {steps.min()!r} to {steps.max()!r} s",
                      "uniformly sampled and increasing")
    return float(time_step)


def trapezoid_weights(time: ArrayLike) -> NDArray[np.float64]:
    """Trapezoid weights c_k (dimensionless), shape (n_time,): 1/2 at both ends, 1 elsewhere.

    ``sum_k dt * c_k * f(t_k)`` approximates the time integral of f over the uniform axis ``time``.
    """
    uniform_time_step(time)
    weights = np.ones(np.asarray(time).size)
    weights[[0, -1]] = 0.5
    return weights


def check_traces(name: str, traces) -> xr.DataArray:
    """Validate traces and return them with dims ordered ("receiver", "time")."""
    if not isinstance(traces, xr.DataArray):
        raise invalid(name, type(traces).__name__, "an xarray.DataArray with dims ('receiver', 'time')")
    if set(traces.dims) != set(TRACE_DIMS):
        raise invalid(f"{name}.dims", traces.dims, f"{TRACE_DIMS}")
    if "time" not in traces.coords:
        raise invalid(f"{name}.coords", list(traces.coords), "coordinates including 'time' (s)")
    uniform_time_step(traces["time"].values, name=f"{name}.time")
    traces = traces.transpose(*TRACE_DIMS)
    if not np.all(np.isfinite(traces.values)):
        raise invalid(name, f"traces with {int(np.sum(~np.isfinite(traces.values)))} non-finite samples",
                      "finite everywhere")
    return traces


def match_observed(observed, synthetic: xr.DataArray) -> xr.DataArray:
    """Validate observed traces against (validated) synthetic ones and order their receivers alike.

    Receivers are matched by the ``receiver`` coordinate when both traces have one (the sets must
    be equal), by position otherwise. The time axes must be equal (to 1e-6 of a sample): resample
    observed data onto the synthetic time axis before calling a misfit.
    """
    observed = check_traces("observed", observed)
    if "receiver" in observed.coords and "receiver" in synthetic.coords:
        observed_names, synthetic_names = observed["receiver"].values, synthetic["receiver"].values
        if sorted(map(str, observed_names)) != sorted(map(str, synthetic_names)):
            raise invalid("observed.receiver", list(observed_names),
                          f"the synthetic receivers {list(synthetic_names)}")
        observed = observed.sel(receiver=synthetic_names)
    elif observed.sizes["receiver"] != synthetic.sizes["receiver"]:
        raise invalid("observed", f"{observed.sizes['receiver']} receivers",
                      f"{synthetic.sizes['receiver']} receivers as in the synthetic")
    time, observed_time = synthetic["time"].values, observed["time"].values
    time_step = uniform_time_step(time)
    if observed_time.shape != time.shape or np.max(np.abs(observed_time - time)) > (
            UNIFORM_TIME_RELATIVE_TOLERANCE * time_step):
        raise invalid("observed.time", f"{observed_time.size} samples in [{observed_time[0]}, {observed_time[-1]}] s",
                      f"the synthetic time axis ({time.size} samples in [{time[0]}, {time[-1]}] s)")
    return observed
