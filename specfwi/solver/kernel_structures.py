"""The named structures that the kernels take (numba types them as named tuples).

Their classes live here, outside :mod:`specfwi.solver.kernels`, because the solver compiles a copy of
that module per tensor order: a structure defined in it would be another class in every copy.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np


CROSS_TERM_ROUND_OFF = 1e-12  # relative size below which cross terms are round-off of axis-aligned elements


def is_round_off(cross_terms: np.ndarray, scale: np.ndarray) -> bool:
    """Whether ``cross_terms`` (of a tensor or inverse Jacobian) are round-off of axis-aligned elements:
    at most CROSS_TERM_ROUND_OFF times the largest entry of ``scale``, so that the kernels may drop them."""
    return bool(np.abs(cross_terms).max(initial=0.0) <= CROSS_TERM_ROUND_OFF * np.abs(scale).max(initial=0.0))


class BlockOperator(NamedTuple):
    """The stiffness on element blocks (:class:`specfwi.solver.element_blocks.ElementBlocks`)."""

    node_blocks: np.ndarray
    tensor_blocks: np.ndarray
    derivative: np.ndarray
    node_slots: np.ndarray
    extra_nodes: np.ndarray
    extra_slot_offsets: np.ndarray
    extra_slots: np.ndarray


class GridOperator(NamedTuple):
    """The stiffness on a node grid (:class:`specfwi.solver.node_grid.NodeGrid`): the coefficients along the
    outer and the inner axis and the derivative matrix's entries row by row."""

    coefficient_outer: np.ndarray
    coefficient_inner: np.ndarray
    entries: tuple


class SpecialNodes(NamedTuple):
    """The nodes with their own step factors: those with damping or held at 0 (built by
    setup._step_coefficients).

    nodes : (n_special,) int64, sorted
    run_offsets : (n_runs + 1,) int64: run r is nodes[run_offsets[r]:run_offsets[r + 1]], consecutive node
        numbers, so that the kernels update a run as one vectorisable loop
    factors : (4, n_special) M mask/D, mask/D, (2 M - dt^2 E/2) mask/D, (M - dt C/2 + dt^2 E/4) mask/D
    """

    nodes: np.ndarray
    run_offsets: np.ndarray
    factors: np.ndarray


class StepCoefficients(NamedTuple):
    """The factors of a time step (kernels._step; built by setup._step_coefficients).

    nodal : (2, n_nodes) mask / M and mask / D, D = M + dt C / 2 + dt^2 E / 4 (mask: 0 on a free surface)
    special : the SpecialNodes and their factors
    """

    nodal: np.ndarray
    special: SpecialNodes


class Finish(NamedTuple):
    """What a stiffness product makes of each node's (K u) where it is computed (kernels._finish_range).

    mode : STORE (out = K u), RESIDUAL (second = -coefficient K u) or UPDATE (out = the next state)
    out, second, coefficient, current, previous : nodal vectors (any of the right type where unused)
    special_nodes, special_run_offsets, special_factors : the fields of SpecialNodes (flat: numba's
        parallel regions take no tuple inside a tuple)
    current, previous : nodal vectors (UPDATE)
    dt2, dt4_12 : dt^2 and dt^4 / 12
    special_values : (n_special,) UPDATE keeps (K u) of the special nodes there; empty: kept nowhere (STORE and
        RESIDUAL: any array)
    """

    mode: int
    out: np.ndarray
    second: np.ndarray
    coefficient: np.ndarray
    special_nodes: np.ndarray
    special_run_offsets: np.ndarray
    special_factors: np.ndarray
    current: np.ndarray
    previous: np.ndarray
    dt2: float
    dt4_12: float
    special_values: np.ndarray


class Stepping(NamedTuple):
    """What every time step applies (kernels._step).

    operator : the layout's operator() (BlockOperator or GridOperator)
    local : the layout's result_buffer()
    step_coefficients : StepCoefficients
    time_step : dt in seconds, of the stepping's type
    """

    operator: BlockOperator | GridOperator
    local: np.ndarray
    step_coefficients: StepCoefficients
    time_step: float


class PointInjection(NamedTuple):
    """Point forces of the steps: the sources forward, the adjoint sources at the receivers backward.

    nodes, weights : (n_points, n_gll) each point's nodes and interpolation weights
    force_series : (n_steps + 1, n_points) added to y = M^-1 r (scaled by mask / M)
    direct_series : (n_steps + 1, n_points) added to the new state (scaled by mask / D)
    """

    nodes: np.ndarray
    weights: np.ndarray
    force_series: np.ndarray
    direct_series: np.ndarray


class Recording(NamedTuple):
    """Receiver samples of the forward steps: traces[r, n + 1] = sum_q weights[r, q] u^{n+1}[nodes[r, q]]
    when ``traces`` (n_receivers, n_steps + 1) has columns."""

    nodes: np.ndarray
    weights: np.ndarray
    traces: np.ndarray


