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
results(action, key, simulation_configuration, misfit_configuration, event, path, value, created_at, checksum)
    One row per cached result, ``key`` the content hash of its inputs; ``path`` is
    relative to the project folder (or NULL), ``value`` a float (or NULL), ``checksum``
    the SHA-256 of the file's bytes when it was written (NULL for rows of specfwi before
    checksums: such files are reused unverified).

A registry on storage this process cannot write (an archived project) is opened
read-only (SQLite URI ``mode=ro``; ``immutable=1`` where the WAL index cannot be
created); every write then raises :class:`ReadOnlyProjectError`. A registry that is
not a SQLite database, or one without specfwi's tables (an emptied file), raises
:class:`DamagedRegistryError` instead of being replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import urllib.parse
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
    created_at REAL NOT NULL, checksum TEXT,
    PRIMARY KEY (action, key, simulation_configuration, misfit_configuration, event));
CREATE INDEX IF NOT EXISTS results_by_key ON results (action, key);
"""


class DamagedRegistryError(ProjectError):
    """The registry file is not a SQLite database, or holds none of specfwi's tables (it was emptied)."""


class ReadOnlyProjectError(ProjectError):
    """Something new must be written to a project on storage this process cannot write."""


@contextlib.contextmanager
def _transaction_on(connection: sqlite3.Connection, *, immediate: bool, wal: bool) -> Iterator[sqlite3.Connection]:
    """One transaction on a fresh ``connection`` (busy timeout, WAL mode if ``wal``), committed on success and
    rolled back on any exception; the connection is closed after it."""
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_IN_SECONDS * 1000)}")
        if wal:
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


def sqlite_transaction(path: str | os.PathLike, *, immediate: bool = False):
    """A connection to the SQLite database at ``path`` (WAL mode, busy timeout) inside one transaction (a context
    manager); ``immediate`` takes the write lock at once."""
    return _transaction_on(sqlite3.connect(path, timeout=BUSY_TIMEOUT_IN_SECONDS, isolation_level=None),
                           immediate=immediate, wal=True)


@dataclass(frozen=True)
class EntityRecord:
    """A registered entity: its kind, name, content hash and JSON payload."""

    kind: str
    name: str
    content_hash: str
    payload: dict


@dataclass(frozen=True)
class ResultRecord:
    """A cached result. ``path`` is relative to the project folder (None for scalar results); ``checksum``
    the SHA-256 (hex) of its file's bytes (None: not recorded)."""

    action: str
    key: str
    simulation_configuration: str
    misfit_configuration: str
    event: str
    path: str | None
    value: float | None
    checksum: str | None = None


