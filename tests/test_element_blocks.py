"""The blocked element layout of the kernels (specfwi.solver.element_blocks): every element-node
incidence has exactly one slot, layouts convert both ways, and the stiffness assembled through the
slots equals an independent numpy assembly, on a mesh with a vertex shared by 6 elements (more
than the 4 fixed slots per node) and with fewer elements than one block."""

from __future__ import annotations

import numpy as np
import pytest

import specfwi as sf
from specfwi.mesh import derivative_matrix
import specfwi.solver.setup as solver_setup
from specfwi.solver import SimulationSetup
from specfwi.solver.element_blocks import BLOCK_SIZE, SLOTS_PER_NODE, ElementBlocks


def hexagon_fan_mesh(tensor_order: int) -> sf.UnstructuredMesh:
    """A hexagon of radius 500 m cut into 6 quadrilaterals around its centre (a vertex of valence 6)."""
    angles = np.arange(6) * np.pi / 3.0
    corners = 500.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    midpoints = 0.5 * (corners + np.roll(corners, -1, axis=0))
    vertices = np.vstack([[[0.0, 0.0]], corners, midpoints])  # 0 centre, 1..6 corners, 7..12 edge midpoints
    connectivity = [[0, 7 + (k - 1) % 6, 1 + k, 7 + k] for k in range(6)]
    mesh = sf.UnstructuredMesh(vertices, connectivity, tensor_order)
    x, y = mesh.get_element_nodes().transpose(2, 0, 1)
    mesh.attach_field("VP", 1500.0 + 0.3 * x + 0.2 * y)
    mesh.attach_field("RHO", 1000.0 + 0.1 * x - 0.2 * y)
    return mesh


def fan_setup(tensor_order: int) -> SimulationSetup:
    event = sf.Event(event_name="fan", sources=sf.ScalarPoint2D(x=40.0, y=-30.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=[-120.0], y=[200.0], fields=["phi"]))
    return SimulationSetup.build(hexagon_fan_mesh(tensor_order), event, wavelet=sf.Ricker(center_frequency=10.0),
                                 end_time_in_seconds=0.05,
                                 options=sf.SolverOptions(absorbing_boundaries=False, progress=False))


def numpy_stiffness(mesh: sf.UnstructuredMesh, stiffness_tensor: np.ndarray, u: np.ndarray) -> np.ndarray:
    """K u assembled element by element with numpy (tensor: (n_elements, n_gll, 3) as the solver's)."""
    derivative = derivative_matrix(mesh.tensor_order)
    n = mesh.n_gll_1d
    local = u[mesh.global_node_index].reshape(-1, n, n)  # [element, j (eta), i (xi)]
    d_xi = np.einsum("ik,ejk->eji", derivative, local)
    d_eta = np.einsum("jk,eki->eji", derivative, local)
    a, b, c = (stiffness_tensor[:, :, m].reshape(-1, n, n) for m in range(3))
    flux_xi, flux_eta = a * d_xi + b * d_eta, b * d_xi + c * d_eta
    element_result = np.einsum("ki,ejk->eji", derivative, flux_xi) + np.einsum("kj,eki->eji", derivative, flux_eta)
    result = np.zeros(mesh.n_global_nodes)
    np.add.at(result, mesh.global_node_index.ravel(), element_result.reshape(-1))
    return result


@pytest.mark.parametrize("tensor_order", [1, 4])
def test_every_element_node_incidence_has_exactly_one_slot(tensor_order):
    mesh = hexagon_fan_mesh(tensor_order)
    blocks = ElementBlocks.build(mesh.global_node_index)
    assert blocks.block_elements.shape == (1, BLOCK_SIZE)
    assert sorted(blocks.block_elements[blocks.block_elements >= 0]) == list(range(6))
    slots = [list(row[row != blocks.zero_slot]) for row in blocks.node_slots]
    offsets = blocks.extra_slot_offsets
    for position, node in enumerate(blocks.extra_nodes):
        slots[node] += list(blocks.extra_slots[offsets[position]:offsets[position + 1]])
    centre = int(np.argmin(np.linalg.norm(mesh.global_node_coordinates, axis=1)))
    assert list(blocks.extra_nodes) == [centre] and len(slots[centre]) == 6 > SLOTS_PER_NODE
    all_slots = np.concatenate([np.asarray(s, dtype=np.int64) for s in slots])
    assert len(all_slots) == len(np.unique(all_slots)) == mesh.global_node_index.size
    flat_nodes = blocks.node_blocks.ravel()
    for node, node_slots in enumerate(slots):
        assert np.all(flat_nodes[node_slots] == node)


