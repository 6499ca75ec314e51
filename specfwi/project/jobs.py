"""The per-event computations that executors run: plain functions of arrays, with no project access.

They run in this process, in a thread, or on a Dask worker elsewhere; they read
and write no project file, and return arrays that the client process stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..gradient import compute_gradient
from ..mesh import UnstructuredMesh
from ..solver import simulate
from .observed import misfit_against


@dataclass(frozen=True)
class GradientOutput:
    """What a gradient job returns: misfit value, raw gradient fields (n_elements, n_gll) by parameter, traces."""

    misfit: float
    gradient_fields: dict[str, np.ndarray]
    traces: xr.DataArray


def simulate_event(mesh: UnstructuredMesh, event, solver_options: dict) -> xr.DataArray:
    """Receiver traces of one event (``sf.simulate``)."""
    return simulate(mesh, event, **solver_options)


def compute_event_gradient(mesh: UnstructuredMesh, event, solver_options: dict, misfit: str | Callable,
                           observed: xr.DataArray | None) -> GradientOutput:
    """Misfit, raw gradient and traces of one event (``sf.compute_gradient``).

    Observed data (or None) are compared on the synthetic time axis (see :mod:`specfwi.project.observed`).
    """
    result = compute_gradient(mesh, event, misfit=misfit_against(misfit, observed), **solver_options)
    return GradientOutput(misfit=float(result.misfit), gradient_fields=dict(result.gradient.element_nodal_fields),
                          traces=result.traces)
