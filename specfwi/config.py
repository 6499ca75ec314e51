"""Settings of specfwi for this process: ``sf.config.<name> = value``.

max_memory_in_gigabytes : float or None
    The most memory (GiB, 2**30 bytes) one simulation, gradient or mesh may need by specfwi's
    estimate (:mod:`specfwi.resources`); None (default): the memory available on this machine
    when the work starts (``MemAvailable`` of /proc/meminfo, or psutil where installed).
max_time_steps : int
    The most time steps one simulation may take (default 10 million: about a day of a
    100,000-node run on one core). Raise it for longer runs you mean to do.

Work above either limit is refused before anything is allocated, with a ResourceError that
gives the estimate. Values are checked when they are used.
"""

from __future__ import annotations

import numbers

from .errors import invalid

max_memory_in_gigabytes: float | None = None
max_time_steps: int = 10_000_000

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


def memory_limit_in_bytes() -> float | None:
    """``max_memory_in_gigabytes`` in bytes, or the available memory where it is None."""
    value = max_memory_in_gigabytes
    if value is None:
        return available_memory_in_bytes()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or value != value:
        raise invalid("sf.config.max_memory_in_gigabytes", value, "None (the available memory) or a number > 0")
    return float(value) * GIBIBYTE


def time_step_limit() -> int:
    """``max_time_steps``, checked."""
    value = max_time_steps
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise invalid("sf.config.max_time_steps", value, "a positive integer")
    return int(value)


