"""How many threads the kernels run on: the user's count, or the cores that other processes leave free.

The kernels end several parallel regions per time step at a barrier. When another process keeps a
core busy, the thread that shares that core makes every barrier wait for the scheduler: two threads
beside one busy process ran S1 3-5 times slower than one thread (docs/solver.md, Threads). So, unless
the user fixed the count (``sf.config.threads``, or ``NUMBA_NUM_THREADS`` in the environment), a run
takes one thread per core that is free when it starts, and re-checks between kernel calls, at most
every ``RECHECK_INTERVAL_IN_SECONDS``.

A core is taken by each runnable task of another process: the running count of ``/proc/loadavg``
(the tasks running or waiting for a core at this instant) less this process's own running threads
(``/proc/self/task/*/stat``). A busy loop is always runnable, so it is always counted; reading the
count takes about 15 microseconds (50 when other tasks run), once per check. Where ``/proc`` is
missing (macOS, Windows) the count stays numba's.

The count is never raised above the one in effect when the run starts (``numba.get_num_threads()``),
so a caller that lowered it (a Dask worker, :mod:`specfwi.project.jobs`) keeps its count, and it is
restored when the run ends. numba's count is per Python thread: concurrent runs choose their own.
"""

from __future__ import annotations

import logging
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
THREADS_VARIABLE = "NUMBA_NUM_THREADS"


@dataclass(frozen=True)
class CoreLoad:
    """What the choice of a thread count reads: cores online, cores this process may run on (its
    affinity), and the tasks of other processes that are runnable now."""

    n_online_cores: int
    n_allowed_cores: int
    n_other_runnable_tasks: int


def _own_running_threads() -> int:
    """Threads of this process that are running or runnable now (state R in /proc/self/task/*/stat)."""
    running = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as stat:
                line = stat.read()
        except OSError:  # the thread ended meanwhile
            continue
        running += line[line.rindex(b")") + 2:line.rindex(b")") + 3] == b"R"
    return running


def read_core_load() -> CoreLoad | None:
    """The load of the machine now (Linux); None where /proc/loadavg cannot be read."""
    try:
        with open("/proc/loadavg") as loadavg:
            runnable = int(loadavg.read().split()[3].split("/")[0])
        allowed = len(os.sched_getaffinity(0))
        # the calling thread is one of the runnable tasks; look for the others of this process only if any
        own = _own_running_threads() if runnable > 1 else 1
    except (OSError, AttributeError, IndexError, ValueError):
        return None
    return CoreLoad(n_online_cores=os.cpu_count() or allowed, n_allowed_cores=allowed,
                    n_other_runnable_tasks=max(0, runnable - max(own, 1)))


def threads_for_load(load: CoreLoad | None, most_threads: int) -> int:
    """One thread per core that no other runnable task takes, among the allowed ones; 1 to ``most_threads``.

    The other tasks may run on any online core; those the process may not use are counted free of them
    first (a task on a core outside the affinity does not slow the kernels down).
    """
    if load is None:
        return most_threads
    free_cores = min(load.n_allowed_cores, load.n_online_cores - load.n_other_runnable_tasks)
    return max(1, min(most_threads, free_cores))


class KernelThreads:
    """Sets numba's thread count for one run and re-checks it (:meth:`recheck`) between kernel calls."""

    def __init__(self, *, read_load: Callable[[], CoreLoad | None] | None = None):
        self._read_load = read_core_load if read_load is None else read_load
        self.threads_before = numba.get_num_threads()
        self.fixed = config.threads is not None or THREADS_VARIABLE in os.environ
        self.threads = int(config.threads) if config.threads is not None else self.threads_before
        self._checked_at = -float("inf")
        self.recheck()

    def recheck(self) -> int:
        """The thread count for the next kernel call (read again if the last reading is old enough)."""
        now = time.perf_counter()
        if not self.fixed and now - self._checked_at >= RECHECK_INTERVAL_IN_SECONDS:
            self._checked_at = now
            threads = threads_for_load(self._read_load(), self.threads_before)
            if threads != self.threads:
                logger.debug("kernel threads: %d -> %d (cores taken by other processes)", self.threads, threads)
            self.threads = threads
        numba.set_num_threads(self.threads)
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
