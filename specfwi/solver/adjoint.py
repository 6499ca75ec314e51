"""Discrete adjoint of the time stepping, with checkpointing of the forward states.

The adjoint of the Lax-Wendroff recursion (see :mod:`specfwi.solver.kernels`) runs
backwards from the last step; at step k it needs the forward states u^{k-1}, u^k,
u^{k+1} and y^k = (F^k - K u^k)/M (a^k at the Stacey nodes of the gyro step, and its forcing there). If they all fit in the memory budget they are
stored during the forward run; otherwise the forward run keeps (u^{a-1}, u^a) at the
start a of every segment of ``segment_length`` steps but the last, whose states it stores,
and each other segment is recomputed from its checkpoint just before the adjoint crosses it
(one extra forward run in total, less the last segment). Both paths run the same
arithmetic, so they agree to round-off.
"""

from __future__ import annotations

import logging
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..errors import invalid
from .compression import SampledForwardStates, WavefieldCompression
from .kernel_structures import LayerMemory, PointInjection, Sensitivities, StateStore
from .options import check_memory_budget
from .setup import STEPS_PER_CALL, SimulationSetup
from .threads import KernelThreads, kernel_threads

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class CheckpointPlan:
    """segment_length steps per recomputed segment (== n_steps: everything stored, no recomputation)."""

    n_steps: int
    segment_length: int
    memory_in_bytes: int

    @property
    def stores_everything(self) -> bool:
        return self.segment_length >= self.n_steps


def plan_checkpoints(n_steps: int, n_global_nodes: int, memory_in_megabytes: float,
                     bytes_per_value: int = 8) -> CheckpointPlan:
    """The largest segment (fewest recomputations) whose storage fits the budget.

    Storage for segment length s: buffers of s + 2 states and s residuals, plus two states per
    checkpoint (one per segment but the last: ceil(n_steps / s) - 1); ``bytes_per_value``: 8 (float64)
    or 4 (float32).
    """
    check_memory_budget(memory_in_megabytes)
    vector = n_global_nodes * bytes_per_value
    budget = memory_in_megabytes * 1024**2

    def cost(s: int) -> int:
        return vector * (2 * s + 2 + 2 * (math.ceil(n_steps / s) - 1))

    if cost(n_steps) <= budget:
        return CheckpointPlan(n_steps, n_steps, cost(n_steps))
    best = max(1, int(math.sqrt(n_steps)))
    if cost(best) > budget:
        raise invalid("checkpoint_memory_in_megabytes", memory_in_megabytes,
                      f"at least {cost(best) / 1024**2:.1f} MB for {n_steps} steps of {n_global_nodes} nodes")
    low, high = best, n_steps  # cost grows with s beyond sqrt(n): largest s that fits
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if cost(middle) <= budget else (low, middle)
    return CheckpointPlan(n_steps, low, cost(low))


