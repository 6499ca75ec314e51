"""Inversion-space quantities: models, updates and gradients as the optimizer sees them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from ..errors import invalid
from ..mesh import UnstructuredMesh


@dataclass(frozen=True, eq=False)
class InversionModel:
    """Values of the inversion parameters on the inversion discretization.

    Attributes
    ----------
    model : UnstructuredMesh with one element-nodal field (n_elements, n_gll) per parameter,
        or, on a regular grid, an xarray Dataset with one variable of dims ("x", "y") per parameter.
    parameters : the parameter names (upper case), in the order of the flat vector.

    ``to_vector()`` concatenates, parameter after parameter, each field flattened in C order
    (element-major for meshes, x-major for grids); ``from_vector(v)`` is the inverse. The same
    class holds models (scaled as the Mapping says) and gradients (derivatives of the misfit
    with respect to the vector entries).
    """

    model: UnstructuredMesh | xr.Dataset
    parameters: tuple[str, ...]

    def __post_init__(self):
        if not isinstance(self.model, (UnstructuredMesh, xr.Dataset)):
            raise invalid("model", type(self.model).__name__, "an UnstructuredMesh or an xarray Dataset")
        object.__setattr__(self, "parameters", tuple(self.parameters))
        available = self._available_names()
        missing = [parameter for parameter in self.parameters if parameter not in available]
        if not self.parameters or missing:
            raise invalid("parameters", list(self.parameters), f"a non-empty list of the fields {sorted(available)}")

    def __repr__(self) -> str:
        ranges = ", ".join(f"{parameter} in [{values.min():.4g}, {values.max():.4g}]"
                           for parameter, values in ((p, self.values(p)) for p in self.parameters))
        if isinstance(self.model, UnstructuredMesh):
            on = f"a mesh of {self.model.n_elements} elements, order {self.model.tensor_order}"
        else:
            on = f"a grid of {self.model.sizes['x']} x {self.model.sizes['y']} points"
        return f"<InversionModel: {self.n_dofs} dofs on {on}; {ranges}>"

    def _available_names(self) -> list[str]:
        if isinstance(self.model, UnstructuredMesh):
            return list(self.model.element_nodal_fields)
        return [str(name) for name in self.model.data_vars]

    def values(self, parameter: str) -> NDArray[np.float64]:
        """The values of one parameter as a flat array (n_dofs_per_parameter,), a copy."""
        if parameter not in self.parameters:
            raise invalid("parameter", parameter, f"one of {list(self.parameters)}")
        if isinstance(self.model, UnstructuredMesh):
            return self.model.element_nodal_fields[parameter].ravel().copy()
        return np.asarray(self.model[parameter].transpose("x", "y").values, dtype=float).ravel().copy()

    @property
    def n_dofs_per_parameter(self) -> int:
        if isinstance(self.model, UnstructuredMesh):
            return self.model.n_elements * self.model.n_gll
        return int(self.model.sizes["x"] * self.model.sizes["y"])

    @property
    def n_dofs(self) -> int:
        """Length of the flat vector."""
        return self.n_dofs_per_parameter * len(self.parameters)

    def to_vector(self) -> NDArray[np.float64]:
        """All dofs as one flat float64 vector (n_dofs,)."""
        return np.concatenate([self.values(parameter) for parameter in self.parameters])

    def from_vector(self, vector: ArrayLike) -> "InversionModel":
        """A copy on the same discretization holding ``vector`` (n_dofs,)."""
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (self.n_dofs,):
            raise invalid("vector", f"an array of shape {vector.shape}", f"a flat vector of length {self.n_dofs}")
        return self.with_values(dict(zip(self.parameters, vector.reshape(len(self.parameters), -1))))

    def with_values(self, values: dict[str, ArrayLike]) -> "InversionModel":
        """A copy holding new flat values (n_dofs_per_parameter,) for every parameter."""
        if sorted(values) != sorted(self.parameters):
            raise invalid("values", sorted(values), f"values for exactly the parameters {list(self.parameters)}")
        sizes = {parameter: np.size(value) for parameter, value in values.items()}
        if any(size != self.n_dofs_per_parameter for size in sizes.values()):
            raise invalid("values", f"arrays of sizes {sizes}", f"arrays of size {self.n_dofs_per_parameter}")
        if isinstance(self.model, UnstructuredMesh):
            shape = (self.model.n_elements, self.model.n_gll)
            model = self.model.geometry_copy()
            for parameter in self.parameters:
                model.attach_field(parameter, np.asarray(values[parameter], dtype=float).reshape(shape))
        else:
            shape = (self.model.sizes["x"], self.model.sizes["y"])
            model = xr.Dataset({parameter: (("x", "y"), np.asarray(values[parameter], dtype=float).reshape(shape))
                                for parameter in self.parameters},
                               coords={"x": self.model["x"].values, "y": self.model["y"].values})
        return InversionModel(model, self.parameters)
