"""Tests of specfwi.mesh: GLL rules, numbering, geometry, HDF5/XDMF I/O, point location, validation."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree

import h5py
import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from specfwi.errors import InvalidParameterError, ModelError, OutsideMeshError, SchemaVersionError, SpecfwiError
from specfwi.mesh import derivative_matrix, gll_points, gll_weights, lagrange_basis, rectangle
from specfwi.mesh.gll import check_order
from specfwi.model import GenericModel

ORDERS = range(1, 11)


def distorted_mesh(tensor_order: int = 3, *, seed: int = 0) -> sf.UnstructuredMesh:
    """A 4 x 3 mesh of [0, 400] x [-300, 0] whose interior vertices are moved randomly (non-rectangular quads)."""
    mesh = rectangle((0.0, 400.0), (-300.0, 0.0), 4, 3, tensor_order=tensor_order)
    vertices = mesh.vertices.copy()
    interior = ((vertices[:, 0] > 0.0) & (vertices[:, 0] < 400.0) & (vertices[:, 1] > -300.0)
                & (vertices[:, 1] < 0.0))
    vertices[interior] += np.random.default_rng(seed).uniform(-30.0, 30.0, (interior.sum(), 2))
    return sf.UnstructuredMesh(vertices, mesh.connectivity, tensor_order, side_sets=mesh.side_sets)


def polygon_area(corners: np.ndarray) -> np.ndarray:
    """Shoelace area of quads (n, 4, 2)."""
    x, y = corners[..., 0], corners[..., 1]
    return 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)


# ---------------------------------------------------------------------- GLL rules
@pytest.mark.parametrize("order", ORDERS)
def test_gll_quadrature_is_exact_to_degree_2n_minus_1_and_not_2n(order):
    points, weights = gll_points(order), gll_weights(order)
    for degree in range(2 * order):
        exact = 2.0 / (degree + 1) if degree % 2 == 0 else 0.0
        assert np.sum(weights * points**degree) == pytest.approx(exact, abs=1e-13)
    exact_2n = 2.0 / (2 * order + 1)
    assert abs(np.sum(weights * points ** (2 * order)) - exact_2n) > 1e-6  # far above rounding (1e-13)


@pytest.mark.parametrize("order", ORDERS)
def test_lagrange_basis_is_nodal_and_a_partition_of_unity(order):
    points = gll_points(order)
    np.testing.assert_allclose(lagrange_basis(points, points), np.eye(order + 1), atol=1e-12)
    x = np.random.default_rng(order).uniform(-1.0, 1.0, 50)
    np.testing.assert_allclose(lagrange_basis(points, x).sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("order", ORDERS)
def test_derivative_matrix_is_exact_on_polynomials_of_degree_n(order):
    points = gll_points(order)
    coefficients = np.random.default_rng(order).normal(size=order + 1)
    polynomial = np.polynomial.Polynomial(coefficients)
    np.testing.assert_allclose(derivative_matrix(order) @ polynomial(points), polynomial.deriv()(points),
                               rtol=1e-9, atol=1e-9 * np.abs(coefficients).sum())


@pytest.mark.parametrize("order", [0, 11, -1, 2.5, True, "4", None])
def test_check_order_rejects_bad_orders(order):
    with pytest.raises(InvalidParameterError, match="'tensor_order' must be"):
        check_order(order)


def test_check_order_accepts_numpy_integers():
    assert check_order(np.int64(4)) == 4


# ---------------------------------------------------------------------- numbering and geometry
@pytest.mark.parametrize("order, n_x, n_y", [(1, 3, 2), (4, 5, 3), (7, 2, 4)])
def test_global_numbering_of_a_rectangle(order, n_x, n_y):
    mesh = rectangle((0.0, 500.0), (-200.0, 0.0), n_x, n_y, tensor_order=order)
    assert mesh.n_global_nodes == (n_x * order + 1) * (n_y * order + 1)
    element_nodes = mesh.get_element_nodes()
    np.testing.assert_allclose(mesh.global_node_coordinates[mesh.global_node_index], element_nodes, atol=1e-9)
    # every global node is used, and the nodes it joins have equal coordinates
    assert set(np.unique(mesh.global_node_index)) == set(range(mesh.n_global_nodes))
    flat_index, flat_nodes = mesh.global_node_index.ravel(), element_nodes.reshape(-1, 2)
    spread = np.zeros((mesh.n_global_nodes, 2))
    np.maximum.at(spread, flat_index, np.abs(flat_nodes - mesh.global_node_coordinates[flat_index]))
    assert spread.max() < 1e-9


def test_assemble_counts_shared_nodes():
    mesh = rectangle((0.0, 2.0), (0.0, 2.0), 2, 2, tensor_order=2)
    multiplicity = mesh.assemble(np.ones((mesh.n_elements, mesh.n_gll)))
    centre = np.flatnonzero(np.all(np.isclose(mesh.global_node_coordinates, [1.0, 1.0]), axis=1))
    corner = np.flatnonzero(np.all(np.isclose(mesh.global_node_coordinates, [0.0, 0.0]), axis=1))
    assert multiplicity[centre] == 4 and multiplicity[corner] == 1
    assert multiplicity.sum() == mesh.n_elements * mesh.n_gll


@pytest.mark.parametrize("order", [2, 4])
def test_quadrature_weights_integrate_area_and_xy_exactly(order):
    x_range, y_range = (100.0, 700.0), (-400.0, 0.0)
    mesh = rectangle(x_range, y_range, 3, 2, tensor_order=order)
    nodes = mesh.get_element_nodes()
    area = (x_range[1] - x_range[0]) * (y_range[1] - y_range[0])
    integral_xy = 0.25 * (x_range[1] ** 2 - x_range[0] ** 2) * (y_range[1] ** 2 - y_range[0] ** 2)
    assert mesh.quadrature_weights.sum() == pytest.approx(area, rel=1e-13)
    assert np.sum(mesh.quadrature_weights * nodes[..., 0] * nodes[..., 1]) == pytest.approx(integral_xy, rel=1e-12)


@pytest.mark.parametrize("order", [2, 3, 5])
def test_jacobian_of_a_distorted_mesh(order):
    mesh = distorted_mesh(order)
    corners = mesh.vertices[mesh.connectivity]
    assert np.ptp(polygon_area(corners)) > 1.0  # the quads really differ
    # element areas (shoelace) and the integral of x*y over the undistorted outer rectangle
    np.testing.assert_allclose(mesh.quadrature_weights.sum(axis=1), polygon_area(corners), rtol=1e-12)
    nodes = mesh.get_element_nodes()
    integral_xy = 0.25 * (400.0**2) * (0.0 - 300.0**2)
    assert np.sum(mesh.quadrature_weights * nodes[..., 0] * nodes[..., 1]) == pytest.approx(integral_xy, rel=1e-11)
    # Jacobian against central differences of the reference-to-physical map
    points = gll_points(order)
    xi, eta = np.meshgrid(points, points, indexing="xy")
    reference = np.column_stack([xi.ravel(), eta.ravel()])
    step = 1e-6
    for element in range(mesh.n_elements):
        index = np.full(len(reference), element)
        columns = [(mesh.reference_to_physical(index, reference + step * unit)
                    - mesh.reference_to_physical(index, reference - step * unit)) / (2 * step)
                   for unit in (np.array([1.0, 0.0]), np.array([0.0, 1.0]))]
        jacobian = np.stack(columns, axis=-1)  # (n_gll, physical, reference)
        np.testing.assert_allclose(mesh.jacobian_determinant[element], np.linalg.det(jacobian), rtol=1e-7)
        np.testing.assert_allclose(mesh.inverse_jacobian[element] @ jacobian, np.broadcast_to(np.eye(2), jacobian.shape),
                                   atol=1e-7)


def test_copy_is_deep():
    mesh = distorted_mesh()
    mesh.attach_field("VP", np.full((mesh.n_elements, mesh.n_gll), 1500.0))
    duplicate = mesh.copy()
    duplicate.element_nodal_fields["VP"][0, 0] = -1.0
    duplicate.vertices[0, 0] = -1e6
    duplicate.side_sets["x0"][0, 0] = 99
    duplicate.attach_field("RHO", np.ones((mesh.n_elements, mesh.n_gll)))
    assert mesh.element_nodal_fields["VP"][0, 0] == 1500.0
    assert mesh.vertices[0, 0] == 0.0
    assert mesh.side_sets["x0"][0, 0] != 99
    assert "RHO" not in mesh.element_nodal_fields


# ---------------------------------------------------------------------- HDF5 and XDMF
def mesh_with_fields(order: int = 3) -> sf.UnstructuredMesh:
    mesh = distorted_mesh(order)
    rng = np.random.default_rng(7)
    mesh.attach_field("VP", rng.uniform(1500.0, 3000.0, (mesh.n_elements, mesh.n_gll)))
    mesh.attach_field("RHO", rng.uniform(1000.0, 2500.0, (mesh.n_elements, mesh.n_gll)))
    return mesh


@pytest.mark.parametrize("as_path", [True, False])
def test_h5_round_trip(tmp_path, as_path):
    mesh = mesh_with_fields()
    target = tmp_path / "mesh.h5"
    mesh.write_h5(target if as_path else str(target))
    loaded = sf.UnstructuredMesh.from_h5(target if as_path else str(target))
    assert loaded.tensor_order == mesh.tensor_order
    np.testing.assert_array_equal(loaded.vertices, mesh.vertices)
    np.testing.assert_array_equal(loaded.connectivity, mesh.connectivity)
    assert loaded.side_sets.keys() == mesh.side_sets.keys()
    for name, pairs in mesh.side_sets.items():
        np.testing.assert_array_equal(loaded.side_sets[name], pairs)
    assert loaded.element_nodal_fields.keys() == mesh.element_nodal_fields.keys()
    for name, values in mesh.element_nodal_fields.items():
        np.testing.assert_array_equal(loaded.element_nodal_fields[name], values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.h5", "mesh.xdmf"]  # no temporary left


def test_h5_overwrite_replaces_the_file(tmp_path):
    target = tmp_path / "mesh.h5"
    mesh_with_fields().write_h5(target)
    smaller = rectangle((0.0, 1.0), (0.0, 1.0), 1, 1, tensor_order=2)
    smaller.write_h5(target)
    loaded = sf.UnstructuredMesh.from_h5(target)
    assert loaded.n_elements == 1 and loaded.tensor_order == 2 and not loaded.element_nodal_fields


def test_h5_layout_has_schema_version_and_visualization_data(tmp_path):
    mesh = mesh_with_fields(order=2)
    mesh.write_h5(tmp_path / "mesh.h5")
    with h5py.File(tmp_path / "mesh.h5", "r") as handle:
        assert handle.attrs["specfwi_schema_version"] == 1
        assert handle.attrs["tensor_order"] == 2
        np.testing.assert_allclose(handle["global_node_coordinates"][()], mesh.global_node_coordinates)
        points = handle["visualization/element_node_coordinates"][()]
        quads = handle["visualization/sub_quad_connectivity"][()]
    assert quads.shape == (mesh.n_elements * 4, 4)
    # the sub-quads tile every element: counter-clockwise, areas summing to the element areas
    sub_areas = polygon_area(points[quads])
    assert np.all(sub_areas > 0.0)
    np.testing.assert_allclose(sub_areas.reshape(mesh.n_elements, 4).sum(axis=1),
                               polygon_area(mesh.vertices[mesh.connectivity]), rtol=1e-12)


def test_xdmf_parses_and_references_existing_datasets(tmp_path):
    mesh = mesh_with_fields()
    mesh.write_h5(tmp_path / "model.h5")
    root = ElementTree.parse(tmp_path / "model.xdmf").getroot()
    grid = root.find("Domain/Grid")
    assert grid.find("Topology").get("TopologyType") == "Quadrilateral"
    assert {a.get("Name") for a in grid.findall("Attribute")} == {"VP", "RHO", "ABSORBING_LAYER"}
    items = root.iter("DataItem")
    n_checked = 0
    with h5py.File(tmp_path / "model.h5", "r") as handle:
        for item in items:
            file_name, dataset = item.text.strip().split(":")
            assert (tmp_path / file_name).is_file()
            declared = tuple(int(n) for n in item.get("Dimensions").split())
            assert handle[dataset].shape == declared
            n_checked += 1
        n_points = handle["visualization/element_node_coordinates"].shape[0]
        for attribute in grid.findall("Attribute"):
            assert attribute.get("Center") == "Node"
            dataset = attribute.find("DataItem").text.split(":")[1]
            assert handle[dataset].size == n_points
    assert n_checked == 5


def test_from_h5_refuses_unknown_schema_version(tmp_path):
    target = tmp_path / "mesh.h5"
    mesh_with_fields().write_h5(target)
    with h5py.File(target, "r+") as handle:
        handle.attrs["specfwi_schema_version"] = 2
    with pytest.raises(SchemaVersionError, match="schema version 2"):
        sf.UnstructuredMesh.from_h5(target)


def test_from_h5_refuses_a_foreign_h5_file(tmp_path):
    target = tmp_path / "other.h5"
    with h5py.File(target, "w") as handle:
        handle.create_dataset("data", data=np.zeros(3))
    with pytest.raises(SchemaVersionError, match="specfwi_schema_version"):
        sf.UnstructuredMesh.from_h5(target)


def test_from_h5_missing_or_unreadable_file(tmp_path):
    with pytest.raises(SpecfwiError, match="'path' must be an existing"):
        sf.UnstructuredMesh.from_h5(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(SpecfwiError, match="'path' must be a readable HDF5 file"):
        sf.UnstructuredMesh.from_h5(tmp_path / "text.h5")


def test_write_h5_rejects_bad_targets(tmp_path):
    mesh = rectangle((0.0, 1.0), (0.0, 1.0), 1, 1)
    with pytest.raises(InvalidParameterError, match="'path' must be a file in an existing directory"):
        mesh.write_h5(tmp_path / "no" / "mesh.h5")
    with pytest.raises(InvalidParameterError, match="'path' must be an HDF5 file name"):
        mesh.write_h5(tmp_path / "mesh.xdmf")
    mesh.attach_field("a/b", np.zeros((1, mesh.n_gll)))
    with pytest.raises(InvalidParameterError, match="element_nodal_fields name"):
        mesh.write_h5(tmp_path / "mesh.h5")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------- point location and interpolation
def random_points_in(mesh: sf.UnstructuredMesh, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random elements and reference coordinates, and their physical points."""
    rng = np.random.default_rng(seed)
    element = rng.integers(0, mesh.n_elements, n)
    reference = rng.uniform(-0.98, 0.98, (n, 2))
    return element, mesh.reference_to_physical(element, reference)


