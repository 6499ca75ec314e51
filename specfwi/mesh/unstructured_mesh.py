"""Quadrilateral spectral-element mesh with element-nodal fields.

Conventions
-----------
* An element is a straight-sided quadrilateral given by four vertex indices in
  counter-clockwise order, mapped bilinearly from the reference square
  [-1, 1]^2: corner 0 = (-1, -1), 1 = (1, -1), 2 = (1, 1), 3 = (-1, 1).
* GLL nodes of an element are numbered ``q = j * (order + 1) + i`` where ``i``
  runs along the reference xi axis and ``j`` along eta, so an element-nodal
  array reshaped to (n_elements, order + 1, order + 1) is indexed [e, j, i].
* Edges: 0 is eta = -1 (corners 0-1), 1 is xi = +1 (1-2), 2 is eta = +1 (2-3),
  3 is xi = -1 (3-0). A side set maps a name to an (n, 2) int array of
  (element, edge) pairs; rectangular meshes have "x0", "x1", "y0", "y1".
* Element-nodal fields map a name to an (n_elements, n_gll) float array: one value
  per element and GLL node, so fields may jump across element edges.
"""

from __future__ import annotations

import copy as _copy
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import invalid
from . import point_location
from .absorbing import AbsorbingLayers
from .gll import check_order, gll_points, gll_weights