class StateStore(NamedTuple):
    """The forward states kept for the adjoint: states[n + 1 - first_step] = u^n,
    residuals[n - first_step] = y^n = (F^n - K u^n) / M (a^n at the Stacey nodes of a StaceyCorrection)
    and forcings[n - first_step] = F_t^n - (K v^n) at those nodes (see StaceyCorrection); no rows: nothing kept."""

    states: np.ndarray
    residuals: np.ndarray
    forcings: np.ndarray
    first_step: int


class StaceyCorrection(NamedTuple):
    """The fourth-order correction of the step at the Stacey nodes (kernels._step, docs/solver.md "Time
    integrator"), built by setup.SimulationSetup; no nodes: today's step everywhere.

    nodes : (n_stacey,) int64, sorted: the damped nodes not held at 0 (kernels' node order)
    special_positions : (n_stacey,) int64, their positions in SpecialNodes.nodes
    factors : (4, n_stacey) M, C / M, 1 / D and 1 / D' there (D = M + dt C/2, D' = D + dt^2 C^2 / (12 M))
    source_positions : (n_touched,) int64, the positions in ``nodes`` that the sources touch
    source_rates : (n_steps + 1, n_touched) F_t (the sources' time derivative) there
    stiffness : (2, n_stacey) the run's state: row 0 (K u^{n-1}) (forward) or the last adjoint step's product
        (adjoint), row 1 the current step's
    forcing : (n_stacey,) F_t^n - (K v^n) of the last forward step (when nothing is stored)
    saved : (n_stacey,) scratch of the adjoint step (its state at those nodes)
    special_values : (n_special,) scratch (Finish.special_values); empty without Stacey nodes
    """

    nodes: np.ndarray
    special_positions: np.ndarray
    factors: np.ndarray
    source_positions: np.ndarray
    source_rates: np.ndarray
    stiffness: np.ndarray
    forcing: np.ndarray
    saved: np.ndarray
    special_values: np.ndarray


class LayerOperator(NamedTuple):
    """What the kernels need to run the memory pass over the layer elements (solver node order).

    The layer elements are taken BLOCK_SIZE at a time, one per SIMD lane (as in
    :mod:`specfwi.solver.element_blocks`): per-point arrays are (n_blocks, n_gll, ..., BLOCK_SIZE), padding
    lanes hold node 0 and zero coefficients, and no node sums their results.

    element_nodes : (n_blocks, n_gll, B) int64, the kernels' node of each lane's GLL point
    inverse_jacobian : (n_blocks, n_gll, 4, B) (dxi/dx, dxi/dy, deta/dx, deta/dy), 1/m
    derivative : (N, N) the GLL derivative matrix
    decay : (n_blocks, n_gll, 2, B) a = exp(-d dt) for the x and y memory
    local : (n_blocks * n_gll * B,) scratch of the element results, slot (block * n_gll + q) * B + lane
    nodes, slot_offsets, slots : the nodes of the layer elements and, CSR, the slots of ``local`` they sum
    aligned : every layer element is axis-aligned (dxi/dy and deta/dx round-off only, see is_round_off): the
        layers' drive and force of x then include the factor dxi/dx, those of y deta/dy (LayerCoefficients),
        and the kernels skip the cross terms
    """

    element_nodes: np.ndarray
    inverse_jacobian: np.ndarray
    derivative: np.ndarray
    decay: np.ndarray
    local: np.ndarray
    nodes: np.ndarray
    slot_offsets: np.ndarray
    slots: np.ndarray
    aligned: bool


class LayerMemory(NamedTuple):
    """The absorbing layers' memory pass (kernels._layer_pass; specfwi.solver.absorbing_layers).

    operator : the LayerOperator (no elements: no layers)
    memory : (n_blocks, n_gll, 2, B) its state, updated in place
    drive, force : the forward's drive and force; the adjoint's pass swaps them
    """

    operator: LayerOperator
    memory: np.ndarray
    drive: np.ndarray
    force: np.ndarray


class Sensitivities(NamedTuple):
    """The adjoint's float64 accumulators (kernels.adjoint_steps): d/dM, d/dC and d/dE per node (kernels' node
    order), the layout's sensitivity_buffer() of the kappa products, and the layers' memory products in
    the blocked shape of the layers' drive."""

    mass: np.ndarray
    damping: np.ndarray
    zero_order: np.ndarray
    kappa: np.ndarray
    layers: np.ndarray


class KernelLayout(Protocol):
    """What both layouts offer the solver (:class:`ElementBlocks`, :class:`NodeGrid`)."""

    node_order: object

    def operator(self, tensor: np.ndarray, derivative: np.ndarray) -> BlockOperator | GridOperator: ...

    def result_buffer(self, dtype=np.float64) -> np.ndarray: ...

    def sensitivity_buffer(self): ...

    def product_weights(self, geometric: np.ndarray) -> np.ndarray: ...

    def kappa(self, buffer, geometric: np.ndarray) -> np.ndarray: ...
