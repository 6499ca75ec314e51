"""Executors for a project's per-event jobs.

Without an executor, a project runs its jobs in the calling process (in the
calling thread, or in a background thread with ``wait=False``). An executor is
any object with ``submit(function, *arguments)`` returning a future with
``done()`` and ``result()``: a ``dask.distributed.Client`` works as is;
:class:`DaskExecutor` also starts a local cluster or connects to a scheduler address.
"""

from .dask_executor import DaskExecutor

__all__ = ["DaskExecutor"]
