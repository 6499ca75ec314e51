"""Time windows with Hann tapers, applied as weights that multiply the traces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from ..acquisition.checks import finite_number
from ..errors import invalid


@dataclass(frozen=True)
class Window:
    """A time window [start, end] (s) whose edges rise and fall with Hann tapers.

    The weight is 0 outside [start, end], 1 on [start + taper, end - taper], and
    (1 - cos(pi (t - start) / taper)) / 2 on the rising edge (mirrored on the falling one).
    ``taper_width_in_seconds`` = 0 gives a boxcar.
    """

    start_in_seconds: float
    end_in_seconds: float
    _: KW_ONLY
    taper_width_in_seconds: float = 0.0

    def __post_init__(self):
        start = finite_number("start_in_seconds", self.start_in_seconds)
        end = finite_number("end_in_seconds", self.end_in_seconds)
        taper = finite_number("taper_width_in_seconds", self.taper_width_in_seconds)
        if end <= start:
            raise invalid("end_in_seconds", self.end_in_seconds, f"> start_in_seconds = {start}")
        if taper < 0.0 or 2.0 * taper > end - start:
            raise invalid("taper_width_in_seconds", self.taper_width_in_seconds,
                          f"in [0, (end - start) / 2] = [0, {(end - start) / 2}] s")
        object.__setattr__(self, "start_in_seconds", start)
        object.__setattr__(self, "end_in_seconds", end)
        object.__setattr__(self, "taper_width_in_seconds", taper)

    def weights(self, time_in_seconds: ArrayLike) -> NDArray[np.float64]:
        """Window weights in [0, 1] at the given times (s); same shape as the input."""
        time = np.asarray(time_in_seconds, dtype=float)
        weights = ((time >= self.start_in_seconds) & (time <= self.end_in_seconds)).astype(float)
        taper = self.taper_width_in_seconds
        if taper > 0.0:
            distance_to_edge = np.minimum(time - self.start_in_seconds, self.end_in_seconds - time)
            on_taper = (distance_to_edge >= 0.0) & (distance_to_edge < taper)
            weights[on_taper] = 0.5 * (1.0 - np.cos(np.pi * distance_to_edge[on_taper] / taper))
        return weights


def check_window(window) -> Window | dict[str, Window] | None:
    """Validate a ``window`` option: None, a ``Window``, or a dict receiver name -> ``Window``."""
    if window is None or isinstance(window, Window):
        return window
    if isinstance(window, Mapping) and all(isinstance(name, str) and isinstance(value, Window)
                                           for name, value in window.items()):
        return dict(window)
    raise invalid("window", window, "None, a Window, or a dict of receiver name -> Window")


def window_weights(window: Window | dict[str, Window], traces: xr.DataArray) -> NDArray[np.float64]:
    """Weights of shape (n_receiver, n_time) for traces with dims ("receiver", "time").

    A single ``Window`` applies to every receiver. With a dict, receivers absent from it get
    weight 0; every key must name a receiver of ``traces`` (their ``receiver`` coordinate).
    A window that selects no sample of the traces' time axis is an error (its misfit would be 0).
    """
    time = traces["time"].values
    n_receivers = traces.sizes["receiver"]
    if isinstance(window, Window):
        return np.broadcast_to(_weights_inside(window, time, "window"), (n_receivers, time.size))
    if "receiver" not in traces.coords:
        raise invalid("window", "a dict of per-receiver windows", "a single Window for traces without receiver names")
    names = [str(name) for name in traces["receiver"].values]
    unknown = sorted(set(window) - set(names))
    if unknown:
        raise invalid("window", f"windows for unknown receivers {unknown}", f"keys among the receivers {names}")
    weights = np.zeros((n_receivers, time.size))
    for row, name in enumerate(names):
        if name in window:
            weights[row] = _weights_inside(window[name], time, f"window[{name!r}]")
    return weights


def _weights_inside(window: Window, time: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    weights = window.weights(time)
    if len(time) and not np.any(weights > 0.0):
        raise invalid(name, window, f"a window that overlaps the simulated time [{time[0]:.6g}, {time[-1]:.6g}] s "
                      f"(this one selects no sample)")
    return weights
