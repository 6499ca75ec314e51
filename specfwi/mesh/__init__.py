"""GLL rules, quadrilateral meshes, mesh generation."""

from .absorbing import AbsorbingBoundaryParameters, AbsorbingLayers
from .gll import derivative_matrix, gll_points, gll_weights, lagrange_basis
from .structured import from_volume_model, rectangle
from .unstructured_mesh import UnstructuredMesh

__all__ = ["AbsorbingBoundaryParameters", "AbsorbingLayers", "UnstructuredMesh", "derivative_matrix", "from_volume_model", "gll_points", "gll_weights",
           "lagrange_basis", "rectangle"]
