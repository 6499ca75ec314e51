"""The absorbing layers in the Mapping: filled by edge extension, kept out of inversion space.

A mesh with absorbing layers (``mesh.absorbing_layers``) holds element nodes outside the model's box.
The Mapping sets their deviation from the prior to that of the nearest box node on the box's edge
(the same edge extension that gave the layers their properties), so an update never differs between
a layer and the edge it extends; its adjoint adds the layers' gradient onto those edge nodes (the
transpose of the copy) and leaves nothing on the layer nodes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..mesh import UnstructuredMesh


def edge_extension_sources(mesh: UnstructuredMesh) -> NDArray[np.int64] | None:
    """For every element node (flat index e * n_gll + q), the flat index whose value it takes: itself in the
    box, the nearest box element node to its projection onto the box in a layer. None without layers."""
    layers = mesh.absorbing_layers
    if layers is None:
        return None
    nodes = mesh.get_element_nodes().reshape(-1, 2)
    in_layer = np.repeat(mesh.layer_element_mask, mesh.n_gll)
    sources = np.arange(len(nodes), dtype=np.int64)
    box_nodes = np.flatnonzero(~in_layer)
    _, nearest = cKDTree(nodes[box_nodes]).query(layers.clip_to_box(nodes[in_layer]))
    sources[in_layer] = box_nodes[nearest]
    return sources


def extend(values: NDArray[np.float64], sources: NDArray[np.int64] | None) -> NDArray[np.float64]:
    """Element-nodal values (n_elements, n_gll) with the layers' entries copied from their edge nodes."""
    return values if sources is None else values.ravel()[sources].reshape(values.shape)


def fold(values: NDArray[np.float64], sources: NDArray[np.int64] | None) -> NDArray[np.float64]:
    """The transpose of :func:`extend`: the layers' entries added onto their edge nodes, zero in the layers."""
    if sources is None:
        return values
    return np.bincount(sources, weights=values.ravel(), minlength=values.size).reshape(values.shape)
