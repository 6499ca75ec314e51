"""The node-grid layout of the kernels (specfwi.solver.node_grid): which meshes take it, and that its
stiffness and gradient products equal an independent numpy assembly and the element-block layout,
with element-nodal RHO that jumps between the elements sharing a node."""

from __future__ import annotations

import numpy as np
import pytest
from test_element_blocks import assert_stiffness_is_the_same_on_one_thread_and_on_all, fan_setup, numpy_stiffness

import specfwi as sf
from specfwi.solver import SimulationSetup
import specfwi.solver.setup as solver_setup
from specfwi.solver.element_blocks import ElementBlocks
from specfwi.solver.node_grid import NodeGrid

WAVELET = sf.Ricker(center_frequency=10.0)
EVENT = sf.Event(event_name="box", sources=sf.ScalarPoint2D(x=330.0, y=-120.0, f=1.0),
                 receivers=sf.ArrayPoint2D(x=[510.0, 90.0], y=[-40.0, -250.0], fields=["phi"]))


def box_mesh(tensor_order: int, n_elements_x: int, n_elements_y: int, *, seed: int = 0) -> sf.UnstructuredMesh:
    """700 m x 300 m of axis-aligned elements; RHO differs at a node from one element to the next."""
    mesh = sf.mesh.rectangle((0.0, 700.0), (-300.0, 0.0), n_elements_x, n_elements_y, tensor_order=tensor_order)
    x, y = mesh.get_element_nodes().transpose(2, 0, 1)
    mesh.attach_field("VP", 1500.0 + 0.5 * x - y)
    mesh.attach_field("RHO", 1000.0 - 0.3 * y + 80.0 * np.random.default_rng(seed).random(x.shape))
    return mesh


def box_setup(mesh: sf.UnstructuredMesh) -> SimulationSetup:
    return SimulationSetup.build(mesh, EVENT, wavelet=WAVELET, end_time_in_seconds=0.05,
                                 options=sf.SolverOptions(progress=False))


@pytest.fixture
def grid_on_small_meshes(monkeypatch):
    """The node grid for rectangles of any size (the solver keeps small ones on element blocks, for speed)."""
    monkeypatch.setattr(solver_setup, "NODE_GRID_MIN_NODES", 0)


def test_large_enough_rectangles_of_low_order_take_the_node_grid():
    assert isinstance(box_setup(box_mesh(4, 60, 12)).layout, NodeGrid)  # 241 x 49 nodes
    assert isinstance(box_setup(box_mesh(4, 9, 5)).layout, ElementBlocks)  # 37 x 21 nodes: too few
    assert isinstance(box_setup(box_mesh(6, 40, 10)).layout, NodeGrid)  # 241 x 61 nodes
    # order 10: 121 derivative entries, more than numba passes into a parallel region
    assert isinstance(solver_setup.kernel_layout(box_mesh(10, 20, 5), 2), ElementBlocks)  # 201 x 51 nodes


def test_rectangles_have_a_node_grid_and_other_meshes_not(grid_on_small_meshes):
    setup = box_setup(box_mesh(3, 7, 2))
    assert isinstance(setup.layout, NodeGrid)
    assert (setup.layout.n_x, setup.layout.n_y) == (22, 7)
    assert isinstance(fan_setup(2).layout, ElementBlocks)  # an unstructured fan of skewed elements


@pytest.mark.parametrize("n_elements_x, n_elements_y, transposed", [(7, 2, True), (2, 7, False), (3, 3, False)])
def test_the_longer_axis_of_the_grid_is_contiguous_in_the_solver(grid_on_small_meshes, n_elements_x, n_elements_y,
                                                                 transposed):
    mesh = box_mesh(3, n_elements_x, n_elements_y)
    setup = box_setup(mesh)
    assert setup.layout.transposed == transposed
    n_outer, n_inner = setup.layout.memory_shape
    assert n_inner == max(setup.layout.n_x, setup.layout.n_y)
    x, y = (setup.to_solver_order(values).reshape(n_outer, n_inner) for values in mesh.global_node_coordinates.T)
    along_inner, along_outer = (x, y) if transposed else (y, x)
    along_inner = along_inner[:, setup.layout.inner_positions(np.arange(n_inner))]  # node lines are stored in runs
    assert np.all(np.diff(along_inner, axis=1) > 1.0) and np.abs(np.diff(along_inner, axis=0)).max() < 1e-9
    assert np.all(np.diff(along_outer, axis=0) > 1.0) and np.abs(np.diff(along_outer, axis=1)).max() < 1e-9
    u = np.random.default_rng(2).normal(size=mesh.n_global_nodes)
    np.testing.assert_array_equal(setup.to_mesh_order(setup.to_solver_order(u)), u)


