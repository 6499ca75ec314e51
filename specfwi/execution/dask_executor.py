"""Run a project's per-event jobs on Dask workers (one machine or a cluster).

Workers compute and return arrays; the client process (the one calling the
project's actions) writes every file and registry row, so workers need no access
to the project folder and the registry has one writer per client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from ..errors import ExecutorError, invalid

logger = logging.getLogger(__name__)


class DaskExecutor:
    """Submit jobs to a ``dask.distributed`` cluster.

    Parameters
    ----------
    scheduler : a scheduler address (``"tcp://host:8786"``), an existing
        ``dask.distributed.Client`` (used as is, not closed by ``close``), or None to start
        a ``LocalCluster`` on this machine with ``n_workers`` processes of
        ``threads_per_worker`` threads (one thread lets each event's solver own its process).
    connect_timeout_in_seconds : how long to try to reach a scheduler address (None: Dask's
        setting, ``distributed.comm.timeouts.connect``); an unreachable one raises ExecutorError.

    Use it as ``executor=`` of ``compute_gradients`` / ``compute_misfits``; close it (or
    use it as a context manager) to release a cluster it started.
    """

    def __init__(self, scheduler=None, *, n_workers: int | None = None, threads_per_worker: int = 1,
                 connect_timeout_in_seconds: float | None = None):
        from dask.distributed import Client, LocalCluster

        if isinstance(scheduler, Client):
            self.client, self._owns_client = scheduler, False
        elif isinstance(scheduler, str) and scheduler.strip():
            try:
                self.client, self._owns_client = Client(scheduler, timeout=connect_timeout_in_seconds), True
            except (OSError, TimeoutError, ValueError) as error:  # an unreachable, refusing or malformed address
                raise ExecutorError(f"cannot connect to the Dask scheduler {scheduler!r} ({error}); start it with "
                                    f"'dask scheduler' and pass the address it prints") from error
        elif scheduler is None:
            for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                    raise invalid(name, value, "a positive integer")
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True)
            self.client, self._owns_client = Client(cluster), True
        else:
            raise invalid("scheduler", scheduler, "None, a scheduler address such as 'tcp://host:8786' or a "
                          "dask.distributed.Client")
        logger.info("Dask executor: %s", self.client)

    def submit(self, function: Callable, *arguments):
        """Run ``function(*arguments)`` on a worker; returns a ``distributed.Future``."""
        return self.client.submit(function, *arguments, pure=False,
                                  key=f"specfwi-{function.__name__}-{uuid.uuid4().hex}")

    def close(self) -> None:
        """Close the client (and its LocalCluster) if this executor created it."""
        if self._owns_client:
            cluster = self.client.cluster
            self.client.close()
            if cluster is not None:
                cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exception) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"
