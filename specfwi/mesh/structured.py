"""Rectangular meshes of axis-aligned quadrilaterals, optionally sized from a volume model."""

from __future__ import annotations

import numpy as np

from .. import resources
from ..errors import invalid
from .gll import check_order
from .unstructured_mesh import UnstructuredMesh

#: Below this, elements are larger than half a wavelength at the maximum frequency and resolve no wave
#: (order 4 needs 1 to 2 elements per wavelength for accurate waveforms, docs/solver.md).
MIN_ELEMENTS_PER_WAVELENGTH = 0.5


def rectangle(x_range, y_range, n_elements_x: int, n_elements_y: int, *, tensor_order: int = 4) -> UnstructuredMesh:
    """A regular n_elements_x x n_elements_y quad mesh of the box x_range x y_range (m).

    Side sets: "x0" (x = x_min), "x1" (x = x_max), "y0" (y = y_min), "y1" (y = y_max).
    """
    (x_min, x_max), (y_min, y_max) = (map(float, x_range)), (map(float, y_range))
    for name, low, high in (("x_range", x_min, x_max), ("y_range", y_min, y_max)):
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise invalid(name, (low, high), "a finite (min, max) pair with max > min")
    for name, n in (("n_elements_x", n_elements_x), ("n_elements_y", n_elements_y)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise invalid(name, n, "a positive integer")
    resources.check(resources.estimate_rectangle(int(n_elements_x), int(n_elements_y), check_order(tensor_order)),
                    "this mesh", parameters="n_elements_x, n_elements_y and tensor_order")
    xs = np.linspace(x_min, x_max, n_elements_x + 1)
    ys = np.linspace(y_min, y_max, n_elements_y + 1)
    vx, vy = np.meshgrid(xs, ys, indexing="xy")  # [row (y), column (x)]
    vertices = np.column_stack([vx.ravel(), vy.ravel()])
    column, row = np.meshgrid(np.arange(n_elements_x), np.arange(n_elements_y), indexing="xy")
    column, row = column.ravel(), row.ravel()
    stride = n_elements_x + 1
    lower_left = row * stride + column
    connectivity = np.column_stack([lower_left, lower_left + 1, lower_left + stride + 1, lower_left + stride])
    element = np.arange(len(connectivity))
    side_sets = {
        "x0": np.column_stack([element[column == 0], np.full((column == 0).sum(), 3)]),
        "x1": np.column_stack([element[column == n_elements_x - 1], np.full((column == n_elements_x - 1).sum(), 1)]),
        "y0": np.column_stack([element[row == 0], np.full((row == 0).sum(), 0)]),
        "y1": np.column_stack([element[row == n_elements_y - 1], np.full((row == n_elements_y - 1).sum(), 2)]),
    }
    return UnstructuredMesh(vertices, connectivity, tensor_order, side_sets=side_sets)


def check_resolution(max_frequency_in_hertz, elements_per_wavelength) -> None:
    """InvalidParameterError unless both are finite numbers, > 0 and >= MIN_ELEMENTS_PER_WAVELENGTH."""
    for name, value, low in (("max_frequency_in_hertz", max_frequency_in_hertz, 0.0),
                             ("elements_per_wavelength", elements_per_wavelength, MIN_ELEMENTS_PER_WAVELENGTH)):
        if (isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value)
                or value <= 0 or value < low):
            raise invalid(name, value, "a finite number > 0" if low == 0.0 else
                          f"a finite number >= {low} (fewer elements per wavelength resolve no wave; order 4 "
                          f"needs about 1 to 2)")


def from_volume_model(model, *, max_frequency_in_hertz: float, elements_per_wavelength: float,
                      tensor_order: int = 4) -> UnstructuredMesh:
    """A rectangular mesh over a volume model's extent, with VP and RHO on its GLL nodes.

    The element edge length is ``min(vp) / (max_frequency_in_hertz * elements_per_wavelength)``
    (rounded down so that a whole number of elements fits). ``model`` is any object with
    ``extent`` (x_min, x_max, y_min, y_max), ``min_velocity_in_meters_per_second`` and
    ``sample(points) -> {"VP": ..., "RHO": ...}`` (for example a GenericModel).
    """
    check_resolution(max_frequency_in_hertz, elements_per_wavelength)
    check_order(tensor_order)
    x_min, x_max, y_min, y_max = model.extent
    estimate = resources.estimate_from_domain(
        model.extent, min_velocity_in_meters_per_second=model.min_velocity_in_meters_per_second,
        max_frequency_in_hertz=max_frequency_in_hertz, elements_per_wavelength=elements_per_wavelength,
        tensor_order=tensor_order)
    resources.check(estimate, "this mesh", parameters="max_frequency_in_hertz, elements_per_wavelength and the "
                    "model's smallest VP")
    element_size = model.min_velocity_in_meters_per_second / (max_frequency_in_hertz * elements_per_wavelength)
    n_x, n_y = resources.rectangle_elements(model.extent, element_size)
    mesh = rectangle((x_min, x_max), (y_min, y_max), n_x, n_y, tensor_order=tensor_order)
    nodes = mesh.get_element_nodes().reshape(-1, 2)
    for name, values in model.sample(nodes).items():
        mesh.attach_field(name, values.reshape(mesh.n_elements, mesh.n_gll))
    return mesh
