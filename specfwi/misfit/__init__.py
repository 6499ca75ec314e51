"""Misfit layer: misfit functions on receiver traces, their adjoint sources, and windows.

Traces are ``xarray.DataArray`` objects with dims ("receiver", "time") and a uniformly
sampled ``time`` coordinate (s).

Convention
----------
Time integrals are trapezoidal on the trace's time axis. A misfit returns
``(value, adjoint_source)`` where ``adjoint_source`` is a DataArray like the synthetic ``u``
such that, to first order,

    delta chi = sum_{r, k} dt * c_k * adjoint_source[r, k] * delta u[r, k],

with c_k = ``trapezoid_weights(time)`` (1/2 at both ends, 1 elsewhere). So the L2 adjoint source
is simply u - d (times the window weights squared when windowed), and the solver multiplies by
dt * c_k itself when it injects the adjoint source.

Processing before the misfit (``get_misfit(name, window=..., bandpass=...)``): a zero-phase
Butterworth band-pass (:class:`Bandpass`, with its exact transpose in the adjoint source), then
window weights; both apply alike to synthetic and observed traces. A :class:`TopMute` (offset-dependent
windows that remove what arrives before a line t = t_0 + offset / v) gives per-receiver windows for an event.

Built-in misfits (``get_misfit(name, window=...)``):

- "L2_energy_no_observed_data": chi = 1/2 sum_r int u^2 dt (observed must be None);
- "L2": chi = 1/2 sum_r int (u - d)^2 dt;
- "cross_correlation_time_shift": chi = 1/2 sum_r T_r^2, T_r the sub-sample time shift that
  maximises the cross-correlation of u and d (see :mod:`specfwi.misfit.cross_correlation`).
"""

from .bandpass import Bandpass
from .mute import TopMute
from .registry import MISFIT_NAMES, Misfit, MisfitName, MisfitResult, get_misfit
from .traces import check_traces, trapezoid_weights, uniform_time_step
from .window import Window

__all__ = ["MISFIT_NAMES", "Bandpass", "Misfit", "MisfitName", "MisfitResult", "TopMute", "Window", "check_traces",
           "get_misfit", "trapezoid_weights", "uniform_time_step"]
