"""Misfits and their exact discrete-adjoint gradients with respect to VP and RHO."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import invalid
from ..mesh import UnstructuredMesh
from ..mesh.absorbing import AbsorbingOption, FreeSurfaceOption
from ..misfit import get_misfit
from ..misfit.traces import match_observed
from ..misfit.window import window_weights
from ..physics import PARAMETERS
from ..solver import SimulationSetup, SolverOptions, WavefieldCompression, traces_to_dataarray
from ..solver.adjoint import forward_then_adjoint, plan_checkpoints
from ..solver.options import DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES
from ..solver.options import Precision
from ..solver.resources import check_run


@dataclass
class GradientResult:
    """Result of :func:`compute_gradient`.

    misfit : the misfit value chi
    gradient : UnstructuredMesh (same geometry) with element-nodal fields "VP" (chi per m/s) and "RHO"
        (chi per kg/m^3): d chi / d mesh.element_nodal_fields[name][e, q] for every entry (a plain
        partial derivative, not a density; divide by ``mesh.quadrature_weights`` for a kernel density)
    traces : the synthetic traces the misfit was evaluated on
    adjoint_source : the misfit's adjoint source on the same axes
    """

    misfit: float
    gradient: UnstructuredMesh
    traces: xr.DataArray
    adjoint_source: xr.DataArray


def _prepare(mesh, event, *, wavelet, misfit, end_time_in_seconds, start_time_in_seconds, observed, window, bandpass,
             options: SolverOptions) -> tuple[SimulationSetup, object]:
    """Validate everything (misfit, band-pass, observed data and their time axis) before any time stepping."""
    misfit_function = get_misfit(misfit, window=window, bandpass=bandpass)
    if observed is None and misfit_function.requires_observed_data:
        raise invalid("observed", None, f"traces (the misfit {misfit_function.name!r} compares with observed data)")
    if observed is not None and misfit_function.requires_observed_data is False:
        raise invalid("observed", "traces", f"None (the misfit {misfit_function.name!r} uses no observed data)")
    setup = SimulationSetup.build(mesh, event, wavelet=wavelet, end_time_in_seconds=end_time_in_seconds,
                                  start_time_in_seconds=start_time_in_seconds, options=options)
    template = traces_to_dataarray(setup, np.zeros((len(setup.receiver_nodes), setup.n_steps + 1)))
    misfit_function.check_time_axis(template["time"].values)
    if observed is not None:
        match_observed(observed, template)
    if misfit_function.window is not None:
        window_weights(misfit_function.window, template)  # a window outside the simulated time is an error
    return setup, misfit_function


def compute_misfit(mesh: UnstructuredMesh, event, *, wavelet, misfit, end_time_in_seconds: float,
                   time_step_in_seconds: float | None = None, observed: xr.DataArray | None = None, window=None,
                   bandpass=None, start_time_in_seconds: float | None = None,
                   absorbing_boundaries: AbsorbingOption = True, free_surface: FreeSurfaceOption = False,
                   progress: bool | None = None, dtype: Precision = "float64") -> float:
    """Misfit of one event's synthetic traces (see :func:`specfwi.simulate` for the simulation options).

    ``misfit``: a name ("L2_energy_no_observed_data", "L2", "cross_correlation_time_shift") or a callable
    ``(synthetic, observed) -> (value, adjoint_source)``; ``observed``: traces on the same receivers and
    time axis (use the same explicit ``time_step_in_seconds`` for both); ``window``: see specfwi.misfit.Window;
    ``bandpass``: None or (f_min, f_max) in Hz, a zero-phase Butterworth band-pass of synthetic and observed
    traces before the misfit (see specfwi.misfit.Bandpass; f_max below the Nyquist frequency of the time step).
    """
    options = SolverOptions(time_step_in_seconds=time_step_in_seconds, absorbing_boundaries=absorbing_boundaries,
                            free_surface=free_surface, progress=progress, dtype=dtype)
    setup, misfit_function = _prepare(mesh, event, wavelet=wavelet, misfit=misfit,
                                      end_time_in_seconds=end_time_in_seconds,
                                      start_time_in_seconds=start_time_in_seconds, observed=observed, window=window,
                                      bandpass=bandpass, options=options)
    return misfit_function(traces_to_dataarray(setup, setup.record_traces()), observed).value


def compute_gradient(mesh: UnstructuredMesh, event, *, wavelet, misfit, end_time_in_seconds: float,
                     time_step_in_seconds: float | None = None, observed: xr.DataArray | None = None, window=None,
                     bandpass=None, checkpoint_memory_in_megabytes: float = DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES,
                     wavefield_compression: WavefieldCompression | None = None,
                     start_time_in_seconds: float | None = None, absorbing_boundaries: AbsorbingOption = True,
                     free_surface: FreeSurfaceOption = False, progress: bool | None = None,
                     dtype: Precision = "float64") -> GradientResult:
    """Misfit and its exact gradient w.r.t. the element-nodal VP and RHO (one forward + one adjoint run).

    Arguments as :func:`compute_misfit`; ``checkpoint_memory_in_megabytes`` bounds the memory for stored
    forward states (beyond it, segments are recomputed from checkpoints: same result to round-off).
    ``wavefield_compression``: None (default, the exact gradient) or an ``sf.WavefieldCompression``, which
    keeps every k-th forward state and interpolates between them: an approximate gradient, without
    recomputation (docs/solver.md, Wavefield compression).
    """
    options = SolverOptions(time_step_in_seconds=time_step_in_seconds, absorbing_boundaries=absorbing_boundaries,
                            free_surface=free_surface, dtype=dtype,
                            checkpoint_memory_in_megabytes=checkpoint_memory_in_megabytes,
                            wavefield_compression=wavefield_compression, progress=progress)
    return compute_gradient_with_options(mesh, event, wavelet=wavelet, misfit=misfit,
                                         end_time_in_seconds=end_time_in_seconds,
                                         start_time_in_seconds=start_time_in_seconds, observed=observed,
                                         window=window, bandpass=bandpass, options=options)


def compute_gradient_with_options(mesh: UnstructuredMesh, event, *, wavelet, misfit, end_time_in_seconds: float,
                                  start_time_in_seconds: float | None = None, observed: xr.DataArray | None = None,
                                  window=None, bandpass=None, options: SolverOptions) -> GradientResult:
    """:func:`compute_gradient` with its solver options as one :class:`~specfwi.solver.SolverOptions` (what the
    project's jobs pass on)."""
    setup, misfit_function = _prepare(mesh, event, wavelet=wavelet, misfit=misfit,
                                      end_time_in_seconds=end_time_in_seconds,
                                      start_time_in_seconds=start_time_in_seconds, observed=observed, window=window,
                                      bandpass=bandpass, options=options)
    check_run(mesh, event, setup.time[-1] - setup.time[0], setup.time_step_in_seconds, gradient=True,
              checkpoint_memory_in_bytes=options.checkpoint_memory_in_megabytes * 1024**2)
    plan = None if options.wavefield_compression is not None else plan_checkpoints(
        setup.n_steps, setup.n_global_nodes, options.checkpoint_memory_in_megabytes, setup.dtype.itemsize)
    evaluated = {}  # the synthetic traces and their misfit result, once the forward run is done

    def adjoint_source(values):
        evaluated["synthetic"] = traces_to_dataarray(setup, values)
        evaluated["misfit"] = result = misfit_function(evaluated["synthetic"], observed)
        return result.value, result.adjoint_source.transpose("receiver", "time").values

    _, value, sensitivities = forward_then_adjoint(setup, adjoint_source, plan=plan,
                                                   compression=options.wavefield_compression)
    derivatives = setup.coefficients.material_gradient(sensitivities.mass, sensitivities.damping, sensitivities.kappa,
                                                       sensitivities.zero_order)
    gradient = mesh.geometry_copy()
    for name in PARAMETERS:
        gradient.attach_field(name, derivatives[name])
    return GradientResult(float(value), gradient, evaluated["synthetic"], evaluated["misfit"].adjoint_source)
