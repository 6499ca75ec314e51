"""The solver's check of a run's size (``specfwi.resources``) before it allocates its time axis and states."""

from __future__ import annotations

import logging

from .. import resources
from ..mesh import UnstructuredMesh

logger = logging.getLogger(__name__)


def check_run(mesh: UnstructuredMesh, event, duration_in_seconds: float, time_step_in_seconds: float | None, *,
              gradient: bool = False, checkpoint_memory_in_bytes: float | None = None) -> resources.ResourceEstimate:
    """Estimate a forward run (or a gradient) of ``event`` on ``mesh`` (validated VP) and refuse it above the
    limits of ``sf.config`` (ResourceError); returns the estimate."""
    estimate = resources.estimate_from_mesh(mesh, duration_in_seconds=duration_in_seconds,
                                            time_step_in_seconds=time_step_in_seconds,
                                            n_sources=len(event.sources), n_receivers=len(event.receivers),
                                            gradient=gradient, checkpoint_memory_in_bytes=checkpoint_memory_in_bytes)
    logger.info("%s estimate: %s", "gradient" if gradient else "simulation", estimate)
    resources.check(estimate, "this gradient" if gradient else "this simulation",
                    parameters="the mesh's element size and VP, end_time_in_seconds and time_step_in_seconds")
    return estimate
