"""Wiggle plots of receiver traces."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

from ..errors import invalid
from ..misfit.window import Window
from .axes import axes_or_new

WIGGLE_HALF_HEIGHT = 0.45  # the largest excursion, in units of the receiver spacing
MAX_LABELLED_RECEIVERS = 30
MUTED_TRACE_COLOR = "0.7"  # receivers that the windows leave out
WINDOW_EDGE_COLOR = "tab:red"


def traces(traces: xr.DataArray, *, ax: Axes | None = None, normalize: bool = True,
           windows: dict[str, Window] | None = None) -> Axes:
    """Wiggle plot of a (receiver, time) DataArray; returns the Axes.

    Trace k is drawn around y = k. ``normalize=True`` scales every trace by its own
    max|value|; ``normalize=False`` scales all by the global max|value|, so that
    relative amplitudes show. ``windows`` (receiver name -> ``sf.Window``, for example
    ``sf.TopMute(...).windows(event, end_time)``) draws where each receiver's window starts and
    ends (red ticks across its trace, within the time axis) and the receivers it leaves out in grey.
    """
    if not isinstance(traces, xr.DataArray) or set(traces.dims) != {"receiver", "time"} or "time" not in traces.coords:
        raise invalid("traces", type(traces).__name__,
                      "an xarray.DataArray with dims ('receiver', 'time') and a 'time' coordinate")
    data = traces.transpose("receiver", "time")
    time, values = data["time"].values, data.values
    names = [str(name) for name in data["receiver"].values] if "receiver" in data.coords else []
    if windows is not None:
        if not isinstance(windows, Mapping) or not all(isinstance(window, Window) for window in windows.values()) \
                or not set(windows) <= set(names):
            raise invalid("windows", windows, f"None, or a dict receiver name -> Window whose names are among the "
                                              f"traces' receivers {names}")
    amplitude = np.abs(values).max(axis=1, keepdims=True) if normalize else np.abs(values).max(initial=0.0)
    amplitude = np.where(amplitude > 0.0, amplitude, 1.0)
    offsets = np.arange(len(values))[:, None]
    wiggles = offsets + WIGGLE_HALF_HEIGHT * values / amplitude
    ax = axes_or_new(ax)
    colors = ["k" if windows is None or name in windows else MUTED_TRACE_COLOR for name in names] or "k"
    ax.add_collection(LineCollection(np.stack([np.broadcast_to(time, values.shape), wiggles], axis=-1),
                                     colors=colors, linewidths=0.8))
    if windows is not None:
        edges = [((edge, row - WIGGLE_HALF_HEIGHT), (edge, row + WIGGLE_HALF_HEIGHT))
                 for row, name in enumerate(names) if name in windows
                 for edge in (windows[name].start_in_seconds, windows[name].end_in_seconds)
                 if time[0] <= edge <= time[-1]]
        ax.add_collection(LineCollection(edges, colors=WINDOW_EDGE_COLOR, linewidths=1.5))
    ax.set_xlim(float(time[0]), float(time[-1]))
    ax.set_ylim(-1.0, len(values))
    if len(values) <= MAX_LABELLED_RECEIVERS and "receiver" in data.coords:
        ax.set_yticks(np.arange(len(values)), [str(name) for name in data["receiver"].values])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("receiver")
    if data.name is not None:
        ax.set_title(str(data.name))
    return ax
