"""Storing and loading the entities of a project (volume models, events, configurations, observed data).

An entity is registered under its kind and name with the hash of its content;
arrays go to files named by content hash (``models/<hash>.h5``, ``meshes/<hash>.h5``,
``observed/<hash>.h5``), written before the registry row, so that two processes
adding different content under one name never overwrite each other's files.
After the row, a copy of it goes to ``entities/<kind>/<hash of kind and name>.json``,
from which ``Project.repair`` rebuilds a lost registry.

Imported files cannot be computed again: reading one checks that its content still
has the hash it was registered with, and a damaged one raises a ProjectError naming it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from ..acquisition import Event
from ..errors import ProjectError, invalid
from ..mapping.cache import BoundedCache
from ..mesh import UnstructuredMesh
from ..model import GenericModel
from .configurations import (
    MisfitConfiguration,
    SimulationConfiguration,
    UnstructuredMeshSimulationConfiguration,
)
from .hashing import hash_json, hash_mesh, hash_xarray
from .inverse_problem import InverseProblemConfiguration
from .observed import check_observed_traces, covers
from .registry import Registry
from .storage import read_json, read_xarray_h5, staged_files, write_json, write_xarray_h5

logger = logging.getLogger(__name__)

VOLUME_MODEL = "volume_model"
EVENT = "event"
SIMULATION_CONFIGURATION = "simulation_configuration"
MISFIT_CONFIGURATION = "misfit_configuration"
OBSERVED_DATA = "observed_data"
INVERSE_PROBLEM_CONFIGURATION = "inverse_problem_configuration"
TRIAL_MARK = ":trial:"
"""An inversion registers its trial models as simulation configurations named <inversion>:trial:<content hash>."""
KINDS = (VOLUME_MODEL, EVENT, SIMULATION_CONFIGURATION, MISFIT_CONFIGURATION, OBSERVED_DATA,
         INVERSE_PROBLEM_CONFIGURATION)

CACHED_MESHES = 20
"""Simulation configurations (and meshes) a project keeps in memory, the most recently used: inversions
register a configuration per trial model and event, and keeping them all would grow without bound."""

_KIND_OF_TYPE = {GenericModel: VOLUME_MODEL, Event: EVENT, SimulationConfiguration: SIMULATION_CONFIGURATION,
                 UnstructuredMeshSimulationConfiguration: SIMULATION_CONFIGURATION,
                 MisfitConfiguration: MISFIT_CONFIGURATION,
                 InverseProblemConfiguration: INVERSE_PROBLEM_CONFIGURATION}
ADDABLE = ("GenericModel", "Event", "SimulationConfiguration", "UnstructuredMeshSimulationConfiguration",
           "MisfitConfiguration", "InverseProblemConfiguration")


def entity_name(entity) -> str:
    return entity.event_name if isinstance(entity, Event) else entity.name


def observed_entry_name(observed_data: str, event_name: str) -> str:
    """Registry name of one event's observed data set (unambiguous for any pair of names)."""
    return json.dumps([observed_data, event_name])


ENTITY_COPIES_FOLDER = "entities"


def entity_copy_path(kind: str, name: str) -> str:
    """Path, relative to the project folder, of the copy of an entity's registry row."""
    return f"{ENTITY_COPIES_FOLDER}/{kind}/{hash_json([kind, name])}.json"


def read_entity_copies(folder: Path) -> list[dict]:
    """The entity copies of a project folder (kind, name, content_hash, payload, created_at), oldest first;
    unreadable copies are left out."""
    copies = []
    for path in sorted((folder / ENTITY_COPIES_FOLDER).glob("*/*.json")):
        try:
            copy = read_json(path)
        except (OSError, ValueError):
            logger.warning("The entity copy %s cannot be read; it is left out.", path)
            continue
        copies.append(copy)
    return sorted(copies, key=lambda copy: copy["created_at"])


