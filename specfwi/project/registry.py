"""The SQLite registry of a project: named entities and the catalogue of cached results.

One database file per project, in WAL mode with a busy timeout, so that several
processes may read and write it at once; every write is one short transaction
(``BEGIN IMMEDIATE`` where a read decides the write). A connection is opened per
call, which keeps the registry usable from any thread.

Tables
------
meta(key, value)
    ``schema_version``.
entities(kind, name, content_hash, payload, created_at)
    One row per named entity; ``payload`` is JSON (arrays live in files it names).
results(action, key, simulation_configuration, misfit_configuration, event, path, value, created_at)
    One row per cached result, ``key`` the content hash of its inputs; ``path`` is
    relative to the project folder (or NULL), ``value`` a float (or NULL).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError, SchemaVersionError

REGISTRY_SCHEMA_VERSION = 1
BUSY_TIMEOUT_IN_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL, name TEXT NOT NULL, content_hash TEXT NOT NULL, payload TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS results (
    action TEXT NOT NULL, key TEXT NOT NULL, simulation_configuration TEXT NOT NULL,
    misfit_configuration TEXT NOT NULL, event TEXT NOT NULL, path TEXT, value REAL,
    created_at REAL NOT NULL, PRIMARY KEY (action, key, simulation_configuration, misfit_configuration, event));
CREATE INDEX IF NOT EXISTS results_by_key ON results (action, key);
"""


@contextlib.contextmanager
def sqlite_transaction(path: str | os.PathLike, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the SQLite database at ``path`` (WAL mode, busy timeout) inside one transaction,
    committed on success and rolled back on any exception; ``immediate`` takes the write lock at once."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_IN_SECONDS, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_IN_SECONDS * 1000)}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


@dataclass(frozen=True)
class EntityRecord:
    """A registered entity: its kind, name, content hash and JSON payload."""

    kind: str
    name: str
    content_hash: str
    payload: dict


@dataclass(frozen=True)
class ResultRecord:
    """A cached result. ``path`` is relative to the project folder (None for scalar results)."""

    action: str
    key: str
    simulation_configuration: str
    misfit_configuration: str
    event: str
    path: str | None
    value: float | None


class Registry:
    """The registry database at ``path`` (created with ``create=True``)."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ProjectError(f"no project registry at {str(self.path)!r}")
        with self._transaction(immediate=True) as connection:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                connection.execute(statement)
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                               (str(REGISTRY_SCHEMA_VERSION),))
            (version,) = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if int(version) != REGISTRY_SCHEMA_VERSION:
            raise SchemaVersionError(f"the registry {str(self.path)!r} has schema version {version}; this specfwi "
                                     f"reads version {REGISTRY_SCHEMA_VERSION}")

    def _transaction(self, *, immediate: bool = False):
        return sqlite_transaction(self.path, immediate=immediate)

    # ------------------------------------------------------------------ entities
    def add_entity(self, kind: str, name: str, content_hash: str, payload: dict) -> bool:
        """Register an entity; False if the same content is already registered under that name.

        Raises ProjectError if the name is taken by different content.
        """
        with self._transaction(immediate=True) as connection:
            row = connection.execute("SELECT content_hash FROM entities WHERE kind = ? AND name = ?",
                                     (kind, name)).fetchone()
            if row is not None:
                if row[0] == content_hash:
                    return False
                raise ProjectError(
                    f"this project already holds a different {kind} named {name!r}; add yours under a new name "
                    f"(entities are immutable, so that cached results stay valid)")
            connection.execute("INSERT INTO entities VALUES (?, ?, ?, ?, ?)",
                               (kind, name, content_hash, json.dumps(payload), time.time()))
        return True

    def get_entity(self, kind: str, name: str) -> EntityRecord | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT content_hash, payload FROM entities WHERE kind = ? AND name = ?",
                                     (kind, name)).fetchone()
        return None if row is None else EntityRecord(kind, name, row[0], json.loads(row[1]))

    def list_entities(self, kind: str) -> list[str]:
        """Names of the entities of one kind, in the order they were added."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT name FROM entities WHERE kind = ? ORDER BY created_at, rowid",
                                      (kind,)).fetchall()
        return [name for (name,) in rows]

    def count_entities(self) -> dict[str, int]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT kind, COUNT(*) FROM entities GROUP BY kind").fetchall()
        return dict(rows)

    # ------------------------------------------------------------------ results
    def add_result(self, record: ResultRecord) -> None:
        with self._transaction(immediate=True) as connection:
            connection.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (record.action, record.key, record.simulation_configuration,
                                record.misfit_configuration, record.event, record.path, record.value, time.time()))

    def find_result(self, action: str, key: str) -> ResultRecord | None:
        """Any cached result of ``action`` with content hash ``key``."""
        with self._transaction() as connection:
            row = connection.execute(f"SELECT {_RESULT_COLUMNS} FROM results WHERE action = ? AND key = ? LIMIT 1",
                                     (action, key)).fetchone()
        return None if row is None else ResultRecord(*row)

    def list_results(self, action: str | None = None) -> list[ResultRecord]:
        query = f"SELECT {_RESULT_COLUMNS} FROM results"
        with self._transaction() as connection:
            rows = (connection.execute(query + " WHERE action = ? ORDER BY created_at", (action,)) if action
                    else connection.execute(query + " ORDER BY action, created_at")).fetchall()
        return [ResultRecord(*row) for row in rows]


_RESULT_COLUMNS = "action, key, simulation_configuration, misfit_configuration, event, path, value"
