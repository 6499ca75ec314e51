"""Identity of mesh geometries: digests, comparison, and field-free copies.

Operators of the mapping layer (transfers, masks, factorised smoothers) depend only on a
mesh's geometry (tensor order, vertices, connectivity), never on its fields.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..mesh import UnstructuredMesh


def array_key(*arrays) -> str:
    """A hex digest of the dtypes, shapes and bytes of arrays."""
    digest = hashlib.sha1()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def geometry_key(mesh: UnstructuredMesh) -> str:
    """A digest of the tensor order, vertices and connectivity of a mesh (fields are ignored)."""
    return array_key(np.array([mesh.tensor_order]), mesh.vertices, mesh.connectivity)


def same_geometry(first: UnstructuredMesh, second: UnstructuredMesh) -> bool:
    """True when both meshes have the same tensor order, vertices and connectivity."""
    if first is second:
        return True
    return (first.tensor_order == second.tensor_order and first.vertices.shape == second.vertices.shape
            and first.connectivity.shape == second.connectivity.shape
            and np.array_equal(first.vertices, second.vertices)
            and np.array_equal(first.connectivity, second.connectivity))
