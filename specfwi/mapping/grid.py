"""Regular (x, y) grids as an inversion discretization.

A grid's degrees of freedom are its points, ordered like ``values.ravel()`` of an array of dims
("x", "y"): point k = ix * n_y + iy. Inversion-space quantities on a grid are xarray Datasets with
one data variable per parameter (upper-case names, dims ("x", "y")).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import invalid
from ..mesh import UnstructuredMesh
from .geometry import array_key

DIMENSIONS = ("x", "y")


@dataclass(frozen=True, eq=False)
class RegularGrid:
    """Strictly increasing point coordinates ``x`` (n_x,) and ``y`` (n_y,) in m, at least 2 each."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]

    @classmethod
    def from_xarray(cls, data, name: str = "inversion_discretization") -> "RegularGrid":
        """The grid of the coordinates ``x`` and ``y`` of an xarray Dataset or DataArray."""
        if not isinstance(data, (xr.Dataset, xr.DataArray)) or any(dim not in data.coords for dim in DIMENSIONS):
            raise invalid(name, type(data).__name__, "an xarray Dataset or DataArray with coordinates 'x' and 'y'")
        coordinates = []
        for dim in DIMENSIONS:
            values = np.asarray(data.coords[dim].values, dtype=float)
            if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
                raise invalid(f"{name}.{dim}", values, "finite, strictly increasing coordinates (at least 2), in m")
            coordinates.append(values)
        return cls(*coordinates)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.x), len(self.y)

    @property
    def n_points(self) -> int:
        return len(self.x) * len(self.y)

    @cached_property
    def key(self) -> str:
        """A digest of the coordinates."""
        return array_key(self.x, self.y)

    def points(self) -> NDArray[np.float64]:
        """Coordinates of the grid points in dof order, (n_points, 2), m."""
        xx, yy = np.meshgrid(self.x, self.y, indexing="ij")
        return np.column_stack([xx.ravel(), yy.ravel()])

    def same_as(self, other: "RegularGrid") -> bool:
        return np.array_equal(self.x, other.x) and np.array_equal(self.y, other.y)

    def dataset(self, values: dict[str, NDArray]) -> xr.Dataset:
        """A Dataset holding, per name, the flat dof values (n_points,) reshaped to (n_x, n_y)."""
        return xr.Dataset({name: (DIMENSIONS, np.asarray(value, dtype=float).reshape(self.shape))
                           for name, value in values.items()}, coords={"x": self.x, "y": self.y})

    def as_mesh(self) -> tuple[UnstructuredMesh, NDArray[np.int64]]:
        """The grid as an order-1 quad mesh, and the grid point of every element node, (n_elements, 4).

        Vertex k of the mesh is grid point k; element nodes are numbered q = j * 2 + i as in every
        UnstructuredMesh, so the grid point of node q is a vertex of the element's connectivity.
        """
        n_x, n_y = self.shape
        ix, iy = np.meshgrid(np.arange(n_x - 1), np.arange(n_y - 1), indexing="ij")
        lower_left = (ix * n_y + iy).ravel()
        connectivity = np.column_stack([lower_left, lower_left + n_y, lower_left + n_y + 1, lower_left + 1])
        mesh = UnstructuredMesh(self.points(), connectivity, tensor_order=1)
        return mesh, connectivity[:, [0, 1, 3, 2]]
