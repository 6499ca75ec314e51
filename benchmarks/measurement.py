"""Timed runs of a scenario in a fresh process, with that process's resident-memory peaks.

Each measurement runs in a new interpreter (multiprocessing "spawn"). Order of work in the child:
build the scenario; compile (or load from numba's on-disk cache) every kernel on a tiny 2 x 2
element mesh of the same order; note the resident set size (RSS) and, on Linux, reset the RSS
high-water mark (writing 5 to /proc/self/clear_refs, Linux >= 4.0); one untimed warm-up run of the
measured computation (unless skipped); the timed repeats. Two peaks are reported: the whole
process's (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: imports, numba, scenario, runs) and, on
Linux, the peak during the runs (VmHWM of /proc/self/status after the reset), as an increase over
the RSS before them: the memory the simulations themselves need.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import resource
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from common import ENERGY_MISFIT, Scenario, Timing, time_repeats  # first: it makes specfwi this checkout's

import specfwi as sf
from specfwi.solver import SimulationSetup
from specfwi.solver.adjoint import plan_checkpoints
from specfwi.solver.options import DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES
from specfwi.solver.setup import NODE_GRID_MIN_NODES


@dataclass
class Measurement:
    """What one benchmark run reports; n_steps per simulation, n_simulations events per timed run."""

    label: str
    mesh_summary: str
    n_global_nodes: int
    n_steps: int
    time_step_in_seconds: float
    n_simulations: int
    dtype: str
    timing: Timing
    process_peak_rss_in_megabytes: float
    rss_before_runs_in_megabytes: float | None
    peak_rss_during_runs_in_megabytes: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def node_updates_per_second(self) -> float:
        return self.n_global_nodes * self.n_steps * self.n_simulations / self.timing.median


def benchmark_parser(description: str, *, default_repeats: int, mesh_options: bool = False,
                     dtype_option: bool = False) -> argparse.ArgumentParser:
    """--repeats and --quick; with ``mesh_options`` also --max-frequency and --elements-per-wavelength; with
    ``dtype_option`` --dtype (the solver's arithmetic)."""
    parser = argparse.ArgumentParser(description=description)
    if dtype_option:
        parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                            help="arithmetic of the time stepping (sf.simulate's dtype)")
    parser.add_argument("--repeats", type=int, default=default_repeats, help="timed runs after the warm-up")
    parser.add_argument("--quick", action="store_true", help="a reduced scenario to check that the script works")
    if mesh_options:
        parser.add_argument("--max-frequency", dest="max_frequency_in_hertz", type=float, default=20.0,
                            help="mesh max frequency, Hz (ignored with --quick)")
        parser.add_argument("--elements-per-wavelength", type=float, default=2.0)
    return parser


def scenario_options(arguments: argparse.Namespace) -> dict:
    """The scenario builder's keyword arguments among the parsed ones."""
    return {name: value for name, value in vars(arguments).items() if name not in ("repeats", "dtype")}


def read_process_peak_rss_in_megabytes() -> float:
    """The resident-set high-water mark of this process, MB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _proc_status_in_megabytes(key: str) -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{key}:"))
    return int(line.split()[1]) / 1024  # kB


def reset_peak_rss() -> float | None:
    """Reset the RSS high-water mark to the current RSS (Linux >= 4.0); that RSS in MB, None where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return _proc_status_in_megabytes("VmRSS")
    except OSError:
        return None


