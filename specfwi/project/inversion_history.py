"""The on-disk history of one inversion: SQLite tables and HDF5 files, readable without specfwi.

Folder ``inversions/<id>/`` of the project (``id`` = the first 16 hex digits of the SHA-256 of the
inversion's name; ``history.sqlite`` names it in ``meta``)::

    history.sqlite
        meta(key, value)             schema_version, name, configuration (JSON), n_requested_iterations
        evaluations(evaluation, iteration, misfit, outcome, step_linf, trust_radius_linf,
                    predicted_reduction, n_restarts, status, file, created_at)
            one row per misfit+gradient evaluation, in order (0 = the prior); ``iteration`` is the
            number of accepted steps after it; ``outcome`` "prior", "accepted" or "rejected";
            ``step_linf`` the max-norm of (trial - current model) in inversion space; the others
            are the optimiser's after the evaluation.
        event_misfits(evaluation, event, misfit)
        iterations(iteration, evaluation, misfit, step_linf, trust_radius_linf, model_file)
            one row per accepted model (0 = the prior), the evaluation that gave it.
    evaluations/<evaluation>.h5
        trial (n,)                    the inversion-space vector evaluated
        gradient (n,)                 d misfit / d trial (inversion space, summed over events)
        preconditioned_gradient (n,)  the preconditioner applied to it
        state/                        the optimiser's state after the evaluation: arrays as datasets
                                      (x, gradient, direction, trial, s_memory, y_memory, ...), numbers
                                      and strings as attributes (see specfwi.inversion.OptimizerState)
    models/<iteration>.h5 (+ .xdmf)   the simulation model of the iteration: mesh with VP and RHO

Each evaluation is stored atomically: its HDF5 files are renamed into place, then one SQLite
transaction adds its rows; a file without rows (an interrupted store) is written again identically.
Writers hold an exclusive ``fcntl`` lock on ``lock`` for the whole of their work, so two processes
never advance one inversion at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import SchemaVersionError
from ..inversion import OptimizerState
from ..mesh import UnstructuredMesh
from .registry import sqlite_transaction
from .storage import atomic_path, staged_files

HISTORY_SCHEMA_VERSION = 1
HISTORY_FILE_NAME = "history.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    evaluation INTEGER PRIMARY KEY, iteration INTEGER NOT NULL, misfit REAL NOT NULL, outcome TEXT NOT NULL,
    step_linf REAL NOT NULL, trust_radius_linf REAL, predicted_reduction REAL, n_restarts INTEGER NOT NULL,
    status TEXT NOT NULL, file TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS event_misfits (
    evaluation INTEGER NOT NULL, event TEXT NOT NULL, misfit REAL NOT NULL, PRIMARY KEY (evaluation, event));
CREATE TABLE IF NOT EXISTS iterations (
    iteration INTEGER PRIMARY KEY, evaluation INTEGER NOT NULL, misfit REAL NOT NULL, step_linf REAL NOT NULL,
    trust_radius_linf REAL, model_file TEXT NOT NULL);
"""


