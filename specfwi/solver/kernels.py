"""Numba CPU kernels of the acoustic spectral-element solver, for one tensor order.

All kernels work on global nodal vectors (n_global_nodes,) in one of two layouts:

* element blocks of ``B`` SIMD lanes (:mod:`specfwi.solver.element_blocks`), for any mesh:
  an element pass writes each element's nodal results into its own slots of a flat buffer
  ``local``, and a node pass sums each node's slots;
* a node grid (:mod:`specfwi.solver.node_grid`), for rectangles of axis-aligned elements:
  the stiffness is a sum of 1D operators along node rows and columns (written out per order by
  :mod:`specfwi.solver.unrolled`), applied in one sweep over the element columns.

Either way each node's (K u)[node] goes straight to the pointwise work of the step (the
``finish`` of a product), so a step makes no pass over memory of its own.

Nothing is scattered into shared nodes by two threads at once, so nothing races, and results
do not depend on the number of threads. The operator tuple selects the layout at compile time,
the arrays' float type (float64 or float32) the precision: scratch arrays and constants follow it
(``_typed``).

Time integrator (fourth-order Lax-Wendroff / modified equation), for
M u'' + C u' + K u = F(t), per step n:

    r = F^n - K u^n,   y = r / M,   h = K y
    (M + dt C / 2) u^{n+1} = 2 M u^n - (M - dt C / 2) u^{n-1} + dt^2 r - dt^4/12 h + Q^n

with Q^n = dt^4/12 F_tt^n. The same kernel runs the discrete adjoint (F = 0,
Q = -dJ/du^k, stepping backwards) because the step is symmetric in M, C, K.
With D = M + dt C / 2 and r = M y the update reads u^{n+1} = dt^2 (M/D) y - dt^4/12 h / D
+ (2 M/D) u^n - ((M - dt C/2)/D) u^{n-1} + Q^n / D: at the nodes without damping (C = 0)
and not held at 0 (free surface) that is dt^2 y - dt^4/12 h / M + 2 u^n - u^{n-1}, which
streams 4 nodal vectors instead of 7; the other nodes (``special``) keep their factors.
Where the damping is the Stacey condition's only, its nodes take the fourth-order "gyro" step instead (see
"the Stacey nodes' fourth-order terms" below and docs/solver.md), whose adjoint has its own factors.

``N`` (GLL points per axis) and ``B`` are module constants so that LLVM unrolls the
small loops and vectorises the lane loops. The solver never compiles this file itself:
:mod:`specfwi.solver.kernel_modules` makes a copy with the ``N`` of each order. Keep the line
defining ``N`` exactly as it is: that copy rewrites it.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from specfwi.solver import unrolled
from specfwi.solver.element_blocks import BLOCK_SIZE
from specfwi.solver.kernel_structures import Finish, GridOperator

N = 5  # GLL points per axis (tensor order + 1)
NN = N * N
P = N - 1  # tensor order
B = BLOCK_SIZE  # elements per block, one per SIMD lane
# Parallel work items of a pass: each allocates its scratch once, so each should hold enough work to
# hide that (about 0.1 us): at least MIN_NODES_PER_CHUNK nodes. One item per row of S1 (201 items of 69
# nodes) spent 15 % of a stiffness product on allocations.
MAX_CHUNKS = 256
MIN_NODES_PER_CHUNK = 2048
# |u| below this becomes 0 after each step. Ahead of a wave front the stencils leave values that
# decay towards subnormal numbers (< 2.2e-308), whose arithmetic is 10 to 100 times slower: before
# this flush, the first half of S2 ran 2 to 4 times slower per step than the second. 1e-120 is far
# below any signal, and products of two such values (adjoint times forward) stay normal.
FLUSH_BELOW = 1e-120
FLUSH_BELOW_SINGLE = 1e-30  # the same for float32 (subnormal below 1.2e-38), about 25 orders below a signal


def _typed(like, value):
    """``value`` as a scalar of the float type of ``like`` (an array or a scalar), so that float32 work stays
    float32 (a float64 literal would promote it); compiled code only."""


@overload(_typed, inline="always")
def _typed_of(like, value):
    dtype = like.dtype if isinstance(like, types.Array) else like
    if dtype == types.float32:
        return lambda like, value: np.float32(value)
    return lambda like, value: np.float64(value)


def _flush_below(like):
    """FLUSH_BELOW, or FLUSH_BELOW_SINGLE for float32 ``like``; compiled code only."""


@overload(_flush_below, inline="always")
def _flush_below_of(like):
    if like.dtype == types.float32:
        return lambda like: np.float32(FLUSH_BELOW_SINGLE)
    return lambda like: np.float64(FLUSH_BELOW)


@njit(cache=True)
def _n_chunks(n_items, nodes_per_item):
    """How many parallel work items to split n_items (of nodes_per_item nodes each) into."""
    return max(1, min(n_items, MAX_CHUNKS, n_items * nodes_per_item // MIN_NODES_PER_CHUNK))


@njit(cache=True)
def _chunk_bounds(n_items, chunk, n_chunks):
    """[first, last) of the items of one of n_chunks near-equal chunks."""
    return chunk * n_items // n_chunks, (chunk + 1) * n_items // n_chunks


def _lane_reference_gradient(values, derivative, j, i, lane):
    """(d/dxi, d/deta) at GLL point (j, i) of one lane of element-nodal values (NN, B)."""
    d_xi = _typed(values, 0.0)
    d_eta = _typed(values, 0.0)
    for k in range(N):
        d_xi += derivative[i, k] * values[j * N + k, lane]
        d_eta += derivative[j, k] * values[k * N + i, lane]
    return d_xi, d_eta


_reference_gradient = njit(inline="always", fastmath=True)(_lane_reference_gradient)
# without fast flags, for the layers' pass, which rounds as written in every process as the pointwise work does
_exact_reference_gradient = njit(inline="always", fastmath=False)(_lane_reference_gradient)


@njit(inline="always", fastmath=True)
def _block_reference_gradients(vector, node_blocks, block, derivative, values, gradients):
    """gradients[0 | 1, q, lane] = d/dxi | d/deta of ``vector`` at GLL point q of each lane's element of a block
    (``values``: (NN, B) scratch for the gathered nodal values)."""
    for q in range(NN):
        for lane in range(B):
            values[q, lane] = vector[node_blocks[block, q, lane]]
    for j in range(N):
        for i in range(N):
            q = j * N + i
            for lane in range(B):
                d_xi, d_eta = _exact_reference_gradient(values, derivative, j, i, lane)
                gradients[0, q, lane] = d_xi
                gradients[1, q, lane] = d_eta


@njit(inline="always", fastmath=False)
def _block_divergence(flux, derivative, local, offset):
    """local[offset + q B + lane] = sum over the element's GLL points of the reference gradient of the test
    function q dotted with ``flux`` (2, NN, B): the last stage of a stiffness product, per lane."""
    for j in range(N):
        for i in range(N):
            q = j * N + i
            for lane in range(B):
                total = _typed(flux, 0.0)
                for k in range(N):
                    total += (derivative[k, i] * flux[0, j * N + k, lane]
                              + derivative[k, j] * flux[1, k * N + i, lane])
                local[offset + q * B + lane] = total


@njit(parallel=True, cache=True, fastmath=False)  # fastmath: see the pointwise work below
def element_stiffness(u, local, node_blocks, tensor_blocks, derivative, partners, weights, kappa_sensitivity,
                      geometric_blocks):
    """local[slot of (block, q, lane)] = (K_e u_e)_q for every element e.

    tensor_blocks: (n_blocks, n_components, NN, B), components (xi-xi, eta-eta[, xi-eta]): without the
    cross component (axis-aligned elements) the flux skips it. Unless ``partners`` is None, also the
    adjoint's products: with partners = (mu, v, y) and weights = (a, b),
    kappa_sensitivity[b, q, l] += G(grad mu, grad (a v + b y)) + b G(grad u, grad v) with G the
    geometric_blocks tensor (same components), reusing the gradients of u.
    """
    n_blocks = node_blocks.shape[0]
    with_cross_terms = tensor_blocks.shape[1] == 3
    n_chunks = _n_chunks(n_blocks, NN * B)
    for chunk in prange(n_chunks):
        values = np.empty((NN, B), u.dtype)
        flux = np.empty((2, NN, B), u.dtype)
        n_partner = 2 if partners is not None else 0
        adjoint_gradients = np.empty((n_partner, NN, B), u.dtype)
        state_gradients = np.empty((n_partner, NN, B), u.dtype)
        residual_gradients = np.empty((n_partner, NN, B), u.dtype)
        first, last = _chunk_bounds(n_blocks, chunk, n_chunks)
        for block in range(first, last):
            _block_reference_gradients(u, node_blocks, block, derivative, values, flux)
            if partners is not None:
                a, b = weights
                _block_reference_gradients(partners[0], node_blocks, block, derivative, values, adjoint_gradients)
                _block_reference_gradients(partners[1], node_blocks, block, derivative, values, state_gradients)
                _block_reference_gradients(partners[2], node_blocks, block, derivative, values, residual_gradients)
                for q in range(NN):
                    for lane in range(B):
                        m_xi, m_eta = adjoint_gradients[0, q, lane], adjoint_gradients[1, q, lane]
                        v_xi, v_eta = state_gradients[0, q, lane], state_gradients[1, q, lane]
                        # grad (a v + b y) and grad (b u): the second factors of the two products
                        c_xi = a * v_xi + b * residual_gradients[0, q, lane]
                        c_eta = a * v_eta + b * residual_gradients[1, q, lane]
                        f_xi, f_eta = b * flux[0, q, lane], b * flux[1, q, lane]
                        total = geometric_blocks[block, 0, q, lane] * (m_xi * c_xi + f_xi * v_xi) + geometric_blocks[
                            block, 1, q, lane] * (m_eta * c_eta + f_eta * v_eta)
                        if with_cross_terms:
                            total += geometric_blocks[block, 2, q, lane] * (
                                m_xi * c_eta + m_eta * c_xi + f_xi * v_eta + f_eta * v_xi)
                        kappa_sensitivity[block, q, lane] += total
            for q in range(NN):
                for lane in range(B):
                    d_xi, d_eta = flux[0, q, lane], flux[1, q, lane]
                    flux[0, q, lane] = tensor_blocks[block, 0, q, lane] * d_xi
                    flux[1, q, lane] = tensor_blocks[block, 1, q, lane] * d_eta
                    if with_cross_terms:
                        cross = tensor_blocks[block, 2, q, lane]
                        flux[0, q, lane] += cross * d_eta
                        flux[1, q, lane] += cross * d_xi
            _block_divergence(flux, derivative, local, block * NN * B)


@njit(cache=True)
def _fold_extra_slots(local, node_slots, extra_nodes, extra_slot_offsets, extra_slots):
    """Adds the slots of nodes shared by more than 4 elements into their first slot."""
    for position in range(extra_nodes.shape[0]):
        total = _typed(local, 0.0)
        for extra in range(extra_slot_offsets[position], extra_slot_offsets[position + 1]):
            total += local[extra_slots[extra]]
        local[node_slots[extra_nodes[position], 0]] += total


@njit(inline="always", fastmath=True)
def _slot_sum(local, node_slots, node):
    """The sum of a node's (first 4) slots in ``local``."""
    return (local[node_slots[node, 0]] + local[node_slots[node, 1]]) + (
        local[node_slots[node, 2]] + local[node_slots[node, 3]])