class UnstructuredMesh:
    """A 2D quadrilateral mesh of GLL elements of one tensor order.

    Parameters
    ----------
    vertices : (n_vertices, 2) array, m
    connectivity : (n_elements, 4) int array, counter-clockwise vertex indices
    tensor_order : int, polynomial order of the GLL basis (1..10)
    element_nodal_fields : dict name -> (n_elements, n_gll) array, optional
    side_sets : dict name -> (n, 2) int array of (element, edge), optional
    absorbing_layers : the absorbing layers outside the model's box (specfwi.mesh.absorbing), optional;
        meshes from :func:`specfwi.mesh.from_volume_model` carry them by default
    """

    def __init__(
        self,
        vertices,
        connectivity,
        tensor_order: int = 4,
        *,
        element_nodal_fields: dict | None = None,
        side_sets: dict | None = None,
        absorbing_layers: AbsorbingLayers | None = None,
    ):
        self.tensor_order = check_order(tensor_order)
        vertices = np.ascontiguousarray(vertices, dtype=float)
        connectivity = np.ascontiguousarray(connectivity, dtype=np.int64)
        if vertices.ndim != 2 or vertices.shape[1] != 2 or not np.all(np.isfinite(vertices)):
            raise invalid("vertices", f"array of shape {vertices.shape}", "a finite (n_vertices, 2) array")
        if connectivity.ndim != 2 or connectivity.shape[1] != 4 or len(connectivity) == 0:
            raise invalid("connectivity", f"array of shape {connectivity.shape}", "an (n_elements, 4) integer array")
        if connectivity.min() < 0 or connectivity.max() >= len(vertices):
            raise invalid("connectivity", f"indices in [{connectivity.min()}, {connectivity.max()}]",
                          f"indices into the {len(vertices)} vertices")
        self.vertices = vertices
        self.connectivity = connectivity
        if np.any(self.jacobian_determinant <= 0.0):
            bad = int(np.argmax(np.min(self.jacobian_determinant, axis=1) <= 0.0))
            raise invalid("connectivity", f"element {bad} with non-positive Jacobian",
                          "counter-clockwise, non-degenerate quadrilaterals")
        self.side_sets = {name: np.asarray(v, dtype=np.int64).reshape(-1, 2) for name, v in (side_sets or {}).items()}
        self.absorbing_layers = absorbing_layers
        self.element_nodal_fields: dict[str, NDArray[np.float64]] = {}
        for name, values in (element_nodal_fields or {}).items():
            self.attach_field(name, values)

    # ------------------------------------------------------------------ sizes
    @property
    def n_elements(self) -> int:
        return len(self.connectivity)

    @property
    def n_gll_1d(self) -> int:
        return self.tensor_order + 1

    @property
    def n_gll(self) -> int:
        """GLL nodes per element, (order + 1)^2."""
        return self.n_gll_1d**2

    # ------------------------------------------------------------------ fields
    def attach_field(self, name: str, values) -> None:
        """Attach an element-nodal field of shape (n_elements, n_gll)."""
        values = np.array(values, dtype=float)
        if values.shape != (self.n_elements, self.n_gll):
            raise invalid(f"element_nodal_fields[{name!r}]", f"array of shape {values.shape}",
                          f"an array of shape ({self.n_elements}, {self.n_gll})")
        self.element_nodal_fields[name] = values

    def copy(self) -> "UnstructuredMesh":
        """A deep copy (geometry, side sets and fields)."""
        return _copy.deepcopy(self)

    def geometry_copy(self) -> "UnstructuredMesh":
        """A copy without fields that shares the (never modified) geometry arrays and cached numbering."""
        geometry = _copy.copy(self)
        geometry.element_nodal_fields = {}
        return geometry

    def __repr__(self) -> str:
        fields = ", ".join(self.element_nodal_fields) or "none"
        layers = "" if self.absorbing_layers is None else (
            f", absorbing layers on {'/'.join(self.absorbing_layers.widths_in_meters)} "
            f"({int(self.layer_element_mask.sum())} elements)")
        return (f"<UnstructuredMesh: {self.n_elements} elements, order {self.tensor_order}, "
                f"{self.n_global_nodes} nodes, fields: {fields}{layers}>")

    @property
    def layer_element_mask(self) -> NDArray[np.bool_]:
        """(n_elements,) True for the elements of the absorbing layers (all False without layers)."""
        if self.absorbing_layers is None:
            return np.zeros(self.n_elements, dtype=bool)
        return self.absorbing_layers.element_mask(self.get_element_centroid())

    # ------------------------------------------------------------------ geometry
    def get_element_centroid(self) -> NDArray[np.float64]:
        """Mean of each element's four vertices, shape (n_elements, 2), m."""
        return self.vertices[self.connectivity].mean(axis=1)

    @cached_property
    def _reference_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        points = gll_points(self.tensor_order)
        xi, eta = np.meshgrid(points, points, indexing="xy")  # [j, i]
        return xi.ravel(), eta.ravel()

    @staticmethod
    def _bilinear_shape(xi, eta):
        return 0.25 * np.stack([(1 - xi) * (1 - eta), (1 + xi) * (1 - eta), (1 + xi) * (1 + eta), (1 - xi) * (1 + eta)], axis=-1)

    def reference_to_physical(self, element_index, reference_coordinates) -> NDArray[np.float64]:
        """Map reference (xi, eta) in element(s) to physical (x, y); shapes (n,), (n, 2) -> (n, 2)."""
        reference_coordinates = np.atleast_2d(reference_coordinates)
        shape = self._bilinear_shape(reference_coordinates[:, 0], reference_coordinates[:, 1])
        corners = self.vertices[self.connectivity[np.atleast_1d(element_index)]]
        return np.einsum("nc,ncd->nd", shape, corners)

    def get_element_nodes(self) -> NDArray[np.float64]:
        """Physical coordinates of every element's GLL nodes, shape (n_elements, n_gll, 2), m."""
        return self._element_nodes.copy()

    @cached_property
    def _element_nodes(self) -> NDArray[np.float64]:
        xi, eta = self._reference_nodes
        shape = self._bilinear_shape(xi, eta)  # (n_gll, 4)
        corners = self.vertices[self.connectivity]  # (n_el, 4, 2)
        return np.einsum("qc,ecd->eqd", shape, corners)

    @cached_property
    def _jacobian(self) -> NDArray[np.float64]:
        """d(x, y)/d(xi, eta) at every node: (n_elements, n_gll, 2, 2), [.., physical, reference]."""
        xi, eta = self._reference_nodes
        d_dxi = 0.25 * np.stack([-(1 - eta), (1 - eta), (1 + eta), -(1 + eta)], axis=-1)
        d_deta = 0.25 * np.stack([-(1 - xi), -(1 + xi), (1 + xi), (1 - xi)], axis=-1)
        corners = self.vertices[self.connectivity]
        jac = np.empty((self.n_elements, self.n_gll, 2, 2))
        jac[..., 0] = np.einsum("qc,ecd->eqd", d_dxi, corners)
        jac[..., 1] = np.einsum("qc,ecd->eqd", d_deta, corners)
        return jac

    @cached_property
    def jacobian_determinant(self) -> NDArray[np.float64]:
        """det d(x, y)/d(xi, eta) at every element node, (n_elements, n_gll), m^2."""
        jac = self._jacobian
        return jac[..., 0, 0] * jac[..., 1, 1] - jac[..., 0, 1] * jac[..., 1, 0]

    @cached_property
    def inverse_jacobian(self) -> NDArray[np.float64]:
        """d(xi, eta)/d(x, y) at every node, (n_elements, n_gll, 2, 2), [.., reference, physical], 1/m."""
        return np.linalg.inv(self._jacobian)

    @cached_property
    def quadrature_weights(self) -> NDArray[np.float64]:
        """GLL weight times Jacobian determinant at every element node, (n_elements, n_gll), m^2.

        ``sum(quadrature_weights * f)`` integrates an element-nodal field ``f`` over the mesh.
        """
        w = gll_weights(self.tensor_order)
        return np.outer(w, w).ravel()[None, :] * self.jacobian_determinant

    def edge_node_indices(self, edge: int) -> NDArray[np.int64]:
        """Local node indices along a reference edge (0..3), ordered along the edge's reference axis."""
        n = self.n_gll_1d
        grid = np.arange(self.n_gll).reshape(n, n)  # [j, i]
        return {0: grid[0, :], 1: grid[:, -1], 2: grid[-1, :], 3: grid[:, 0]}[int(edge)]

    def edge_quadrature_weights(self, element_index, edge: int) -> NDArray[np.float64]:
        """1D GLL weight times edge length element (ds/dreference) on one edge of each element, (n, order + 1), m."""
        element_index = np.atleast_1d(element_index)
        nodes = self.edge_node_indices(edge)
        reference_axis = 0 if edge in (0, 2) else 1
        tangent = self._jacobian[element_index][:, nodes][..., reference_axis]  # (n, order+1, 2)
        return gll_weights(self.tensor_order)[None, :] * np.linalg.norm(tangent, axis=-1)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the vertices, m."""
        return (float(self.vertices[:, 0].min()), float(self.vertices[:, 0].max()),
                float(self.vertices[:, 1].min()), float(self.vertices[:, 1].max()))

    # ------------------------------------------------------------------ numbering
    @cached_property
    def _numbering(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        nodes = self._element_nodes.reshape(-1, 2)
        x_min, x_max, y_min, y_max = self.extent
        tolerance = 1e-7 * max(x_max - x_min, y_max - y_min)
        keys = np.round(nodes / tolerance).astype(np.int64)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return inverse.reshape(self.n_elements, self.n_gll).astype(np.int64), nodes[first]

    @property
    def global_node_index(self) -> NDArray[np.int64]:
        """Global (shared) node number of every element node, (n_elements, n_gll)."""
        return self._numbering[0]

    @property
    def global_node_coordinates(self) -> NDArray[np.float64]:
        """Coordinates of the unique GLL nodes, (n_global_nodes, 2), m."""
        return self._numbering[1]

    @property
    def n_global_nodes(self) -> int:
        return len(self._numbering[1])

    def assemble(self, element_nodal) -> NDArray[np.float64]:
        """Sum an element-nodal array (n_elements, n_gll) onto the global nodes, (n_global_nodes,)."""
        return np.bincount(self.global_node_index.ravel(), weights=np.asarray(element_nodal).ravel(),
                           minlength=self.n_global_nodes)

    def boundary_global_nodes(self, side_set: str) -> NDArray[np.int64]:
        """Sorted unique global node numbers on a side set."""
        if side_set not in self.side_sets:
            raise invalid("side_set", side_set, f"one of {sorted(self.side_sets)}")
        indices = [self.global_node_index[e, self.edge_node_indices(edge)] for e, edge in self.side_sets[side_set]]
        return np.unique(np.concatenate(indices)) if indices else np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ storage and point location
    def write_h5(self, path) -> Path:
        """Write the mesh to an HDF5 file (str or Path) plus an XDMF sidecar for ParaView; see specfwi.mesh.io."""
        from .io import write_h5

        return write_h5(self, path)

    @classmethod
    def from_h5(cls, path) -> "UnstructuredMesh":
        """Read a mesh written by :meth:`write_h5`; see specfwi.mesh.io."""
        from .io import read_h5

        return read_h5(path)

    def locate_points(self, points, *, name: str = "points") -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Element index (n,) and reference coordinates (n, 2) of points (n, 2) or (2,), m; see point_location."""
        return point_location.locate_points(self, points, name=name)

    def interpolation_weights(self, element_index, reference_coordinates) -> NDArray[np.float64]:
        """Lagrange weights (n, n_gll) of the element GLL nodes at reference points; see point_location."""
        return point_location.interpolation_weights(self, element_index, reference_coordinates)
