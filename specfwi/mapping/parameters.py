"""Names of the material parameters a mapping may invert for, and checks of meshes holding them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ModelError, invalid
from ..mesh import UnstructuredMesh
from ..model.generic_model import REQUIRED_VARIABLES

KNOWN_PARAMETERS: tuple[str, ...] = tuple(sorted(variable.upper() for variable in REQUIRED_VARIABLES))
"""Mesh parameter names (upper case) of the acoustic equation: ('RHO', 'VP')."""


def check_parameter_names(name: str, value, *, allow_empty: bool = False) -> tuple[str, ...]:
    """Validate a list of distinct parameter names from KNOWN_PARAMETERS; returns them as a tuple."""
    allowed = f"a {'' if allow_empty else 'non-empty '}list of distinct names from {list(KNOWN_PARAMETERS)}"
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise invalid(name, value, allowed)
    names = tuple(value)
    if (not names and not allow_empty) or len(set(names)) != len(names) or any(
            not isinstance(parameter, str) or parameter not in KNOWN_PARAMETERS for parameter in names):
        raise invalid(name, value, allowed)
    return names


def check_mesh_fields(name: str, mesh, parameters: Sequence[str], *, positive: bool = False) -> UnstructuredMesh:
    """Check that ``mesh`` is an UnstructuredMesh holding finite (and, if asked, positive) fields ``parameters``."""
    if not isinstance(mesh, UnstructuredMesh):
        raise invalid(name, type(mesh).__name__, "an UnstructuredMesh")
    missing = [parameter for parameter in parameters if parameter not in mesh.element_nodal_fields]
    if missing:
        raise invalid(name, f"a mesh with fields {sorted(mesh.element_nodal_fields)}",
                      f"a mesh with the fields {list(parameters)} (missing {missing})", ModelError)
    for parameter in parameters:
        values = mesh.element_nodal_fields[parameter]
        if not np.all(np.isfinite(values)):
            raise invalid(f"{name}[{parameter}]", f"{int(np.sum(~np.isfinite(values)))} non-finite values",
                          "finite everywhere", ModelError)
        if positive and np.any(values <= 0.0):
            raise invalid(f"{name}[{parameter}]", f"a minimum of {float(values.min())!r}",
                          "> 0 everywhere (the scaling divides by it or takes its logarithm)", ModelError)
    return mesh