@pytest.mark.parametrize("order", [1, 4])
def test_locate_points_recovers_coordinates(order):
    mesh = distorted_mesh(order)
    element, points = random_points_in(mesh, 500, seed=order)
    found_element, reference = mesh.locate_points(points)
    np.testing.assert_array_equal(found_element, element)
    np.testing.assert_allclose(mesh.reference_to_physical(found_element, reference), points, atol=1e-9)
    assert np.all(np.abs(reference) <= 1.0)


def test_locate_points_on_many_elements():
    mesh = rectangle((0.0, 3000.0), (-1000.0, 0.0), 150, 50, tensor_order=1)
    points = np.random.default_rng(3).uniform([0.0, -1000.0], [3000.0, 0.0], (2000, 2))
    element, reference = mesh.locate_points(points)
    np.testing.assert_allclose(mesh.reference_to_physical(element, reference), points, atol=1e-9)
    expected = np.minimum(((points[:, 1] + 1000.0) // 20.0).astype(int), 49) * 150 + np.minimum(
        (points[:, 0] // 20.0).astype(int), 149)
    np.testing.assert_array_equal(element, expected)


def test_locate_points_on_shared_edges_and_corners_is_deterministic():
    mesh = rectangle((0.0, 2.0), (0.0, 2.0), 2, 2, tensor_order=2)  # elements 0 1 / 2 3 (bottom row first)
    points = np.array([[1.0, 1.0], [1.0, 0.5], [0.5, 1.0], [2.0, 2.0], [0.0, 0.0]])
    element, reference = mesh.locate_points(points)
    np.testing.assert_array_equal(element, [0, 0, 0, 3, 0])
    np.testing.assert_allclose(reference, [[1, 1], [1, 0], [0, 1], [1, 1], [-1, -1]], atol=1e-12)
    again, _ = mesh.copy().locate_points(points[::-1])
    np.testing.assert_array_equal(again, element[::-1])


def test_locate_a_single_point():
    mesh = distorted_mesh()
    element, points = random_points_in(mesh, 1, seed=5)
    found, reference = mesh.locate_points(points[0])
    assert found.shape == (1,) and reference.shape == (1, 2)
    assert found[0] == element[0]


def test_locate_points_outside_raises_naming_the_parameter():
    mesh = rectangle((0.0, 3000.0), (-1000.0, 0.0), 6, 2)
    with pytest.raises(OutsideMeshError, match=r"'receivers\[3\]' must be a point inside the mesh.*3000.*got \(3100.0, 0.0\)"):
        mesh.locate_points([3100.0, 0.0], name="receivers[3]")
    points = np.array([[10.0, -10.0], [20.0, -20.0], [1500.0, 1.0]])
    with pytest.raises(OutsideMeshError, match=r"'receivers\[2\]'.*got \(1500.0, 1.0\)"):
        mesh.locate_points(points, name="receivers")
    # a point a rounding error outside the boundary still belongs to the mesh
    element, reference = mesh.locate_points([3000.0 * (1 + 1e-12), 0.0])
    assert element[0] == 11 and reference[0].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], [[np.nan, 0.0]], "here"])
