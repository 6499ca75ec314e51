"""Process-wide settings of specfwi, as ``sf.config``.

``sf.config.threads``: the number of threads the solver's kernels run on. None (the default) chooses it
when a run starts, from the cores that no other process keeps busy, and re-checks it while the run lasts
(see :mod:`specfwi.solver.threads`); an integer sets it exactly. Settings are checked when assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from numbers import Integral

from .errors import invalid


@dataclass
class Configuration:
    """The settings; each assignment is validated by the method ``_check_<name>``."""

    threads: int | None = None

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


config = Configuration()