# ---------------------------------------------------------------- what a product's results are for
# A stiffness product hands K u, range by range of nodes, to _finish_range with a ``Finish``
# (kernel_structures) whose mode says what to make of it where it is computed, so that no pass over memory
# is spent on it:
#   STORE     out = K u
#   RESIDUAL  second = y = -coefficient K u  (coefficient: mask / M)
#   UPDATE    out = u^{n+1} = dt2 second - dt4_12 coefficient K y + 2 current - previous  (K u is K y,
#             second is y), except at the special nodes (SpecialNodes), where
#             u^{n+1} = a dt2 second - dt4_12 b K y + c current - d previous with (a, b, c, d) their
#             factors, one run of consecutive nodes at a time, whose K y it keeps in special_values if that
#             has entries (the gyro step's; empty without Stacey nodes);
#             |u^{n+1}| < FLUSH_BELOW is set to 0.
# Arrays a mode does not use may be any array of the right type: one Finish type serves every mode,
# so that each product kernel is compiled once.
STORE, RESIDUAL, UPDATE = 0, 1, 2
# The pointwise work (_finish_range, _inject, _add_nodal_sensitivities) and element_stiffness say
# fastmath=False. With fast flags (a callee that does not set fastmath inherits its caller's), LLVM
# rounded them one way in the process that compiled the kernels and another way in a process that
# loaded them from numba's cache: results 1-2 ulp apart, so a project's cached gradient would differ
# from a recomputed one
# (tests/test_kernel_cache.py). Without fast flags each line rounds as written, in every process. The
# pointwise loops are bound by memory; element_stiffness costs 9 % more time without them.


