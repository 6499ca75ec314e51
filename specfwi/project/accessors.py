"""Accessors of a project: ``p.entities``, ``p.events``, ``p.simulations``, ``p.waveforms``.

Meshes and waveforms are results: computed on first request, stored under the
content hash of their inputs (see :mod:`specfwi.project.hashing`), and read back
afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from .. import resources
from ..acquisition import Event
from ..errors import ProjectError, invalid
from ..io.segy import DEFAULT_COORDINATE_TOLERANCE_IN_METERS, VerticalCoordinate, read_segy
from ..mapping.cache import BoundedCache
from ..mesh import UnstructuredMesh
from ..mesh.absorbing import (DEFAULT_NUMBER_OF_WAVELENGTHS, FREE_SURFACE_SIDE, RECTANGLE_SIDES,
                              REFERENCE_FREQUENCY_FRACTION, AbsorbingBoundaryParameters, absorbing_option_to_json,
                              resolve_absorbing_boundaries)
from .configurations import (
    MisfitConfiguration,
    SimulationConfiguration,
    UnstructuredMeshSimulationConfiguration,
)
from .entities import CACHED_MESHES, EVENT, KINDS, SIMULATION_CONFIGURATION, TRIAL_MARK, VOLUME_MODEL
from .hashing import combine
from .jobs import simulate_event
from .registry import ResultRecord
from .simulation_mesh import LayeredVolumeModel, build_simulation_mesh
from .storage import read_xarray_h5, staged_files, write_xarray_h5
from .tasks import Task

if TYPE_CHECKING:
    from .project import Project

logger = logging.getLogger(__name__)


def event_names(events: str | Sequence[str] | None, all_events: list[str]) -> list[str]:
    """Normalise an ``events`` argument (one name, names, or None for all) to unique names, in order."""
    if events is None:
        return list(all_events)
    names = [events] if isinstance(events, str) else list(events)
    if not names or not all(isinstance(name, str) for name in names):
        raise invalid("events", events, "an event name or a non-empty list of event names")
    return list(dict.fromkeys(names))


class EntitiesAccessor:
    """Every registered entity by kind: ``list(kind)`` and ``get(kind, name)``."""

    def __init__(self, project: Project):
        self._project = project

    def list(self, kind: str) -> list[str]:
        """Names of one kind of entity (see ``specfwi.project.entities.KINDS``), in the order they were added."""
        if kind not in KINDS:
            raise invalid("kind", kind, f"one of {list(KINDS)}")
        return self._project.registry.list_entities(kind)

    def get(self, kind: str, name: str):
        """The entity object (GenericModel, Event, a configuration)."""
        getters = {VOLUME_MODEL: self._project.store.get_volume_model, EVENT: self._project.store.get_event,
                   SIMULATION_CONFIGURATION: self._project.store.get_simulation_configuration,
                   "misfit_configuration": self._project.store.get_misfit_configuration,
                   "inverse_problem_configuration": self._project.store.get_inverse_problem_configuration}
        if kind not in getters:
            raise invalid("kind", kind, f"one of {list(getters)}")
        return getters[kind](name)


class EventsAccessor:
    """The events of the project."""

    def __init__(self, project: Project):
        self._project = project

    def list(self) -> list[str]:
        """Event names, in the order they were added."""
        return self._project.registry.list_entities(EVENT)

    def get(self, name: str) -> Event:
        return self._project.store.get_event(name)


class SimulationsAccessor:
    """Simulation configurations and their meshes."""

    def __init__(self, project: Project):
        self._project = project
        self._meshes: BoundedCache[UnstructuredMesh] = BoundedCache(CACHED_MESHES)

    def list(self, *, include_trials: bool = False) -> list[str]:
        """Names of the simulation configurations, in the order they were added; the trial models that
        inversions register (``<inversion>:trial:<hash>``) only with ``include_trials=True``."""
        names = self._project.registry.list_entities(SIMULATION_CONFIGURATION)
        return names if include_trials else [name for name in names if TRIAL_MARK not in name]

    def get(self, simulation_configuration: str) -> SimulationConfiguration | UnstructuredMeshSimulationConfiguration:
        return self._project.store.get_simulation_configuration(simulation_configuration)

    def mesh_key(self, simulation_configuration: str) -> str:
        """Content hash of the simulation mesh's inputs."""
        configuration = self.get(simulation_configuration)
        if isinstance(configuration, UnstructuredMeshSimulationConfiguration):
            return combine("mesh", configuration.mesh_hash)
        options = configuration.mesh_options()
        options["absorbing_boundaries"] = absorbing_option_to_json(options["absorbing_boundaries"])
        return combine("mesh", options,
                       [self._project.store.content_hash(VOLUME_MODEL, name) for name in configuration.volume_models])

    def estimate(self, simulation_configuration: str, *, gradient: bool = False) -> resources.ResourceEstimate:
        """What one event's simulation (or gradient) of this configuration needs, estimated before meshing
        (see :mod:`specfwi.resources`); sources and receivers of the project's largest event."""
        configuration = self.get(simulation_configuration)
        events = [self._project.events.get(name) for name in self._project.events.list()]
        start, end = configuration.event_configuration.simulated_time_range_in_seconds
        solver = configuration.solver_options()
        options = {"duration_in_seconds": end - start, "gradient": gradient,
                   "checkpoint_memory_in_bytes": solver.checkpoint_memory_in_megabytes * 1024**2,
                   "time_step_in_seconds": solver.time_step_in_seconds,
                   "n_sources": max((len(event.sources) for event in events), default=1),
                   "n_receivers": max((len(event.receivers) for event in events), default=1)}
        if isinstance(configuration, UnstructuredMeshSimulationConfiguration):
            return resources.estimate_from_mesh(configuration.unstructured_mesh, **options)
        models = LayeredVolumeModel([self._project.store.get_volume_model(name)
                                     for name in configuration.volume_models])
        max_velocity = max(model.max_velocity_in_meters_per_second for model in models.models)
        options.update(self._layer_options(configuration, max_velocity))
        return resources.estimate_from_domain(
            models.extent, min_velocity_in_meters_per_second=models.min_velocity_in_meters_per_second,
            max_velocity_in_meters_per_second=max_velocity,
            max_frequency_in_hertz=configuration.max_frequency_in_hertz,
            elements_per_wavelength=configuration.elements_per_wavelength, tensor_order=configuration.tensor_order,
            **options)

    @staticmethod
    def _layer_options(configuration: SimulationConfiguration, max_velocity: float) -> dict:
        """The absorbing layers ``sf.mesh.from_volume_model`` will add, for the estimate: their widths (m) by side
        (automatic ones from the largest VP, a little wider than the mesh's)."""
        choice = resolve_absorbing_boundaries(configuration.absorbing_boundaries, available_sides=RECTANGLE_SIDES,
                                              free_sides=(FREE_SURFACE_SIDE,) if configuration.free_surface else ())
        if not choice.layer_sides:
            return {}
        parameters = choice.parameters or AbsorbingBoundaryParameters(
            max_velocity, DEFAULT_NUMBER_OF_WAVELENGTHS,
            REFERENCE_FREQUENCY_FRACTION * configuration.max_frequency_in_hertz)
        return {"layer_widths_in_meters": {side: parameters.width_in_meters for side in choice.layer_sides}}

    def prepare_to_compute(self, simulation_configuration: str, what: str, folders: Sequence[str], *,
                           gradient: bool = False) -> None:
        """Refuse ``what`` at once if the project cannot write ``folders`` or the work exceeds the limits of
        ``sf.config``."""
        self._project.require_writable(what, *folders)
        estimate = self.estimate(simulation_configuration, gradient=gradient)
        logger.info("Estimate for one event of %r: %s.", simulation_configuration, estimate)
        resources.check(estimate, what, parameters=f"the configuration {simulation_configuration!r}: its "
                        f"max_frequency_in_hertz, elements_per_wavelength, the volume models' VP, and the "
                        f"event configuration's times")

    def get_mesh(self, simulation_configuration: str) -> UnstructuredMesh:
        """The simulation mesh with element-nodal VP (m/s) and RHO (kg/m^3); built once, then read from the project."""
        key = self.mesh_key(simulation_configuration)
        return self._meshes.get(key, lambda: self._load_or_build(simulation_configuration, key)).copy()

    def _load_or_build(self, simulation_configuration: str, key: str) -> UnstructuredMesh:
        configuration = self.get(simulation_configuration)
        if isinstance(configuration, UnstructuredMeshSimulationConfiguration):
            return configuration.unstructured_mesh
        record = self._project.find_result("mesh", key)
        if record is not None:
            return UnstructuredMesh.from_h5(self._project.path / record.path)
        self.prepare_to_compute(simulation_configuration, f"creating the mesh of {simulation_configuration!r}",
                                ["meshes"])
        logger.info("Creating the mesh of simulation configuration %r.", simulation_configuration)
        models = [self._project.store.get_volume_model(name) for name in configuration.volume_models]
        mesh = build_simulation_mesh(models, **configuration.mesh_options())
        relative_path = f"meshes/{key}.h5"
        with staged_files(self._project.path / "meshes") as staging:
            mesh.write_h5(staging / f"{key}.h5")
        self._project.add_result(ResultRecord("mesh", key, simulation_configuration, "", "", relative_path, None))
        return mesh


