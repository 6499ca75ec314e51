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


def run_and_report(project: sf.Project, stages: list[tuple[str, int]], model_error) -> dict:
    """Run the stages in order, one iteration at a time, printing a row per iteration; then a row per evaluation.

    ``stages``: (inversion name, its iterations), each inversion starting from the model the one before
    ends with (``prior_model=(name, iterations)``: a frequency continuation). Iterations and evaluations
    are counted over all stages; "misfit/initial" divides by the stage's own first misfit (its data may be
    filtered otherwise). ``model_error(mesh)`` gives the model error of a simulation model. Returns the last
    row's figures.
    """
    start = time.perf_counter()
    start_clock = time.time()
    print("iteration  stage  misfit/initial  model_error  evaluations  wall_s  peak_rss_MB", flush=True)
    figures = {}
    done_iterations = done_evaluations = 0
    for stage, (name, n_iterations) in enumerate(stages):
        for iteration in range(0 if stage == 0 else 1, n_iterations + 1):
            status = project.inversions.iterate(name, n_iterations=iteration)
            misfits = project.inversions.misfits(name).sum("event").values
            error = model_error(project.inversions.get_model(name, status.n_completed_iterations))
            figures = {"iteration": done_iterations + status.n_completed_iterations,
                       "relative_misfit": misfits[-1] / misfits[0], "model_error": error,
                       "evaluations": done_evaluations + status.n_evaluations,
                       "wall_time_in_seconds": time.perf_counter() - start,
                       "peak_memory_in_megabytes": peak_memory_in_megabytes()}
            print(f"{figures['iteration']:9d}  {stage + 1:5d}  {figures['relative_misfit']:14.4f}  {error:11.4f}  "
                  f"{figures['evaluations']:11d}  {figures['wall_time_in_seconds']:6.1f}  "
                  f"{figures['peak_memory_in_megabytes']:11.0f}", flush=True)
            if status.state == "stopped":
                print(f"stopped: {status.message}")
                break
        done_iterations, done_evaluations = figures["iteration"], figures["evaluations"]
        if status.state == "stopped":  # a later stage would start from an iteration that does not exist
            break
    print("\nevaluation  stage  iteration  outcome   misfit/initial  step_linf  trust_radius_linf  wall_s")
    counted = 0
    for stage, (name, _) in enumerate(stages):
        rows = project.inversions.evaluations(name)
        for row in rows:
            radius = "-" if row["trust_radius_linf"] is None else f"{row['trust_radius_linf']:.4g}"
            print(f"{counted + row['evaluation']:10d}  {stage + 1:5d}  {row['iteration']:9d}  {row['outcome']:8s}  "
                  f"{row['misfit'] / rows[0]['misfit']:14.4f}  {row['step_linf']:9.4g}  {radius:>17s}  "
                  f"{row['created_at'] - start_clock:6.1f}")
        counted += len(rows)
    return figures