def test_blocked_layout_converts_both_ways():
    mesh = hexagon_fan_mesh(4)
    blocks = ElementBlocks.build(mesh.global_node_index)
    values = np.random.default_rng(1).normal(size=(mesh.n_elements, mesh.n_gll))
    blocked = blocks.to_blocks(values)
    assert blocked.shape == (1, mesh.n_gll, BLOCK_SIZE)
    np.testing.assert_array_equal(blocks.from_blocks(blocked), values)
    tensor = np.random.default_rng(2).normal(size=(mesh.n_elements, mesh.n_gll, 3))
    blocked_tensor = blocks.to_blocks(tensor)
    for component in range(3):
        np.testing.assert_array_equal(blocks.from_blocks(blocked_tensor[:, component]), tensor[:, :, component])
    assert np.all(blocked[:, :, 6:] == 0.0)  # padding lanes


@pytest.mark.parametrize("tensor_order", [1, 2, 4])
def test_stiffness_through_the_slots_equals_an_independent_assembly(tensor_order):
    setup = fan_setup(tensor_order)
    assert setup.operator[1].shape[1] == 3  # skewed elements: the kernels keep the cross terms
    u = np.random.default_rng(3).normal(size=setup.n_global_nodes)
    expected = numpy_stiffness(setup.mesh, setup.coefficients.stiffness_tensor, u)
    np.testing.assert_allclose(setup.apply_stiffness(u), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def assert_stiffness_is_the_same_on_one_thread_and_on_all(setup: SimulationSetup, seed: int) -> None:
    """K u bit for bit the same whatever numba's thread count."""
    import numba

    u = np.random.default_rng(seed).normal(size=setup.n_global_nodes)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = setup.apply_stiffness(u)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(setup.apply_stiffness(u), single)


def test_stiffness_is_the_same_on_one_thread_and_on_all():
    assert_stiffness_is_the_same_on_one_thread_and_on_all(fan_setup(4), seed=4)


def test_axis_aligned_elements_run_without_cross_terms_and_give_the_same_stiffness(monkeypatch):
    mesh = sf.mesh.rectangle((0.0, 700.0), (-300.0, 0.0), 7, 3, tensor_order=3)
    x, y = mesh.get_element_nodes().transpose(2, 0, 1)
    mesh.attach_field("VP", 1500.0 + 0.5 * x - y)
    mesh.attach_field("RHO", 1000.0 - 0.3 * y)
    event = sf.Event(event_name="box", sources=sf.ScalarPoint2D(x=330.0, y=-120.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=[510.0], y=[-40.0], fields=["phi"]))
    monkeypatch.setattr(solver_setup, "kernel_layout", lambda mesh, n: ElementBlocks.build(mesh.global_node_index))
    setup = SimulationSetup.build(mesh, event, wavelet=sf.Ricker(center_frequency=10.0), end_time_in_seconds=0.05,
                                  options=sf.SolverOptions(progress=False))
    assert setup.operator[1].shape[1] == 2  # a rectangle takes the node grid unless told otherwise
    u = np.random.default_rng(5).normal(size=setup.n_global_nodes)
    expected = numpy_stiffness(mesh, setup.coefficients.stiffness_tensor, u)
    np.testing.assert_allclose(setup.apply_stiffness(u), expected, rtol=0, atol=1e-12 * np.abs(expected).max())