class WaveformsAccessor:
    """Receiver traces: simulated on demand and cached; observed data imported by the user."""

    def __init__(self, project: Project):
        self._project = project

    def key(self, simulation_configuration: str, event: str) -> str:
        """Content hash of the inputs of one event's synthetic traces."""
        configuration = self._project.simulations.get(simulation_configuration)
        solver = {key: value for key, value in configuration.to_dict().items()
                  if key in ("event_configuration", "absorbing_boundaries", "free_surface")}
        return combine("waveforms", self._project.simulations.mesh_key(simulation_configuration),
                       self._project.store.content_hash(EVENT, event), solver)

    def get(self, simulation_configuration: str, event: str) -> xr.DataArray:
        """Traces "phi", dims ("receiver", "time"), of one event; simulated if not yet in the project."""
        self.compute(simulation_configuration, [event])
        return self.read(self.key(simulation_configuration, event))

    def read(self, key: str) -> xr.DataArray:
        return read_xarray_h5(self._project.path / self._project.find_result("waveforms", key).path)

    def store(self, key: str, simulation_configuration: str, event: str, traces: xr.DataArray) -> None:
        relative_path = f"waveforms/{key}.h5"
        write_xarray_h5(self._project.path / relative_path, traces)
        self._project.add_result(ResultRecord("waveforms", key, simulation_configuration, "", event, relative_path,
                                              None))

    def compute(self, simulation_configuration: str, events: Sequence[str], *, executor=None,
                wait: bool = True) -> dict[str, str]:
        """Simulate the events without stored traces; returns {event: key} of those finished."""
        configuration = self._project.simulations.get(simulation_configuration)
        keys = {event: self.key(simulation_configuration, event) for event in events}

        def task(event: str) -> Task:
            return Task(key=keys[event], event_name=event, function=simulate_event,
                        make_arguments=lambda: (self._project.simulations.get_mesh(simulation_configuration),
                                                self._project.events.get(event), configuration.event_configuration,
                                                configuration.solver_options()),
                        store=lambda traces: self.store(keys[event], simulation_configuration, event, traces),
                        is_cached=lambda: self._project.find_result("waveforms", keys[event]) is not None)

        description = f"waveforms of {simulation_configuration!r}"
        finished = self._project.runner.run(
            [task(event) for event in events], executor=executor, wait=wait, description=description,
            before_computing=lambda: self._project.simulations.prepare_to_compute(
                simulation_configuration, f"simulating the {description}", ["waveforms", "meshes"]))
        return {event: key for event, key in keys.items() if key in finished}

    def add_observed(self, name: str, event: str, traces: xr.DataArray) -> None:
        """Import observed traces of one event under ``name`` (for ``MisfitConfiguration(observed_data=name)``).

        ``traces``: finite numbers, dims ("receiver", "time"), the event's receivers (coordinate "receiver"),
        a strictly increasing "time" coordinate in s that covers the simulated time of at least one of the
        project's simulation configurations (checked again for the one a misfit is computed with).
        """
        self._project.store.add_observed(name, event, traces)

    def add_observed_segy(self, name: str, path: str | Path, *, events: str | Sequence[str] | None = None,
                          coordinate_tolerance_in_meters: float = DEFAULT_COORDINATE_TOLERANCE_IN_METERS,
                          vertical_coordinate: VerticalCoordinate = "elevation") -> list[str]:
        """Import the traces of a SEG-Y file as observed data ``name``; returns the events imported.

        Traces go to events by their source coordinates and to receivers by their group coordinates
        (``sf.io.read_segy``, which documents the headers); ``events`` restricts the candidates (default:
        all the project's events). The whole file is matched, and checked against the observed data the
        project holds under ``name``, before anything is stored: an import adds every event or none.
        """
        candidates = [self._project.events.get(event) for event in event_names(events, self._project.events.list())]
        observed = read_segy(path, candidates, coordinate_tolerance_in_meters=coordinate_tolerance_in_meters,
                             vertical_coordinate=vertical_coordinate)
        self._project.store.add_observed_events(name, observed)
        return list(observed)

    def remove_observed(self, name: str, event: str) -> None:
        """Remove one event's observed data ``name`` from the project (to import other data under that name).

        Results computed with them stay cached under the hash of their content.
        """
        self._project.store.remove_observed(name, event)

    def get_observed(self, name: str, event: str) -> xr.DataArray:
        """Observed traces of one event: imported data, or the synthetics of the simulation configuration ``name``."""
        payload = self._project.store.find_observed(name, event)
        if payload is not None:
            return self._project.store.read_observed(payload)
        return self.get(self.observed_simulation(name, event), event)

    def list_observed(self) -> list[tuple[str, str]]:
        """(name, event) pairs of the imported observed data."""
        return self._project.store.list_observed()

    def observed_key(self, misfit_configuration: MisfitConfiguration, event: str) -> str | None:
        """Content hash of a misfit configuration's observed data for one event (None without data)."""
        name = misfit_configuration.observed_data
        if name is None:
            return None
        payload = self._project.store.find_observed(name, event)
        if payload is not None:
            return combine("observed", payload["data_hash"])
        return self.key(self.observed_simulation(name, event), event)

    def observed_simulation(self, name: str, event: str) -> str:
        """``name`` if it is a simulation configuration (synthetic data); ProjectError if it names no data."""
        if name in self._project.simulations.list(include_trials=True):
            return name
        raise ProjectError(f"the project has no observed data {name!r} for event {event!r}: import it with "
                           f"p.waveforms.add_observed({name!r}, {event!r}, traces), or name a simulation "
                           f"configuration (one of {self._project.simulations.list()})")
