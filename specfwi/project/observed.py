"""Observed traces brought onto the time axis of the synthetics they are compared with.

Two simulation configurations with automatic time steps (e.g. a true and an
initial model) sample time differently; imported data have their own sampling.
The misfit compares on the synthetic's axis: observed traces are evaluated there
by a cubic spline (unchanged when the axes are equal already). The observed data
do not depend on the model, so gradients stay exact derivatives of that misfit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..acquisition import Event
from ..errors import ProjectError, invalid
from ..misfit import Bandpass, Misfit, MisfitResult, Window, get_misfit
from .configurations import EventConfiguration, MisfitConfiguration

RELATIVE_TIME_TOLERANCE = 1e-9


def check_observed_traces(traces, receiver_names: list[str], *, parameter: str = "traces") -> xr.DataArray:
    """Observed traces checked for import: an xarray.DataArray of finite numbers with dims ("receiver", "time"),
    exactly the receivers ``receiver_names``, and a numeric, finite, strictly increasing "time" coordinate (s).

    Returns them transposed to ("receiver", "time"); raises InvalidParameterError naming what is wrong.
    """
    if not isinstance(traces, xr.DataArray) or set(traces.dims) != {"receiver", "time"}:
        raise invalid(parameter, type(traces).__name__, "an xarray.DataArray with dims ('receiver', 'time')")
    names = [str(name) for name in traces["receiver"].values] if "receiver" in traces.coords else None
    if names is None or sorted(names) != sorted(receiver_names):
        raise invalid(f"{parameter}['receiver']", names, f"the receiver names of the event, {receiver_names}")
    if "time" not in traces.coords:
        raise invalid(f"{parameter}['time']", None, "a time coordinate in s")
    time = traces["time"].values
    if time.dtype.kind not in "iuf" or len(time) < 2 or not np.all(np.isfinite(time)):
        raise invalid(f"{parameter}['time']", time.dtype.name if time.dtype.kind not in "iuf" else time[:5].tolist(),
                      "at least 2 finite times in s (numbers)")
    if np.any(np.diff(time) <= 0.0):
        first = int(np.argmax(np.diff(time) <= 0.0))
        raise invalid(f"{parameter}['time']", f"... {time[first]}, {time[first + 1]} ... (sample {first + 1})",
                      "strictly increasing times")
    if traces.dtype.kind not in "iuf":
        raise invalid(parameter, traces.dtype.name, "real numbers")
    if not np.all(np.isfinite(traces.values)):
        bad = np.argwhere(~np.isfinite(traces.transpose("receiver", "time").values))
        raise invalid(parameter, f"{len(bad)} non-finite values (the first at receiver "
                      f"{names[bad[0][0]]!r}, time {time[bad[0][1]]} s)", "finite numbers")
    return traces.transpose("receiver", "time")


def covers(observed_time: np.ndarray, start_in_seconds: float, end_in_seconds: float) -> bool:
    """Whether increasing observed times (s) cover [start, end] s, to half an observed sample."""
    half_sample = 0.5 * float(np.min(np.diff(observed_time)))
    return observed_time[0] - half_sample <= start_in_seconds and end_in_seconds <= observed_time[-1] + half_sample


def check_time_coverage(observed_time: np.ndarray, start_in_seconds: float, end_in_seconds: float, *,
                        description: str) -> None:
    """ProjectError unless the observed times cover [start, end] s (to half an observed sample)."""
    if not covers(observed_time, start_in_seconds, end_in_seconds):
        raise ProjectError(f"{description}: the observed data span [{observed_time[0]}, {observed_time[-1]}] s, "
                           f"which does not cover the simulated time [{start_in_seconds}, {end_in_seconds}] s; "
                           f"import data that cover it, or simulate a time range they cover "
                           f"(start_time_in_seconds, end_time_in_seconds)")


def on_time_axis(observed: xr.DataArray, time_in_seconds: np.ndarray) -> xr.DataArray:
    """``observed`` (dims ("receiver", "time")) sampled at ``time_in_seconds``, which must lie in its time span.

    Times outside the span by less than half an observed sample are clamped to it.
    """
    observed = observed.transpose("receiver", "time")
    observed_time = observed["time"].values
    time_in_seconds = np.asarray(time_in_seconds, dtype=float)
    if observed_time.shape == time_in_seconds.shape and np.allclose(
            observed_time, time_in_seconds, rtol=0.0,
            atol=RELATIVE_TIME_TOLERANCE * max(abs(observed_time).max(), abs(time_in_seconds).max())):
        return observed.assign_coords(time=time_in_seconds)
    half_sample = 0.5 * float(np.min(np.diff(observed_time)))
    if time_in_seconds[0] < observed_time[0] - half_sample or time_in_seconds[-1] > observed_time[-1] + half_sample:
        raise ProjectError(f"the observed data span [{observed_time[0]}, {observed_time[-1]}] s but the synthetics "
                           f"span [{time_in_seconds[0]}, {time_in_seconds[-1]}] s; simulate a time range that the "
                           f"observed data cover (start_time_in_seconds, end_time_in_seconds)")
    from scipy.interpolate import CubicSpline  # here, not at start-up (import time)

    values = CubicSpline(observed_time, observed.values, axis=1)(
        np.clip(time_in_seconds, observed_time[0], observed_time[-1]))
    coordinates = {name: coordinate for name, coordinate in observed.coords.items() if "time" not in coordinate.dims}
    return xr.DataArray(values, dims=("receiver", "time"), coords={**coordinates, "time": time_in_seconds},
                        name=observed.name, attrs=observed.attrs)


@dataclass(frozen=True, eq=False)
class MisfitOnSyntheticTime:
    """``misfit`` (a ``Misfit``, with its band-pass and windows) of synthetics against ``observed`` brought onto
    the synthetic time axis.

    A callable ``(synthetic, _) -> MisfitResult`` for ``sf.compute_gradient(misfit=..., observed=None)``: the
    synthetic time axis is known only once the synthetics exist, so the observed traces are resampled here.
    """

    misfit: Misfit
    observed: xr.DataArray

    @property
    def name(self) -> str:
        return self.misfit.name

    def check_time_axis(self, time: np.ndarray) -> None:
        """Check that traces on ``time`` (s) suit ``misfit``'s band-pass (see ``Misfit.check_time_axis``)."""
        self.misfit.check_time_axis(time)

    def __call__(self, synthetic: xr.DataArray, _: xr.DataArray | None = None) -> MisfitResult:
        return self.misfit(synthetic, on_time_axis(self.observed, synthetic["time"].values))


def misfit_against(misfit: str | Callable, observed: xr.DataArray | None, *,
                   bandpass: Bandpass | None = None, window: dict[str, Window] | None = None) -> Misfit:
    """The misfit to evaluate with ``observed=None``: ``misfit`` itself without data, else with them built
    in; with a ``bandpass``, then the per-receiver ``window``, on synthetic and observed traces alike."""
    processed = get_misfit(misfit, bandpass=bandpass, window=window)
    return processed if observed is None else get_misfit(MisfitOnSyntheticTime(processed, observed))


def event_misfit(configuration: MisfitConfiguration, observed: xr.DataArray | None, event: Event,
                 event_configuration: EventConfiguration) -> Misfit:
    """The misfit of ``event`` as ``configuration`` defines it (function, band-pass, mute), against ``observed``
    (None without data), on traces that end when ``event_configuration``'s simulations do."""
    mute = configuration.mute
    window = None if mute is None else mute.windows(event, event_configuration.simulated_time_range_in_seconds[1])
    return misfit_against(configuration.misfit_function, observed, bandpass=configuration.bandpass, window=window)