def test_locate_points_rejects_bad_input(bad):
    with pytest.raises(InvalidParameterError, match="'points' must be"):
        rectangle((0.0, 1.0), (0.0, 1.0), 1, 1).locate_points(bad)


@pytest.mark.parametrize("order", [2, 3, 6])
def test_interpolation_of_a_polynomial_field_is_exact(order):
    mesh = distorted_mesh(order)

    def polynomial(xy):  # degree <= 2 in (xi, eta) on a bilinear element
        x, y = xy[..., 0] / 100.0, xy[..., 1] / 100.0
        return 1.0 + 2.0 * x - 3.0 * y + 0.5 * x * y

    field = polynomial(mesh.get_element_nodes())
    _, points = random_points_in(mesh, 300, seed=order)
    element, reference = mesh.locate_points(points)
    weights = mesh.interpolation_weights(element, reference)
    assert weights.shape == (300, mesh.n_gll)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.sum(weights * field[element], axis=1), polynomial(points), rtol=1e-10)


def test_interpolation_weights_at_nodes_are_unit_vectors():
    mesh = distorted_mesh(3)
    points = gll_points(3)
    xi, eta = np.meshgrid(points, points, indexing="xy")
    reference = np.column_stack([xi.ravel(), eta.ravel()])
    weights = mesh.interpolation_weights(np.zeros(len(reference), dtype=int), reference)
    np.testing.assert_allclose(weights, np.eye(mesh.n_gll), atol=1e-12)


