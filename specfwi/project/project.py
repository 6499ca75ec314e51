"""``sf.Project``: an on-disk folder of entities and cached results.

Layout of a project folder::

    specfwi_project.sqlite   registry of entities and results (SQLite, WAL mode)
    models/<hash>.h5         volume models (xarray in HDF5)
    meshes/<hash>.h5         simulation meshes (+ .xdmf sidecars for ParaView)
    waveforms/<hash>.h5      synthetic traces
    observed/<hash>.h5       imported observed traces
    gradients/<hash>.h5      raw gradients (UnstructuredMesh with VP, RHO; + .xdmf)
    entities/<kind>/<hash>.json  a copy of every entity's registry row, for ``Project.repair``
    inversions/<id>/         the history of one inversion (see specfwi.project.inversion_history)

Files are named by the content hash of what they hold or of the inputs of the
result; the registry maps names to them. See docs/project.md.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError, invalid
from ..model import GenericModel
from .accessors import EntitiesAccessor, EventsAccessor, SimulationsAccessor, WaveformsAccessor
from .actions import Actions
from .entities import KINDS, OBSERVED_DATA, EntityStore
from .inversions import InversionsAccessor
from .registry import DamagedRegistryError, Registry, ResultRecord
from .storage import file_checksum, remove_stale_temporaries
from .tasks import TaskRunner

logger = logging.getLogger(__name__)

REGISTRY_FILE_NAME = "specfwi_project.sqlite"
DATA_FOLDERS = ("models", "meshes", "waveforms", "observed", "gradients", "entities")


def data_files(path: Path) -> list[Path]:
    """The files of a project folder besides its registry (entities' arrays and copies, results)."""
    return [file for folder in DATA_FOLDERS for file in (path / folder).rglob("*") if file.is_file()]


def open_registry(path: Path) -> Registry:
    """The registry of the project folder ``path``; a damaged one is refused with the way to recover."""
    try:
        return Registry(path / REGISTRY_FILE_NAME)
    except DamagedRegistryError as error:
        files = data_files(path)
        if not files:  # a registry being created by another process right now, or a project with nothing in it
            return Registry(path / REGISTRY_FILE_NAME, create=True)
        raise DamagedRegistryError(
            f"{error}, beside {len(files)} file(s) of entities and results in {str(path)!r}; nothing was "
            f"changed. Rebuild the registry from those files with sf.Project.repair({str(path)!r}) or "
            f"'specfwi repair {path}' (it keeps the damaged file beside the new one), or restore the registry "
            f"from a backup") from error


@dataclass(frozen=True)
class ProjectSummary:
    """What a project holds: entity names by kind, (name, event) pairs of observed data, cached results."""

    path: Path
    entities: dict[str, list[str]]
    observed_data: list[tuple[str, str]]
    results: list[ResultRecord]


class Project:
    """Open the project in the folder ``path`` (created by :meth:`from_volume_model`).

    Several processes may open one project at once. Entities are added with
    ``project += entity`` (GenericModel, Event, SimulationConfiguration,
    UnstructuredMeshSimulationConfiguration, MisfitConfiguration, InverseProblemConfiguration,
    or a list of them);
    adding an identical entity again does nothing, adding different content under a
    taken name is an error.

    Attributes: ``path``; the accessors ``entities``, ``events``, ``simulations``,
    ``waveforms``, ``inversions``; ``actions.inversion``; and the internals ``registry`` (SQLite),
    ``store`` (entity files) and ``runner`` (jobs of this Project object).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).resolve()
        if not (self.path / REGISTRY_FILE_NAME).is_file():
            if self.path.is_dir() and data_files(self.path):
                raise DamagedRegistryError(
                    f"the registry {REGISTRY_FILE_NAME!r} of the project at {str(self.path)!r} is missing, beside "
                    f"{len(data_files(self.path))} file(s) of entities and results; rebuild it with "
                    f"sf.Project.repair({str(self.path)!r}) or 'specfwi repair {self.path}', or restore it from a "
                    f"backup")
            raise ProjectError(f"there is no specfwi project at {str(self.path)!r}; create one with "
                               f"sf.Project.from_volume_model(path, volume_model)")
        self.registry = open_registry(self.path)
        if not self.registry.read_only:
            remove_stale_temporaries(self.path)
        self._verified: dict[str, tuple] = {}
        self.store = EntityStore(self.path, self.registry)
        self.runner = TaskRunner()
        self.entities = EntitiesAccessor(self)
        self.events = EventsAccessor(self)
        self.simulations = SimulationsAccessor(self)
        self.waveforms = WaveformsAccessor(self)
        self.inversions = InversionsAccessor(self)
        self.actions = Actions(self)

    @classmethod
    def from_volume_model(cls, path: str | os.PathLike, volume_model: GenericModel, load_if_exists: bool = False
                          ) -> Project:
        """Create a project in the folder ``path`` holding ``volume_model``.

        If a project exists there already, it is opened with ``load_if_exists=True``
        (and ``volume_model`` added to it unless identical), else this is an error.
        """
        path = Path(path).resolve()
        if not isinstance(volume_model, GenericModel):
            raise invalid("volume_model", type(volume_model).__name__, "an sf.model.GenericModel")
        if (path / REGISTRY_FILE_NAME).is_file():
            if not load_if_exists:
                raise ProjectError(f"a project already exists at {str(path)!r}; open it with sf.Project(path), pass "
                                   f"load_if_exists=True, or choose another folder")
        elif path.exists() and (not path.is_dir() or any(not entry.name.startswith(REGISTRY_FILE_NAME)
                                                         for entry in path.iterdir())):
            raise ProjectError(f"{str(path)!r} exists and is not an empty folder; choose a new or empty folder "
                               f"for the project")
        else:  # a new or empty folder, or one where another process is creating the registry right now
            path.mkdir(parents=True, exist_ok=True)
            Registry(path / REGISTRY_FILE_NAME, create=True)
            logger.info("Created a project at %s.", path)
        project = cls(path)
        project += volume_model
        return project

    def __iadd__(self, entity) -> Project:
        for item in entity if isinstance(entity, (list, tuple)) else [entity]:
            self.store.add(item)
        return self

    def __repr__(self) -> str:
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(self.registry.count_entities().items()))
        return (f"<specfwi Project at {str(self.path)!r}: {counts}; "
                f"{len(self.registry.list_results())} cached results>")

    @classmethod
    def repair(cls, path: str | os.PathLike):
        """Rebuild a damaged registry from the project's files; returns a ``RepairReport`` of what it could not.

        See :func:`specfwi.project.repair.repair_project`.
        """
        from .repair import repair_project

        return repair_project(Path(path))

    def find_result(self, action: str, key: str) -> ResultRecord | None:
        """The cached result of ``action`` with input hash ``key``, if registered and its file is intact.

        A result file that is missing, unreadable or does not match the checksum recorded when it was
        written is logged as such and counts as not cached (it is computed again).
        """
        record = self.registry.find_result(action, key)
        if record is None or record.path is None:
            return record
        problem = self.file_problem(record)
        if problem is not None:
            logger.warning("The cached %s file %s %s; computing it again.", action, self.path / record.path, problem)
            return None
        return record

    def file_problem(self, record: ResultRecord) -> str | None:
        """What is wrong with a result's file (missing, unreadable, checksum mismatch), or None if it is intact.

        A file is verified once per process while its size and modification time stay the same.
        """
        path = self.path / record.path
        try:
            status = path.stat()
        except FileNotFoundError:
            return "is missing"
        except OSError as error:
            return f"cannot be read ({error})"
        signature = (record.checksum, status.st_size, status.st_mtime_ns, status.st_ino)
        if record.checksum is None or self._verified.get(record.path) == signature:
            return None
        try:
            checksum = file_checksum(path)
        except OSError as error:
            return f"cannot be read ({error})"
        if checksum != record.checksum:
            return "does not match the checksum recorded when it was written (it was damaged or changed)"
        self._verified[record.path] = signature
        return None

    def add_result(self, record: ResultRecord) -> None:
        """Register a result whose file (if any) is in place, with the checksum of that file."""
        if record.path is not None:
            record = dataclasses.replace(record, checksum=file_checksum(self.path / record.path))
        self.registry.add_result(record)

    def require_writable(self, what: str, *folders: str) -> None:
        """Raise ReadOnlyProjectError at once if ``what`` (e.g. "computing gradients") cannot write the registry
        or one of the project's ``folders``."""
        self.registry.refuse_writes(what)
        for folder in folders:
            target = self.path / folder
            if not os.access(target if target.is_dir() else self.path, os.W_OK):
                raise self.registry.read_only_error(what, f"{str(target)!r} is not writable")

    def summary(self) -> ProjectSummary:
        """Entity names by kind and every cached result."""
        return ProjectSummary(self.path, {kind: self.registry.list_entities(kind) for kind in KINDS
                                          if kind != OBSERVED_DATA},
                              self.store.list_observed(), self.registry.list_results())
