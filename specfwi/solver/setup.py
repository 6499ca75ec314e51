"""Everything one event needs to be time-stepped on one mesh, validated and built once."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from ..errors import invalid
from ..mesh import AbsorbingBoundaryParameters, UnstructuredMesh, derivative_matrix
from ..mesh.absorbing import FREE_SURFACE_SIDE, RECTANGLE_SIDES, resolve_absorbing_boundaries
from ..physics import AcousticCoefficients
from .absorbing_layers import LayerCoefficients, build_layer_coefficients
from .kernel_modules import kernels_for_order
from .element_blocks import ElementBlocks
from .kernel_structures import (BlockOperator, GridOperator, LayerMemory, PointInjection, Recording, SpecialNodes,
                                StaceyCorrection, StateStore, StepCoefficients, Stepping, is_round_off)
from .node_grid import NodeGrid, NodeOrder
from .point_operators import point_operator
from .resources import check_run
from .threads import kernel_threads
from .time_step import largest_eigenvalue, stability_limit_in_seconds, time_axis

if TYPE_CHECKING:  # options.py imports the adjoint, which imports this module
    from .options import SolverOptions

logger = logging.getLogger(__name__)

STEPS_PER_CALL = 64


def _side_sets(mesh: UnstructuredMesh, absorbing_boundaries, free_surface) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """(Stacey side sets, free-surface side sets, whether to damp in the mesh's layers) from the user's options
    (as SolverOptions keeps them: side-set names in a tuple).

    ``absorbing_boundaries`` (the values of specfwi.mesh.absorbing): True damps in the mesh's absorbing
    layers, with the Stacey condition on their outer sides, or, on a mesh without layers, applies the Stacey
    condition to every rectangle side that is not a free surface; an AbsorbingBoundaryParameters needs a
    mesh with layers (layers belong to the mesh); "stacey": the Stacey condition on those sides, the
    layers (if any) undamped; False: rigid walls; side-set names: the Stacey condition on those sides.
    """
    if free_surface is True:
        free = tuple(s for s in (FREE_SURFACE_SIDE,) if s in mesh.side_sets)
    elif free_surface is False:
        free = ()
    else:
        free = free_surface
        unknown = [s for s in free if s not in mesh.side_sets]
        if unknown:
            raise invalid("free_surface", free_surface, f"True, False or side-set names among {sorted(mesh.side_sets)}")
    layers = mesh.absorbing_layers
    if isinstance(absorbing_boundaries, AbsorbingBoundaryParameters) and layers is None:
        raise invalid("absorbing_boundaries", absorbing_boundaries,
                      "True, 'stacey', False or side-set names for a mesh without absorbing layers (layers belong to "
                      "the mesh: build it with sf.mesh.from_volume_model(..., absorbing_boundaries=...))")
    if layers is not None:
        on_free = [side for side in layers.widths_in_meters if side in free]
        if on_free and absorbing_boundaries not in (False, "stacey"):
            raise invalid("free_surface", free_surface, f"sides without absorbing layers (the mesh has layers on {on_free})")
    rectangle_sides = tuple(s for s in RECTANGLE_SIDES if s in mesh.side_sets and s not in free)
    if absorbing_boundaries is True or isinstance(absorbing_boundaries, AbsorbingBoundaryParameters):
        if layers is None:
            return rectangle_sides, free, False
        return tuple(s for s in rectangle_sides if s in layers.widths_in_meters), free, True
    choice = resolve_absorbing_boundaries(absorbing_boundaries, available_sides=tuple(mesh.side_sets),
                                          free_sides=free)
    if choice.stacey_sides:
        return rectangle_sides, free, False
    return choice.layer_sides, free, False  # side-set names: the Stacey condition there, as before layers


Layout = ElementBlocks | NodeGrid  # both implement kernel_structures.KernelLayout


def _apply_stiffness(kernels, layout: Layout, operator: BlockOperator | GridOperator, u: np.ndarray, dtype=np.float64) -> np.ndarray:
    """K u for a global nodal vector u, through the solver's kernels, in ``dtype`` (that of the operator)."""
    out = np.empty(len(u), dtype)
    kernels.apply_stiffness(np.ascontiguousarray(u, dtype=dtype), out, layout.result_buffer(dtype), operator)
    return out


def _in_precision(values, dtype: np.dtype):
    """A kernel argument (array, float or (named) tuple of them) with its floating-point values in ``dtype``;
    integer arrays (node numbers) unchanged."""
    if isinstance(values, tuple):
        converted = (_in_precision(value, dtype) for value in values)
        return type(values)(*converted) if hasattr(values, "_fields") else tuple(converted)
    if isinstance(values, float):
        return dtype.type(values)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return np.ascontiguousarray(values, dtype=dtype)
    return values


def _tensor_components(tensor: np.ndarray) -> list[int]:
    """Components of an (n_elements, n_gll, 3) (xi-xi, xi-eta, eta-eta) tensor that the kernels take:
    (xi-xi, eta-eta[, xi-eta]), the cross one dropped where it is round-off only (axis-aligned elements)."""
    return [0, 2] if is_round_off(tensor[:, :, 1], tensor) else [0, 2, 1]


_EIGENVALUES: dict[bytes, float] = {}  # content digest of (numbering, stiffness tensor, mass) -> lambda_max
_EIGENVALUES_KEPT = 16


def _largest_eigenvalue_once(kernels, layout: Layout, operator: BlockOperator | GridOperator, mass: np.ndarray) -> float:
    """lambda_max(M^-1 K), estimated once per process for the same operator and mass (by content).

    Several events on one mesh and model (S2's shots, repeated runs) share the estimate;
    hashing the arrays costs a few percent of the Lanczos iteration.
    """
    digest = hashlib.blake2b(digest_size=16)
    for array in (*operator, mass):
        digest.update(np.ascontiguousarray(array).data)
    key = digest.digest()
    if key not in _EIGENVALUES:
        if len(_EIGENVALUES) >= _EIGENVALUES_KEPT:
            del _EIGENVALUES[next(iter(_EIGENVALUES))]
        with kernel_threads():
            _EIGENVALUES[key] = largest_eigenvalue(lambda u: _apply_stiffness(kernels, layout, operator, u), mass)
    return _EIGENVALUES[key]


class StepFactors(NamedTuple):
    """The step's factors forward and for its adjoint (they differ at the Stacey nodes only), and the Stacey
    nodes' own (StaceyCorrection.factors)."""

    forward: StepCoefficients
    adjoint: StepCoefficients
    stacey_nodes: np.ndarray
    stacey_special_positions: np.ndarray
    stacey_factors: np.ndarray


def _step_coefficients(mass, damping, zero_order, dirichlet_mask, time_step_in_seconds, *,
                       fourth_order_damping: bool) -> StepFactors:
    """The factors of a time step (see kernels._step and StepCoefficients); the special nodes are those where
    C > 0 or mask = 0. E (the layers' zero-order term, None without layers; non-zero only where C is) enters
    averaged, E (u^{n+1} + 2 u^n + u^{n-1}) / 4: stable for any E >= 0. ``fourth_order_damping``: the damped
    nodes not held at 0 take the gyro step (StaceyCorrection; E must be None), whose factors forward at them are
    (D/D', D/(M D'), 2, 1) and for the adjoint (D/D', 1/D', (2 M' M/D + 5 dt C)/D', (M' - dt C/2 - dt C D/M)/D'),
    with D = M + dt C/2, M' = M + dt^2 C^2/(12 M), D' = M' + dt C/2."""
    dt = time_step_in_seconds
    zero_order = np.zeros_like(mass) if zero_order is None else zero_order
    diagonal = mass + 0.5 * dt * damping + 0.25 * dt**2 * zero_order
    masked_inverse = dirichlet_mask / diagonal
    nodal = np.ascontiguousarray(np.stack([dirichlet_mask / mass, masked_inverse]))
    special = np.flatnonzero((damping != 0.0) | (dirichlet_mask == 0.0)).astype(np.int64)
    run_starts = np.flatnonzero(np.diff(special, prepend=-2) != 1)
    factors = np.stack([mass * masked_inverse, masked_inverse, (2.0 * mass - 0.5 * dt**2 * zero_order) * masked_inverse,
                        (mass - 0.5 * dt * damping + 0.25 * dt**2 * zero_order) * masked_inverse])[:, special]
    run_offsets = np.append(run_starts, len(special)).astype(np.int64)
    adjoint_factors = factors.copy()
    positions = np.zeros(0, np.int64)
    if fourth_order_damping:
        positions = np.flatnonzero((damping[special] != 0.0) & (dirichlet_mask[special] != 0.0)).astype(np.int64)
    nodes = special[positions]
    m, c = mass[nodes], damping[nodes]
    d = m + 0.5 * dt * c
    m_prime = m + dt**2 / 12.0 * c**2 / m
    d_prime = m_prime + 0.5 * dt * c
    nodal[1, nodes] = 1.0 / d_prime
    factors[:, positions] = np.stack([d / d_prime, d / (m * d_prime), np.full_like(m, 2.0), np.ones_like(m)])
    adjoint_factors[:, positions] = np.stack([d / d_prime, 1.0 / d_prime, (2.0 * m_prime * m / d + 5.0 * dt * c) / d_prime,
                                              (m_prime - 0.5 * dt * c - dt * c * d / m) / d_prime])
    return StepFactors(StepCoefficients(nodal, SpecialNodes(special, run_offsets, np.ascontiguousarray(factors))),
                       StepCoefficients(nodal, SpecialNodes(special, run_offsets, np.ascontiguousarray(adjoint_factors))),
                       nodes, positions, np.ascontiguousarray(np.stack([m, c / m, 1.0 / d, 1.0 / d_prime])))


def _source_rates_at(nodes: np.ndarray, source_nodes: np.ndarray, source_weights: np.ndarray,
                     rate_series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``nodes`` that the sources touch, F_t there (n_steps + 1, n_touched)) from the sources'
    nodes and weights and their rate series (n_steps + 1, n_sources)."""
    position_of = {int(node): j for j, node in enumerate(nodes)}
    touched = sorted({position_of[int(node)] for node in source_nodes.ravel() if int(node) in position_of})
    column_of = {position: t for t, position in enumerate(touched)}
    rates = np.zeros((len(rate_series), len(touched)))
    for p, q in np.ndindex(source_nodes.shape):
        position = position_of.get(int(source_nodes[p, q]))
        if position is not None:
            rates[:, column_of[position]] += source_weights[p, q] * rate_series[:, p]
    return np.array(touched, np.int64), rates


# Where the node grid is used (a step against element blocks, one process, 2 threads, docs/solver.md):
NODE_GRID_MAX_TENSOR_ORDER = 9  # order 10: numba passes at most 100 derivative entries to a parallel region
NODE_GRID_MIN_NODES = 10_000  # below: its extra parallel region costs more than it saves (0.8-0.9 times)


def kernel_layout(mesh: UnstructuredMesh, n_tensor_components: int) -> Layout:
    """The node grid of a rectangle of axis-aligned elements where it is the faster layout, else element blocks."""
    if mesh.tensor_order <= NODE_GRID_MAX_TENSOR_ORDER and mesh.n_global_nodes >= NODE_GRID_MIN_NODES:
        grid = NodeGrid.detect(mesh, n_tensor_components)
        if grid is not None:
            return grid
    return ElementBlocks.build(mesh.global_node_index)


@dataclass
class ForwardState:
    """The state of the time stepping after a step n: u^{n-1}, u^n (nodal vectors), the absorbing layers'
    memory (specfwi.solver.absorbing_layers; shape (0, n_gll, 2) without layers) and (K u^{n-1}) at the nodes of
    the Stacey correction (StaceyCorrection.nodes' order; empty without it)."""

    previous: np.ndarray
    current: np.ndarray
    layer_memory: np.ndarray
    stacey_stiffness: np.ndarray


@dataclass
class SimulationSetup:
    """A mesh, an event and time-stepping options turned into arrays for the kernels.

    time : (n_steps + 1,) sample times in s (state n lives at time[n])
    stability_limit_in_seconds : the largest stable time step of this mesh and model
    source_nodes, source_weights : (n_sources, n_gll) injection of each source (weights include f)
    receiver_nodes, receiver_weights : (n_receivers, n_gll) interpolation at each receiver
    force_series, direct_series, rate_series : (n_steps + 1, n_sources) the wavelet F, dt^4/12 F_tt and F_t (a
        centred difference) at the sample times
    adjoint_step_coefficients : the adjoint's factors (those of the gyro step's adjoint at the Stacey nodes)
    stacey : the StaceyCorrection's constants (its scratch arrays empty; :meth:`stacey_correction`)
    layers : the absorbing layers' memory coefficients (empty without layers)
    dtype : the floating-point type of the time stepping, float64 or float32
    node_order : the order of the nodal vectors of the kernels (None: the mesh's numbering), which
        ``source_nodes``, ``receiver_nodes``, ``step_coefficients`` and stored states follow; everything
        else (``coefficients``, ``dirichlet_mask``, the states of :meth:`run_forward`, :meth:`apply_stiffness`)
        is in the mesh's numbering
    """

    mesh: UnstructuredMesh
    event: object
    coefficients: AcousticCoefficients
    kernels: object
    layout: Layout
    operator: BlockOperator | GridOperator
    layers: LayerCoefficients
    dirichlet_mask: np.ndarray
    step_coefficients: StepCoefficients
    adjoint_step_coefficients: StepCoefficients
    stacey: StaceyCorrection
    time_step_in_seconds: float
    stability_limit_in_seconds: float
    time: np.ndarray
    source_nodes: np.ndarray
    source_weights: np.ndarray
    force_series: np.ndarray
    direct_series: np.ndarray
    rate_series: np.ndarray
    receiver_nodes: np.ndarray
    receiver_weights: np.ndarray
    node_order: NodeOrder | None
    dtype: np.dtype
    progress: bool | None

    @classmethod
    def build(cls, mesh: UnstructuredMesh, event, *, wavelet, end_time_in_seconds: float,
              start_time_in_seconds: float | None = None, options: SolverOptions) -> "SimulationSetup":
        """Check everything and build the arrays; ``options`` (checked on construction) says how to step."""
        dtype, time_step_in_seconds = np.dtype(options.dtype), options.time_step_in_seconds
        if not isinstance(mesh, UnstructuredMesh):
            raise invalid("mesh", type(mesh).__name__, "an UnstructuredMesh")
        if not callable(wavelet) or not hasattr(wavelet, "second_derivative"):
            raise invalid("wavelet", wavelet, "a wavelet such as sf.Ricker(center_frequency=...)")
        if not hasattr(event, "sources") or not hasattr(event, "receivers"):
            raise invalid("event", event, "an sf.Event with sources and receivers")
        if start_time_in_seconds is None:
            start_time_in_seconds = float(wavelet.start_time_in_seconds)
        for name, value in (("start_time_in_seconds", start_time_in_seconds), ("end_time_in_seconds", end_time_in_seconds)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise invalid(name, value, "a finite time in s")
        if end_time_in_seconds <= start_time_in_seconds:
            raise invalid("end_time_in_seconds", end_time_in_seconds, f"a time > start_time_in_seconds = {start_time_in_seconds}")
        absorbing, free, with_layers = _side_sets(mesh, options.absorbing_boundaries, options.free_surface)
        source_points = np.array([[s.x, s.y] for s in event.sources], dtype=float)
        receiver_points = np.array([[r.x, r.y] for r in event.receivers], dtype=float)
        source_nodes, source_weights = point_operator(mesh, source_points, name="sources")
        receiver_nodes, receiver_weights = point_operator(mesh, receiver_points, name="receivers")
        source_weights = source_weights * np.array([s.f for s in event.sources], dtype=float)[:, None]

        coefficients = AcousticCoefficients.from_mesh(mesh, absorbing_side_sets=absorbing, with_layers=with_layers)
        check_run(mesh, event, end_time_in_seconds - start_time_in_seconds, time_step_in_seconds)
        components = _tensor_components(coefficients.stiffness_tensor)
        layout = kernel_layout(mesh, len(components))
        derivative = derivative_matrix(mesh.tensor_order)
        dirichlet_mask = np.ones(mesh.n_global_nodes)
        for side in free:
            dirichlet_mask[mesh.boundary_global_nodes(side)] = 0.0

        node_order = layout.node_order
        positions = None if node_order is None else node_order.positions
        if positions is not None:
            source_nodes, receiver_nodes = positions[source_nodes], positions[receiver_nodes]
        solver_order = (lambda values: values) if node_order is None else node_order.to_solver
        kernels = kernels_for_order(mesh.tensor_order)
        mass = solver_order(coefficients.mass)
        operator = layout.operator(coefficients.stiffness_tensor[:, :, components], derivative)
        limit = stability_limit_in_seconds(_largest_eigenvalue_once(kernels, layout, operator, mass))
        dt, n_steps = time_axis(float(start_time_in_seconds), float(end_time_in_seconds), time_step_in_seconds, limit)
        layers = build_layer_coefficients(mesh, coefficients.layer_damping, derivative, positions, dt, dtype)
        time = start_time_in_seconds + dt * np.arange(n_steps + 1)
        n_sources = len(source_points)
        force_series = np.repeat(np.asarray(wavelet(time), dtype=float)[:, None], n_sources, axis=1)
        direct_series = (dt**4 / 12.0) * np.repeat(np.asarray(wavelet.second_derivative(time), dtype=float)[:, None],
                                                    n_sources, axis=1)
        rate_series = np.repeat(((np.asarray(wavelet(time + dt), dtype=float) - np.asarray(wavelet(time - dt), dtype=float))
                                 / (2.0 * dt))[:, None], n_sources, axis=1)
        logger.info("simulation: %d elements (%d in absorbing layers), %d nodes (%s layout), dt = %.4g s (limit %.4g s), "
                    "%d steps", mesh.n_elements, layers.n_elements, mesh.n_global_nodes,
                    "node-grid" if isinstance(layout, NodeGrid) else "element-block", dt, limit, n_steps)
        zero_order = None if coefficients.zero_order is None else solver_order(coefficients.zero_order)
        # the gyro step where the damping is Stacey's only (docs/solver.md, "Time integrator")
        step_factors = _step_coefficients(mass, solver_order(coefficients.damping), zero_order,
                                          solver_order(dirichlet_mask), dt, fourth_order_damping=not with_layers)
        source_positions, source_rates = _source_rates_at(step_factors.stacey_nodes, source_nodes, source_weights,
                                                          rate_series)
        empty = np.zeros(0)
        stacey = StaceyCorrection(step_factors.stacey_nodes, step_factors.stacey_special_positions,
                                  step_factors.stacey_factors, source_positions, source_rates, np.zeros((2, 0)), empty,
                                  empty, empty)
        (operator, step_coefficients, adjoint_step_coefficients, stacey, source_weights, force_series, direct_series,
         rate_series, receiver_weights) = _in_precision(
            (operator, step_factors.forward, step_factors.adjoint, stacey, source_weights, force_series, direct_series,
             rate_series, receiver_weights), dtype)
        return cls(mesh, event, coefficients, kernels, layout, operator, layers, dirichlet_mask,
                   step_coefficients, adjoint_step_coefficients, stacey, dt, limit, time, source_nodes, source_weights,
                   force_series, direct_series, rate_series, receiver_nodes, receiver_weights, node_order, dtype,
                   options.progress)

    @property
    def n_steps(self) -> int:
        return len(self.time) - 1

    @property
    def n_global_nodes(self) -> int:
        return self.mesh.n_global_nodes

    def kernel_components(self, tensor: np.ndarray) -> np.ndarray:
        """The components of an (n_elements, n_gll, 3) tensor that the kernels take (those of the stiffness)."""
        return tensor[:, :, _tensor_components(self.coefficients.stiffness_tensor)]

    def to_solver_order(self, values: np.ndarray) -> np.ndarray:
        """A nodal vector (or the rows of an array) of the mesh's numbering in the kernels' node order (a new array)."""
        if self.node_order is None:
            return np.array(values, dtype=self.dtype)
        return self.node_order.to_solver(values, self.dtype)

    def to_mesh_order(self, values: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_solver_order` (a new array)."""
        return np.array(values) if self.node_order is None else self.node_order.to_mesh(values)

    def apply_stiffness(self, u: np.ndarray) -> np.ndarray:
        """K u for a global nodal vector u (the mesh's numbering), in the setup's dtype."""
        return self.to_mesh_order(_apply_stiffness(self.kernels, self.layout, self.operator, self.to_solver_order(u),
                                                   self.dtype))

    def progress_bar(self, total: int, description: str):
        """A tqdm bar over time steps, shown after 1 s unless progress is False (True: always)."""
        return tqdm(total=total, desc=description, unit="step", disable=self.progress is False,
                    delay=0.0 if self.progress else 1.0, leave=False)

    def run_forward(self, *, state: "ForwardState | None" = None, **options) -> "ForwardState":
        """Steps first_step .. last_step - 1 from ``state`` (rest by default), in the mesh's numbering; returns the
        state after them in that numbering. Options as :meth:`run_forward_in_solver_order`."""
        if state is not None:
            state = ForwardState(self.to_solver_order(state.previous), self.to_solver_order(state.current),
                                 state.layer_memory, state.stacey_stiffness)
        reached = self.run_forward_in_solver_order(state=state, **options)
        return ForwardState(self.to_mesh_order(reached.previous), self.to_mesh_order(reached.current),
                            reached.layer_memory, reached.stacey_stiffness)

    def run_forward_in_solver_order(self, *, traces: np.ndarray | None = None, first_step: int = 0,
                                    last_step: int | None = None, state: "ForwardState | None" = None,
                                    stored_states=None, stored_residuals=None, stored_forcings=None,
                                    first_stored_step: int = 0, description: str = "forward",
                                    work: np.ndarray | None = None, work_forcing: np.ndarray | None = None
                                    ) -> "ForwardState":
        """:meth:`run_forward` with the states in and out in the kernels' node order (no permutation: the
        adjoint's checkpoints stay in that order). ``state`` is copied, never written.

        ``traces`` (n_receivers, n_steps + 1), if given, receives the receiver samples of the new
        states. ``stored_states`` / ``stored_residuals`` follow the layout of the kernels'
        ``forward_steps``, and so do ``stored_forcings`` (n_rows, n_stacey) (with stored states); the rows of
        u^{first-1} and u^first are filled here. The returned arrays may be rows of ``stored_states``. ``work``
        ((1, n_nodes), optional) receives the scaled residual y^{last-1} of the last step when nothing is stored,
        and ``work_forcing`` ((n_stacey,), optional) its F_t - g at the Stacey nodes.
        """
        last_step = self.n_steps if last_step is None else last_step
        if not 0 <= first_step <= last_step <= self.n_steps:  # the kernels do not check their indices
            raise invalid("(first_step, last_step)", (first_step, last_step),
                          f"0 <= first_step <= last_step <= n_steps = {self.n_steps}")
        n = self.n_global_nodes
        stacey = self.stacey_correction(work_forcing)
        if state is None:
            previous, current, memory = np.zeros(n, self.dtype), np.zeros(n, self.dtype), self.layers.zero_memory()
        else:
            previous, current = np.array(state.previous, self.dtype), np.array(state.current, self.dtype)
            memory = np.array(state.layer_memory, self.dtype)
            stacey.stiffness[0] = state.stacey_stiffness
        following = np.zeros(n, self.dtype)
        work = np.zeros((1, n), self.dtype) if work is None else work
        local = self.layout.result_buffer(self.dtype)
        traces = np.zeros((len(self.receiver_nodes), 0)) if traces is None else traces
        empty = np.zeros((0, 0), self.dtype)
        stored_states = empty if stored_states is None else stored_states
        stored_residuals = empty if stored_residuals is None else stored_residuals
        stored_forcings = empty if stored_forcings is None else stored_forcings
        if len(stored_states):
            row = first_step + 1 - first_stored_step  # the row of u^first_step
            stored_states[row - 1], stored_states[row] = previous, current
        stepping = self.stepping(local)
        sources = PointInjection(self.source_nodes, self.source_weights, self.force_series, self.direct_series)
        recording = Recording(self.receiver_nodes, self.receiver_weights, traces)
        store = StateStore(stored_states, stored_residuals, stored_forcings, first_stored_step)
        layer_memory = LayerMemory(self.layers.operator, memory, self.layers.drive, self.layers.force)
        with self.progress_bar(last_step - first_step, description) as bar, kernel_threads() as threads:
            for start in range(first_step, last_step, STEPS_PER_CALL):
                stop = min(start + STEPS_PER_CALL, last_step)
                threads.recheck()
                previous, current, following = self.kernels.forward_steps(
                    start, stop, previous, current, following, work, stepping, sources, recording, store,
                    layer_memory, stacey)
                bar.update(stop - start)
        return ForwardState(previous, current, memory, stacey.stiffness[0].copy())

    def stepping(self, local: np.ndarray, *, adjoint: bool = False) -> Stepping:
        """The kernels' Stepping, with ``local`` (the layout's result_buffer()) as the products' buffer; with the
        adjoint's factors if ``adjoint``."""
        coefficients = self.adjoint_step_coefficients if adjoint else self.step_coefficients
        return Stepping(self.operator, local, coefficients, self.dtype.type(self.time_step_in_seconds))

    def stacey_correction(self, forcing: np.ndarray | None = None) -> StaceyCorrection:
        """The kernels' StaceyCorrection of one run: the constants with fresh scratch (stiffness zero: at rest)
        and ``forcing`` ((n_stacey,), optional) as the forcing of the last step."""
        n_stacey, n_special = len(self.stacey.nodes), len(self.step_coefficients.special.nodes)
        forcing = np.zeros(n_stacey, self.dtype) if forcing is None else forcing
        return self.stacey._replace(stiffness=np.zeros((2, n_stacey), self.dtype), forcing=forcing,
                                    saved=np.zeros(n_stacey, self.dtype),
                                    special_values=np.zeros(n_special if n_stacey else 0, self.dtype))

    def record_traces(self) -> np.ndarray:
        """Run the whole forward simulation; receiver samples (n_receivers, n_steps + 1)."""
        traces = np.zeros((len(self.receiver_nodes), self.n_steps + 1))
        self.run_forward_in_solver_order(traces=traces)
        return traces