def test_interpolation_weights_reject_bad_input():
    mesh = distorted_mesh(2)
    with pytest.raises(InvalidParameterError, match="'element_index' must be"):
        mesh.interpolation_weights([mesh.n_elements], [[0.0, 0.0]])
    with pytest.raises(InvalidParameterError, match="'reference_coordinates' must be"):
        mesh.interpolation_weights([0], [[1.5, 0.0]])
    with pytest.raises(InvalidParameterError, match="'reference_coordinates' must be"):
        mesh.interpolation_weights([0, 1], [[0.0, 0.0]])


# ---------------------------------------------------------------------- validation of mesh and model inputs
def layered_model(**overrides) -> GenericModel:
    x, y = np.linspace(0.0, 3000.0, 10), np.linspace(-1000.0, 0.0, 10)
    _, yy = np.meshgrid(x, y, indexing="ij")
    variables = {"vp": 1500.0 - yy, "rho": 1000.0 - yy}
    variables.update(overrides)
    return GenericModel(name="model", data=xr.Dataset({k: (["x", "y"], v) for k, v in variables.items()},
                                                      coords={"x": x, "y": y}))


def test_from_volume_model_samples_the_model():
    mesh = sf.mesh.from_volume_model(layered_model(), max_frequency_in_hertz=2.0, elements_per_wavelength=1.0,
                                     tensor_order=3, absorbing_boundaries=False)
    nodes = mesh.get_element_nodes()
    np.testing.assert_allclose(mesh.element_nodal_fields["VP"], 1500.0 - nodes[..., 1], rtol=1e-12)
    assert mesh.extent == (0.0, 3000.0, -1000.0, 0.0)
    assert math.isclose(np.ptp(mesh.vertices[mesh.connectivity[0], 0]), 3000.0 / 4)


