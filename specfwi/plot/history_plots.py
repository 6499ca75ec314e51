"""Misfit against iteration."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from ..errors import invalid
from .axes import axes_or_new

LOG_SCALE_RATIO = 100.0  # positive histories spanning more than this factor get a log axis


def misfit_history(values, *, ax: Axes | None = None) -> Axes:
    """Plot misfit values (n_iterations,) against iteration 0, 1, ...; returns the Axes."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise invalid("values", values, "a non-empty 1D sequence of finite misfits")
    ax = axes_or_new(ax)
    ax.plot(np.arange(len(values)), values, "o-")
    if values.min() > 0.0 and values.max() > LOG_SCALE_RATIO * values.min():
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("misfit")
    return ax
