"""Storing and loading the entities of a project (volume models, events, configurations, observed data).

An entity is registered under its kind and name with the hash of its content;
arrays go to files named by content hash (``models/<hash>.h5``, ``meshes/<hash>.h5``,
``observed/<hash>.h5``), written before the registry row, so that two processes
adding different content under one name never overwrite each other's files.
"""

from __future__ import annotations

import json
import logging
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
from .hashing import hash_json, hash_xarray
from .inverse_problem import InverseProblemConfiguration
from .registry import Registry
from .storage import read_xarray_h5, staged_files, write_xarray_h5

logger = logging.getLogger(__name__)

VOLUME_MODEL = "volume_model"
EVENT = "event"
SIMULATION_CONFIGURATION = "simulation_configuration"
MISFIT_CONFIGURATION = "misfit_configuration"
OBSERVED_DATA = "observed_data"
INVERSE_PROBLEM_CONFIGURATION = "inverse_problem_configuration"
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
            if not (self.folder / payload["file"]).is_file():
                write_xarray_h5(self.folder / payload["file"], entity.data)
        elif isinstance(entity, UnstructuredMeshSimulationConfiguration):
            payload = {**entity.to_dict(), "file": f"meshes/{entity.mesh_hash}.h5"}
            if not (self.folder / payload["file"]).is_file():
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
        if self.registry.add_entity(kind, name, hash_json(payload), payload):
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
        if not isinstance(observed_data, str) or not observed_data.strip():
            raise invalid("name", observed_data, "a non-empty string")
        if self.registry.get_entity(SIMULATION_CONFIGURATION, observed_data) is not None:
            raise ProjectError(f"{observed_data!r} already names a simulation configuration in this project; "
                               f"import the observed data under another name")
        event = self.get_event(event_name)
        if not isinstance(traces, xr.DataArray) or set(traces.dims) != {"receiver", "time"}:
            raise invalid("traces", type(traces).__name__, "an xarray.DataArray with dims ('receiver', 'time')")
        names = [str(name) for name in traces["receiver"].values] if "receiver" in traces.coords else None
        if names is None or sorted(names) != sorted(event.receiver_names):
            raise invalid("traces['receiver']", names, f"the receiver names of event {event_name!r}")
        traces = traces.transpose("receiver", "time")
        data_hash = hash_xarray(traces)
        payload = {"observed_data": observed_data, "event": event_name, "data_hash": data_hash,
                   "file": f"observed/{data_hash}.h5"}
        if not (self.folder / payload["file"]).is_file():
            write_xarray_h5(self.folder / payload["file"], traces)
        if self.registry.add_entity(OBSERVED_DATA, observed_entry_name(observed_data, event_name),
                                    hash_json(payload), payload):
            logger.info("Added observed data %r of event %r to the project.", observed_data, event_name)

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
        return GenericModel(name, read_xarray_h5(self.folder / payload["file"]))

    def get_event(self, name: str) -> Event:
        return Event.from_dict(self._record(EVENT, name).payload)

    def get_simulation_configuration(self, name: str
                                     ) -> SimulationConfiguration | UnstructuredMeshSimulationConfiguration:
        """The configuration (kept for the most recently used: entities never change under a name)."""

        def read():
            payload = self._record(SIMULATION_CONFIGURATION, name).payload
            if payload["type"] == "UnstructuredMeshSimulationConfiguration":
                mesh = UnstructuredMesh.from_h5(self.folder / payload["file"])
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
        return read_xarray_h5(self.folder / payload["file"])

    def list_observed(self) -> list[tuple[str, str]]:
        """(observed data name, event name) pairs of the imported observed data."""
        return [tuple(json.loads(entry)) for entry in self.registry.list_entities(OBSERVED_DATA)]