def history_folder(project_folder: Path, name: str) -> Path:
    return project_folder / "inversions" / hashlib.sha256(name.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Evaluation:
    """One evaluation to store: the trial, its misfits and gradients, and the optimiser's state after it."""

    trial: np.ndarray
    event_misfits: dict[str, float]
    gradient: np.ndarray
    preconditioned_gradient: np.ndarray
    state: OptimizerState
    outcome: str
    step_linf: float


@dataclass(frozen=True)
class IterationRecord:
    """A row of ``iterations``."""

    iteration: int
    evaluation: int
    misfit: float
    step_linf: float
    trust_radius_linf: float | None
    model_file: str


class InversionHistory:
    """The history folder of the inversion ``name`` (created on first use)."""

    def __init__(self, project_folder: Path, name: str, configuration: dict):
        self.folder = history_folder(project_folder, name)
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._transaction() as connection:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                connection.execute(statement)
            for key, value in (("schema_version", str(HISTORY_SCHEMA_VERSION)), ("name", name),
                               ("configuration", json.dumps(configuration)), ("n_requested_iterations", "0")):
                connection.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            (version,) = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if int(version) != HISTORY_SCHEMA_VERSION:
            raise SchemaVersionError(f"the inversion history {str(self.folder)!r} has schema version {version}; "
                                     f"this specfwi reads version {HISTORY_SCHEMA_VERSION}")

    def _transaction(self):
        return sqlite_transaction(self.folder / HISTORY_FILE_NAME, immediate=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the inversion's exclusive lock (blocks while another process holds it)."""
        with open(self.folder / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ requests
    @property
    def n_requested_iterations(self) -> int:
        with self._transaction() as connection:
            (value,) = connection.execute("SELECT value FROM meta WHERE key = 'n_requested_iterations'").fetchone()
        return int(value)

    def request_iterations(self, n_iterations: int) -> int:
        """Raise the number of requested iterations to at least ``n_iterations``; returns the new number."""
        with self._transaction() as connection:
            (value,) = connection.execute("SELECT value FROM meta WHERE key = 'n_requested_iterations'").fetchone()
            value = max(int(value), n_iterations)
            connection.execute("UPDATE meta SET value = ? WHERE key = 'n_requested_iterations'", (str(value),))
        return value

    # ------------------------------------------------------------------ writing
    def store(self, evaluation: Evaluation, model: UnstructuredMesh | None) -> None:
        """Write the evaluation's file (and the new iteration's model, when accepted), then its rows."""
        state = evaluation.state
        index = self.n_evaluations
        file = f"evaluations/{index}.h5"
        with atomic_path(self.folder / file) as temporary:
            with h5py.File(temporary, "w") as handle:
                handle.attrs["specfwi_history_schema_version"] = HISTORY_SCHEMA_VERSION
                handle["trial"] = evaluation.trial
                handle["gradient"] = evaluation.gradient
                handle["preconditioned_gradient"] = evaluation.preconditioned_gradient
                group = handle.create_group("state")
                for key, value in state.to_dict().items():
                    if isinstance(value, np.ndarray):
                        group[key] = value
                    else:
                        group.attrs[key] = value
        model_file = None
        if model is not None:
            model_file = f"models/{state.iteration}.h5"
            with staged_files(self.folder / "models") as staging:
                model.write_h5(staging / f"{state.iteration}.h5")
        trust = None if np.isnan(state.trust_radius_linf) else state.trust_radius_linf
        predicted = None if np.isnan(state.predicted_reduction) else state.predicted_reduction
        misfit = float(sum(evaluation.event_misfits.values()))
        with self._transaction() as connection:
            connection.execute("INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (index, state.iteration, misfit, evaluation.outcome, evaluation.step_linf, trust,
                                predicted, state.n_restarts, state.status, file, time.time()))
            connection.executemany("INSERT INTO event_misfits VALUES (?, ?, ?)",
                                   [(index, event, value) for event, value in evaluation.event_misfits.items()])
            if model_file is not None:
                connection.execute("INSERT INTO iterations VALUES (?, ?, ?, ?, ?, ?)",
                                   (state.iteration, index, misfit, evaluation.step_linf, trust, model_file))

    # ------------------------------------------------------------------ reading
    @property
    def n_evaluations(self) -> int:
        with self._transaction() as connection:
            (count,) = connection.execute("SELECT COUNT(*) FROM evaluations").fetchone()
        return int(count)

    def latest_state(self) -> OptimizerState | None:
        """The optimiser's state after the last stored evaluation (None before the first)."""
        with self._transaction() as connection:
            row = connection.execute("SELECT file FROM evaluations ORDER BY evaluation DESC LIMIT 1").fetchone()
        if row is None:
            return None
        with h5py.File(self.folder / row[0], "r") as handle:
            group = handle["state"]
            content = {key: group[key][()] for key in group}
            content.update({key: value for key, value in group.attrs.items()})
        return OptimizerState.from_dict(content)

    def iterations(self) -> list[IterationRecord]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT iteration, evaluation, misfit, step_linf, trust_radius_linf, "
                                      "model_file FROM iterations ORDER BY iteration").fetchall()
        return [IterationRecord(*row) for row in rows]

    def iteration(self, iteration: int) -> IterationRecord | None:
        return next((record for record in self.iterations() if record.iteration == iteration), None)

    def event_misfits(self, evaluation: int) -> dict[str, float]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT event, misfit FROM event_misfits WHERE evaluation = ?",
                                      (evaluation,)).fetchall()
        return dict(rows)

    def read_vector(self, evaluation: int, name: str) -> np.ndarray:
        """``trial``, ``gradient`` or ``preconditioned_gradient`` of an evaluation."""
        with h5py.File(self.folder / f"evaluations/{evaluation}.h5", "r") as handle:
            return handle[name][()]

    def evaluations(self) -> list[dict]:
        """Every evaluation row as a dict (column: value), in order."""
        with self._transaction() as connection:
            cursor = connection.execute("SELECT * FROM evaluations ORDER BY evaluation")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