class Registry:
    """The registry database at ``path`` (created with ``create=True``).

    ``read_only`` is True where this process cannot write the file or its folder.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ProjectError(f"no project registry at {str(self.path)!r}")
        if not create and not os.access(self.path, os.R_OK):
            raise ProjectError(f"the registry {str(self.path)!r} cannot be read by this process (permissions); ask "
                               f"its owner for read access")
        self.read_only = not create and not (os.access(self.path.parent, os.W_OK) and os.access(self.path, os.W_OK))
        self._immutable = False
        try:
            version = self._open(create)
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise
            raise DamagedRegistryError(f"the registry {str(self.path)!r} is not a readable SQLite database "
                                       f"({error})") from error
        if int(version) != REGISTRY_SCHEMA_VERSION:
            raise SchemaVersionError(f"the registry {str(self.path)!r} has schema version {version}; this specfwi "
                                     f"reads version {REGISTRY_SCHEMA_VERSION}")

    def _open(self, create: bool) -> str:
        """Check (and where writable, create or update) the tables; returns the schema version."""
        if self.read_only:
            try:
                tables = self._tables()
            except sqlite3.OperationalError:  # a WAL database whose index cannot be created on read-only storage
                self._immutable = True
                tables = self._tables()
        else:
            tables = self._tables()
        if "meta" not in tables and (tables or not create):
            size = self.path.stat().st_size
            raise DamagedRegistryError(f"the registry {str(self.path)!r} holds none of specfwi's tables "
                                       f"({'it is empty, ' if size == 0 else ''}{size} bytes)")
        if "meta" in tables and not {"entities", "results"} <= tables:
            raise DamagedRegistryError(f"the registry {str(self.path)!r} lacks the tables "
                                       f"{sorted({'entities', 'results'} - tables)}")
        if not self.read_only:
            with self._transaction(immediate=True) as connection:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    connection.execute(statement)
                if "checksum" not in {row[1] for row in connection.execute("PRAGMA table_info(results)")}:
                    connection.execute("ALTER TABLE results ADD COLUMN checksum TEXT")
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                   (str(REGISTRY_SCHEMA_VERSION),))
        with self._transaction() as connection:
            (version,) = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            self._has_checksums = "checksum" in {row[1] for row in connection.execute("PRAGMA table_info(results)")}
        return version

    def _tables(self) -> set[str]:
        """Names of the tables (a query that writes nothing, not even the header of an empty file)."""
        connection = self._connect()
        try:
            return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_IN_SECONDS, isolation_level=None)
        options = "mode=ro&immutable=1" if self._immutable else "mode=ro"
        return sqlite3.connect(f"file:{urllib.parse.quote(str(self.path.resolve()))}?{options}", uri=True,
                               timeout=BUSY_TIMEOUT_IN_SECONDS, isolation_level=None)

    def refuse_writes(self, what: str) -> None:
        """Raise ReadOnlyProjectError if this registry is read-only; ``what`` says what needed writing."""
        if self.read_only:
            raise self.read_only_error(what, "its registry cannot be written")

    def read_only_error(self, what: str, reason: str) -> ReadOnlyProjectError:
        """The error for ``what`` (e.g. "computing gradients") in a project that cannot be written (``reason``)."""
        return ReadOnlyProjectError(
            f"the project at {str(self.path.parent)!r} is read-only for this process ({reason}): its cached "
            f"results can be read, but {what} needs writing to it; copy the project to writable storage, or "
            f"make it writable, to compute or add anything")

    def _transaction(self, *, immediate: bool = False):
        """One transaction on the registry (a context manager); ``immediate`` (a write) is refused at once on a
        read-only registry."""
        if immediate:
            self.refuse_writes("this change")
        return _transaction_on(self._connect(), immediate=immediate, wal=not self.read_only)

    # ------------------------------------------------------------------ entities
    def add_entity(self, kind: str, name: str, content_hash: str, payload: dict) -> bool:
        """Register an entity; False if the same content is already registered under that name.

        Raises ProjectError if the name is taken by different content (or if the registry is read-only and
        the entity is not registered already).
        """
        if self.read_only:
            existing = self.get_entity(kind, name)
            if existing is not None and existing.content_hash == content_hash:
                return False
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

    def remove_entity(self, kind: str, name: str) -> bool:
        """Unregister an entity; False if there was none of that kind and name."""
        with self._transaction(immediate=True) as connection:
            return connection.execute("DELETE FROM entities WHERE kind = ? AND name = ?", (kind, name)).rowcount > 0

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
            connection.execute(f"INSERT OR REPLACE INTO results ({_RESULT_COLUMNS}, created_at) "
                               f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (record.action, record.key, record.simulation_configuration,
                                record.misfit_configuration, record.event, record.path, record.value, record.checksum,
                                time.time()))

    def find_result(self, action: str, key: str) -> ResultRecord | None:
        """Any cached result of ``action`` with content hash ``key``."""
        with self._transaction() as connection:
            row = connection.execute(f"SELECT {self._columns} FROM results WHERE action = ? AND key = ? LIMIT 1",
                                     (action, key)).fetchone()
        return None if row is None else ResultRecord(*row)

    def list_results(self, action: str | None = None) -> list[ResultRecord]:
        query = f"SELECT {self._columns} FROM results"
        with self._transaction() as connection:
            rows = (connection.execute(query + " WHERE action = ? ORDER BY created_at", (action,)) if action
                    else connection.execute(query + " ORDER BY action, created_at")).fetchall()
        return [ResultRecord(*row) for row in rows]


    @property
    def _columns(self) -> str:
        return _RESULT_COLUMNS if self._has_checksums else _RESULT_COLUMNS.replace("checksum", "NULL")


_RESULT_COLUMNS = "action, key, simulation_configuration, misfit_configuration, event, path, value, checksum"
