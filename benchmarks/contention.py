"""S1 and S2 on a machine that other processes keep busy: specfwi's default thread count against fixed counts.

python benchmarks/contention.py [--repeats 6] [--s2-end-time 1.0] [--quick]

Three loads, one after the other: quiet, one and two background processes running a plain Python busy
loop (started and stopped here). Under each, three computations: S1 forward (float64), S2's first shot
forward (float32; ``--s2-end-time`` s of it, 1 s by default to keep the whole script within a few minutes)
and the S1 gradient (energy misfit). Each runs with the default thread count (``sf.config.threads = None``:
the cores other processes leave free), with one thread and with all of numba's threads (the default
before the choice existed), alternating in this process (see ``measure``): medians of the times and of the
ratios of neighbouring runs. Prints the counts the default chose, and the processes that used the CPU and the
load before and after, since other work on the machine changes every figure.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba

from common import ENERGY_MISFIT, s1_scenario, s2_scenario  # first: it makes specfwi this checkout's
from measurement import compile_kernels

import specfwi as sf
from specfwi.solver.threads import read_core_load, threads_for_load

LOADS = (("quiet", 0), ("one busy process", 1), ("two busy processes", 2))
BUSY_LOOP = "while True:\n    pass\n"
SETTLE_IN_SECONDS = 0.5  # after starting or stopping the busy processes


@dataclass
class Computation:
    """A timed computation: its label and a function running it once."""

    label: str
    run: Callable[[], object]


def computations(*, quick: bool, s2_end_time_in_seconds: float) -> list[Computation]:
    s1 = s1_scenario(quick=quick)
    s2 = s2_scenario(quick=quick)
    s2_end = min(s2.end_time_in_seconds, s2_end_time_in_seconds)
    s1_options = dict(wavelet=s1.wavelet, end_time_in_seconds=s1.end_time_in_seconds, progress=False)
    s2_options = dict(wavelet=s2.wavelet, end_time_in_seconds=s2_end, progress=False, dtype="float32")
    return [
        Computation(f"S1 forward ({s1.mesh.n_global_nodes} nodes, {s1.end_time_in_seconds:g} s, float64)",
                    lambda: sf.simulate(s1.mesh, s1.events[0], **s1_options)),
        Computation(f"S2 forward ({s2.mesh.n_global_nodes} nodes, first shot, {s2_end:g} s, float32)",
                    lambda: sf.simulate(s2.mesh, s2.events[0], **s2_options)),
        Computation(f"S1 gradient ({s1.end_time_in_seconds:g} s, float64)",
                    lambda: sf.compute_gradient(s1.mesh, s1.events[0], misfit=ENERGY_MISFIT, **s1_options)),
    ]


def thread_settings() -> dict[str, int | None]:
    """The compared settings of sf.config.threads: the default, one thread, all of numba's threads."""
    most = numba.config.NUMBA_NUM_THREADS
    return {"default": None, "one thread": 1, f"{most} threads": most}


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class ChosenCounts(logging.Handler):
    """The thread counts that the default chose, from specfwi.solver.threads's debug log (one per check)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.counts: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts.append(record.args[0])


CHOSEN = ChosenCounts()


def measure(computation: Computation, repeats: int) -> dict[str, list[float]]:
    """Wall times of ``repeats`` rounds of runs, one per thread setting: all threads first, then the default
    and one thread, in turn first. (The run after one on all threads finds the busy processes owed CPU time
    by the scheduler: that run is slower, so it is not always the same setting's.)"""
    settings = thread_settings()
    default, one, everything = settings
    seconds = {name: [] for name in settings}
    for round_index in range(repeats):
        for name in (everything, default, one) if round_index % 2 == 0 else (everything, one, default):
            sf.config.threads = settings[name]
            seconds[name].append(timed(computation.run))
    sf.config.threads = None
    return seconds


def chosen_summary() -> str:
    """How often the default's checks chose each count, since the last summary."""
    counts = collections.Counter(CHOSEN.counts)
    CHOSEN.counts.clear()
    return ", ".join(f"{threads} thread{'s' if threads > 1 else ''} at {n} checks"
                     for threads, n in sorted(counts.items()))


def machine_state(title: str) -> str:
    """The load average, the runnable tasks and the processes using the most CPU (ps)."""
    with open("/proc/loadavg") as loadavg:
        average = loadavg.read().strip()
    table = subprocess.run(["ps", "-eo", "pid,pcpu,etime,comm", "--sort=-pcpu"], capture_output=True, text=True,
                           check=False).stdout.splitlines()[:8]
    return "\n".join([f"{title}: /proc/loadavg {average}", *(f"    {line}" for line in table)])


def start_busy_processes(count: int) -> list[subprocess.Popen]:
    processes = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]
    time.sleep(SETTLE_IN_SECONDS)
    return processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()
    time.sleep(SETTLE_IN_SECONDS if processes else 0.0)


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of the ratios of runs made one after the other (the machine's load drifts between pairs)."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def markdown_table(labels: list[str], results: dict[tuple[str, str], dict[str, list[float]]],
                   repeats: int) -> str:
    """Per computation: the median time of each setting under each load, then default / one thread and
    default / all threads as medians of the ratios of neighbouring runs."""
    settings = list(thread_settings())
    all_threads = settings[2]
    header = ["figure", *(name for name, _ in LOADS)]
    rows = [header, ["---"] * len(header)]
    for label in labels:
        cells = [results[(label, load)] for load, _ in LOADS]
        for name in settings:
            rows.append([f"{label}, {name}, median of {repeats}",
                         *(f"{statistics.median(seconds[name]):.3f} s" for seconds in cells)])
        rows.append([f"{label}, default / one thread", *(
            f"**{median_ratio(seconds['default'], seconds['one thread']):.2f}**" for seconds in cells)])
        rows.append([f"{label}, default / {all_threads}", *(
            f"{median_ratio(seconds['default'], seconds[all_threads]):.2f}" for seconds in cells)])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6, help="timed runs per thread setting and load (even: "
                        "the default and one thread run first equally often)")
    parser.add_argument("--s2-end-time", dest="s2_end_time_in_seconds", type=float, default=1.0,
                        help="simulated time of the S2 runs, s (S2 itself: 4 s)")
    parser.add_argument("--quick", action="store_true", help="S1 for 0.5 s and S2 on its 5 Hz mesh: checks the script")
    arguments = parser.parse_args()
    if "NUMBA_NUM_THREADS" in os.environ:
        print(f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']} is set: it fixes the default count too")
    print(f"specfwi from {os.path.dirname(sf.__file__)}; numba {numba.__version__}, "
          f"{numba.config.NUMBA_NUM_THREADS} threads at most, {os.cpu_count()} CPUs, "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}")
    work = computations(quick=arguments.quick, s2_end_time_in_seconds=arguments.s2_end_time_in_seconds)
    for dtype in ("float64", "float32"):
        compile_kernels(4, dtype)
    for computation in work:  # warm-up: setups, the eigenvalue estimates, the state store
        computation.run()
    threads_log = logging.getLogger("specfwi.solver.threads")
    threads_log.setLevel(logging.DEBUG)
    threads_log.addHandler(CHOSEN)
    chosen_summary()  # not the warm-up's
    print(machine_state("before"))
    results = {}
    started = time.perf_counter()
    for load, n_busy in LOADS:
        busy = start_busy_processes(n_busy)
        try:
            core_load = read_core_load()
            print(f"{load}: {core_load}; the default would take "
                  f"{threads_for_load(core_load, numba.config.NUMBA_NUM_THREADS)} thread(s) now")
            for computation in work:
                results[(computation.label, load)] = measure(computation, arguments.repeats)
                print(f"  {computation.label}: " + ", ".join(
                    f"{name} {statistics.median(seconds):.3f} s" for name, seconds in
                    results[(computation.label, load)].items()) + f"; the default chose {chosen_summary()}",
                    flush=True)
        finally:
            stop(busy)
    print(machine_state("after"))
    print(f"measured in {time.perf_counter() - started:.0f} s\n")
    print(markdown_table([computation.label for computation in work], results, arguments.repeats))


if __name__ == "__main__":
    main()
