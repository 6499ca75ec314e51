"""What the inversion benchmarks print: per iteration and per evaluation, misfit / initial, model error,
evaluations, cumulative wall time and peak memory; and the regular-grid sampling of models they need.

Import ``common`` first (it makes specfwi this checkout's).
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

import specfwi as sf
from specfwi.mapping.transfer import mesh_to_points


def sample_vp(mesh: sf.UnstructuredMesh, points: np.ndarray) -> np.ndarray:
    """VP of a mesh at points (n, 2), m (Lagrange interpolation in the element holding each point)."""
    return mesh_to_points(mesh, points) @ mesh.element_nodal_fields["VP"].ravel()


def peak_memory_in_megabytes() -> float:
    """Peak resident memory of this process so far (ru_maxrss)."""
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def run_and_report(project: sf.Project, name: str, n_iterations: int, model_error) -> dict:
    """Iterate one iteration at a time, printing a row per iteration; then a row per evaluation.

    ``model_error(mesh)`` gives the model error of a simulation model. Returns the last row's figures.
    """
    start = time.perf_counter()
    start_clock = time.time()
    print("iteration  misfit/initial  model_error  evaluations  wall_s  peak_rss_MB", flush=True)
    initial = None
    figures = {}
    for iteration in range(n_iterations + 1):
        status = project.inversions.iterate(name, n_iterations=iteration)
        misfits = project.inversions.misfits(name).sum("event").values
        initial = misfits[0] if initial is None else initial
        error = model_error(project.inversions.get_model(name, status.n_completed_iterations))
        figures = {"iteration": status.n_completed_iterations, "relative_misfit": misfits[-1] / initial,
                   "model_error": error, "evaluations": status.n_evaluations,
                   "wall_time_in_seconds": time.perf_counter() - start,
                   "peak_memory_in_megabytes": peak_memory_in_megabytes()}
        print(f"{figures['iteration']:9d}  {figures['relative_misfit']:14.4f}  {error:11.4f}  "
              f"{status.n_evaluations:11d}  {figures['wall_time_in_seconds']:6.1f}  "
              f"{figures['peak_memory_in_megabytes']:11.0f}", flush=True)
        if status.state == "stopped":
            print(f"stopped: {status.message}")
            break
    print("\nevaluation  iteration  outcome   misfit/initial  step_linf  trust_radius_linf  wall_s")
    for row in project.inversions.evaluations(name):
        radius = "-" if row["trust_radius_linf"] is None else f"{row['trust_radius_linf']:.4g}"
        print(f"{row['evaluation']:10d}  {row['iteration']:9d}  {row['outcome']:8s}  {row['misfit'] / initial:14.4f}  "
              f"{row['step_linf']:9.4g}  {radius:>17s}  {row['created_at'] - start_clock:6.1f}")
    return figures
