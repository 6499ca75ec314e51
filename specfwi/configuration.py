"""Process-wide settings of specfwi, as ``sf.config``.

``sf.config.threads``: the number of threads the solver's kernels run on. None (the default) chooses it
when a run starts, from the cores that no other process keeps busy, and re-checks it while the run lasts
(see :mod:`specfwi.solver.threads`); an integer sets it exactly.

``sf.config.max_memory_in_gigabytes``: the most memory (GiB, 2**30 bytes) one mesh, simulation or gradient
may need by specfwi's estimate (:mod:`specfwi.resources`); None (the default): the memory available on this
machine when the work starts (psutil where installed, else ``MemAvailable`` of /proc/meminfo).

``sf.config.max_time_steps``: the most time steps one simulation may take (default 10 million: about a day
of a 100,000-node run on one core). Work above either limit is refused before anything is allocated, with
a ResourceError that gives the estimate (docs/reliability.md).

Settings are checked when assigned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real

from .errors import invalid


@dataclass
class Configuration:
    """The settings; each assignment is validated by the method ``_check_<name>``."""

    threads: int | None = None
    max_memory_in_gigabytes: float | None = None
    max_time_steps: int = 10_000_000

    def __setattr__(self, name: str, value) -> None:
        names = [field.name for field in fields(self)]
        if name not in names:
            raise invalid("sf.config attribute", name, f"one of {names}")
        getattr(self, f"_check_{name}")(value)
        super().__setattr__(name, value)

    @staticmethod
    def _check_threads(value) -> None:
        if value is None:
            return
        import numba  # here, not at import: specfwi's import stays fast

        most = numba.config.NUMBA_NUM_THREADS
        if isinstance(value, bool) or not isinstance(value, Integral) or not 1 <= value <= most:
            raise invalid("sf.config.threads", value,
                          f"None (chosen from the free cores) or an integer from 1 to {most} (NUMBA_NUM_THREADS)")


    @staticmethod
    def _check_max_memory_in_gigabytes(value) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, Real) or not value > 0
                                  or not math.isfinite(value)):
            raise invalid("sf.config.max_memory_in_gigabytes", value, "None (the available memory) or a number > 0")

    @staticmethod
    def _check_max_time_steps(value) -> None:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise invalid("sf.config.max_time_steps", value, "a positive integer")

    def memory_limit_in_bytes(self) -> float | None:
        """``max_memory_in_gigabytes`` in bytes, or the available memory where it is None (None if unknown)."""
        if self.max_memory_in_gigabytes is not None:
            return float(self.max_memory_in_gigabytes) * GIBIBYTE
        return available_memory_in_bytes()


GIBIBYTE = 2**30


def available_memory_in_bytes() -> float | None:
    """Memory available to new allocations on this machine, bytes (None where it cannot be known)."""
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return None


config = Configuration()
