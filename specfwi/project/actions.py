"""Actions of a project: ``p.actions.inversion.compute_misfits`` and ``compute_gradients``.

Results are cached under the content hash of their inputs (mesh, event, simulation
and misfit configurations, observed data, result schema version): a second call
reads them back and logs so, without computing. With observed data from another
simulation configuration, those synthetics are computed (and cached) first.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .accessors import event_names
from .configurations import MisfitConfiguration
from .hashing import combine
from ..solver.compression import WavefieldCompression
from ..solver.time_step import time_axis
from .jobs import GradientOutput, compute_event_gradient
from .observed import check_time_coverage, event_misfit
from .registry import ResultRecord
from .storage import staged_files
from .tasks import Task

if TYPE_CHECKING:
    from .project import Project

logger = logging.getLogger(__name__)


def _misfit_content(misfit_configuration: MisfitConfiguration) -> dict:
    return {key: value for key, value in misfit_configuration.to_dict().items() if key != "name"}


class InversionActions:
    """Misfits and raw gradients of events, per simulation and misfit configuration."""

    def __init__(self, project: Project):
        self._project = project

    def result_key(self, action: str, simulation_configuration: str, misfit_configuration: MisfitConfiguration,
                   event: str) -> str:
        """Content hash of the inputs of one event's ``action`` ("misfit" or "gradient")."""
        return combine(action, self._project.waveforms.key(simulation_configuration, event),
                       _misfit_content(misfit_configuration),
                       self._project.waveforms.observed_key(misfit_configuration, event))

    def _observed_ready(self, simulation_configuration: str, misfit_configuration: MisfitConfiguration,
                        events: list[str], executor, wait: bool) -> list[str]:
        """Events whose observed data are available (synthetic data are computed first where needed).

        Imported data must cover the simulated time: checked here, before any simulation.
        """
        name = misfit_configuration.observed_data
        if name is None:
            return events
        start, end = self._project.simulations.get(simulation_configuration).event_configuration \
            .simulated_time_range_in_seconds
        for event in events:
            if self._project.store.find_observed(name, event) is not None:
                check_time_coverage(self._observed(misfit_configuration, event)["time"].values, start, end,
                                    description=f"{simulation_configuration!r} with observed data {name!r} of "
                                                f"event {event!r}")
        synthetic = [event for event in events if self._project.store.find_observed(name, event) is None]
        for event in synthetic:
            self._project.waveforms.observed_simulation(name, event)
        finished = self._project.waveforms.compute(name, synthetic, executor=executor, wait=wait) if synthetic else {}
        return [event for event in events if event not in synthetic or event in finished]

    def _check_processing_before_simulating(self, simulation_configuration: str,
                                            misfit_configuration: MisfitConfiguration, events: list[str]) -> None:
        """Check what the misfit configuration does to the traces before any simulation: the mute leaves each
        event a receiver; with an explicit time step the synthetics' time axis is known, so the band-pass is
        checked against it (Nyquist frequency, length) now. An automatic step depends on the mesh and the
        model, so the band is then checked when the traces are compared."""
        simulation = self._project.simulations.get(simulation_configuration)
        start, end = simulation.event_configuration.simulated_time_range_in_seconds
        if misfit_configuration.mute is not None:
            for event in events:
                misfit_configuration.mute.windows(self._project.events.get(event), end)
        bandpass = misfit_configuration.bandpass
        time_step = simulation.solver_options().time_step_in_seconds
        if bandpass is None or time_step is None:
            return
        _, n_steps = time_axis(start, end, time_step, stability_limit=math.inf)
        bandpass.check_time_axis(start + time_step * np.arange(n_steps + 1))

    def _observed(self, misfit_configuration: MisfitConfiguration, event: str):
        name = misfit_configuration.observed_data
        return None if name is None else self._project.waveforms.get_observed(name, event)

    def compute_misfits(self, simulation_configuration: str, misfit_configuration: str,
                        events: str | Sequence[str] | None = None, *, executor=None,
                        wait: bool = True) -> dict[str, float]:
        """Misfit of each event: {event name: value}.

        Synthetics come from the project's waveforms (simulated where missing, with
        ``executor``); with ``wait=False`` only the events finished so far are returned.
        """
        configuration = self._project.store.get_misfit_configuration(misfit_configuration)
        events = event_names(events, self._project.events.list())
        keys = {event: self.result_key("misfit", simulation_configuration, configuration, event) for event in events}
        values = {}
        for event, key in keys.items():
            record = self._project.find_result("misfit", key)
            if record is not None:
                values[event] = record.value
        if values:
            logger.info("Reusing cached misfits of %d event(s): %s.", len(values), ", ".join(values))
        missing = [event for event in events if event not in values]
        if missing:
            self._project.require_writable(f"computing the misfits of {simulation_configuration!r} with "
                                           f"{misfit_configuration!r}", "waveforms", "meshes")
            self._check_processing_before_simulating(simulation_configuration, configuration, missing)
        ready = (self._observed_ready(simulation_configuration, configuration, missing, executor, wait) if missing
                 else [])
        synthetics = self._project.waveforms.compute(simulation_configuration, ready, executor=executor,
                                                     wait=wait) if ready else {}
        event_configuration = self._project.simulations.get(simulation_configuration).event_configuration
        for event, waveform_key in synthetics.items():
            misfit = event_misfit(configuration, self._observed(configuration, event), self._project.events.get(event),
                                  event_configuration)
            value, _ = misfit(self._project.waveforms.read(waveform_key))
            self._project.add_result(ResultRecord("misfit", keys[event], simulation_configuration,
                                                  misfit_configuration, event, None, float(value)))
            values[event] = float(value)
        return {event: values[event] for event in events if event in values}

    def compute_gradients(self, simulation_configuration: str, misfit_configuration: str,
                          events: str | Sequence[str] | None = None, *, executor=None,
                          wait: bool = True, wavefield_compression: WavefieldCompression | None = None
                          ) -> dict[str, str]:
        """Raw gradient of each event: {event name: path of its HDF5 file}.

        The file is an UnstructuredMesh (``sf.UnstructuredMesh.from_h5``) with element-nodal
        fields "VP" and "RHO": the derivative of the event's misfit with respect to the
        element-nodal values of the simulation mesh's VP and RHO. ``executor``: None (this
        process) or an object with ``submit`` such as a ``dask.distributed.Client``; with
        ``wait=False`` the call returns the events finished so far and leaves the others running.
        ``wavefield_compression``: None (exact gradients) or an ``sf.WavefieldCompression`` (approximate
        gradients, cached under their own keys).
        """
        configuration = self._project.store.get_misfit_configuration(misfit_configuration)
        events = event_names(events, self._project.events.list())
        self._check_processing_before_simulating(simulation_configuration, configuration, events)
        ready = self._observed_ready(simulation_configuration, configuration, events, executor, wait)
        keys = {event: self.result_key("gradient", simulation_configuration, configuration, event) for event in ready}
        simulation = self._project.simulations.get(simulation_configuration)
        solver_options = simulation.solver_options()
        if wavefield_compression is not None:
            interval = wavefield_compression.forward_wavefield_sampling_interval
            keys = {event: combine(key, {"forward_wavefield_sampling_interval": interval})
                    for event, key in keys.items()}
            solver_options = replace(solver_options, wavefield_compression=wavefield_compression)

        def task(event: str) -> Task:
            return Task(key=keys[event], event_name=event, function=compute_event_gradient,
                        make_arguments=lambda: (self._project.simulations.get_mesh(simulation_configuration),
                                                self._project.events.get(event),
                                                simulation.event_configuration, solver_options,
                                                configuration, self._observed(configuration, event)),
                        store=lambda output: self._store_gradient(output, simulation_configuration, configuration,
                                                                  event, keys[event]),
                        is_cached=lambda: self._project.find_result("gradient", keys[event]) is not None)

        description = f"gradients of {simulation_configuration!r} with {misfit_configuration!r}"
        finished = self._project.runner.run(
            [task(event) for event in ready], executor=executor, wait=wait, description=description,
            before_computing=lambda: self._project.simulations.prepare_to_compute(
                simulation_configuration, f"computing the {description}", ["gradients", "waveforms", "meshes"],
                gradient=True))
        return {event: str(self._project.path / self._project.find_result("gradient", keys[event]).path)
                for event in ready if keys[event] in finished}

    def _store_gradient(self, output: GradientOutput, simulation_configuration: str,
                        misfit_configuration: MisfitConfiguration, event: str, key: str) -> None:
        """Write the raw gradient file, then register it with its misfit value and traces."""
        gradient = self._project.simulations.get_mesh(simulation_configuration)
        gradient.element_nodal_fields.clear()
        for parameter, values in output.gradient_fields.items():
            gradient.attach_field(parameter, values)
        relative_path = f"gradients/{key}.h5"
        with staged_files(self._project.path / "gradients") as staging:
            gradient.write_h5(staging / f"{key}.h5")
        names = (simulation_configuration, misfit_configuration.name, event)
        waveform_key = self._project.waveforms.key(simulation_configuration, event)
        if self._project.find_result("waveforms", waveform_key) is None:
            self._project.waveforms.store(waveform_key, simulation_configuration, event, output.traces)
        self._project.add_result(ResultRecord(
            "misfit", self.result_key("misfit", simulation_configuration, misfit_configuration, event), *names, None,
            output.misfit))
        self._project.add_result(ResultRecord("gradient", key, *names, relative_path, output.misfit))


class Actions:
    """Namespace of the project's actions (``p.actions.inversion``)."""

    def __init__(self, project: Project):
        self.inversion = InversionActions(project)