class EntityStore:
    """Adds entities to, and loads them from, the registry and files of the project folder ``folder``.

    Misfit functions given as callables in this process are kept in memory by
    configuration name, so that they work even where they cannot be imported; so are
    inverse-problem configurations added in this process (their mappings may hold callables,
    their executors are not stored).
    """

    def __init__(self, folder: Path, registry: Registry):
        self.folder = folder
        self.registry = registry
        self._session_functions: dict[str, Callable] = {}
        self._session_inverse_problems: dict[str, InverseProblemConfiguration] = {}
        self._simulation_configurations: BoundedCache[SimulationConfiguration
                                                      | UnstructuredMeshSimulationConfiguration] = BoundedCache(
            CACHED_MESHES)

    # ------------------------------------------------------------------ adding
    def add(self, entity) -> None:
        """Register ``entity``; a no-op if identical, ProjectError if its name is taken by other content."""
        kind = _KIND_OF_TYPE.get(type(entity))
        if kind is None:
            raise invalid("entity", type(entity).__name__, f"one of {list(ADDABLE)}")
        name = entity_name(entity)
        if isinstance(entity, GenericModel):
            data_hash = hash_xarray(entity.data)
            payload = {"name": name, "data_hash": data_hash, "file": f"models/{data_hash}.h5"}
            if self._must_write(payload["file"]):
                write_xarray_h5(self.folder / payload["file"], entity.data)
        elif isinstance(entity, UnstructuredMeshSimulationConfiguration):
            payload = {**entity.to_dict(), "file": f"meshes/{entity.mesh_hash}.h5"}
            if self._must_write(payload["file"]):
                with staged_files(self.folder / "meshes") as staging:
                    entity.unstructured_mesh.write_h5(staging / f"{entity.mesh_hash}.h5")
        elif isinstance(entity, InverseProblemConfiguration):
            self._check_references(entity)
            payload = entity.to_dict()
            for key, mesh in entity.meshes().items():
                if not (self.folder / f"meshes/{key}.h5").is_file():
                    with staged_files(self.folder / "meshes") as staging:
                        mesh.write_h5(staging / f"{key}.h5")
        else:
            payload = entity.to_dict()
        if kind == SIMULATION_CONFIGURATION:
            self._refuse_observed_name(name)
        if self._register(kind, name, payload):
            logger.info("Added %s %r to the project.", kind.replace("_", " "), name)
        if isinstance(entity, MisfitConfiguration) and callable(entity.misfit_function):
            self._session_functions[name] = entity.misfit_function
        if isinstance(entity, InverseProblemConfiguration):
            self._session_inverse_problems[name] = entity

    def _check_references(self, configuration: InverseProblemConfiguration) -> None:
        """ProjectError unless the events, misfit and simulation configurations it names are registered."""
        for event in configuration.events:
            self._record(EVENT, event)
        self._record(MISFIT_CONFIGURATION, configuration.misfit_configuration)
        for name in (configuration.prior_model, configuration.simulation_configuration):
            if isinstance(name, str):
                self._record(SIMULATION_CONFIGURATION, name)
        if isinstance(configuration.prior_model, tuple):
            self._record(INVERSE_PROBLEM_CONFIGURATION, configuration.prior_model[0])

    def _refuse_observed_name(self, name: str) -> None:
        taken = {json.loads(entry)[0] for entry in self.registry.list_entities(OBSERVED_DATA)}
        if name in taken:
            raise ProjectError(f"{name!r} already names observed data in this project; give the simulation "
                               f"configuration another name (misfit configurations refer to both by name)")

    def add_observed(self, observed_data: str, event_name: str, traces: xr.DataArray) -> None:
        """Register one event's observed traces (dims ("receiver", "time"), the event's receivers)."""
        self.add_observed_events(observed_data, {event_name: traces})

    def add_observed_events(self, observed_data: str, traces_by_event: dict[str, xr.DataArray]) -> None:
        """Register observed traces of several events under one name, all or none: every event's traces are
        checked, and refused if the name already holds other traces for that event, before anything is written."""
        if not isinstance(observed_data, str) or not observed_data.strip():
            raise invalid("name", observed_data, "a non-empty string")
        if self.registry.get_entity(SIMULATION_CONFIGURATION, observed_data) is not None:
            raise ProjectError(f"{observed_data!r} already names a simulation configuration in this project; "
                               f"import the observed data under another name")
        payloads = {}
        for event_name, traces in traces_by_event.items():
            traces = check_observed_traces(traces, self.get_event(event_name).receiver_names)
            self._check_covers_a_simulation(traces, observed_data, event_name)
            data_hash = hash_xarray(traces)
            payload = {"observed_data": observed_data, "event": event_name, "data_hash": data_hash,
                       "file": f"observed/{data_hash}.h5"}
            existing = self.registry.get_entity(OBSERVED_DATA, observed_entry_name(observed_data, event_name))
            if existing is not None and existing.content_hash != hash_json(payload):
                raise ProjectError(f"this project already holds other observed data {observed_data!r} for event "
                                   f"{event_name!r}; import yours under a new name, or remove those first "
                                   f"(p.waveforms.remove_observed); nothing was imported")
            payloads[event_name] = (payload, traces)
        for event_name, (payload, traces) in payloads.items():
            if self._must_write(payload["file"]):
                write_xarray_h5(self.folder / payload["file"], traces)
            if self._register(OBSERVED_DATA, observed_entry_name(observed_data, event_name), payload):
                logger.info("Added observed data %r of event %r to the project.", observed_data, event_name)

    def _check_covers_a_simulation(self, traces: xr.DataArray, observed_data: str, event_name: str) -> None:
        """ProjectError if the project has simulation configurations and the traces cover the time of none."""
        ranges = {name: self.get_simulation_configuration(name).event_configuration.simulated_time_range_in_seconds
                  for name in self.registry.list_entities(SIMULATION_CONFIGURATION)}
        time = traces["time"].values
        if ranges and not any(covers(time, start, end) for start, end in ranges.values()):
            simulated = ", ".join(f"{name!r}: [{start}, {end}] s" for name, (start, end) in ranges.items())
            raise ProjectError(f"the observed data {observed_data!r} of event {event_name!r} span [{time[0]}, "
                               f"{time[-1]}] s, which covers the simulated time of no simulation configuration of "
                               f"the project ({simulated}); import data that cover one of them")

    def _must_write(self, relative_path: str) -> bool:
        """Whether an entity's file must be written: it is missing and the project is writable (a read-only
        project then refuses the registry row, unless an identical entity is registered already)."""
        return not self.registry.read_only and not (self.folder / relative_path).is_file()

    def _register(self, kind: str, name: str, payload: dict) -> bool:
        """Add the registry row and its copy (also for an identical row registered before copies existed)."""
        content_hash = hash_json(payload)
        added = self.registry.add_entity(kind, name, content_hash, payload)
        copy = self.folder / entity_copy_path(kind, name)
        if not self.registry.read_only and (added or not copy.is_file()):
            write_json(copy, {"kind": kind, "name": name, "content_hash": content_hash, "payload": payload,
                              "created_at": time.time()})
        return added

    def remove_observed(self, observed_data: str, event_name: str) -> None:
        """Unregister one event's observed data (its file stays: other names may share its content)."""
        name = observed_entry_name(observed_data, event_name)
        if not self.registry.remove_entity(OBSERVED_DATA, name):
            raise ProjectError(f"the project has no observed data {observed_data!r} for event {event_name!r}; "
                               f"it has {self.list_observed()}")
        (self.folder / entity_copy_path(OBSERVED_DATA, name)).unlink(missing_ok=True)
        logger.info("Removed observed data %r of event %r from the project.", observed_data, event_name)

    def _read_imported(self, description: str, relative_path: str, read: Callable, content_hash: Callable,
                       expected_hash: str, remedy: str):
        """Read an imported file, checking that its content still has the hash it was registered with."""
        path = self.folder / relative_path
        if not path.is_file():
            problem = "is missing"
        else:
            try:
                content = read(path)
            except (OSError, KeyError, ValueError, RuntimeError) as error:
                problem = f"cannot be read ({error})"
            else:
                if content_hash(content) == expected_hash:
                    return content
                problem = "does not hold the content it was imported with (it was damaged or changed)"
        raise ProjectError(f"the file {str(path)!r} of {description} {problem}; specfwi cannot compute imported data "
                           f"again: restore the file from a backup, or {remedy}")

    # ------------------------------------------------------------------ loading
    def _record(self, kind: str, name: str):
        if not isinstance(name, str):
            raise invalid(kind, name, "a name (string)")
        record = self.registry.get_entity(kind, name)
        if record is None:
            known = self.registry.list_entities(kind)
            raise ProjectError(f"{kind!r} must be one of the project's {kind.replace('_', ' ')}s {known}, "
                               f"got {name!r}")
        return record

    def content_hash(self, kind: str, name: str) -> str:
        return self._record(kind, name).content_hash

    def get_volume_model(self, name: str) -> GenericModel:
        payload = self._record(VOLUME_MODEL, name).payload
        data = self._read_imported(f"volume model {name!r}", payload["file"], read_xarray_h5, hash_xarray,
                                   payload["data_hash"], "create a new project with the model")
        return GenericModel(name, data)

    def get_event(self, name: str) -> Event:
        return Event.from_dict(self._record(EVENT, name).payload)

    def get_simulation_configuration(self, name: str
                                     ) -> SimulationConfiguration | UnstructuredMeshSimulationConfiguration:
        """The configuration (kept for the most recently used: entities never change under a name)."""

        def read():
            payload = self._record(SIMULATION_CONFIGURATION, name).payload
            if payload["type"] == "UnstructuredMeshSimulationConfiguration":
                mesh = self._read_imported(f"simulation configuration {name!r}", payload["file"],
                                           UnstructuredMesh.from_h5, hash_mesh, payload["mesh_hash"],
                                           "add the mesh again under a new configuration name")
                return UnstructuredMeshSimulationConfiguration.from_dict(payload, unstructured_mesh=mesh)
            return SimulationConfiguration.from_dict(payload)

        return self._simulation_configurations.get(name, read)

    def get_misfit_configuration(self, name: str) -> MisfitConfiguration:
        record = self._record(MISFIT_CONFIGURATION, name)
        configuration = MisfitConfiguration.from_dict(record.payload,
                                                      misfit_function=self._session_functions.get(name))
        if hash_json(configuration.to_dict()) != record.content_hash:
            logger.warning("The misfit function of %r differs from the one registered with it; results are "
                           "cached for the function as it is now.", name)
        return configuration

    def get_inverse_problem_configuration(self, name: str) -> InverseProblemConfiguration:
        """The configuration as added in this process, else rebuilt from the registry (once per process)."""
        record = self._record(INVERSE_PROBLEM_CONFIGURATION, name)
        if name not in self._session_inverse_problems:
            self._session_inverse_problems[name] = InverseProblemConfiguration.from_dict(
                record.payload, load_mesh=lambda key: UnstructuredMesh.from_h5(self.folder / f"meshes/{key}.h5"))
        return self._session_inverse_problems[name]

    def find_observed(self, observed_data: str, event_name: str) -> dict | None:
        """Payload of imported observed data (``file``, ``data_hash``), or None."""
        record = self.registry.get_entity(OBSERVED_DATA, observed_entry_name(observed_data, event_name))
        return None if record is None else record.payload

    def read_observed(self, payload: dict) -> xr.DataArray:
        observed_data, event_name = payload["observed_data"], payload["event"]
        return self._read_imported(f"observed data {observed_data!r} of event {event_name!r}", payload["file"],
                                   read_xarray_h5, hash_xarray, payload["data_hash"],
                                   f"remove it with p.waveforms.remove_observed({observed_data!r}, {event_name!r}) "
                                   f"and import it again")

    def list_observed(self) -> list[tuple[str, str]]:
        """(observed data name, event name) pairs of the imported observed data."""
        return [tuple(json.loads(entry)) for entry in self.registry.list_entities(OBSERVED_DATA)]
