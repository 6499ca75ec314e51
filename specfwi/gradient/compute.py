"""Misfits and their exact discrete-adjoint gradients with respect to VP and RHO."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..mesh import UnstructuredMesh
from ..errors import invalid
from ..misfit import get_misfit
from ..misfit.traces import match_observed
from ..misfit.window import window_weights
from ..physics import PARAMETERS
from ..solver import SimulationSetup, traces_to_dataarray
from ..solver.resources import check_run
from ..solver.compression import WavefieldCompression
from ..solver.adjoint import DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES, check_memory_budget, forward_then_adjoint, plan_checkpoints


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


def _prepare(mesh, event, wavelet, misfit, observed, window, bandpass, options) -> tuple[SimulationSetup, object]:
    """Validate everything (misfit, band-pass, observed data and their time axis) before any time stepping."""
    misfit_function = get_misfit(misfit, window=window, bandpass=bandpass)
    if observed is None and misfit_function.requires_observed_data:
        raise invalid("observed", None, f"traces (the misfit {misfit_function.name!r} compares with observed data)")
    if observed is not None and misfit_function.requires_observed_data is False:
        raise invalid("observed", "traces", f"None (the misfit {misfit_function.name!r} uses no observed data)")
    setup = SimulationSetup.build(mesh, event, wavelet=wavelet, **options)
    template = traces_to_dataarray(setup, np.zeros((len(setup.receiver_nodes), setup.n_steps + 1)))
    misfit_function.check_time_axis(template["time"].values)
    if observed is not None:
        match_observed(observed, template)
    if misfit_function.window is not None:
        window_weights(misfit_function.window, template)  # a window outside the simulated time is an error
    return setup, misfit_function


def compute_misfit(mesh: UnstructuredMesh, event, *, wavelet, misfit, end_time_in_seconds: float,
                   time_step_in_seconds: float | None = None, observed: xr.DataArray | None = None, window=None,
                   bandpass=None, **simulate_options) -> float:
    """Misfit of one event's synthetic traces (see :func:`specfwi.simulate` for the simulation options).

    ``misfit``: a name ("L2_energy_no_observed_data", "L2", "cross_correlation_time_shift") or a callable
    ``(synthetic, observed) -> (value, adjoint_source)``; ``observed``: traces on the same receivers and
    time axis (use the same explicit ``time_step_in_seconds`` for both); ``window``: see specfwi.misfit.Window;
    ``bandpass``: None or (f_min, f_max) in Hz, a zero-phase Butterworth band-pass of synthetic and observed
    traces before the misfit (see specfwi.misfit.Bandpass; f_max below the Nyquist frequency of the time step).
    """
    setup, misfit_function = _prepare(mesh, event, wavelet, misfit, observed, window, bandpass,
                                      dict(end_time_in_seconds=end_time_in_seconds,
                                           time_step_in_seconds=time_step_in_seconds, **simulate_options))
    return misfit_function(traces_to_dataarray(setup, setup.record_traces()), observed).value


def compute_gradient(mesh: UnstructuredMesh, event, *, wavelet, misfit, end_time_in_seconds: float,
                     time_step_in_seconds: float | None = None, observed: xr.DataArray | None = None, window=None,
                     bandpass=None, checkpoint_memory_in_megabytes: float = DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES,
                     wavefield_compression: WavefieldCompression | None = None,
                     **simulate_options) -> GradientResult:
    """Misfit and its exact gradient w.r.t. the element-nodal VP and RHO (one forward + one adjoint run).

    Arguments as :func:`compute_misfit`; ``checkpoint_memory_in_megabytes`` bounds the memory for stored
    forward states (beyond it, segments are recomputed from checkpoints: same result to round-off).
    ``wavefield_compression``: None (default, the exact gradient) or an ``sf.WavefieldCompression``, which
    keeps every k-th forward state and interpolates between them: an approximate gradient, without
    recomputation (docs/solver.md, Wavefield compression).
    """
    check_memory_budget(checkpoint_memory_in_megabytes)
    if wavefield_compression is not None and not isinstance(wavefield_compression, WavefieldCompression):
        raise invalid("wavefield_compression", wavefield_compression,
                      "None or an sf.WavefieldCompression(forward_wavefield_sampling_interval=k)")
    setup, misfit_function = _prepare(mesh, event, wavelet, misfit, observed, window, bandpass,
                                      dict(end_time_in_seconds=end_time_in_seconds,
                                           time_step_in_seconds=time_step_in_seconds, **simulate_options))
    check_run(mesh, event, setup.time[-1] - setup.time[0], setup.time_step_in_seconds, gradient=True,
              checkpoint_memory_in_bytes=checkpoint_memory_in_megabytes * 1024**2)
    plan = None if wavefield_compression is not None else plan_checkpoints(
        setup.n_steps, setup.n_global_nodes, checkpoint_memory_in_megabytes, setup.dtype.itemsize)
    evaluated = {}  # the synthetic traces and their misfit result, once the forward run is done

    def adjoint_source(values):
        evaluated["synthetic"] = traces_to_dataarray(setup, values)
        evaluated["misfit"] = result = misfit_function(evaluated["synthetic"], observed)
        return result.value, result.adjoint_source.transpose("receiver", "time").values

    _, value, sensitivities = forward_then_adjoint(setup, adjoint_source, plan=plan, compression=wavefield_compression)
    derivatives = setup.coefficients.material_gradient(sensitivities.mass, sensitivities.damping, sensitivities.kappa,
                                                       sensitivities.zero_order)
    gradient = mesh.geometry_copy()
    for name in PARAMETERS:
        gradient.attach_field(name, derivatives[name])
    return GradientResult(float(value), gradient, evaluated["synthetic"], evaluated["misfit"].adjoint_source)