@njit(cache=True, fastmath=False)
def _finish_range(finish, first, values):
    """Hands (K u)[first + r n + i] = values[r, i] (values: (n_rows, n)) to ``finish`` (see above). One
    call per work item (a call passes the whole tuple); each loop counts its indices from 0, so that
    LLVM vectorises it."""
    mode = finish.mode
    special_nodes, run_offsets, factors = finish.special_nodes, finish.special_run_offsets, finish.special_factors
    dt2, dt4_12 = finish.dt2, finish.dt4_12
    n = values.shape[1]
    two, zero, flush_below = _typed(values, 2.0), _typed(values, 0.0), _flush_below(values)
    run = 0
    keeping = finish.special_values.shape[0] > 0
    if mode == UPDATE and special_nodes.shape[0] > 0:  # the first run that ends at or after ``first``
        run = max(np.searchsorted(run_offsets, np.searchsorted(special_nodes, first), side="right") - 1, 0)
    for r in range(values.shape[0]):
        start = first + r * n
        stop = start + n
        value, out = values[r], finish.out[start:stop]
        second, coefficient = finish.second[start:stop], finish.coefficient[start:stop]
        if mode == STORE:
            for i in range(n):
                out[i] = value[i]
        elif mode == RESIDUAL:
            for i in range(n):
                second[i] = coefficient[i] * -value[i]
        else:
            current, previous = finish.current[start:stop], finish.previous[start:stop]
            for i in range(n):
                total = dt2 * second[i] - dt4_12 * coefficient[i] * value[i] + two * current[i] - previous[i]
                out[i] = total if abs(total) >= flush_below else zero
            while run < run_offsets.shape[0] - 1 and special_nodes[run_offsets[run]] < stop:
                run_first = special_nodes[run_offsets[run]]
                run_stop = run_first + run_offsets[run + 1] - run_offsets[run]
                low, high = max(run_first, start), min(run_stop, stop)
                offset = run_offsets[run] + low - run_first
                a, b = factors[0, offset:offset + high - low], factors[1, offset:offset + high - low]
                c, d = factors[2, offset:offset + high - low], factors[3, offset:offset + high - low]
                shift = low - start
                for i in range(high - low):
                    total = a[i] * dt2 * second[shift + i] - b[i] * dt4_12 * value[shift + i] \
                        + c[i] * current[shift + i] - d[i] * previous[shift + i]
                    out[shift + i] = total if abs(total) >= flush_below else zero
                if keeping:
                    kept = finish.special_values[offset:offset + high - low]
                    for i in range(high - low):
                        kept[i] = value[shift + i]
                if run_stop > stop:
                    break
                run += 1


@njit(parallel=True, cache=True, fastmath=True)
def _blocked_product(u, operator, partners, weights, kappa_sensitivity, geometric_blocks, local, finish):
    """K u on element blocks (``local``: the result buffer), handed to ``finish`` (and the adjoint's products
    unless ``partners`` is None, see element_stiffness)."""
    node_blocks, tensor_blocks, derivative, node_slots, extra_nodes, extra_slot_offsets, extra_slots = operator
    element_stiffness(u, local, node_blocks, tensor_blocks, derivative, partners, weights, kappa_sensitivity,
                      geometric_blocks)
    _fold_extra_slots(local, node_slots, extra_nodes, extra_slot_offsets, extra_slots)
    n_nodes = node_slots.shape[0]
    n_chunks = _n_chunks(n_nodes, 1)
    for chunk in prange(n_chunks):
        first, last = _chunk_bounds(n_nodes, chunk, n_chunks)
        # slices indexed from 0: 3-6 times faster
        values, slots = np.empty((1, last - first), local.dtype), node_slots[first:last]
        for i in range(last - first):
            values[0, i] = _slot_sum(local, slots, i)
        _finish_range(finish, first, values)


# ---------------------------------------------------------------- node grids (specfwi.solver.node_grid)
# A global vector is an (n_outer, n_inner) array of node rows; ``entries`` is the derivative matrix as a
# tuple (row by row), so that the unrolled small loops hold its entries in registers.


def _rows_part(fields, values, first_row, coefficients, entries, partners, products, weights, outputs):
    """values = the inner part of K on node rows first_row.. (and the adjoint's products, unless partners is
    None): the ``rows_part`` of :mod:`specfwi.solver.unrolled`; compiled code only."""


@overload(_rows_part)
def _rows_part_for_n(fields, values, first_row, coefficients, entries, partners, products, weights, outputs):
    with_partners = not isinstance(partners, types.NoneType)
    return unrolled.compiled_source(unrolled.rows_part_source(N, with_partners), "rows_part")


def _column_part(fields, values, column, coefficients, entries, partners, products, weights, outputs):
    """values += the outer part of K of one element column (and the adjoint's products, unless partners is
    None): the ``column_part`` of :mod:`specfwi.solver.unrolled`; compiled code only."""


@overload(_column_part)
def _column_part_for_n(fields, values, column, coefficients, entries, partners, products, weights, outputs):
    with_partners = not isinstance(partners, types.NoneType)
    return unrolled.compiled_source(unrolled.column_part_source(N, with_partners), "column_part")


def _grids_or_none(vectors, n_outer, n_inner):
    """A tuple of three flat vectors as (n_outer, n_inner) grids, or None; compiled code only."""


@overload(_grids_or_none, inline="always")
def _grids_or_none_of(vectors, n_outer, n_inner):
    if isinstance(vectors, types.NoneType):
        return lambda vectors, n_outer, n_inner: None
    return lambda vectors, n_outer, n_inner: (vectors[0].reshape(n_outer, n_inner),
                                              vectors[1].reshape(n_outer, n_inner),
                                              vectors[2].reshape(n_outer, n_inner))


