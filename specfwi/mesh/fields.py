"""Checks of the element-nodal fields a mesh carries."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ModelError, invalid
from ..parameters import check_finite_values
from .unstructured_mesh import UnstructuredMesh


def check_mesh_fields(name: str, mesh, parameters: Sequence[str], *, positive: bool = False,
                      positive_because: str = "") -> UnstructuredMesh:
    """Check that ``mesh`` (named ``name`` in messages) is an UnstructuredMesh holding the element-nodal
    fields ``parameters``, finite and, if ``positive``, > 0 everywhere; return it."""
    if not isinstance(mesh, UnstructuredMesh):
        raise invalid(name, type(mesh).__name__, "an UnstructuredMesh")
    missing = [parameter for parameter in parameters if parameter not in mesh.element_nodal_fields]
    if missing:
        raise invalid(name, f"a mesh with fields {sorted(mesh.element_nodal_fields)}",
                      f"a mesh with the fields {list(parameters)} (missing {missing})", ModelError)
    for parameter in parameters:
        check_finite_values(f"{name}[{parameter}]", mesh.element_nodal_fields[parameter], positive=positive,
                            positive_because=positive_because)
    return mesh
