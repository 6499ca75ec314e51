"""The per-event computations that executors run: plain functions of arrays, with no project access.

They run in this process, in a thread, or on a Dask worker elsewhere; they read
and write no project file, and return arrays that the client process stores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numba
import numpy as np
import xarray as xr

from ..gradient import compute_gradient_with_options
from ..mesh import UnstructuredMesh
from ..solver import SolverOptions, simulate_with_options
from .configurations import EventConfiguration, MisfitConfiguration
from .observed import event_misfit


@dataclass(frozen=True)
class GradientOutput:
    """What a gradient job returns: misfit value, raw gradient fields (n_elements, n_gll) by parameter, traces."""

    misfit: float
    gradient_fields: dict[str, np.ndarray]
    traces: xr.DataArray


WORKER_THREADS_VARIABLE = "SPECFWI_WORKER_THREADS"


def _limit_threads_on_dask_worker() -> None:
    """On a Dask worker, run the kernels on $SPECFWI_WORKER_THREADS threads (default 1).

    Parallelism across events comes from the workers (start one single-threaded worker per
    core); several multi-threaded kernels on the same cores would wait on each other's barriers.
    """
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return
    numba.set_num_threads(min(numba.config.NUMBA_NUM_THREADS, int(os.environ.get(WORKER_THREADS_VARIABLE, "1"))))


def simulate_event(mesh: UnstructuredMesh, event, event_configuration: EventConfiguration,
                   solver_options: SolverOptions) -> xr.DataArray:
    """Receiver traces of one event (``sf.simulate``): the wavelet and simulated time of ``event_configuration``,
    the time step and boundaries of ``solver_options`` (a configuration's ``solver_options()``)."""
    _limit_threads_on_dask_worker()
    return simulate_with_options(mesh, event, wavelet=event_configuration.wavelet,
                                 end_time_in_seconds=event_configuration.end_time_in_seconds,
                                 start_time_in_seconds=event_configuration.start_time_in_seconds,
                                 options=solver_options)


def compute_event_gradient(mesh: UnstructuredMesh, event, event_configuration: EventConfiguration,
                           solver_options: SolverOptions, misfit_configuration: MisfitConfiguration,
                           observed: xr.DataArray | None) -> GradientOutput:
    """Misfit, raw gradient and traces of one event (``sf.compute_gradient``), simulated as by
    :func:`simulate_event`.

    Observed data (or None) are compared on the synthetic time axis, band-passed and muted alike as
    ``misfit_configuration`` says (see :func:`specfwi.project.observed.event_misfit`).
    """
    _limit_threads_on_dask_worker()
    result = compute_gradient_with_options(mesh, event, wavelet=event_configuration.wavelet,
                                           misfit=event_misfit(misfit_configuration, observed, event,
                                                               event_configuration),
                                           end_time_in_seconds=event_configuration.end_time_in_seconds,
                                           start_time_in_seconds=event_configuration.start_time_in_seconds,
                                           options=solver_options)
    return GradientOutput(misfit=float(result.misfit), gradient_fields=dict(result.gradient.element_nodal_fields),
                          traces=result.traces)
