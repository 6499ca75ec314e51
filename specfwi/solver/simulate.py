"""Forward simulation of one event: receiver traces as an xarray DataArray."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import invalid
from ..mesh import UnstructuredMesh
from ..mesh.absorbing import AbsorbingOption, FreeSurfaceOption
from .options import Precision, SolverOptions
from .setup import SimulationSetup


def traces_to_dataarray(setup: SimulationSetup, values: np.ndarray) -> xr.DataArray:
    """Wrap (n_receivers, n_samples) values as phi traces with receiver names, coordinates and time (s)."""
    receivers = setup.event.receivers
    return xr.DataArray(
        values, dims=("receiver", "time"), name="phi",
        coords={"receiver": [r.name for r in receivers], "time": setup.time,
                "x": ("receiver", np.array([r.x for r in receivers], dtype=float)),
                "y": ("receiver", np.array([r.y for r in receivers], dtype=float))},
        attrs={"field": "phi", "time_step_in_seconds": setup.time_step_in_seconds},
    )


def simulate(mesh: UnstructuredMesh, event, *, wavelet, end_time_in_seconds: float,
             start_time_in_seconds: float | None = None, time_step_in_seconds: float | None = None,
             absorbing_boundaries: AbsorbingOption = True, free_surface: FreeSurfaceOption = False,
             progress: bool | None = None, dtype: Precision = "float64") -> xr.DataArray:
    """Simulate one event on a mesh with element-nodal VP (m/s) and RHO (kg/m^3).

    Solves (1/(RHO VP^2)) phi_tt - div((1/RHO) grad phi) = sum_s f_s delta(x - x_s) w(t) from rest at
    ``start_time_in_seconds`` (default: the wavelet's own start, where it is still ~0) to
    ``end_time_in_seconds``. The other options are those of :class:`SolverOptions`: the time step defaults
    to a fixed fraction of the stability limit (see specfwi.solver.time_step); ``absorbing_boundaries``: True
    (the mesh's absorbing layers, or the Stacey condition on every rectangle side that is not a free surface
    on a mesh without them), "stacey", False, side-set names, or an sf.AbsorbingBoundaryParameters (a mesh
    with layers); ``free_surface``: False, True (the top side "y1": phi = 0) or side-set names.
    ``progress``: None shows a bar for runs longer than a second, False never, True always.
    ``dtype``: the arithmetic of the time stepping, "float64" or "float32" (about half the memory traffic:
    up to 2 times faster on large meshes; traces agree with float64 to about 1e-6 relative, docs/solver.md).

    Returns phi at the receivers: DataArray dims ("receiver", "time"), coords receiver (names), time (s), x, y.
    """
    options = SolverOptions(time_step_in_seconds=time_step_in_seconds, absorbing_boundaries=absorbing_boundaries,
                            free_surface=free_surface, progress=progress, dtype=dtype)
    return simulate_with_options(mesh, event, wavelet=wavelet, end_time_in_seconds=end_time_in_seconds,
                                 start_time_in_seconds=start_time_in_seconds, options=options)


def simulate_with_options(mesh: UnstructuredMesh, event, *, wavelet, end_time_in_seconds: float,
                          start_time_in_seconds: float | None = None, options: SolverOptions) -> xr.DataArray:
    """:func:`simulate` with its options as one :class:`SolverOptions` (what the project's jobs pass on)."""
    setup = SimulationSetup.build(mesh, event, wavelet=wavelet, end_time_in_seconds=end_time_in_seconds,
                                  start_time_in_seconds=start_time_in_seconds, options=options)
    return traces_to_dataarray(setup, setup.record_traces())


def simulate_wavefield(mesh: UnstructuredMesh, event, *, wavelet, end_time_in_seconds: float, snapshot_times_in_seconds,
                       start_time_in_seconds: float | None = None, time_step_in_seconds: float | None = None,
                       absorbing_boundaries: AbsorbingOption = True, free_surface: FreeSurfaceOption = False,
                       progress: bool | None = None, dtype: Precision = "float64") -> xr.DataArray:
    """phi on every global node at the given times (the nearest time steps), for pictures and movies.

    Options as :func:`simulate`. Returns a DataArray of dims ("time", "node") with the sample times (s);
    ``mesh.global_node_coordinates`` gives the node positions (see :func:`specfwi.plot.wavefield`).
    """
    options = SolverOptions(time_step_in_seconds=time_step_in_seconds, absorbing_boundaries=absorbing_boundaries,
                            free_surface=free_surface, progress=progress, dtype=dtype)
    setup = SimulationSetup.build(mesh, event, wavelet=wavelet, end_time_in_seconds=end_time_in_seconds,
                                  start_time_in_seconds=start_time_in_seconds, options=options)
    requested = np.atleast_1d(np.asarray(snapshot_times_in_seconds, dtype=float))
    half_step = 0.5 * setup.time_step_in_seconds
    outside = ((requested < setup.time[0] - half_step) | (requested > setup.time[-1] + half_step)
               | ~np.isfinite(requested))
    if np.any(outside):
        raise invalid("snapshot_times_in_seconds", requested[outside].tolist(),
                      f"times within the simulated interval [{setup.time[0]}, {setup.time[-1]}] s")
    steps = np.clip(np.rint((requested - setup.time[0]) / setup.time_step_in_seconds).astype(int), 0, setup.n_steps)
    snapshots = np.zeros((len(steps), setup.n_global_nodes))
    state, reached = None, 0
    for index in np.argsort(steps):
        state = setup.run_forward(first_step=reached, last_step=steps[index], state=state)
        reached = steps[index]
        snapshots[index] = state.current
    return xr.DataArray(snapshots, dims=("time", "node"), coords={"time": setup.time[steps]}, name="phi")