@pytest.mark.parametrize("value", [0.0, -2.0, np.nan, np.inf, "2"])
def test_from_volume_model_rejects_bad_elements_per_wavelength(value):
    with pytest.raises(InvalidParameterError, match="'elements_per_wavelength' must be"):
        sf.mesh.from_volume_model(layered_model(), max_frequency_in_hertz=5.0, elements_per_wavelength=value)


@pytest.mark.parametrize("order", [0, 11])
def test_from_volume_model_and_rectangle_reject_bad_tensor_order(order):
    with pytest.raises(InvalidParameterError, match="'tensor_order' must be"):
        sf.mesh.from_volume_model(layered_model(), max_frequency_in_hertz=5.0, elements_per_wavelength=1.0,
                                  tensor_order=order)
    with pytest.raises(InvalidParameterError, match="'tensor_order' must be"):
        rectangle((0.0, 1.0), (0.0, 1.0), 1, 1, tensor_order=order)


@pytest.mark.parametrize("arguments, name", [
    (((1.0, 0.0), (0.0, 1.0), 1, 1), "x_range"),
    (((0.0, 1.0), (0.0, np.nan), 1, 1), "y_range"),
    (((0.0, 1.0), (0.0, 1.0), 0, 1), "n_elements_x"),
    (((0.0, 1.0), (0.0, 1.0), 1, 2.0), "n_elements_y"),
])
def test_rectangle_rejects_bad_input(arguments, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' must be"):
        rectangle(*arguments)


def test_generic_model_rejects_missing_negative_and_nan_values():
    x, y = np.linspace(0.0, 1.0, 3), np.linspace(-1.0, 0.0, 3)
    only_rho = xr.Dataset({"rho": (["x", "y"], np.ones((3, 3)))}, coords={"x": x, "y": y})
    with pytest.raises(ModelError, match=r"missing \['vp'\]"):
        GenericModel(name="m", data=only_rho)
    with pytest.raises(ModelError, match="'rho' must be > 0"):
        layered_model(rho=-np.ones((10, 10)))
    vp = np.full((10, 10), 1500.0)
    vp[2, 3] = np.nan
    with pytest.raises(ModelError, match="'vp' must be finite"):
        layered_model(vp=vp)


def test_unstructured_mesh_rejects_clockwise_elements_and_bad_fields():
    vertices = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(InvalidParameterError, match="'connectivity' must be counter-clockwise"):
        sf.UnstructuredMesh(vertices, [[0, 3, 2, 1]], 2)
    with pytest.raises(InvalidParameterError, match=r"element_nodal_fields\['VP'\]. must be an array of shape \(1, 9\)"):
        sf.UnstructuredMesh(vertices, [[0, 1, 2, 3]], 2, element_nodal_fields={"VP": np.ones((1, 4))})
