"""How many threads the kernels run on: the user's count, or the cores that other processes leave free.

The kernels end several parallel regions per time step at a barrier. When another process keeps a
core busy, the thread that shares that core makes every barrier wait for the scheduler: two threads
beside one busy process ran S1 3-5 times slower than one thread (docs/solver.md, Threads). So, unless
the user fixed the count (``sf.config.threads``, or ``NUMBA_NUM_THREADS`` in the environment), a run
takes one thread per core that is free when it starts, and re-checks between kernel calls, at most
every ``RECHECK_INTERVAL_IN_SECONDS``.

Two readings say which cores other processes take (Linux, :func:`read_core_load`):

- now: the tasks running or waiting for a core (the running count of ``/proc/loadavg``) less this
  process's own running threads (``/proc/self/task/*/stat``, read before and after it: the kernels'
  threads spin for a while after a parallel region). A busy loop is always counted.
- lately: the CPU time the allowed cores spent on other processes per second, since the previous
  reading at least ``MIN_WINDOW_IN_SECONDS`` ago (``/proc/stat`` less this process's CPU time). It
  catches work that comes and goes, which the instant may miss, and work that a run on all cores
  squeezes out.

A core counts as taken when either reading says so (lately: when others used more than
``FREE_CORE_BUSY_FRACTION`` of it): a thread on a shared core costs far more (3-10 times the run) than
one core left idle (at most 2 times). The readings take 50-150 microseconds per check. Where ``/proc``
is missing (macOS, Windows) the count stays numba's.

The count is never raised above the one in effect when the run starts (``numba.get_num_threads()``),
so a caller that lowered it (a Dask worker, :mod:`specfwi.project.jobs`) keeps its count, and it is
restored when the run ends. numba's count is per Python thread: concurrent runs choose their own.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numba

from ..configuration import config

logger = logging.getLogger(__name__)

RECHECK_INTERVAL_IN_SECONDS = 0.2
MIN_WINDOW_IN_SECONDS = 0.1  # /proc/stat counts in 10 ms ticks: 20 or more per core
FREE_CORE_BUSY_FRACTION = 0.25  # a core on which other processes used more is taken
THREADS_VARIABLE = "NUMBA_NUM_THREADS"


@dataclass(frozen=True)
class CoreLoad:
    """What the choice of a thread count reads: cores online, cores this process may run on (its
    affinity), the tasks of other processes that are runnable now, and the cores' worth of CPU time
    that other processes used lately on the allowed cores (0.5: half a core)."""

    n_online_cores: int
    n_allowed_cores: int
    n_other_runnable_tasks: int
    other_busy_cores: float = 0.0


def _own_running_threads() -> int:
    """Threads of this process that are running or runnable now (state R in /proc/self/task/*/stat)."""
    running = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as stat:
                line = stat.read()
        except OSError:  # the thread ended meanwhile
            continue
        state = line.rindex(b")") + 2
        running += line[state:state + 1] == b"R"
    return running


def _busy_seconds(cores: set[int]) -> float:
    """CPU time (s) the given cores spent on anything but idling since boot (/proc/stat: user, nice, system,
    irq, softirq, steal ticks)."""
    ticks = 0
    with open("/proc/stat") as stat:
        for line in stat:
            if not line.startswith("cpu"):
                break
            name, *values = line.split()
            if name != "cpu" and int(name[3:]) in cores:
                user, nice, system, _, _, irq, softirq, steal = map(int, values[:8])
                ticks += user + nice + system + irq + softirq + steal
    return ticks / os.sysconf("SC_CLK_TCK")


class _OtherProcessesCpuTime:
    """The cores' worth of CPU time that other processes used on the allowed cores, over the time since the
    previous reading (at least MIN_WINDOW_IN_SECONDS; until then the previous value). One per process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: tuple[float, float, float] | None = None  # wall time, busy seconds, own CPU seconds
        self._busy_cores = 0.0
        try:  # the first window starts here, at import, and ends at the first run
            self.read(os.sched_getaffinity(0))
        except (OSError, AttributeError, ValueError):
            pass

    def read(self, cores: set[int]) -> float:
        with self._lock:
            now, busy, own = time.perf_counter(), _busy_seconds(cores), time.process_time()
            if self._last is None:
                self._last = now, busy, own
            elif now - self._last[0] >= MIN_WINDOW_IN_SECONDS:
                wall, last_busy, last_own = self._last
                self._busy_cores = max(0.0, (busy - last_busy - (own - last_own)) / (now - wall))
                self._last = now, busy, own
            return self._busy_cores


_OTHER_PROCESSES = _OtherProcessesCpuTime()


def read_core_load() -> CoreLoad | None:
    """The load of the machine (Linux); None where /proc cannot be read."""
    try:
        # Our kernels' threads may still spin after the last parallel region and fall asleep meanwhile: own
        # threads running before the running count are counted as ours, and after it, if it says more.
        own = _own_running_threads()
        with open("/proc/loadavg") as loadavg:
            runnable = int(loadavg.read().split()[3].split("/")[0])
        if runnable > own:
            own = max(own, _own_running_threads())
        cores = os.sched_getaffinity(0)
        busy_cores = _OTHER_PROCESSES.read(cores)
    except (OSError, AttributeError, IndexError, ValueError):
        return None
    return CoreLoad(n_online_cores=os.cpu_count() or len(cores), n_allowed_cores=len(cores),
                    n_other_runnable_tasks=max(0, runnable - max(own, 1)), other_busy_cores=busy_cores)


def threads_for_load(load: CoreLoad | None, most_threads: int) -> int:
    """One thread per allowed core that other processes do not take, from 1 to ``most_threads``.

    Runnable tasks may run on any online core: those the process may not use are counted free of them
    first. CPU time used lately takes its whole cores, and one more where the rest exceeds
    FREE_CORE_BUSY_FRACTION (0.2 cores: none; 0.3: one; 1.2: one; 1.3: two).
    """
    if load is None:
        return most_threads
    taken_lately = math.ceil(load.other_busy_cores - FREE_CORE_BUSY_FRACTION)
    free_cores = min(load.n_allowed_cores - taken_lately, load.n_online_cores - load.n_other_runnable_tasks)
    return max(1, min(most_threads, load.n_allowed_cores, free_cores))


class KernelThreads:
    """Sets numba's thread count for one run and re-checks it (:meth:`recheck`) between kernel calls."""

    def __init__(self, *, read_load: Callable[[], CoreLoad | None] | None = None):
        self._read_load = read_core_load if read_load is None else read_load
        self.threads_before = numba.get_num_threads()
        self.fixed = config.threads is not None or THREADS_VARIABLE in os.environ
        self.threads = int(config.threads) if config.threads is not None else self.threads_before
        self._checked_at = -float("inf")
        self.recheck()
        numba.set_num_threads(self.threads)

    def recheck(self) -> int:
        """The thread count for the next kernel call (read again if the last reading is old enough)."""
        now = time.perf_counter()
        if not self.fixed and now - self._checked_at >= RECHECK_INTERVAL_IN_SECONDS:
            self._checked_at = now
            load = self._read_load()
            threads = threads_for_load(load, self.threads_before)
            logger.debug("kernel threads: %d of %d (%s)", threads, self.threads_before, load)
            if threads != self.threads:
                numba.set_num_threads(threads)
                self.threads = threads
        return self.threads

    def restore(self) -> None:
        numba.set_num_threads(self.threads_before)


_ACTIVE = threading.local()


@contextmanager
def kernel_threads(*, read_load: Callable[[], CoreLoad | None] | None = None) -> Iterator[KernelThreads]:
    """The thread count of a run, set on entry and restored on exit; nested runs (a gradient's forward
    runs) share the outermost one's. ``read_load``: :func:`read_core_load` unless given."""
    active = getattr(_ACTIVE, "threads", None)
    if active is not None:
        yield active
        return
    active = KernelThreads(read_load=read_load)
    _ACTIVE.threads = active
    try:
        yield active
    finally:
        _ACTIVE.threads = None
        active.restore()