@njit(cache=True, fastmath=True)
def _sweep(fields, coefficient_outer, coefficient_inner, entries, partner_fields, weights, products_outer,
           products_inner, chunk, n_chunks, shared_outer_parts, carried_rows, finish):
    """One work item of grid_product: its rows handed to ``finish``, except the first (whose outer part goes to
    shared_outer_parts[chunk]) unless it is the grid's first, and the last (to carried_rows[chunk]) unless it
    is the grid's last."""
    n_columns, n_inner = coefficient_outer.shape[0], fields.shape[1]
    first, last = _chunk_bounds(n_columns, chunk, n_chunks)
    values = np.zeros((N, n_inner), fields.dtype)
    outputs = np.empty((4 * N if partner_fields is not None else 2, n_inner), fields.dtype)  # scratch of both parts
    if chunk == 0:
        _rows_part(fields, values[:1], 0, coefficient_inner, entries, partner_fields, products_inner, weights,
                   outputs)
    for column in range(first, last):
        _rows_part(fields, values[1:], column * P + 1, coefficient_inner, entries, partner_fields, products_inner,
                   weights, outputs)
        _column_part(fields, values, column, coefficient_outer, entries, partner_fields, products_outer, weights,
                     outputs)
        if column == first and chunk > 0:
            shared_outer_parts[chunk] = values[0]
            _finish_range(finish, (column * P + 1) * n_inner, values[1:P])
        else:
            _finish_range(finish, column * P * n_inner, values[:P])
        values[0] = values[P]
    if chunk == n_chunks - 1:
        _finish_range(finish, last * P * n_inner, values[:1])
    else:
        carried_rows[chunk] = values[0]


@njit(parallel=True, cache=True, fastmath=True)
def grid_product(u, coefficient_outer, coefficient_inner, entries, partners, weights, products_outer, products_inner,
                 edges, finish):
    """K u on a node grid, each node's value handed to ``finish`` while it is still in cache.

    Work items take ranges of element columns and sweep them, adding up N node rows in a small buffer:
    the inner part of the column's rows after its first (whose inner part came with the column before), then
    the column's outer part; its first N - 1 rows are then complete and go to ``finish``, and the last
    becomes the next column's first. The first row of a range is shared with the item before, which
    computes its inner part and the outer part of its own last column; the item keeps the outer part of its
    first column. Both go to ``edges`` (the grid's result_buffer()), and a second pass completes those rows,
    adding in the same order as elsewhere (inner part, left column, right column): every node is computed
    the same way whatever the number of threads.

    Unless ``partners`` is None, also products += the adjoint's products along each axis (see
    :mod:`specfwi.solver.unrolled`), without the geometric weights (NodeGrid.sensitivity_buffer():
    products_outer shaped as the outer coefficients, products_inner as the inner coefficients; NodeGrid.kappa
    applies the weights).
    """
    n_outer, n_inner = coefficient_inner.shape[0], coefficient_outer.shape[2]
    fields = u.reshape(n_outer, n_inner)
    partner_fields = _grids_or_none(partners, n_outer, n_inner)
    n_columns = coefficient_outer.shape[0]
    n_chunks = _n_chunks(n_columns, P * n_inner)
    shared_outer_parts = edges[:n_chunks * n_inner].reshape(n_chunks, n_inner)
    carried_rows = edges[n_chunks * n_inner:2 * n_chunks * n_inner].reshape(n_chunks, n_inner)
    for chunk in prange(n_chunks):  # np.int64: one compiled _sweep (numba types a prange index differently)
        _sweep(fields, coefficient_outer, coefficient_inner, entries, partner_fields, weights, products_outer,
               products_inner, np.int64(chunk), n_chunks, shared_outer_parts, carried_rows, finish)
    for chunk in prange(1, n_chunks):
        first, _ = _chunk_bounds(n_columns, chunk, n_chunks)
        values = carried_rows[chunk - 1:chunk]
        values += shared_outer_parts[chunk]
        _finish_range(finish, first * P * n_inner, values)


# ---------------------------------------------------------------- the two layouts behind one interface
# The operator's type says which layout a setup uses: a BlockOperator or a GridOperator (kernel_structures).


def _product(u, local, operator, pairing, finish):
    """K u handed to ``finish`` (see _finish_range); compiled code only.

    ``local``: the layout's result_buffer(). ``pairing``: None, or ((mu, v, y), (a, b), sensitivity,
    product_weights) to also accumulate the adjoint's products
    sensitivity += G(grad mu, grad (a v + b y)) + b G(grad u, grad v) (the layout's sensitivity_buffer()
    and product_weights(geometric tensor)) from the same gradients of u.
    """


def _is_grid(operator) -> bool:
    """Whether the (numba type of the) operator is a GridOperator."""
    return isinstance(operator, types.BaseNamedTuple) and operator.instance_class is GridOperator


@overload(_product)
def _product_of_layout(u, local, operator, pairing, finish):
    plain = isinstance(pairing, types.NoneType)
    if _is_grid(operator) and plain:
        return lambda u, local, operator, pairing, finish: grid_product(
            u, operator.coefficient_outer, operator.coefficient_inner, operator.entries, None, None, None, None, local,
            finish)
    if _is_grid(operator):
        return lambda u, local, operator, pairing, finish: grid_product(
            u, operator.coefficient_outer, operator.coefficient_inner, operator.entries, pairing[0], pairing[1],
            pairing[2][0], pairing[2][1], local, finish)
    if plain:
        return lambda u, local, operator, pairing, finish: _blocked_product(
            u, operator, None, None, None, None, local, finish)
    return lambda u, local, operator, pairing, finish: _blocked_product(
        u, operator, pairing[0], pairing[1], pairing[2], pairing[3], local, finish)


@njit(cache=True)
def apply_stiffness(u, out, local, operator):
    """out = K u (``local``: the layout's result_buffer())."""
    _product(u, local, operator, None,
             Finish(np.int64(STORE), out, out, out, np.zeros(0, np.int64), np.zeros(1, np.int64),
                    np.zeros((4, 0), out.dtype), out, out, _typed(out, 0.0), _typed(out, 0.0), out))


@njit(cache=True, fastmath=False)
def _inject(vector, nodes, weights, amplitudes, nodal_factor):
    """vector[nodes[p, q]] += nodal_factor[nodes[p, q]] * weights[p, q] * amplitudes[p]."""
    for p in range(nodes.shape[0]):
        for q in range(nodes.shape[1]):
            node = nodes[p, q]
            vector[node] += nodal_factor[node] * weights[p, q] * amplitudes[p]

