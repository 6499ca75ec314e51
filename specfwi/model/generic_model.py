"""Volume models on regular grids (xarray), validated and sampled at arbitrary points."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ModelError, invalid
from ..parameters import MODEL_VARIABLES, check_finite_values
DIMENSIONS = ("x", "y")


class GenericModel:
    """A named 2D volume model: ``vp`` (m/s) and ``rho`` (kg/m^3) on a regular (x, y) grid.

    ``data`` is an ``xarray.Dataset`` with data variables ``vp`` and ``rho`` of dims
    ("x", "y") (any order) and strictly increasing coordinates ``x``, ``y`` in m.
    Values must be finite and positive. Sampling is bilinear; mesh parameter names
    are upper case (``VP``, ``RHO``).
    """

    def __init__(self, name: str, data: xr.Dataset):
        if not isinstance(name, str) or not name:
            raise invalid("name", name, "a non-empty string")
        if not isinstance(data, xr.Dataset):
            raise invalid("data", type(data).__name__, "an xarray.Dataset", ModelError)
        missing = [v for v in MODEL_VARIABLES if v not in data.data_vars]
        if missing:
            raise ModelError(f"'data' must hold the variables {list(MODEL_VARIABLES)}, "
                             f"got {sorted(map(str, data.data_vars))} (missing {missing})")
        for variable in MODEL_VARIABLES:
            dims = data[variable].dims
            if set(dims) != set(DIMENSIONS):
                raise ModelError(f"'data[{variable!r}]' must have dims {DIMENSIONS}, got {dims}")
            check_finite_values(variable, data[variable].values, positive=True)
        for dim in DIMENSIONS:
            coordinate = np.asarray(data[dim].values, dtype=float)
            if coordinate.size < 2 or np.any(np.diff(coordinate) <= 0):
                raise ModelError(f"coordinate {dim!r} must be strictly increasing with at least 2 values, got {coordinate!r}")
        self.name = name
        self.data = data.transpose(*DIMENSIONS)

    def __eq__(self, other) -> bool:
        return isinstance(other, GenericModel) and self.name == other.name and self.data.identical(other.data)

    def __repr__(self) -> str:
        return f"GenericModel(name={self.name!r}, extent={self.extent})"

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the grid, m."""
        x, y = self.data["x"].values, self.data["y"].values
        return float(x[0]), float(x[-1]), float(y[0]), float(y[-1])

    @property
    def min_velocity_in_meters_per_second(self) -> float:
        return float(self.data["vp"].min())

    @property
    def max_velocity_in_meters_per_second(self) -> float:
        return float(self.data["vp"].max())

    def sample(self, points) -> dict[str, np.ndarray]:
        """Bilinear values of VP and RHO at points (n, 2) in m; points must lie in the grid."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        x_min, x_max, y_min, y_max = self.extent
        tolerance = 1e-9 * max(x_max - x_min, y_max - y_min)
        outside = ((points[:, 0] < x_min - tolerance) | (points[:, 0] > x_max + tolerance)
                   | (points[:, 1] < y_min - tolerance) | (points[:, 1] > y_max + tolerance))
        if np.any(outside):
            raise ModelError(f"'points' must lie in the model extent {self.extent}, got {int(outside.sum())} "
                             f"outside, e.g. {tuple(points[outside][0])}")
        from scipy.interpolate import RegularGridInterpolator  # here, not at start-up (import time)

        clipped = np.column_stack([np.clip(points[:, 0], x_min, x_max), np.clip(points[:, 1], y_min, y_max)])
        grid = (self.data["x"].values.astype(float), self.data["y"].values.astype(float))
        return {variable.upper(): RegularGridInterpolator(grid, self.data[variable].values.astype(float))(clipped)
                for variable in MODEL_VARIABLES}
