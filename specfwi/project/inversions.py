"""``p.inversions``: running inverse problems of the project and reading their history.

One evaluation of a trial (an inversion-space vector x):

1. map x to simulation space (per event when the Mapping has cutouts, else once): a model mesh;
2. register it as an UnstructuredMeshSimulationConfiguration named ``<inversion>:trial:<content hash>``
   with the event configuration and boundaries of the inversion's simulation configuration, so that
   its waveforms, misfits and gradients are cached like any result (the same model is never
   simulated twice, in this inversion or another);
3. compute the events' misfits and raw gradients with ``p.actions.inversion.compute_gradients``
   (executors as for any action);
4. apply the Mapping's adjoint per event (at x) and sum: the inversion-space gradient;
5. give misfit and gradient to the optimiser (the preconditioner is its initial inverse Hessian);
6. store the evaluation and the optimiser's new state atomically (:mod:`.inversion_history`).

Every step is a function of stored results, so an interrupted run continues, from the last stored
state, to the same models.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from ..errors import ProjectError, invalid
from ..inversion import Bounds, OptimizerState
from ..mapping import InversionModel, Mapping
from ..mapping.geometry import same_geometry
from ..mapping.transfer import mesh_to_mesh
from ..mesh import UnstructuredMesh
from ..parameters import PARAMETERS
from .configurations import UnstructuredMeshSimulationConfiguration
from .entities import INVERSE_PROBLEM_CONFIGURATION, TRIAL_MARK
from .hashing import hash_mesh
from .inverse_problem import InverseProblemConfiguration
from .inversion_history import Evaluation, InversionHistory

if TYPE_CHECKING:
    from .project import Project

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class InversionStatus:
    """Where an inversion stands.

    n_completed_iterations : accepted steps stored (the prior's evaluation is iteration 0);
    n_requested_iterations : iterations asked for (``add_iteration``, ``iterate``);
    n_evaluations : misfit+gradient evaluations stored; misfit : the current model's (None before the prior's);
    state : "not started", "running", "waiting" (for executors), "complete" or "stopped"; message : why it stopped.
    """

    name: str
    n_completed_iterations: int
    n_requested_iterations: int
    n_evaluations: int
    misfit: float | None
    state: str
    message: str = ""


@dataclass
class _Context:
    """What an inversion needs besides its history, rebuilt identically in every process."""

    configuration: InverseProblemConfiguration
    simulation_configuration: str
    prior: UnstructuredMesh
    template: InversionModel
    bounds: Bounds
    precondition: Callable[[np.ndarray], np.ndarray]
    history: InversionHistory


def _has_cutouts(mapping: Mapping) -> bool:
    return (mapping.source_cutout_radius_in_meters is not None
            or mapping.receiver_cutout_radius_in_meters is not None)


def transfer_model(model: UnstructuredMesh, target: UnstructuredMesh) -> UnstructuredMesh:
    """VP and RHO of ``model`` on the mesh of ``target`` (Lagrange interpolation; a copy of ``target``)."""
    result = target.copy()
    if same_geometry(model, target):
        matrix = None
    else:
        matrix = mesh_to_mesh(model, target, name="nodes of the simulation mesh in the prior model")
    for parameter in PARAMETERS:
        values = model.element_nodal_fields[parameter]
        result.attach_field(parameter, values.copy() if matrix is None else
                            (matrix @ values.ravel()).reshape(target.n_elements, target.n_gll))
    return result


class InversionsAccessor:
    """The inversions of the project, one per InverseProblemConfiguration (see docs/inversion.md)."""

    def __init__(self, project: Project):
        self._project = project
        self._contexts: dict[str, _Context] = {}

    # ------------------------------------------------------------------ set-up
    def list(self) -> list[str]:
        """Names of the inverse problem configurations, in the order they were added."""
        return self._project.registry.list_entities(INVERSE_PROBLEM_CONFIGURATION)

    def get(self, inverse_problem_configuration: str) -> InverseProblemConfiguration:
        return self._project.store.get_inverse_problem_configuration(inverse_problem_configuration)

    def _context(self, name: str) -> _Context:
        configuration = self.get(name)
        cached = self._contexts.get(name)
        if cached is not None and cached.configuration is configuration:
            return cached
        simulation, prior = self._prior(configuration)
        mapping = configuration.mapping
        template = mapping.map_to_inversion(prior, prior)
        context = _Context(configuration, simulation, prior, template, self._bounds(configuration, prior, template),
                           self._preconditioner(configuration, prior, template),
                           InversionHistory(self._project.path, name, configuration.to_dict()))
        self._contexts[name] = context
        return context

    def _prior(self, configuration: InverseProblemConfiguration) -> tuple[str, UnstructuredMesh]:
        """(simulation configuration name, prior model on its mesh)."""
        prior_model = configuration.prior_model
        if isinstance(prior_model, str):
            simulation = configuration.simulation_configuration or prior_model
            model = self._project.simulations.get_mesh(prior_model)
        else:
            source, iteration = prior_model
            if source not in self.list():
                raise invalid("prior_model", prior_model, f"(inversion, iteration) of an inversion of the project "
                              f"{self.list()}")
            simulation = configuration.simulation_configuration or self._context(source).simulation_configuration
            model = self.get_model(source, iteration)
        return simulation, transfer_model(model, self._project.simulations.get_mesh(simulation))

    @staticmethod
    def _bounds(configuration: InverseProblemConfiguration, prior: UnstructuredMesh,
                template: InversionModel) -> Bounds:
        """Simulation-space bounds as inversion-space bounds: map_to_inversion of a model at the bound
        (exact at every dof on the simulation mesh; at the inversion dofs on another discretization)."""
        mapping = configuration.mapping
        lower, upper = {}, {}
        for parameter in template.parameters:
            if parameter not in configuration.bounds:
                lower[parameter] = np.full(template.n_dofs_per_parameter, -np.inf)
                upper[parameter] = np.full(template.n_dofs_per_parameter, np.inf)
                continue
            for side, value in zip((lower, upper), configuration.bounds[parameter]):
                model = prior.copy()
                model.attach_field(parameter, np.full((prior.n_elements, prior.n_gll), value))
                side[parameter] = mapping.map_to_inversion(model, prior).values(parameter)
        return Bounds(template.with_values(lower).to_vector(), template.with_values(upper).to_vector())

    @staticmethod
    def _preconditioner(configuration: InverseProblemConfiguration, prior: UnstructuredMesh,
                        template: InversionModel) -> Callable[[np.ndarray], np.ndarray]:
        smoothing = configuration.preconditioner
        if smoothing is None:
            return lambda vector: vector
        return lambda vector: smoothing.precondition(template.from_vector(vector), prior=prior).to_vector()

    # ------------------------------------------------------------------ running
    def add_iteration(self, inverse_problem_configuration: str) -> int:
        """Ask for one more iteration than are complete (if not asked already); returns its number."""
        context = self._context(inverse_problem_configuration)
        state = context.history.latest_state()
        completed = 0 if state is None else state.iteration
        return context.history.request_iterations(completed + 1)

    def resume(self, inverse_problem_configuration: str, *, wait: bool = True, executor=None) -> InversionStatus:
        """Do the work of the iterations asked for (at least the prior's evaluation) and return.

        With ``wait=False`` it returns as soon as it must wait for an executor (or a background
        thread); call it again to continue. ``executor`` overrides the configuration's.
        """
        return self._advance(inverse_problem_configuration, wait=wait, executor=executor)

    def iterate(self, inverse_problem_configuration: str, n_iterations: int, *, executor=None) -> InversionStatus:
        """Continue until ``n_iterations`` iterations are complete in total (nothing if they are).

        Shows a progress bar (iteration, misfit, step); returns early only if the optimiser stops.
        """
        if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) or n_iterations < 0:
            raise invalid("n_iterations", n_iterations, "an integer >= 0")
        context = self._context(inverse_problem_configuration)
        context.history.request_iterations(int(n_iterations))
        initial = self.status(inverse_problem_configuration).n_completed_iterations
        with tqdm(total=int(n_iterations), initial=min(initial, int(n_iterations)), unit="iteration",
                  desc=f"inversion {inverse_problem_configuration!r}", disable=None) as bar:
            def report(state: OptimizerState) -> None:
                bar.n = min(state.iteration, int(n_iterations))
                bar.set_postfix(misfit=f"{state.misfit:.4g}", step=f"{state.last_step_linf:.3g}")
            return self._advance(inverse_problem_configuration, wait=True, executor=executor, on_iteration=report)

    def _advance(self, name: str, *, wait: bool, executor, on_iteration=None) -> InversionStatus:
        context = self._context(name)
        method = context.configuration.method
        executor = executor if executor is not None else context.configuration.executor
        with context.history.lock():
            state = context.history.latest_state()
            if state is None:
                state = method.start(context.template.to_vector(), bounds=context.bounds)
            target = context.history.n_requested_iterations
            while state.status == "running" and (state.n_evaluations == 0 or state.iteration < target):
                trial = method.propose(state)
                evaluated = self._evaluate(context, trial, executor=executor, wait=wait)
                if evaluated is None:
                    return self.status(name, waiting=True)
                event_misfits, gradient = evaluated
                new_state = method.update(state, float(sum(event_misfits.values())), gradient,
                                          bounds=context.bounds, precondition=context.precondition)
                first = state.n_evaluations == 0
                accepted = first or new_state.iteration > state.iteration
                outcome = "prior" if first else ("accepted" if accepted else "rejected")
                model = (context.configuration.mapping.map_to_simulation(
                    context.template.from_vector(new_state.x), context.prior) if accepted else None)
                context.history.store(Evaluation(trial, event_misfits, gradient, context.precondition(gradient),
                                                 new_state, outcome, float(np.max(np.abs(trial - state.x)))), model)
                logger.info("Inversion %r, evaluation %d: misfit %.6g (%s); %d iteration(s) complete.", name,
                            new_state.n_evaluations - 1, sum(event_misfits.values()), outcome, new_state.iteration)
                if new_state.status != "running":
                    logger.warning("Inversion %r stopped: %s", name, new_state.message)
                state = new_state
                if accepted and on_iteration is not None:
                    on_iteration(state)
        return self.status(name)

    def _evaluate(self, context: _Context, trial: np.ndarray, *, executor, wait: bool
                  ) -> tuple[dict[str, float], np.ndarray] | None:
        """Misfit per event and the summed inversion-space gradient of a trial; None while not finished."""
        configuration = context.configuration
        mapping = configuration.mapping
        x = context.template.from_vector(trial)
        events = {name: self._project.events.get(name) for name in configuration.events}
        per_event = _has_cutouts(mapping)
        simulations: dict[str, str] = {}
        shared = None if per_event else self._register_trial(context, mapping.map_to_simulation(x, context.prior))
        for name, event in events.items():
            simulations[name] = shared or self._register_trial(context, mapping.map_to_simulation(
                x, context.prior, event))
        groups: dict[str, list[str]] = {}
        for name, simulation in simulations.items():
            groups.setdefault(simulation, []).append(name)
        actions = self._project.actions.inversion
        passes = [wait] if executor is None else [False, wait]  # with an executor: submit all, then collect
        finished: dict[str, str] = {}
        for wait_now in passes:
            for simulation, names in groups.items():
                finished.update(actions.compute_gradients(
                    simulation, configuration.misfit_configuration, names, executor=executor, wait=wait_now,
                    wavefield_compression=configuration.wavefield_compression))
        if len(finished) < len(events):
            return None
        misfits, gradient = {}, np.zeros(context.template.n_dofs)
        for simulation, names in groups.items():
            misfits.update(actions.compute_misfits(simulation, configuration.misfit_configuration, names))
        for name, event in events.items():
            raw = UnstructuredMesh.from_h5(finished[name])
            gradient += mapping.adjoint(raw, context.prior, event if per_event else None, x=x).to_vector()
        return {name: misfits[name] for name in events}, gradient

    def _register_trial(self, context: _Context, model: UnstructuredMesh) -> str:
        """Register a trial model as a simulation configuration named by its content; returns the name."""
        simulation = self._project.simulations.get(context.simulation_configuration)
        name = f"{context.configuration.name}{TRIAL_MARK}{hash_mesh(model)[:24]}"
        self._project += UnstructuredMeshSimulationConfiguration(
            name, model, simulation.event_configuration, absorbing_boundaries=simulation.absorbing_boundaries,
            free_surface=simulation.free_surface)
        return name

    # ------------------------------------------------------------------ inspection
    def status(self, inverse_problem_configuration: str, *, waiting: bool = False) -> InversionStatus:
        """Where the inversion stands (see InversionStatus)."""
        history = self._context(inverse_problem_configuration).history
        state = history.latest_state()
        requested = history.n_requested_iterations
        if state is None:
            return InversionStatus(inverse_problem_configuration, 0, requested, 0, None,
                                   "waiting" if waiting else "not started")
        label = ("waiting" if waiting else "stopped" if state.status != "running"
                 else "complete" if state.iteration >= requested else "running")
        return InversionStatus(inverse_problem_configuration, state.iteration, requested, state.n_evaluations,
                               state.misfit, label, state.message)

    def _record(self, name: str, iteration: int):
        if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)) or iteration < 0:
            raise invalid("iteration", iteration, "an integer >= 0 (0 is the prior)")
        record = self._context(name).history.iteration(int(iteration))
        if record is None:
            completed = len(self._context(name).history.iterations())
            raise ProjectError(f"inversion {name!r} has no iteration {iteration} yet ({completed} stored, counting "
                               f"the prior); run p.inversions.iterate({name!r}, n_iterations={iteration})")
        return record

    def get_model(self, inverse_problem_configuration: str, iteration: int) -> UnstructuredMesh:
        """The simulation model of an iteration (0: the prior): a mesh with VP (m/s) and RHO (kg/m^3).

        Cutouts of the Mapping are event-dependent and not applied here (the region of interest is).
        """
        context = self._context(inverse_problem_configuration)
        record = self._record(inverse_problem_configuration, iteration)
        return UnstructuredMesh.from_h5(context.history.folder / record.model_file)

    def get_gradient(self, inverse_problem_configuration: str, iteration: int) -> InversionModel:
        """The preconditioned inversion-space gradient at an iteration's model (summed over events)."""
        context = self._context(inverse_problem_configuration)
        record = self._record(inverse_problem_configuration, iteration)
        return context.template.from_vector(context.history.read_vector(record.evaluation,
                                                                        "preconditioned_gradient"))

    def misfits(self, inverse_problem_configuration: str) -> xr.DataArray:
        """Misfit of every event at every iteration's model: dims ("iteration", "event")."""
        context = self._context(inverse_problem_configuration)
        records = context.history.iterations()
        events = list(context.configuration.events)
        values = np.array([[context.history.event_misfits(record.evaluation)[event] for event in events]
                           for record in records]).reshape(len(records), len(events))
        return xr.DataArray(values, dims=("iteration", "event"), name="misfit",
                            coords={"iteration": [record.iteration for record in records], "event": events})

    def evaluations(self, inverse_problem_configuration: str) -> list[dict]:
        """Every evaluation (trial) with its outcome: rows of the history's ``evaluations`` table."""
        return self._context(inverse_problem_configuration).history.evaluations()
