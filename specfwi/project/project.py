"""``sf.Project``: an on-disk folder of entities and cached results.

Layout of a project folder::

    specfwi_project.sqlite   registry of entities and results (SQLite, WAL mode)
    models/<hash>.h5         volume models (xarray in HDF5)
    meshes/<hash>.h5         simulation meshes (+ .xdmf sidecars for ParaView)
    waveforms/<hash>.h5      synthetic traces
    observed/<hash>.h5       imported observed traces
    gradients/<hash>.h5      raw gradients (UnstructuredMesh with VP, RHO; + .xdmf)
    inversions/<id>/         the history of one inversion (see specfwi.project.inversion_history)

Files are named by the content hash of what they hold or of the inputs of the
result; the registry maps names to them. See docs/project.md.
"""

from __future__ import annotations

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
from .registry import Registry, ResultRecord
from .storage import remove_stale_temporaries
from .tasks import TaskRunner

logger = logging.getLogger(__name__)

REGISTRY_FILE_NAME = "specfwi_project.sqlite"


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
            raise ProjectError(f"there is no specfwi project at {str(self.path)!r}; create one with "
                               f"sf.Project.from_volume_model(path, volume_model)")
        self.registry = Registry(self.path / REGISTRY_FILE_NAME)
        remove_stale_temporaries(self.path)
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
        return f"<specfwi Project at {str(self.path)!r}: {self.registry.count_entities()}>"

    def find_result(self, action: str, key: str) -> ResultRecord | None:
        """The cached result of ``action`` with input hash ``key``, if registered and its file exists."""
        record = self.registry.find_result(action, key)
        if record is None or (record.path is not None and not (self.path / record.path).is_file()):
            return None
        return record

    def summary(self) -> ProjectSummary:
        """Entity names by kind and every cached result."""
        return ProjectSummary(self.path, {kind: self.registry.list_entities(kind) for kind in KINDS
                                          if kind != OBSERVED_DATA},
                              self.store.list_observed(), self.registry.list_results())
