"""Masks w in [0, 1] on the element nodes of a simulation mesh: cutouts and regions of interest.

A cutout around a point p with radius R and taper width T is

    w(r) = 0                                   for r <= R,
    w(r) = sin^2(pi / 2 * (r - R) / T)         for R < r < R + T,
    w(r) = 1                                   for r >= R + T,

with r = |x - p| in m (T = 0 gives a sharp cutout). The cutout mask of several points is the
product of theirs. A region of interest is given by the user (a mesh field or a function).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..errors import invalid
from ..mesh import UnstructuredMesh
from .geometry import same_geometry
from .transfer import mesh_to_mesh

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

REGION_OF_INTEREST_FIELD = "region_of_interest"


def cutout_taper(distance_in_meters: NDArray, radius_in_meters: float, taper_width_in_meters: float) -> NDArray:
    """w(r) of a single cutout (see the module docstring), element-wise."""
    distance = np.asarray(distance_in_meters, dtype=float)
    if taper_width_in_meters == 0.0:
        return np.where(distance <= radius_in_meters, 0.0, 1.0)
    ramp = np.clip((distance - radius_in_meters) / taper_width_in_meters, 0.0, 1.0)
    return np.sin(0.5 * np.pi * ramp) ** 2


def cutout_mask(node_tree: cKDTree, centers: NDArray, radius_in_meters: float,
                taper_width_in_meters: float) -> NDArray[np.float64]:
    """Product of the cutouts around ``centers`` (k, 2) at the points of ``node_tree``, shape (n_points,)."""
    mask = np.ones(node_tree.n)
    reach = radius_in_meters + taper_width_in_meters
    for center in np.asarray(centers, dtype=float).reshape(-1, 2):
        nearby = np.asarray(node_tree.query_ball_point(center, reach), dtype=np.int64)
        if len(nearby):
            distance = np.linalg.norm(node_tree.data[nearby] - center, axis=1)
            mask[nearby] *= cutout_taper(distance, radius_in_meters, taper_width_in_meters)
    return mask


def station_coordinates(stations, name: str) -> NDArray[np.float64]:
    """(k, 2) coordinates of objects with ``.x`` and ``.y`` (one object or an iterable of them), m."""
    items = [stations] if hasattr(stations, "x") else list(stations)
    try:
        coordinates = np.array([[float(item.x), float(item.y)] for item in items]).reshape(-1, 2)
    except (AttributeError, TypeError, ValueError) as error:
        raise invalid(name, stations, "objects with numeric .x and .y in m") from error
    if not np.all(np.isfinite(coordinates)):
        raise invalid(name, coordinates.tolist(), "objects with finite .x and .y in m")
    return coordinates


class RegionOfInterest:
    """Where the model may change: a mesh with a field "region_of_interest" or a callable f(x, y).

    Values lie in [0, 1]. A mesh's field is used as is on a mesh of the same geometry and
    interpolated (Lagrange, then clipped to [0, 1]) onto any other; a callable receives arrays x, y
    (m) of the element nodes, shape (n_elements, n_gll), and returns values of that shape.
    """

    def __init__(self, region: UnstructuredMesh | Callable):
        if isinstance(region, UnstructuredMesh):
            values = region.element_nodal_fields.get(REGION_OF_INTEREST_FIELD)
            if values is None:
                raise invalid("region_of_interest", f"a mesh with fields {sorted(region.element_nodal_fields)}",
                              f"a mesh with a field {REGION_OF_INTEREST_FIELD!r}")
            if np.shape(values) != (region.n_elements, region.n_gll):
                raise invalid(f"region_of_interest.element_nodal_fields[{REGION_OF_INTEREST_FIELD!r}]",
                              f"an array of shape {np.shape(values)}",
                              f"of shape (n_elements, n_gll) = {(region.n_elements, region.n_gll)} of its mesh")
            _check_unit_interval(values, "region_of_interest", "a field with values in [0, 1]")
        elif not callable(region):
            raise invalid("region_of_interest", type(region).__name__,
                          f"None, an UnstructuredMesh with a field {REGION_OF_INTEREST_FIELD!r}, "
                          "or a callable (x, y) -> values in [0, 1]")
        self.region = region

    def values_on(self, mesh: UnstructuredMesh) -> NDArray[np.float64]:
        """Values at the element nodes of ``mesh``, (n_elements, n_gll)."""
        if isinstance(self.region, UnstructuredMesh):
            values = self.region.element_nodal_fields[REGION_OF_INTEREST_FIELD]
            if same_geometry(self.region, mesh):
                return np.array(values)
            transfer = mesh_to_mesh(self.region, mesh, name="simulation mesh nodes in region_of_interest")
            return np.clip(transfer @ values.ravel(), 0.0, 1.0).reshape(mesh.n_elements, mesh.n_gll)
        nodes = mesh.get_element_nodes()
        returned = np.asarray(self.region(nodes[..., 0], nodes[..., 1]), dtype=float)
        try:
            values = np.array(np.broadcast_to(returned, nodes.shape[:2]))
        except ValueError as error:
            raise invalid("region_of_interest", f"a callable returning shape {returned.shape}",
                          f"a callable returning values of the shape of x and y, {nodes.shape[:2]}") from error
        return _check_unit_interval(values, "region_of_interest", "a callable returning values in [0, 1]")


def _check_unit_interval(values, name: str, allowed: str) -> NDArray:
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < 0.0) or np.any(values > 1.0):
        finite = values[np.isfinite(values)]
        described = (f"values in [{finite.min():g}, {finite.max():g}]" if finite.size == values.size
                     else f"{int(values.size - finite.size)} non-finite values")
        raise invalid(name, described, allowed)
    return values