@njit(inline="always", fastmath=False)
def _gather_layer_values(block, state, residual, weight_state, weight_residual, carried, with_carried, partner,
                         with_partner, element_nodes, values, partner_values):
    """values[q, lane] = v at GLL point q of the block's lane (v: see _layer_pass), and partner_values the
    partner's values if ``with_partner``."""
    for q in range(NN):
        for lane in range(B):
            node = element_nodes[block, q, lane]
            values[q, lane] = weight_state * state[node] + weight_residual * residual[node]
            if with_carried:
                values[q, lane] += carried[node]
            if with_partner:
                partner_values[q, lane] = partner[node]


@njit(inline="always", fastmath=False)
def _layer_block(block, state, residual, weight_state, weight_residual, carried, with_carried, partner,
                 with_partner, element_nodes, jacobian, derivative, decay, memory, drive, force, keep, sensitivity,
                 local, values, partner_values, flux):
    """The memory pass of one block of layer elements, one per lane (see _layer_pass); values, partner_values:
    (NN, B) scratch, flux: (2, NN, B) scratch."""
    zero, flush_below = _typed(values, 0.0), _flush_below(values)
    _gather_layer_values(block, state, residual, weight_state, weight_residual, carried, with_carried, partner,
                         with_partner, element_nodes, values, partner_values)
    for j in range(N):
        for i in range(N):
            q = j * N + i
            for lane in range(B):
                xi_x, xi_y = jacobian[block, q, 0, lane], jacobian[block, q, 1, lane]
                eta_x, eta_y = jacobian[block, q, 2, lane], jacobian[block, q, 3, lane]
                d_xi, d_eta = _exact_reference_gradient(values, derivative, j, i, lane)
                m_x = decay[block, q, 0, lane] * memory[block, q, 0, lane] + drive[block, q, 0, lane] * (
                    xi_x * d_xi + eta_x * d_eta)
                m_y = decay[block, q, 1, lane] * memory[block, q, 1, lane] + drive[block, q, 1, lane] * (
                    xi_y * d_xi + eta_y * d_eta)
                if abs(m_x) < flush_below:  # a decaying memory would turn subnormal (see FLUSH_BELOW)
                    m_x = zero
                if abs(m_y) < flush_below:
                    m_y = zero
                h_x = force[block, q, 0, lane] * (m_x + keep * memory[block, q, 0, lane])
                h_y = force[block, q, 1, lane] * (m_y + keep * memory[block, q, 1, lane])
                memory[block, q, 0, lane] = m_x
                memory[block, q, 1, lane] = m_y
                if with_partner:
                    p_xi, p_eta = _exact_reference_gradient(partner_values, derivative, j, i, lane)
                    sensitivity[block, q, 0, lane] += np.float64(m_x) * np.float64(xi_x * p_xi + eta_x * p_eta)
                    sensitivity[block, q, 1, lane] += np.float64(m_y) * np.float64(xi_y * p_xi + eta_y * p_eta)
                flux[0, q, lane] = xi_x * h_x + xi_y * h_y
                flux[1, q, lane] = eta_x * h_x + eta_y * h_y
    _block_divergence(flux, derivative, local, block * NN * B)


@njit(inline="always", fastmath=False)
def _aligned_layer_block(block, state, residual, weight_state, weight_residual, carried, with_carried, partner,
                         with_partner, element_nodes, jacobian, derivative, decay, memory, drive, force, keep,
                         sensitivity, local, values, partner_values, flux, gradient):
    """_layer_block for axis-aligned elements: dxi/dy = deta/dx = 0, and drive and force hold the factors
    dxi/dx and deta/dy already (LayerOperator.aligned), so that x needs only d/dxi and y only d/deta;
    gradient: (2, B) scratch."""
    zero, flush_below = _typed(values, 0.0), _flush_below(values)
    _gather_layer_values(block, state, residual, weight_state, weight_residual, carried, with_carried, partner,
                         with_partner, element_nodes, values, partner_values)
    for j in range(N):
        for i in range(N):
            q = j * N + i
            for lane in range(B):  # apart from the update below: 1.2 times faster (LLVM vectorises both)
                gradient[0, lane], gradient[1, lane] = _exact_reference_gradient(values, derivative, j, i, lane)
            for lane in range(B):
                d_xi, d_eta = gradient[0, lane], gradient[1, lane]
                old_x, old_y = memory[block, q, 0, lane], memory[block, q, 1, lane]
                m_x = decay[block, q, 0, lane] * old_x + drive[block, q, 0, lane] * d_xi
                m_y = decay[block, q, 1, lane] * old_y + drive[block, q, 1, lane] * d_eta
                m_x = m_x if abs(m_x) >= flush_below else zero  # a decaying memory would turn subnormal
                m_y = m_y if abs(m_y) >= flush_below else zero
                memory[block, q, 0, lane] = m_x
                memory[block, q, 1, lane] = m_y
                if with_partner:
                    p_xi, p_eta = _exact_reference_gradient(partner_values, derivative, j, i, lane)
                    sensitivity[block, q, 0, lane] += np.float64(m_x) * np.float64(jacobian[block, q, 0, lane] * p_xi)
                    sensitivity[block, q, 1, lane] += np.float64(m_y) * np.float64(jacobian[block, q, 3, lane] * p_eta)
                flux[0, q, lane] = force[block, q, 0, lane] * (m_x + keep * old_x)
                flux[1, q, lane] = force[block, q, 1, lane] * (m_y + keep * old_y)
    _block_divergence(flux, derivative, local, block * NN * B)


