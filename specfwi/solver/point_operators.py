"""Point sources (injection) and receivers (interpolation) on the GLL basis.

A point at reference coordinates (xi, eta) of element e is represented by the
element's global node numbers and the n_gll Lagrange basis values there, so that
interpolation reads ``sum_q weights[q] * u[nodes[q]]`` and injection of amplitude
a adds ``a * weights[q]`` to node ``nodes[q]`` (the exact transpose: the weak form
of a point force f delta(x - x_s)).
"""

from __future__ import annotations

import numpy as np

from ..mesh import UnstructuredMesh
from ..mesh.point_location import interpolation_weights, locate_points


def point_operator(mesh: UnstructuredMesh, points, *, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(nodes (n, n_gll) int64, weights (n, n_gll) float) for points (n, 2) in m.

    Raises OutsideMeshError naming ``name[i]`` for a point outside the mesh.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    elements, reference = locate_points(mesh, points, name=name)
    weights = interpolation_weights(mesh, elements, reference)
    return np.ascontiguousarray(mesh.global_node_index[elements]), np.ascontiguousarray(weights)


def interpolate(nodes: np.ndarray, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values of a global nodal vector (n_global_nodes,) at the points, (n_points,)."""
    return np.sum(weights * values[nodes], axis=1)


def inject(nodes: np.ndarray, weights: np.ndarray, amplitudes: np.ndarray, n_global_nodes: int) -> np.ndarray:
    """Global vector of the point amplitudes (n_points,) spread onto the nodes: the transpose of interpolate."""
    return np.bincount(nodes.ravel(), weights=(weights * np.asarray(amplitudes)[:, None]).ravel(),
                       minlength=n_global_nodes)
