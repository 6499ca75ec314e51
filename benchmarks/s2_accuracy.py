"""S2 (scale): how far S2's traces are from a converged reference, and what each mesh costs.

S2's first shot (x = 500 m) has the longest paths of the scenario (offsets up to 8.6 km, about 35
dominant wavelengths). Its traces on meshes of several resolutions are compared with those of a
finer reference mesh, after cubic-spline interpolation onto the reference's time axis (each mesh
runs at its own default time step; the interpolation error, about (omega dt)^4 / 384, is below
1e-5 at 20 Hz). Resolutions are elements per wavelength at 20 Hz (2.5 f0) and 1500 m/s, the
smallest velocity. Printed per mesh: elements, GLL nodes, time steps, their product relative
to the default mesh (the cost of a run), the median wall time of the runs, and the relative L2 error
of single traces: median and max over the receivers at >= 1 km offset that an arrival reaches. The
receivers nearer the source are left out: 10-50 m from a point source the field is singular, no mesh
here resolves it, and its error does not fall steadily with refinement (it hides the long paths'
error, which is what a coarser mesh risks). The errors are against the reference, not the exact
solution: the reference's own error is below that of the finest compared mesh.

python benchmarks/s2_accuracy.py [--elements-per-wavelength 1 1.25 1.5 2 2.5] [--reference 3] [--tensor-order 4]
                                 [--repeats 1] [--quick]
"""

import argparse

import numpy as np
from scipy.interpolate import CubicSpline

from common import s2_scenario, time_repeats

import specfwi as sf

DEFAULT_ELEMENTS_PER_WAVELENGTH = 2.0  # the S2 mesh of s2_forward.py and s2_gradient.py
MIN_OFFSET_IN_METERS = 1000.0
MIN_RELATIVE_TRACE_NORM = 1e-3  # traces the first arrival has not reached by the end time are not compared


def run_first_shot(elements_per_wavelength: float, tensor_order: int, repeats: int, quick: bool):
    """(scenario, traces DataArray, timing) of S2's first shot on one mesh."""
    scenario = s2_scenario(elements_per_wavelength=elements_per_wavelength, tensor_order=tensor_order, quick=quick)
    timing, traces = time_repeats(lambda: sf.simulate(scenario.mesh, scenario.events[0], wavelet=scenario.wavelet,
                                                      end_time_in_seconds=scenario.end_time_in_seconds,
                                                      progress=False), repeats)
    return scenario, traces, timing


def relative_errors(traces, reference, offsets_in_meters: np.ndarray) -> tuple[float, float]:
    """(median, max) relative L2 errors of the compared traces against reference, on its time axis."""
    resampled = CubicSpline(traces["time"].values, traces.values, axis=1)(reference["time"].values)
    difference = resampled - reference.values
    compared = compared_traces(reference, offsets_in_meters)
    if not compared.any():
        return float("nan"), float("nan")
    per_trace = np.linalg.norm(difference[compared], axis=1) / np.linalg.norm(reference.values[compared], axis=1)
    return float(np.median(per_trace)), float(per_trace.max())


def compared_traces(reference, offsets_in_meters: np.ndarray) -> np.ndarray:
    """Receivers at >= MIN_OFFSET_IN_METERS whose reference trace holds an arrival (norm >= 1e-3 of the largest)."""
    norms = np.linalg.norm(reference.values, axis=1)
    return (offsets_in_meters >= MIN_OFFSET_IN_METERS) & (norms >= MIN_RELATIVE_TRACE_NORM * norms.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements-per-wavelength", type=float, nargs="+", default=[1.0, 1.25, 1.5, 2.0, 2.5])
    parser.add_argument("--reference", type=float, default=3.0, help="elements per wavelength of the reference mesh")
    parser.add_argument("--tensor-order", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per mesh (the first run compiles no kernels: "
                                                                "a tiny run does that first)")
    parser.add_argument("--quick", action="store_true", help="5 Hz meshes, end time 1 s: checks that the script works")
    arguments = parser.parse_args()
    run_first_shot(0.5, arguments.tensor_order, 1, True)  # compiles (or loads) the kernels outside the timings
    reference_scenario, reference, _ = run_first_shot(arguments.reference, arguments.tensor_order, 1, arguments.quick)
    source_x = reference_scenario.events[0].sources[0].x
    offsets = np.abs(np.array([receiver.x for receiver in reference_scenario.events[0].receivers]) - source_x)
    print(f"S2 accuracy, first shot (x = {source_x:g} m), order {arguments.tensor_order}, float64; reference: "
          f"{arguments.reference:g} elements per wavelength, {reference_scenario.mesh.n_global_nodes} GLL nodes, "
          f"{reference.sizes['time'] - 1} steps; specfwi {sf.__version__} from {sf.__file__}")
    print(f"{'elements/wavelength':>20} {'elements':>9} {'GLL nodes':>10} {'steps':>6} {'cost':>6} {'median s':>9} "
          f"{'trace error median':>19} {'max':>9}")
    rows = []
    for elements_per_wavelength in sorted(arguments.elements_per_wavelength):
        scenario, traces, timing = run_first_shot(elements_per_wavelength, arguments.tensor_order, arguments.repeats,
                                                  arguments.quick)
        n_steps = traces.sizes["time"] - 1
        rows.append((elements_per_wavelength, scenario.mesh, n_steps, timing,
                     relative_errors(traces, reference, offsets)))
    default_cost = next((mesh.n_global_nodes * n_steps for epw, mesh, n_steps, _, _ in rows
                         if epw == DEFAULT_ELEMENTS_PER_WAVELENGTH), None)
    for epw, mesh, n_steps, timing, (median, largest) in rows:
        cost = f"{mesh.n_global_nodes * n_steps / default_cost:6.2f}" if default_cost else f"{'-':>6}"
        print(f"{epw:20g} {mesh.n_elements:9d} {mesh.n_global_nodes:10d} {n_steps:6d} {cost} {timing.median:9.2f} "
              f"{median:19.2e} {largest:9.2e}")
    print(f"cost: GLL nodes x steps relative to {DEFAULT_ELEMENTS_PER_WAVELENGTH:g} elements per wavelength "
          f"(the S2 mesh of the other scripts); trace errors over the {int(compared_traces(reference, offsets).sum())} "
          f"receivers at >= {MIN_OFFSET_IN_METERS:g} m offset with an arrival")


if __name__ == "__main__":
    main()