@njit(parallel=True, cache=True, fastmath=False)
def _layer_pass(state, residual, weights, carried, carried_next, out, out_factor, layer_memory, keep_old_memory,
                partner, sensitivity):
    """The absorbing layers' memory (specfwi.solver.absorbing_layers). With v = weights[0] state + weights[1]
    residual (+ carried, if it has entries), at every GLL point of a layer element and axis:
    new = decay memory + drive dv/d(axis); out -= out_factor grad^T(force (new [+ old memory if
    keep_old_memory])); memory = new; carried_next = v less carried, at the layer nodes. If ``partner`` has entries,
    also sensitivity += new d(partner)/d(axis) (float64)."""
    layers, memory, drive, force = layer_memory.operator, layer_memory.memory, layer_memory.drive, layer_memory.force
    element_nodes, jacobian, derivative, decay, local = (layers.element_nodes, layers.inverse_jacobian,
                                                          layers.derivative, layers.decay, layers.local)
    aligned = layers.aligned
    n_blocks = element_nodes.shape[0]
    with_partner = partner.shape[0] > 0
    with_carried = carried.shape[0] > 0
    keep = _typed(state, 1.0) if keep_old_memory else _typed(state, 0.0)
    weight_state, weight_residual = weights
    n_chunks = _n_chunks(n_blocks, NN * B)
    for chunk in prange(n_chunks):  # scratch allocated once per work item
        values = np.empty((NN, B), state.dtype)
        partner_values = np.empty((NN, B), state.dtype)
        flux = np.empty((2, NN, B), state.dtype)
        gradient = np.empty((2, B), state.dtype)
        first, last = _chunk_bounds(n_blocks, chunk, n_chunks)
        for block in range(first, last):
            if aligned:
                _aligned_layer_block(block, state, residual, weight_state, weight_residual, carried, with_carried,
                                     partner, with_partner, element_nodes, jacobian, derivative, decay, memory, drive,
                                     force, keep, sensitivity, local, values, partner_values, flux, gradient)
            else:
                _layer_block(block, state, residual, weight_state, weight_residual, carried, with_carried, partner,
                             with_partner, element_nodes, jacobian, derivative, decay, memory, drive, force, keep,
                             sensitivity, local, values, partner_values, flux)
    nodes, slot_offsets, slots = layers.nodes, layers.slot_offsets, layers.slots
    for position in prange(nodes.shape[0]):
        total = _typed(state, 0.0)
        for slot in range(slot_offsets[position], slot_offsets[position + 1]):
            total += local[slots[slot]]
        node = nodes[position]
        if with_carried:
            carried_next[node] = weight_state * state[node] + weight_residual * residual[node]
        out[node] -= out_factor[node] * total


# ---------------------------------------------------------------- the Stacey nodes' fourth-order terms
# At the nodes of a StaceyCorrection (kernel_structures) the step is the "gyro" step of docs/solver.md
# ("Time integrator"); their factors in SpecialNodes are set for it (setup._step_coefficients). Forward
# (beta = C/M, D = M + dt C/2, D' = D + dt^2 C^2/(12 M), q = K u^n, k = K u^{n-1}, h = K a):
#   a = (r - C (u^n - u^{n-1})/dt) / D in place of y;   g = (q - k)/dt + dt/2 h  (= K v, v ~ u_t^n)
#   u^{n+1} = [2 M' u^n - (M' - dt C/2) u^{n-1} + dt^2 r - dt^4/12 h + dt^4/12 (F_tt + beta (F_t - g))] / D'
# The exact adjoint (sigma = (D/M) mu, p = K sigma, p' the last adjoint step's):
#   y* = -p/D + beta (mu^{k+1} - mu^{k+2})/dt - 6 beta mu^{k+1}/dt, h* = K y*
#   mu^k = [e + 2 M' mu^{k+1} - (M' - dt C/2) mu^{k+2} - dt^2 p - dt^4/12 h* + dt^3/12 (C/D)(p - p')] / D'


@njit(cache=True, fastmath=False)
def _stacey_scale_adjoint(stacey, current, time_step):
    """Adjoint, before the first product: saves mu at the Stacey nodes and scales it to sigma = (D/M) mu there."""
    half_dt = _typed(time_step, 0.5) * time_step
    for j in range(stacey.nodes.shape[0]):
        node = stacey.nodes[j]
        stacey.saved[j] = current[node]
        current[node] = current[node] * (_typed(time_step, 1.0) + half_dt * stacey.factors[1, j])


@njit(cache=True, fastmath=False)
def _stacey_keep_product(stacey, scaled_residual):
    """After the first product, before the sources: keeps (K u)_S = -M y (y = -K u / M there) in stiffness[1]."""
    for j in range(stacey.nodes.shape[0]):
        stacey.stiffness[1, j] = -stacey.factors[0, j] * scaled_residual[stacey.nodes[j]]


@njit(cache=True, fastmath=False)
def _stacey_residual(stacey, scaled_residual, current, previous, time_step, backward):
    """After the sources: the input of the second product at the Stacey nodes, a (forward) or y* (adjoint)."""
    six = _typed(time_step, 6.0)
    for j in range(stacey.nodes.shape[0]):
        node = stacey.nodes[j]
        mass, beta, inverse_d = stacey.factors[0, j], stacey.factors[1, j], stacey.factors[2, j]
        if backward:
            now = stacey.saved[j]
            scaled_residual[node] = -stacey.stiffness[1, j] * inverse_d + beta * (now - previous[node]) / time_step \
                - six * beta * now / time_step
        else:
            scaled_residual[node] = (mass * scaled_residual[node]
                                     - beta * mass * (current[node] - previous[node]) / time_step) * inverse_d


@njit(cache=True, fastmath=False)
def _stacey_update(stacey, following, current, scaled_residual, step, time_step, forcing, backward):
    """After the second product and the direct sources: the update's last terms at the Stacey nodes, then the
    rotation of ``stiffness``. Forward: also forcing = F_t - g. Adjoint: restores mu at the Stacey nodes and sets
    scaled_residual there to -p/D (what the mass sensitivity pairs with a^n)."""
    dt = time_step
    dt3_12 = dt * dt * dt / _typed(time_step, 12.0)
    dt4_12 = dt3_12 * dt
    half_dt = _typed(time_step, 0.5) * dt
    zero, flush_below = _typed(time_step, 0.0), _flush_below(following)
    n = stacey.nodes.shape[0]
    if not backward:
        for j in range(n):
            forcing[j] = zero
        for t in range(stacey.source_positions.shape[0]):
            forcing[stacey.source_positions[t]] += stacey.source_rates[step, t]
    for j in range(n):
        node = stacey.nodes[j]
        mass, beta, inverse_d, inverse_d_prime = stacey.factors[0, j], stacey.factors[1, j], stacey.factors[2, j], \
            stacey.factors[3, j]
        now, before = stacey.stiffness[1, j], stacey.stiffness[0, j]
        if backward:
            total = following[node] + inverse_d_prime * dt3_12 * beta * mass * inverse_d * (now - before)
            current[node] = stacey.saved[j]
            scaled_residual[node] = -now * inverse_d
        else:
            rate = forcing[j]
            total = following[node] + inverse_d_prime * beta * (dt4_12 * rate - dt3_12 * (now - before))
            forcing[j] = rate - ((now - before) / dt + half_dt * stacey.special_values[stacey.special_positions[j]])
        following[node] = total if abs(total) >= flush_below else zero
        stacey.stiffness[0, j] = now