class _StateStore:
    """The arrays that keep forward states for the adjoint, kept from one gradient to the next.

    Writing fresh memory is slow where the system zero-fills every new page on first touch (on the
    development machine 1-3 GB/s: 35-100 ms of S1's 0.3 s gradient for its 110 MB). So the store of
    the last gradient stays allocated after it returns (at most the checkpoint budget) and the next
    gradient of the same size reuses it; :func:`release_stored_states` frees it. A store in use is
    never handed out twice: concurrent gradients (threads) allocate their own.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: tuple[np.ndarray, np.ndarray] | None = None

    @contextmanager
    def borrowed(self, n_states: int, n_residuals: int, n_nodes: int, dtype=np.float64, n_stacey: int = 0):
        """(states (n_states, n_nodes), residuals (n_residuals, n_nodes), forcings (n_residuals, n_stacey)) of
        ``dtype``, contents undefined."""
        with self._lock:
            idle, self._idle = self._idle, None
        if idle is None or idle[0].shape != (n_states, n_nodes) or idle[1].shape != (n_residuals, n_nodes) or (
                idle[0].dtype != dtype) or idle[2].shape != (n_residuals, n_stacey):
            idle = None  # freed before the new store is allocated
            idle = (np.empty((n_states, n_nodes), dtype), np.empty((n_residuals, n_nodes), dtype),
                    np.empty((n_residuals, n_stacey), dtype))
        yield idle
        with self._lock:
            self._idle = idle

    def release(self) -> None:
        with self._lock:
            self._idle = None


_STATE_STORE = _StateStore()


def release_stored_states() -> None:
    """Free the forward-state store that the last gradient left for the next one (see _StateStore)."""
    _STATE_STORE.release()


@dataclass
class MaterialSensitivities:
    """Derivatives of the misfit w.r.t. the discrete coefficients: mass, damping and the layers' zero-order term E
    (global), kappa = 1/RHO (element-nodal, including the absorbing layers' memory drive).

    The damping's and E's are computed where C > 0 (and at Dirichlet nodes), 0 elsewhere: C and E depend on the
    model at the absorbing nodes only.
    """

    mass: np.ndarray
    damping: np.ndarray
    kappa: np.ndarray
    zero_order: np.ndarray


def forward_then_adjoint(setup: SimulationSetup, adjoint_source, *, plan: CheckpointPlan | None,
                         compression: WavefieldCompression | None = None):
    """Run the forward simulation, then the adjoint driven by ``adjoint_source(traces)``.

    ``plan`` (see :func:`plan_checkpoints`) says which forward states are kept; with a ``compression``
    (specfwi.solver.compression: an approximate gradient) every k-th state is kept instead, the plan ignored.

    ``adjoint_source`` maps the recorded traces (n_receivers, n_steps + 1) to (value, a) where a has the
    same shape and follows the convention of :mod:`specfwi.misfit` (delta chi = sum dt c_k a delta u).
    Returns (traces, value, MaterialSensitivities).
    """
    n_steps, n_nodes = setup.n_steps, setup.n_global_nodes
    if compression is not None:
        interval = min(compression.forward_wavefield_sampling_interval, n_steps)
        plan = CheckpointPlan(n_steps, interval, 0)
        logger.info("adjoint: %d steps, every %d-th forward state kept (wavefield compression: an approximate "
                    "gradient)", n_steps, interval)
    else:
        logger.info("adjoint: %d steps, segments of %d steps, %.1f MB of stored states", n_steps,
                    plan.segment_length, plan.memory_in_bytes / 1024**2)
    with _STATE_STORE.borrowed(plan.segment_length + 2, plan.segment_length, n_nodes, setup.dtype,
                               len(setup.stacey.nodes)) as (states, residuals, forcings), \
            kernel_threads() as threads:
        return _forward_then_adjoint(setup, adjoint_source, plan, states, residuals, forcings, threads,
                                     compressed=compression is not None)


def _sampled_forward(setup: SimulationSetup, traces: np.ndarray, interval: int) -> SampledForwardStates:
    """The forward run, keeping u^s, y^s (and the Stacey nodes' forcing) at every ``interval``-th step s (and u
    at the last step, y at the one before): each run ends one step after a sample, so that its state holds u^s
    and its work rows y^s and the forcing."""
    n_steps = setup.n_steps
    samples = list(range(0, n_steps, interval))
    work = np.zeros((1, setup.n_global_nodes), setup.dtype)
    work_forcing = np.zeros(len(setup.stacey.nodes), setup.dtype)
    states, residuals, forcings = [], [], []
    state, reached = None, 0
    for sample in samples:
        state = setup.run_forward_in_solver_order(traces=traces, first_step=reached, last_step=sample + 1,
                                                  state=state, work=work, work_forcing=work_forcing)
        reached = sample + 1
        states.append(np.array(state.previous))
        residuals.append(work[0].copy())
        forcings.append(work_forcing.copy())
    state = setup.run_forward_in_solver_order(traces=traces, first_step=reached, last_step=n_steps, state=state,
                                              work=work, work_forcing=work_forcing)
    state_steps, residual_steps = samples + [n_steps], list(samples)
    states.append(np.array(state.current))
    if n_steps - 1 > samples[-1]:
        residual_steps.append(n_steps - 1)
        residuals.append(work[0].copy())
        forcings.append(work_forcing.copy())
    return SampledForwardStates(state_steps, np.array(states), residual_steps, np.array(residuals),
                                np.array(forcings))


def _forward_then_adjoint(setup: SimulationSetup, adjoint_source, plan: CheckpointPlan, states: np.ndarray,
                          residuals: np.ndarray, forcings: np.ndarray, threads: KernelThreads, *, compressed: bool):
    """forward_then_adjoint with the store of forward states given (any contents) and the run's thread count
    (re-checked between kernel calls of at most STEPS_PER_CALL steps); ``compressed``: segments of
    plan.segment_length steps filled from every such step's state (wavefield compression)."""
    n_steps, n_nodes = setup.n_steps, setup.n_global_nodes
    segment_starts = list(range(0, n_steps, plan.segment_length))
    traces = np.zeros((len(setup.receiver_nodes), n_steps + 1))
    checkpoints = {}
    dtype = setup.dtype
    state = None  # zeros
    sampled = _sampled_forward(setup, traces, plan.segment_length) if compressed else None
    for start in segment_starts if sampled is None else ():
        stop = min(start + plan.segment_length, n_steps)
        if start == segment_starts[-1]:  # the states of the last segment are kept, not recomputed
            setup.run_forward_in_solver_order(traces=traces, first_step=start, last_step=stop, state=state,
                                              stored_states=states, stored_residuals=residuals,
                                              stored_forcings=forcings, first_stored_step=start)
        else:
            checkpoints[start] = state  # the kernels' node order; never written (the next run copies it)
            state = setup.run_forward_in_solver_order(traces=traces, first_step=start, last_step=stop, state=state)

    value, adjoint = adjoint_source(traces)
    time_step = setup.time_step_in_seconds
    trapezoid = np.ones(n_steps + 1)
    trapezoid[[0, -1]] = 0.5
    adjoint_series = np.ascontiguousarray((-time_step * trapezoid[None, :] * np.asarray(adjoint)).T, dtype=dtype)
    adjoint_series[0] = 0.0  # u^0 is the fixed initial state
    zero_series = np.zeros_like(adjoint_series)

    # the sensitivities add up products of every step: float64 accumulators whatever the dtype of the stepping
    layers = setup.layers
    sensitivities = Sensitivities(np.zeros(n_nodes), np.zeros(n_nodes), np.zeros(n_nodes),
                                  setup.layout.sensitivity_buffer(), np.zeros(layers.drive.shape))  # (blocked layout)
    layer_memory = LayerMemory(layers.operator, layers.zero_memory(), layers.force, layers.drive)  # swapped
    carried, carried_next = np.zeros(n_nodes, dtype), np.zeros(n_nodes, dtype)  # T^T mu at the layer nodes
    following, current, spare = np.zeros(n_nodes, dtype), np.zeros(n_nodes, dtype), np.zeros(n_nodes, dtype)
    work = np.zeros((1, n_nodes), dtype)
    stepping = setup.stepping(setup.layout.result_buffer(dtype), adjoint=True)
    stacey = setup.stacey_correction()  # the adjoint's scratch, its stiffness zero at the start
    receivers = PointInjection(setup.receiver_nodes, setup.receiver_weights, zero_series, adjoint_series)
    geometric = setup.kernel_components(setup.coefficients.geometric_tensor)
    product_weights = np.ascontiguousarray(setup.layout.product_weights(geometric), dtype=dtype)
    with setup.progress_bar(n_steps + 1, "adjoint") as bar:
        for start in reversed(segment_starts):
            stop = min(start + plan.segment_length, n_steps)
            if sampled is not None:
                sampled.fill(start, stop, states, residuals, forcings)
            elif start in checkpoints:
                setup.run_forward_in_solver_order(first_step=start, last_step=stop, state=checkpoints.pop(start),
                                                  stored_states=states, stored_residuals=residuals,
                                                  stored_forcings=forcings, first_stored_step=start,
                                                  description="recompute")
            last = n_steps + 1 if stop == n_steps else stop
            for call_last in range(last, start, -STEPS_PER_CALL):
                call_first = max(start, call_last - STEPS_PER_CALL)
                threads.recheck()
                following, current, spare, carried, carried_next = setup.kernels.adjoint_steps(
                    call_first, call_last, n_steps, following, current, spare, work, stepping, receivers,
                    StateStore(states, residuals, forcings, start), product_weights, sensitivities, layer_memory,
                    carried, carried_next, stacey)
                bar.update(call_last - call_first)
    kappa = setup.layout.kappa(sensitivities.kappa, geometric)
    kappa[layers.layer_elements] += np.sum(layers.drive_per_kappa * layers.per_element(sensitivities.layers), axis=-1)
    return traces, value, MaterialSensitivities(setup.to_mesh_order(sensitivities.mass),
                                                setup.to_mesh_order(sensitivities.damping), kappa,
                                                setup.to_mesh_order(sensitivities.zero_order))
