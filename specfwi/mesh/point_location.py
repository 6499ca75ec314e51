"""Locate physical points in a quadrilateral mesh and interpolate element-nodal fields there.

Location runs in two vectorised steps: a uniform grid of cells, each listing the
elements whose bounding box overlaps it, gives the candidate elements of every
point; Newton's method then inverts the bilinear map of every candidate. A point
on an edge or vertex shared by several elements goes to the lowest element index.
"""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..errors import OutsideMeshError, invalid
from .gll import gll_points, lagrange_basis

if TYPE_CHECKING:
    from .unstructured_mesh import UnstructuredMesh

REFERENCE_TOLERANCE = 1e-6
"""How far outside the reference square [-1, 1]^2 a located point may lie (reference units)."""
RESIDUAL_TOLERANCE = 1e-9
"""Largest Newton residual accepted, relative to the element's bounding-box size."""
NEWTON_ITERATIONS = 30
NEWTON_STEP_TOLERANCE = 1e-13  # reference units
NEWTON_LIMIT = 4.0  # iterates are clipped to [-NEWTON_LIMIT, NEWTON_LIMIT]^2 so that misses stay finite
MAX_CELLS_PER_AXIS = 4096
POINTS_PER_BATCH = 65536


class _BoundingBoxGrid:
    """A uniform grid over the mesh extent; cell c lists, ascending, the elements whose box overlaps it."""

    def __init__(self, vertices: NDArray[np.float64], connectivity: NDArray[np.int64]):
        corners = vertices[connectivity]
        element_size = np.ptp(corners, axis=1).max(axis=1)
        margin = (REFERENCE_TOLERANCE * element_size)[:, None]
        low, high = corners.min(axis=1) - margin, corners.max(axis=1) + margin
        self.origin = low.min(axis=0)
        span = high.max(axis=0) - self.origin
        self.cell_size = max(float(np.median(element_size)), float(span.max()) / MAX_CELLS_PER_AXIS)
        self.n_cells = np.array([min(MAX_CELLS_PER_AXIS, max(1, math.ceil(s / self.cell_size))) for s in span])
        first, last = self.cell_of(low), self.cell_of(high)
        counts = np.prod(last - first + 1, axis=1)
        element = np.repeat(np.arange(len(connectivity)), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        width = (last - first + 1)[element, 0]
        cell = (first[element, 1] + local // width) * self.n_cells[0] + first[element, 0] + local % width
        order = np.lexsort((element, cell))
        self.cell_elements = element[order]
        self.cell_start = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=int(np.prod(self.n_cells))))])
        self.element_size = element_size
        self.low, self.high = low, high

    def cell_of(self, points: NDArray[np.float64]) -> NDArray[np.int64]:
        """(ix, iy) cell of each point, (n, 2), clamped to the grid."""
        index = np.floor((points - self.origin) / self.cell_size).astype(np.int64)
        return np.clip(index, 0, self.n_cells - 1)

    def candidates(self, points: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(point, element) pairs whose element bounding box holds the point, sorted by point then element."""
        cell_xy = self.cell_of(points)
        cell = cell_xy[:, 1] * self.n_cells[0] + cell_xy[:, 0]
        start, counts = self.cell_start[cell], np.diff(self.cell_start)[cell]
        point = np.repeat(np.arange(len(points)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        element = self.cell_elements[start[point] + offset]
        in_box = np.all((points[point] >= self.low[element]) & (points[point] <= self.high[element]), axis=1)
        return point[in_box], element[in_box]


_GRIDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _grid_for(mesh: "UnstructuredMesh") -> _BoundingBoxGrid:
    grid = _GRIDS.get(mesh)
    if grid is None:
        grid = _GRIDS[mesh] = _BoundingBoxGrid(mesh.vertices, mesh.connectivity)
    return grid


def invert_bilinear(corners: NDArray[np.float64], targets: NDArray[np.float64]):
    """Newton inversion of the bilinear maps of ``corners`` (m, 4, 2) at ``targets`` (m, 2).

    Returns the reference coordinates (m, 2) and the final residual norm (m,), m.
    """
    # x(xi, eta) = a + b xi + c eta + d xi eta, each coefficient (m, 2)
    a = 0.25 * (corners[:, 0] + corners[:, 1] + corners[:, 2] + corners[:, 3])
    b = 0.25 * (-corners[:, 0] + corners[:, 1] + corners[:, 2] - corners[:, 3])
    c = 0.25 * (-corners[:, 0] - corners[:, 1] + corners[:, 2] + corners[:, 3])
    d = 0.25 * (corners[:, 0] - corners[:, 1] + corners[:, 2] - corners[:, 3])

    def residual_at(index, reference):
        xi, eta = reference[:, :1], reference[:, 1:]
        return a[index] + b[index] * xi + c[index] * eta + d[index] * xi * eta - targets[index]

    reference = np.zeros_like(targets)
    active = np.arange(len(targets))
    for _ in range(NEWTON_ITERATIONS):
        if not active.size:
            break
        current = reference[active]
        d_dxi = b[active] + d[active] * current[:, 1:]  # Jacobian columns, (k, 2)
        d_deta = c[active] + d[active] * current[:, :1]
        residual = residual_at(active, current)
        determinant = d_dxi[:, 0] * d_deta[:, 1] - d_deta[:, 0] * d_dxi[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.column_stack([d_deta[:, 1] * residual[:, 0] - d_deta[:, 0] * residual[:, 1],
                                    d_dxi[:, 0] * residual[:, 1] - d_dxi[:, 1] * residual[:, 0]]) / determinant[:, None]
        step[~np.isfinite(step)] = 0.0
        reference[active] = np.clip(current - step, -NEWTON_LIMIT, NEWTON_LIMIT)
        active = active[np.abs(step).max(axis=1) > NEWTON_STEP_TOLERANCE]
    return reference, np.linalg.norm(residual_at(slice(None), reference), axis=1)


def _in_elements(corners: NDArray[np.float64], element_size: NDArray[np.float64], points: NDArray[np.float64]
                 ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Reference coordinates (m, 2) of points (m, 2) in the elements of ``corners`` (m, 4, 2) and whether each
    point lies in its element (within REFERENCE_TOLERANCE, residual within RESIDUAL_TOLERANCE * element_size)."""
    reference, residual = invert_bilinear(corners, points)
    inside = (np.abs(reference).max(axis=1) <= 1.0 + REFERENCE_TOLERANCE) & (residual <= RESIDUAL_TOLERANCE * element_size)
    return reference, inside


def locate_in_elements(mesh: "UnstructuredMesh", points, elements) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Reference coordinates (n, 2), clipped to [-1, 1]^2, of points (n, 2) in the given elements (n,), and a
    mask (n,) of the points that lie in their element (the others' coordinates mean nothing)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    corners = mesh.vertices[mesh.connectivity[np.asarray(elements, dtype=np.int64)]]
    reference, inside = _in_elements(corners, np.ptp(corners, axis=1).max(axis=1), points)
    return np.clip(reference, -1.0, 1.0), inside


def _as_points(points, name: str) -> tuple[NDArray[np.float64], bool]:
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as error:
        raise invalid(name, points, "a point (x, y) or an (n, 2) array of points, in m") from error
    single = array.shape == (2,)
    if not (single or (array.ndim == 2 and array.shape[1] == 2)) or not np.all(np.isfinite(array)):
        raise invalid(name, f"array of shape {array.shape}", "a finite point (x, y) or (n, 2) array of points, in m")
    return array.reshape(-1, 2), single


def locate_points(mesh: "UnstructuredMesh", points, *, name: str = "points"
                  ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Element and reference coordinates of physical points.

    Parameters
    ----------
    mesh : UnstructuredMesh
    points : (n, 2) array or a single (2,) point, m
    name : the parameter named in the error message, e.g. "receivers[3]"; for an
        (n, 2) array the failing row is appended ("receivers[3]" for name="receivers").

    Returns
    -------
    element_index : (n,) int64
    reference_coordinates : (n, 2) float64, (xi, eta) in [-1, 1]^2

    Raises
    ------
    OutsideMeshError
        If a point lies outside the mesh by more than a tiny tolerance.
    """
    points, single = _as_points(points, name)
    grid = _grid_for(mesh)
    element_index = np.full(len(points), -1, dtype=np.int64)
    reference_coordinates = np.zeros((len(points), 2))
    for batch_start in range(0, len(points), POINTS_PER_BATCH):
        batch = slice(batch_start, batch_start + POINTS_PER_BATCH)
        pair_point, pair_element = grid.candidates(points[batch])
        reference, inside = _in_elements(mesh.vertices[mesh.connectivity[pair_element]],
                                         grid.element_size[pair_element], points[batch][pair_point])
        located_point, first_pair = np.unique(pair_point[inside], return_index=True)
        found = np.flatnonzero(inside)[first_pair]  # lowest element index per point
        element_index[batch][located_point] = pair_element[found]
        reference_coordinates[batch][located_point] = np.clip(reference[found], -1.0, 1.0)
    missing = np.flatnonzero(element_index < 0)
    if len(missing):
        first = int(missing[0])
        x_min, x_max, y_min, y_max = mesh.extent
        message = str(invalid(name if single else f"{name}[{first}]", tuple(float(v) for v in points[first]),
                              f"a point inside the mesh (extent x in [{x_min:g}, {x_max:g}] m, "
                              f"y in [{y_min:g}, {y_max:g}] m)"))
        count = f" ({len(missing)} of {len(points)} points are outside)" if len(missing) > 1 else ""
        raise OutsideMeshError(message + count)
    return element_index, reference_coordinates


def interpolation_weights(mesh: "UnstructuredMesh", element_index, reference_coordinates) -> NDArray[np.float64]:
    """Lagrange tensor-product weights of the element GLL nodes at reference points, (n, n_gll).

    ``(weights * field[element_index]).sum(axis=1)`` interpolates an element-nodal field
    ``field`` (n_elements, n_gll); weights are ordered like the nodes, q = j * (order + 1) + i.
    """
    element_index = np.atleast_1d(np.asarray(element_index))
    reference_coordinates = np.asarray(reference_coordinates, dtype=float).reshape(-1, 2)
    if (element_index.ndim != 1 or not np.issubdtype(element_index.dtype, np.integer)
            or np.any(element_index < 0) or np.any(element_index >= mesh.n_elements)):
        raise invalid("element_index", element_index, f"a 1D integer array of indices in [0, {mesh.n_elements})")
    if len(reference_coordinates) != len(element_index) or not np.all(
            np.abs(reference_coordinates) <= 1.0 + REFERENCE_TOLERANCE):
        raise invalid("reference_coordinates", f"array of shape {reference_coordinates.shape}",
                      f"an ({len(element_index)}, 2) array in [-1, 1]^2")
    nodes = gll_points(mesh.tensor_order)
    along_xi = lagrange_basis(nodes, reference_coordinates[:, 0])
    along_eta = lagrange_basis(nodes, reference_coordinates[:, 1])
    return (along_eta[:, :, None] * along_xi[:, None, :]).reshape(len(element_index), -1)