@njit(cache=True, fastmath=True)
def _step(previous, current, following, scaled_residual, stepping, injection, step, pairing, layer_memory, carried,
          carried_next, partner, layer_sensitivity, stacey, forcing, backward):
    """One Lax-Wendroff step: following = u^{n+1} from current = u^n, previous = u^{n-1}.

    Afterwards scaled_residual holds y = (F^n - K u^n) / M (0 at Dirichlet nodes). ``stepping``: a Stepping;
    ``injection``: a PointInjection, of which row ``step`` of each series is applied.
    ``pairing``: None, or the pairing of ``_product`` that the stiffness product of ``scaled_residual``
    also accumulates (the adjoint's products). ``layer_memory``: the absorbing layers' pass (a LayerMemory,
    see _layer_pass). Forward (``carried`` empty): driven by u^n, it forces y with the sum of the
    old and new memory. Adjoint (``carried``: T^T mu^{n+1} at the layer nodes): driven by T^T mu^n + T^T mu^{n+1}
    (T^T mu = dt^2 mu + dt^4/12 y_mu), it forces the new state with the new memory, keeps T^T mu^n in
    ``carried_next``, and adds the memory times grad ``partner`` to ``layer_sensitivity`` where ``partner`` has
    entries. ``stacey``: a StaceyCorrection, whose nodes take the gyro step (see above; ``backward``: its
    adjoint, with the adjoint's factors in ``stepping``); forward, scaled_residual holds a at its nodes and
    ``forcing`` receives F_t - g there. The structures are those of :mod:`specfwi.solver.kernel_structures`.
    """
    operator, local, time_step = stepping.operator, stepping.local, stepping.time_step
    dt2 = time_step * time_step
    dt4_12 = dt2 * dt2 / _typed(time_step, 12.0)
    nodal, special = stepping.step_coefficients.nodal, stepping.step_coefficients.special
    inverse_mass, inverse_diagonal = nodal[0], nodal[1]  # indexed rows: C-contiguous
    unused = scaled_residual
    with_stacey = stacey.nodes.shape[0] > 0
    if with_stacey and backward:
        _stacey_scale_adjoint(stacey, current, time_step)
    _product(current, local, operator, None,
             Finish(np.int64(RESIDUAL), unused, scaled_residual, inverse_mass, special.nodes, special.run_offsets,
                    special.factors, unused, unused, _typed(time_step, 0.0), _typed(time_step, 0.0), unused))
    if with_stacey:
        _stacey_keep_product(stacey, scaled_residual)
    _inject(scaled_residual, injection.nodes, injection.weights, injection.force_series[step], inverse_mass)
    if with_stacey:
        _stacey_residual(stacey, scaled_residual, current, previous, time_step, backward)
    adjoint_layers = carried.shape[0] > 0
    with_layers = layer_memory.operator.element_nodes.shape[0] > 0
    if with_layers and not adjoint_layers:
        _layer_pass(current, current, (_typed(time_step, 1.0), _typed(time_step, 0.0)), carried, carried_next,
                    scaled_residual, inverse_mass, layer_memory, True, partner, layer_sensitivity)
    _product(scaled_residual, local, operator, pairing,
             Finish(np.int64(UPDATE), following, scaled_residual, inverse_mass, special.nodes, special.run_offsets,
                    special.factors, current, previous, dt2, dt4_12, stacey.special_values))
    _inject(following, injection.nodes, injection.weights, injection.direct_series[step], inverse_diagonal)
    if with_stacey:
        _stacey_update(stacey, following, current, scaled_residual, step, time_step, forcing, backward)
    if with_layers and adjoint_layers:
        _layer_pass(current, scaled_residual, (dt2, dt4_12), carried, carried_next, following, inverse_diagonal,
                    layer_memory, False, partner, layer_sensitivity)


@njit(cache=True, fastmath=True)
def forward_steps(first_step, last_step, previous, current, following, work, stepping, sources, recording, store,
                  layer_memory, stacey):
    """Steps n = first_step .. last_step - 1 (u^{n+1} from u^n, u^{n-1}); returns the rotated buffers.

    ``stepping``: a Stepping; ``sources``: a PointInjection; ``recording``: a Recording, whose traces get
    column n + 1 when they have columns (column 0 is the initial state); ``store``: a StateStore: if it has
    rows, each step writes straight into them (no copies), states[n + 2 - store.first_step] = u^{n+1} and
    residuals[n - store.first_step] = y^n (a^n at the Stacey nodes), forcings[n - store.first_step] = F_t - g
    there, and the caller fills the rows of u^{first_step - 1} and u^first_step; ``layer_memory``: a LayerMemory
    (its memory updated); ``stacey``: a StaceyCorrection (its stiffness updated). work: (1, n_nodes) scratch.
    """
    nothing = np.zeros(0, previous.dtype)
    no_sensitivity = np.zeros((0, 1, 2, 1))
    storing = store.states.shape[0] > 0
    traces, receiver_nodes, receiver_weights = recording.traces, recording.nodes, recording.weights
    for step in range(first_step, last_step):
        scaled_residual, forcing = work[0], stacey.forcing
        if storing:
            following = store.states[step + 2 - store.first_step]
            scaled_residual = store.residuals[step - store.first_step]
            forcing = store.forcings[step - store.first_step]
        _step(previous, current, following, scaled_residual, stepping, sources, step, None, layer_memory, nothing,
              nothing, nothing, no_sensitivity, stacey, forcing, False)
        if traces.shape[1] > 0:
            for r in range(receiver_nodes.shape[0]):
                total = 0.0
                for q in range(receiver_nodes.shape[1]):
                    total += receiver_weights[r, q] * following[receiver_nodes[r, q]]
                traces[r, step + 1] = total
        previous, current, following = current, following, previous
    return previous, current, following

@njit(parallel=True, cache=True, fastmath=False)  # fastmath: see the pointwise work above
def _add_nodal_sensitivities(mass_sensitivity, damping_sensitivity, zero_order_sensitivity, special_nodes, adjoint,
                             scaled_adjoint, u_before, u_now, u_after, y_now, dt4_12, half_dt, quarter_dt2):
    """The nodal part of an adjoint step's sensitivities (float64 accumulators): at every node
    mass_sensitivity += adjoint (u_after - 2 u_now + u_before) + dt4_12 scaled_adjoint y_now, and at the
    special nodes damping_sensitivity += half_dt adjoint (u_after - u_before) and zero_order_sensitivity +=
    quarter_dt2 adjoint (u_after + 2 u_now + u_before) (the nodes with damping are special; elsewhere C and E have
    no derivative)."""
    two = _typed(adjoint, 2.0)
    for node in prange(adjoint.shape[0]):
        mass_sensitivity[node] += adjoint[node] * (u_after[node] - two * u_now[node] + u_before[node]) \
            + dt4_12 * scaled_adjoint[node] * y_now[node]
    for node in special_nodes:
        damping_sensitivity[node] += half_dt * adjoint[node] * (u_after[node] - u_before[node])
        zero_order_sensitivity[node] += quarter_dt2 * adjoint[node] * (u_after[node] + two * u_now[node]
                                                                        + u_before[node])


