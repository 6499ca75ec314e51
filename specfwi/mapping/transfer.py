"""Sparse interpolation operators onto points: from a mesh's GLL basis, or bilinear from a grid.

Every operator is a ``scipy.sparse.csr_matrix`` of shape (n_points, n_source_dofs); its adjoint
is its exact transpose. Source dofs are a mesh's element-nodal entries (index e * n_gll + q)
or a grid's points (index ix * n_y + iy).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import OutsideMeshError, invalid
from ..mesh import UnstructuredMesh
from .grid import RegularGrid

GRID_TOLERANCE = 1e-9
"""How far outside a grid a point may lie, relative to the grid's larger side."""


def mesh_to_points(mesh: UnstructuredMesh, points, *, preferred_elements=None, name: str = "points") -> sp.csr_matrix:
    """Lagrange interpolation of element-nodal fields of ``mesh`` at ``points`` (n, 2), m.

    A point is evaluated in its entry of ``preferred_elements`` (n,) when it lies in that element
    (this keeps every point of a target element in one source element, so element-wise
    discontinuous fields transfer element by element); otherwise in the element found by
    ``mesh.locate_points``. Raises OutsideMeshError for points outside the mesh.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    element_index = np.full(len(points), -1, dtype=np.int64)
    reference = np.zeros((len(points), 2))
    if preferred_elements is not None:
        preferred_elements = np.asarray(preferred_elements, dtype=np.int64)
        preferred_reference, inside = mesh.locate_in_elements(points, preferred_elements)
        element_index[inside] = preferred_elements[inside]
        reference[inside] = preferred_reference[inside]
    rest = np.flatnonzero(element_index < 0)
    if len(rest):
        element_index[rest], reference[rest] = mesh.locate_points(points[rest], name=name)
    weights = mesh.interpolation_weights(element_index, reference)
    columns = element_index[:, None] * mesh.n_gll + np.arange(mesh.n_gll)[None, :]
    rows = np.repeat(np.arange(len(points)), mesh.n_gll)
    matrix = sp.csr_matrix((weights.ravel(), (rows, columns.ravel())),
                           shape=(len(points), mesh.n_elements * mesh.n_gll))
    matrix.eliminate_zeros()
    return matrix


def mesh_to_mesh(source: UnstructuredMesh, target: UnstructuredMesh, *, name: str = "points") -> sp.csr_matrix:
    """Interpolation of element-nodal fields of ``source`` at the element nodes of ``target``.

    Shape (target.n_elements * target.n_gll, source.n_elements * source.n_gll). The nodes of a
    target element are evaluated in the source element holding the target element's centroid
    whenever they lie in it (always, for nested meshes).
    """
    centroid_elements, _ = source.locate_points(target.get_element_centroid(), name=f"{name} (element centroids)")
    return mesh_to_points(source, target.get_element_nodes().reshape(-1, 2),
                          preferred_elements=np.repeat(centroid_elements, target.n_gll), name=name)


def grid_to_points(grid: RegularGrid, points, *, name: str = "points") -> sp.csr_matrix:
    """Bilinear interpolation of grid-point values at ``points`` (n, 2), m; shape (n, grid.n_points).

    Raises OutsideMeshError for points outside the grid.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    n_x, n_y = grid.shape
    tolerance = GRID_TOLERANCE * max(grid.x[-1] - grid.x[0], grid.y[-1] - grid.y[0])
    outside = ((points[:, 0] < grid.x[0] - tolerance) | (points[:, 0] > grid.x[-1] + tolerance)
               | (points[:, 1] < grid.y[0] - tolerance) | (points[:, 1] > grid.y[-1] + tolerance))
    if np.any(outside):
        first = int(np.argmax(outside))
        raise invalid(f"{name}[{first}]", tuple(float(v) for v in points[first]),
                      f"a point inside the grid (x in [{grid.x[0]:g}, {grid.x[-1]:g}] m, "
                      f"y in [{grid.y[0]:g}, {grid.y[-1]:g}] m); {int(outside.sum())} points are outside",
                      OutsideMeshError)

    def cell_and_fraction(coordinates, values):
        cell = np.clip(np.searchsorted(coordinates, values, side="right") - 1, 0, len(coordinates) - 2)
        fraction = np.clip((values - coordinates[cell]) / (coordinates[cell + 1] - coordinates[cell]), 0.0, 1.0)
        return cell, fraction

    ix, tx = cell_and_fraction(grid.x, points[:, 0])
    iy, ty = cell_and_fraction(grid.y, points[:, 1])
    columns = np.column_stack([ix * n_y + iy, (ix + 1) * n_y + iy, ix * n_y + iy + 1, (ix + 1) * n_y + iy + 1])
    weights = np.column_stack([(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty])
    rows = np.repeat(np.arange(len(points)), 4)
    matrix = sp.csr_matrix((weights.ravel(), (rows, columns.ravel())), shape=(len(points), grid.n_points))
    matrix.eliminate_zeros()
    return matrix
