"""The solver's options: one frozen value, checked when built, that the layers pass on.

The public functions (``sf.simulate``, ``simulate_wavefield``, ``sf.compute_misfit``,
``sf.compute_gradient``) take these options as keyword arguments and build a :class:`SolverOptions`
from them; the configurations of a project give theirs with ``solver_options()``; below, the solver
(:meth:`specfwi.solver.SimulationSetup.build`) and the project's jobs take the object itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import invalid
from ..mesh.absorbing import AbsorbingOption, FreeSurfaceOption, check_absorbing_option, check_free_surface_option
from ..parameters import check_positive_number
from .compression import WavefieldCompression
from .time_step import check_time_step

#: The floating-point types of the time stepping (docs/solver.md, Precision).
Precision = Literal["float64", "float32"]
DTYPES: tuple[Precision, ...] = ("float64", "float32")
DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES = 640.0  # S2 with its absorbing layers needs 542 MB in float64 (docs/solver.md)


def check_memory_budget(memory_in_megabytes) -> None:
    """The checkpoint memory must be a finite number of megabytes > 0."""
    check_positive_number("checkpoint_memory_in_megabytes", memory_in_megabytes,
                          allowed="a finite number of megabytes > 0")


def check_dtype(dtype) -> np.dtype:
    """The solver's floating-point type: float64 (default) or float32 (docs/solver.md, Precision)."""
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked is None or checked.name not in DTYPES:
        raise invalid("dtype", dtype, f"one of {DTYPES} (or the numpy types)")
    return checked


@dataclass(frozen=True)
class SolverOptions:
    """How the solver runs an event: everything but the mesh, the event, the wavelet and the simulated time.

    time_step_in_seconds : None (automatic: a fixed fraction of the stability limit, specfwi.solver.time_step)
        or a step in s, > 0
    absorbing_boundaries : True (the mesh's absorbing layers if it has them, else the Stacey condition on every
        rectangle side that is not a free surface), an ``sf.AbsorbingBoundaryParameters`` (a mesh with layers),
        "stacey" (the first-order condition only), False (rigid walls) or side-set names (the Stacey condition
        on them); docs/solver.md, Boundaries. Side-set names are kept as a tuple.
    free_surface : False, True (the top side "y1": phi = 0) or side-set names (kept as a tuple)
    dtype : the arithmetic of the time stepping, "float64" or "float32" (numpy types are accepted and kept
        by name)
    checkpoint_memory_in_megabytes : memory for the forward states a gradient stores (MB, > 0); beyond it,
        segments are recomputed from checkpoints (same result to round-off)
    wavefield_compression : None (exact gradients) or an ``sf.WavefieldCompression`` (approximate gradients
        from every k-th forward state)
    progress : None shows a bar for runs longer than a second, False never, True always

    Every value is checked on construction (InvalidParameterError naming the parameter); sides are checked
    against the mesh when a run is set up.
    """

    time_step_in_seconds: float | None = None
    absorbing_boundaries: AbsorbingOption = True
    free_surface: FreeSurfaceOption = False
    dtype: Precision = "float64"
    checkpoint_memory_in_megabytes: float = DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES
    wavefield_compression: WavefieldCompression | None = None
    progress: bool | None = None

    def __post_init__(self):
        check_time_step(self.time_step_in_seconds)
        check_memory_budget(self.checkpoint_memory_in_megabytes)
        if self.wavefield_compression is not None and not isinstance(self.wavefield_compression,
                                                                     WavefieldCompression):
            raise invalid("wavefield_compression", self.wavefield_compression,
                          "None or an sf.WavefieldCompression(forward_wavefield_sampling_interval=k)")
        if self.progress is not None:
            if not isinstance(self.progress, (bool, np.bool_)):
                raise invalid("progress", self.progress, "None (a bar for runs over a second), True or False")
            object.__setattr__(self, "progress", bool(self.progress))
        object.__setattr__(self, "absorbing_boundaries", check_absorbing_option(self.absorbing_boundaries))
        object.__setattr__(self, "free_surface", check_free_surface_option(self.free_surface))
        object.__setattr__(self, "dtype", check_dtype(self.dtype).name)