@njit(cache=True, fastmath=False)  # fastmath: see the pointwise work above
def _add_stacey_sensitivities(mass_sensitivity, damping_sensitivity, stacey, adjoint, u_before, u_now, u_after, a_now,
                              forcing_now, time_step):
    """The gyro step's terms of an adjoint step's sensitivities at the Stacey nodes, beyond those of
    _add_nodal_sensitivities (which pairs -p/D with a^n there): with D2u = u_after - 2 u_now + u_before,
    delta = (u_now - u_before)/dt, w = F_t - g (``forcing_now``) and p (stiffness[1]),
    mass += -dt^2/12 beta^2 mu D2u + dt^4/12 (beta/M) mu w and
    damping += dt^2/6 beta mu D2u - dt^4/12 mu w / M - dt^4/12 p (delta + dt/2 a^n) / D (float64)."""
    dt = np.float64(time_step)
    dt2_12 = dt * dt / 12.0
    dt4_12 = dt2_12 * dt * dt
    for j in range(stacey.nodes.shape[0]):
        node = stacey.nodes[j]
        mass, beta, inverse_d = np.float64(stacey.factors[0, j]), np.float64(stacey.factors[1, j]), np.float64(
            stacey.factors[2, j])
        mu, p, w, a = np.float64(adjoint[node]), np.float64(stacey.stiffness[1, j]), np.float64(forcing_now[j]), \
            np.float64(a_now[node])
        before, now, after = np.float64(u_before[node]), np.float64(u_now[node]), np.float64(u_after[node])
        second_difference = after - 2.0 * now + before
        delta = (now - before) / dt
        mass_sensitivity[node] += -dt2_12 * beta * beta * mu * second_difference + dt4_12 * beta / mass * mu * w
        damping_sensitivity[node] += 2.0 * dt2_12 * beta * mu * second_difference - dt4_12 * mu * w / mass \
            - dt4_12 * p * (delta + 0.5 * dt * a) * inverse_d


@njit(cache=True, fastmath=True)
def adjoint_steps(first_step, last_step, final_step, following_adjoint, current_adjoint, previous_adjoint, work,
                  stepping, receivers, store, geometric, sensitivities, layer_memory, carried, carried_next, stacey):
    """Adjoint steps k = last_step - 1 down to first_step, accumulating the material sensitivities.

    current_adjoint holds mu^k, following_adjoint mu^{k+1}; each step computes lambda^{k-1} into
    previous_adjoint (the same update as forward with F = 0 and Q^k = -dJ/du^k, the ``direct_series`` of the
    PointInjection ``receivers``) and, for k < final_step, adds mu^k . dPhi^k/d(M, C, kappa) to
    ``sensitivities`` (a Sensitivities) using the stored forward states of ``store`` (a StateStore:
    states[k + 1 - first_step] = u^k, residuals[k - first_step] = y^k; d/dC at the special nodes only, see
    _step: the others have no damping). geometric: the layout's product_weights(geometric tensor).
    ``layer_memory``: the layers' adjoint pass (a LayerMemory with the forward's drive and force swapped and the
    adjoint memory), which adds its memory times the gradient of u^k into sensitivities.layers; carried,
    carried_next: two nodal vectors that hold T^T mu of the last step at the layer nodes (rotated here; zero at
    the start). ``stacey``: the adjoint's StaceyCorrection (its stiffness zero at the start; ``stepping`` with the
    adjoint's factors), whose sensitivities use store.forcings. work: (1, n_nodes) scratch. Returns the rotated
    buffers (following, current, previous, carried, carried_next).
    """
    no_partner = np.zeros(0, following_adjoint.dtype)
    time_step = stepping.time_step
    dt2 = time_step * time_step
    dt4_12 = dt2 * dt2 / _typed(time_step, 12.0)
    half_dt = _typed(time_step, 0.5) * time_step
    scaled_adjoint = work[0]
    special_nodes = stepping.step_coefficients.special.nodes
    for k in range(last_step - 1, first_step - 1, -1):
        if k >= final_step:
            _step(following_adjoint, current_adjoint, previous_adjoint, scaled_adjoint, stepping, receivers, k, None,
                  layer_memory, carried, carried_next, no_partner, sensitivities.layers, stacey, stacey.forcing, True)
        else:
            row = k + 1 - store.first_step
            u_now = store.states[row]
            y_now = store.residuals[k - store.first_step]
            # kappa products G(grad mu^k, grad (dt^2 u^k + dt^4/12 y^k)) + dt^4/12 G(grad y_mu^k, grad u^k),
            # with the gradients of y_mu^k (scaled_adjoint) of the step's second product
            _step(following_adjoint, current_adjoint, previous_adjoint, scaled_adjoint, stepping, receivers, k,
                  ((current_adjoint, u_now, y_now), (dt2, dt4_12), sensitivities.kappa, geometric), layer_memory,
                  carried, carried_next, u_now, sensitivities.layers, stacey, stacey.forcing, True)
            _add_nodal_sensitivities(sensitivities.mass, sensitivities.damping, sensitivities.zero_order,
                                     special_nodes, current_adjoint, scaled_adjoint, store.states[row - 1], u_now,
                                     store.states[row + 1], y_now, dt4_12, half_dt, _typed(time_step, 0.25) * dt2)
            if stacey.nodes.shape[0] > 0:
                _add_stacey_sensitivities(sensitivities.mass, sensitivities.damping, stacey, current_adjoint,
                                          store.states[row - 1], u_now, store.states[row + 1], y_now,
                                          store.forcings[k - store.first_step], time_step)
        following_adjoint, current_adjoint, previous_adjoint = current_adjoint, previous_adjoint, following_adjoint
        carried, carried_next = carried_next, carried
    return following_adjoint, current_adjoint, previous_adjoint, carried, carried_next
