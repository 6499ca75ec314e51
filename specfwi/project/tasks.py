"""Running per-event tasks once: cache lookup, submission to an executor, collection.

An executor is anything with ``submit(function, *arguments)`` returning a future
with ``done()`` and ``result()``: a ``dask.distributed.Client``, a
``concurrent.futures`` executor, or ``specfwi.execution.DaskExecutor``. Without
one, tasks run in this process: in the calling thread when waiting, else in a
background thread of the project. Only the client process stores results
(``Task.store``), so the registry has a single writer per process, and a future
that is still running when a non-waiting call returns is kept and collected by a
later call.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """One event's computation.

    ``function(*make_arguments())`` runs on the executor; ``store(output)`` runs in the
    client and records the result; ``is_cached()`` tells whether a result is already stored.
    """

    key: str
    event_name: str
    function: Callable
    make_arguments: Callable[[], tuple]
    store: Callable[[object], None]
    is_cached: Callable[[], bool]


class TaskRunner:
    """Submits tasks and remembers the ones still running between calls (by task key)."""

    def __init__(self):
        self._pending: dict[str, object] = {}
        self._background: concurrent.futures.ThreadPoolExecutor | None = None

    def _submit(self, task: Task, executor, wait: bool):
        if executor is not None:
            return executor.submit(task.function, *task.make_arguments())
        if wait:
            future = concurrent.futures.Future()
            future.set_result(task.function(*task.make_arguments()))
            return future
        if self._background is None:
            self._background = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                                     thread_name_prefix="specfwi-project")
        return self._background.submit(task.function, *task.make_arguments())

    def run(self, tasks: Sequence[Task], *, executor=None, wait: bool = True, description: str,
            before_computing: Callable[[], None] | None = None) -> set[str]:
        """Run the tasks without a cached result; return the keys of the tasks that are finished and stored.

        ``before_computing()``, if given, runs once before the first task is submitted (a check that may raise).
        """
        cached = [task for task in tasks if task.key not in self._pending and task.is_cached()]
        if cached:
            logger.info("Reusing cached %s for %d event(s): %s.", description, len(cached),
                        ", ".join(task.event_name for task in cached))
        finished = {task.key for task in cached}
        to_run = [task for task in tasks if task.key not in finished]
        if not to_run:
            return finished
        if before_computing is not None and any(task.key not in self._pending for task in to_run):
            before_computing()
        with tqdm(total=len(tasks), initial=len(cached), desc=description, unit="event", disable=None) as bar:
            for task in to_run:
                if task.key not in self._pending:
                    logger.info("Starting %s for event %r.", description, task.event_name)
                    self._pending[task.key] = self._submit(task, executor, wait)
                if self._pending[task.key].done():
                    self._collect(task, description)
                    finished.add(task.key)
                    bar.update()
            for task in to_run:
                if task.key not in finished and (wait or self._pending[task.key].done()):
                    self._collect(task, description)
                    finished.add(task.key)
                    bar.update()
        still_running = len(tasks) - len(finished)
        if still_running:
            logger.info("%d %s still running; call again to collect them.", still_running, description)
        return finished

    def _collect(self, task: Task, description: str) -> None:
        future = self._pending[task.key]
        try:
            output = future.result()
        finally:
            del self._pending[task.key]
        task.store(output)
        logger.info("Stored %s for event %r.", description, task.event_name)