def test_a_sheared_grid_keeps_the_element_blocks(grid_on_small_meshes):
    mesh = sf.mesh.rectangle((0.0, 700.0), (-300.0, 0.0), 5, 3, tensor_order=2)
    mesh.vertices[:, 0] += 0.2 * mesh.vertices[:, 1]  # parallelograms: the stiffness has cross terms
    x, y = mesh.get_element_nodes().transpose(2, 0, 1)
    mesh.attach_field("VP", 1500.0 + 0 * x)
    mesh.attach_field("RHO", 1000.0 + 0 * y)
    assert NodeGrid.detect(mesh, 3) is None
    assert NodeGrid.detect(mesh, 2) is None  # nor do its nodes lie on x and y grid lines
    assert NodeGrid.detect(fan_setup(2).mesh, 2) is None
    assert isinstance(SimulationSetup.build(mesh, sf.Event(
        event_name="sheared", sources=sf.ScalarPoint2D(x=250.0, y=-150.0, f=1.0),
        receivers=sf.ArrayPoint2D(x=[300.0], y=[-100.0], fields=["phi"])), wavelet=WAVELET, end_time_in_seconds=0.05,
        options=sf.SolverOptions(progress=False)).layout, ElementBlocks)


def test_a_rectangle_whose_elements_run_xi_along_y_keeps_the_element_blocks(grid_on_small_meshes):
    """Axis-aligned (no cross terms) but each element's xi along +y: the grid kernels would mix up x and y."""
    grid = sf.mesh.rectangle((0.0, 700.0), (-300.0, 0.0), 5, 3, tensor_order=3)
    turned = sf.UnstructuredMesh(grid.vertices, np.roll(grid.connectivity, -1, axis=1), 3)
    x, y = turned.get_element_nodes().transpose(2, 0, 1)
    turned.attach_field("VP", 1500.0 + 0.5 * x - y)
    turned.attach_field("RHO", 1000.0 - 0.3 * y)
    assert NodeGrid.detect(grid, 2) is not None
    assert NodeGrid.detect(turned, 2) is None
    setup = box_setup(turned)
    assert isinstance(setup.layout, ElementBlocks) and setup.operator[1].shape[1] == 2
    u = np.random.default_rng(9).normal(size=setup.n_global_nodes)
    expected = numpy_stiffness(turned, setup.coefficients.stiffness_tensor, u)
    np.testing.assert_allclose(setup.apply_stiffness(u), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("tensor_order, n_elements_x, n_elements_y",
                         [(1, 5, 3), (2, 7, 4), (4, 9, 5), (3, 1, 1), (6, 3, 2), (2, 3, 6), (4, 4, 7)])
def test_grid_stiffness_equals_an_independent_assembly(tensor_order, n_elements_x, n_elements_y,
                                                     grid_on_small_meshes):
    setup = box_setup(box_mesh(tensor_order, n_elements_x, n_elements_y, seed=tensor_order))
    assert isinstance(setup.layout, NodeGrid)
    u = np.random.default_rng(7).normal(size=setup.n_global_nodes)
    expected = numpy_stiffness(setup.mesh, setup.coefficients.stiffness_tensor, u)
    np.testing.assert_allclose(setup.apply_stiffness(u), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_grid_stiffness_is_the_same_on_one_thread_and_on_all(grid_on_small_meshes):
    setup = box_setup(box_mesh(4, 9, 5))
    assert isinstance(setup.layout, NodeGrid)
    assert_stiffness_is_the_same_on_one_thread_and_on_all(setup, seed=8)


@pytest.mark.parametrize("n_elements_x, n_elements_y", [(6, 3), (3, 6)])  # transposed or not
def test_grid_gradient_equals_the_element_block_gradient(grid_on_small_meshes, monkeypatch, n_elements_x,
                                                         n_elements_y):
    mesh = box_mesh(4, n_elements_x, n_elements_y, seed=11)
    options = dict(wavelet=WAVELET, misfit="L2_energy_no_observed_data", end_time_in_seconds=0.3,
                   time_step_in_seconds=1e-3, progress=False)
    on_grid = sf.compute_gradient(mesh, EVENT, **options)
    assert isinstance(box_setup(mesh).layout, NodeGrid)
    monkeypatch.setattr(solver_setup, "kernel_layout", lambda mesh, n: ElementBlocks.build(mesh.global_node_index))
    on_blocks = sf.compute_gradient(mesh, EVENT, **options)
    assert on_grid.misfit == pytest.approx(on_blocks.misfit, rel=1e-12)
    for name in ("VP", "RHO"):
        expected = on_blocks.gradient.element_nodal_fields[name]
        np.testing.assert_allclose(on_grid.gradient.element_nodal_fields[name], expected, rtol=0,
                                   atol=1e-10 * np.abs(expected).max())


@pytest.mark.parametrize("parameters", [("VP",), ("RHO",)])
def test_grid_gradient_passes_the_taylor_test(grid_on_small_meshes, model_mesh, parameters):
    """The Taylor test of tests/test_gradient.py on the node grid, with a free surface and absorbing sides."""
    from test_gradient import GRADIENT_TOLERANCE, MINIMUM_REMAINDER_SLOPE, observed_traces, small_event, taylor_test

    assert isinstance(box_setup(model_mesh).layout, NodeGrid)
    observed = observed_traces(model_mesh, small_event(), free_surface=True)
    result = taylor_test(model_mesh, parameters, misfit="L2", observed=observed, free_surface=True, seed=3)
    assert result.passed(GRADIENT_TOLERANCE, minimum_slope=MINIMUM_REMAINDER_SLOPE), str(result)


@pytest.mark.parametrize("n_elements_x, n_elements_y", [(40, 20), (20, 40)])  # transposed or not
def test_grid_and_blocks_give_the_same_traces_when_the_boundary_nodes_span_many_work_items(
        grid_on_small_meshes, monkeypatch, n_elements_x, n_elements_y):
    """The damped and free-surface nodes keep their own update factors (kernels._finish_range), looked up per
    range of nodes: with several work items per product, both layouts must still find every one of them.
    The wavefield snapshots come back in the mesh's numbering from either layout."""
    mesh = box_mesh(4, n_elements_x, n_elements_y, seed=5)
    options = dict(wavelet=WAVELET, end_time_in_seconds=0.25, time_step_in_seconds=5e-4, free_surface=True,
                   progress=False)
    setup = box_setup(mesh)
    n_element_columns, _, n_inner = setup.layout.outer_shape
    assert isinstance(setup.layout, NodeGrid) and setup.kernels._n_chunks(n_element_columns, 4 * n_inner) > 2
    on_grid = sf.simulate(mesh, EVENT, **options)
    snapshot_on_grid = sf.solver.simulate_wavefield(mesh, EVENT, snapshot_times_in_seconds=[0.1], **options)
    monkeypatch.setattr(solver_setup, "kernel_layout", lambda mesh, n: ElementBlocks.build(mesh.global_node_index))
    assert setup.kernels._n_chunks(mesh.n_global_nodes, 1) > 2
    on_blocks = sf.simulate(mesh, EVENT, **options)
    snapshot_on_blocks = sf.solver.simulate_wavefield(mesh, EVENT, snapshot_times_in_seconds=[0.1], **options)
    assert np.abs(on_blocks.values).max() > 0.0
    np.testing.assert_allclose(on_grid.values, on_blocks.values, rtol=0, atol=1e-11 * np.abs(on_blocks.values).max())
    np.testing.assert_allclose(snapshot_on_grid.values, snapshot_on_blocks.values, rtol=0,
                               atol=1e-11 * np.abs(snapshot_on_blocks.values).max())