def run_in_fresh_process(function, *args, **kwargs):
    """``function(*args, **kwargs)`` in a new interpreter; its return value."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


def compile_kernels(tensor_order: int, dtype: str = "float64") -> None:
    """Run a gradient on a 2 x 2 element mesh (element blocks) and on a square just large enough for the node
    grid (specfwi.solver.setup.NODE_GRID_MIN_NODES): every kernel of this order is compiled or loaded."""
    grid_side = math.ceil((math.ceil(math.sqrt(NODE_GRID_MIN_NODES)) - 1) / tensor_order)
    for n_elements in (2, grid_side):
        mesh = sf.mesh.rectangle((0.0, 100.0), (0.0, 100.0), n_elements, n_elements, tensor_order=tensor_order)
        for name in ("VP", "RHO"):
            mesh.attach_field(name, np.full((mesh.n_elements, mesh.n_gll), 1000.0))
        event = sf.Event(event_name="compile", sources=sf.ScalarPoint2D(x=50.0, y=50.0, f=1.0),
                         receivers=sf.ArrayPoint2D(x=25.0, y=25.0, fields=["phi"]))
        sf.compute_gradient(mesh, event, wavelet=sf.Ricker(center_frequency=50.0), misfit=ENERGY_MISFIT,
                            end_time_in_seconds=0.002, progress=False, dtype=dtype)


def _measure(scenario: Scenario, label: str, run, *, n_simulations: int, repeats: int, warm_up: bool,
             notes: list[str], dtype: str = "float64") -> Measurement:
    compile_kernels(scenario.mesh.tensor_order, dtype)
    before = reset_peak_rss()
    if warm_up:
        run()
    timing, traces = time_repeats(run, repeats)
    mesh = scenario.mesh
    environment = (f"specfwi {sf.__version__} from {Path(sf.__file__).parent}; "
                   f"numba {numba.__version__}: {numba.get_num_threads()} threads ({numba.threading_layer()} "
                   f"layer), {os.cpu_count()} CPUs; warm-up run: {'yes' if warm_up else 'no (kernels compiled only)'}")
    return Measurement(
        label=f"{scenario.name} {label}",
        mesh_summary=(f"{mesh.n_elements} elements, {mesh.n_global_nodes} unique GLL nodes "
                      f"({scenario.mesh_options}; extent {tuple(float(v) for v in mesh.extent)} m)"),
        n_global_nodes=mesh.n_global_nodes, n_steps=traces.sizes["time"] - 1,
        time_step_in_seconds=float(traces.time[1] - traces.time[0]), n_simulations=n_simulations,
        dtype=dtype, timing=timing, process_peak_rss_in_megabytes=read_process_peak_rss_in_megabytes(),
        rss_before_runs_in_megabytes=before,
        peak_rss_during_runs_in_megabytes=None if before is None else _proc_status_in_megabytes("VmHWM"),
        notes=[environment, *notes])


def measure_forward(build_scenario, scenario_options: dict, *, repeats: int, dtype: str = "float64") -> Measurement:
    """One forward simulation (sf.simulate) of the scenario's first event; then the setup and the time stepping
    alone (``repeats`` runs each)."""
    scenario = build_scenario(**scenario_options)
    event = scenario.events[0]

    time_window = dict(wavelet=scenario.wavelet, end_time_in_seconds=scenario.end_time_in_seconds)
    options = sf.SolverOptions(progress=False, dtype=dtype)

    def run():
        return sf.simulate(scenario.mesh, event, **time_window, progress=False, dtype=dtype)

    measurement = _measure(scenario, "forward (one source)", run, n_simulations=1, repeats=repeats, warm_up=True,
                           notes=[f"event {event.event_name}: {len(event.receivers)} receivers"], dtype=dtype)
    setup_timing, _ = time_repeats(lambda: SimulationSetup.build(scenario.mesh, event, **time_window, options=options),
                                   repeats)
    setup = SimulationSetup.build(scenario.mesh, event, **time_window, options=options)
    stepping_timing, _ = time_repeats(setup.record_traces, repeats)
    updates = measurement.n_global_nodes * measurement.n_steps
    measurement.notes += [f"setup alone (SimulationSetup.build, with the stability-limit eigenvalue estimate): median "
                          f"{setup_timing.median:.3f} s",
                          f"time stepping alone (record_traces of a built setup): median {stepping_timing.median:.3f} s, "
                          f"{updates / stepping_timing.median:.3g} GLL-node updates per second"]
    return measurement


def measure_gradient(build_scenario, scenario_options: dict, *, n_events: int, repeats: int,
                     warm_up: bool, ratio_to_forward: bool = False, dtype: str = "float64") -> Measurement:
    """The energy-misfit gradient (sf.compute_gradient, default checkpoint budget) summed over the first n_events.

    ``ratio_to_forward``: also time ``repeats`` pairs of a forward run (sf.simulate of the first event) and a
    gradient, alternating in this process, and note the median ratio (a ratio of separate processes mixes
    the machine's slow and quick phases)."""
    scenario = build_scenario(**scenario_options)
    events = scenario.events[:n_events]
    totals = []

    def run():
        summed = {}
        misfit = 0.0
        for event in events:
            result = sf.compute_gradient(scenario.mesh, event, wavelet=scenario.wavelet, misfit=ENERGY_MISFIT,
                                         end_time_in_seconds=scenario.end_time_in_seconds, progress=False, dtype=dtype)
            misfit += result.misfit
            for name, values in result.gradient.element_nodal_fields.items():
                summed[name] = summed.get(name, 0.0) + values
        totals.append((misfit, float(np.abs(summed["VP"]).max())))
        return result.traces

    measurement = _measure(scenario, f"gradient ({len(events)} source{'s' if len(events) > 1 else ''})", run,
                           n_simulations=len(events), repeats=repeats, warm_up=warm_up, notes=[], dtype=dtype)
    if ratio_to_forward:
        def forward():
            return sf.simulate(scenario.mesh, events[0], wavelet=scenario.wavelet,
                               end_time_in_seconds=scenario.end_time_in_seconds, progress=False, dtype=dtype)

        pairs = [(time_repeats(forward, 1)[0].median, time_repeats(run, 1)[0].median) for _ in range(repeats)]
        ratios = [gradient / forward for forward, gradient in pairs]
        measurement.notes.append(
            f"gradient / forward of one event, {repeats} alternating pairs in this process: median "
            f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}; forward median "
            f"{statistics.median(f for f, _ in pairs):.3f} s, gradient {statistics.median(g for _, g in pairs):.3f} s)")
    plan = plan_checkpoints(measurement.n_steps, measurement.n_global_nodes, DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES,
                            np.dtype(dtype).itemsize)
    storage = ("every state stored, no recomputation" if plan.stores_everything
               else f"segments of {plan.segment_length} steps recomputed from checkpoints")
    measurement.notes += [f"checkpoint budget {DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES:g} MB: {storage} "
                          f"({plan.memory_in_bytes / 1024**2:.0f} MB); the store is allocated by the first gradient "
                          "and reused by the later ones, as in an inversion (docs/solver.md, Checkpointing)",
                          "misfit (energy) and max |dchi/dVP| summed over the events: "
                          f"{totals[-1][0]:.6g}, {totals[-1][1]:.4g}"]
    return measurement


def print_measurement(measurement: Measurement) -> None:
    m = measurement
    simulations = f" x {m.n_simulations} events" if m.n_simulations > 1 else ""
    print(m.label)
    print(f"  mesh: {m.mesh_summary}")
    print(f"  time: {m.n_steps} steps of {m.time_step_in_seconds:.4g} s{simulations}; dtype {m.dtype}")
    print(f"  wall time, {len(m.timing.seconds)} repeat(s): {m.timing.summary()}")
    print(f"  GLL-node updates per second: {m.node_updates_per_second:.3g} "
          f"(unique nodes x time steps{' x events' if simulations else ''} / median)")
    print(f"  peak resident memory of the process: {m.process_peak_rss_in_megabytes:.0f} MB (ru_maxrss of a fresh "
          f"process: imports, numba, scenario, runs)")
    if m.peak_rss_during_runs_in_megabytes is not None:
        print(f"  peak resident memory during the runs: {m.peak_rss_during_runs_in_megabytes:.0f} MB, "
              f"+{m.peak_rss_during_runs_in_megabytes - m.rss_before_runs_in_megabytes:.0f} MB over the "
              f"{m.rss_before_runs_in_megabytes:.0f} MB resident before them (VmHWM after a reset)")
    for note in m.notes:
        print(f"  {note}")
