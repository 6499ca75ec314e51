"""Rectangular meshes of axis-aligned quadrilaterals, optionally sized from a volume model."""

from __future__ import annotations

import math

import numpy as np

from .. import resources
from ..errors import invalid
from .absorbing import (DEFAULT_NUMBER_OF_WAVELENGTHS, FREE_SURFACE_SIDE, RECTANGLE_SIDES,
                        REFERENCE_FREQUENCY_FRACTION, AbsorbingBoundaryParameters, AbsorbingLayers, AbsorbingOption,
                        resolve_absorbing_boundaries)
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
                      tensor_order: int = 4, absorbing_boundaries: AbsorbingOption = True,
                      free_surface: bool = False) -> UnstructuredMesh:
    """A rectangular mesh over a volume model's extent, with VP and RHO on its GLL nodes.

    The element edge length is ``min(vp) / (max_frequency_in_hertz * elements_per_wavelength)``
    (rounded down so that a whole number of elements fits). ``model`` is any object with
    ``extent`` (x_min, x_max, y_min, y_max), ``min_velocity_in_meters_per_second`` and
    ``sample(points) -> {"VP": ..., "RHO": ...}`` (for example a GenericModel).

    ``absorbing_boundaries`` (specfwi.mesh.absorbing): True (default) extends the box by absorbing
    layers on every side but a free surface (``free_surface=True``: the top, "y1"), each
    DEFAULT_NUMBER_OF_WAVELENGTHS wavelengths of the model's largest VP at 0.4 x max_frequency_in_hertz
    wide; an AbsorbingBoundaryParameters sets that width; side names put layers on those sides;
    "stacey" or False build no layers. Widths are rounded up to whole elements; properties in the layers
    are the box's edge values extended outwards; ``mesh.absorbing_layers`` describes them.
    """
    check_resolution(max_frequency_in_hertz, elements_per_wavelength)
    check_order(tensor_order)
    estimate = resources.estimate_from_domain(
        model.extent, min_velocity_in_meters_per_second=model.min_velocity_in_meters_per_second,
        max_frequency_in_hertz=max_frequency_in_hertz, elements_per_wavelength=elements_per_wavelength,
        tensor_order=tensor_order)
    resources.check(estimate, "this mesh", parameters="max_frequency_in_hertz, elements_per_wavelength and the "
                    "model's smallest VP")
    choice = resolve_absorbing_boundaries(absorbing_boundaries, available_sides=RECTANGLE_SIDES,
                                          free_sides=(FREE_SURFACE_SIDE,) if free_surface else ())
    box = tuple(float(v) for v in model.extent)
    x_min, x_max, y_min, y_max = box
    element_size = model.min_velocity_in_meters_per_second / (max_frequency_in_hertz * elements_per_wavelength)
    n_x, n_y = resources.rectangle_elements(box, element_size)
    layers = None
    if choice.layer_sides:
        parameters = choice.parameters or _automatic_parameters(model, box, max_frequency_in_hertz)
        size = {"x": (x_max - x_min) / n_x, "y": (y_max - y_min) / n_y}
        n_layer = {side: max(1, math.ceil(parameters.width_in_meters / size[side[0]] - 1e-9))
                   for side in choice.layer_sides}
        widths = {side: n * size[side[0]] for side, n in n_layer.items()}
        layers = AbsorbingLayers(box, widths, parameters.reference_velocity)
        x_min, x_max = x_min - widths.get("x0", 0.0), x_max + widths.get("x1", 0.0)
        y_min, y_max = y_min - widths.get("y0", 0.0), y_max + widths.get("y1", 0.0)
        n_x += n_layer.get("x0", 0) + n_layer.get("x1", 0)
        n_y += n_layer.get("y0", 0) + n_layer.get("y1", 0)
    mesh = rectangle((x_min, x_max), (y_min, y_max), n_x, n_y, tensor_order=tensor_order)
    mesh.absorbing_layers = layers
    nodes = mesh.get_element_nodes().reshape(-1, 2)
    if layers is not None:
        nodes = layers.clip_to_box(nodes)
    for name, values in model.sample(nodes).items():
        mesh.attach_field(name, values.reshape(mesh.n_elements, mesh.n_gll))
    return mesh


def _automatic_parameters(model, box, max_frequency_in_hertz: float) -> AbsorbingBoundaryParameters:
    """Layers of DEFAULT_NUMBER_OF_WAVELENGTHS wavelengths of the largest VP on the box's boundary."""
    x_min, x_max, y_min, y_max = box
    along = np.linspace(0.0, 1.0, 201)
    boundary = np.concatenate([
        np.column_stack([x_min + (x_max - x_min) * along, np.full_like(along, y_min)]),
        np.column_stack([x_min + (x_max - x_min) * along, np.full_like(along, y_max)]),
        np.column_stack([np.full_like(along, x_min), y_min + (y_max - y_min) * along]),
        np.column_stack([np.full_like(along, x_max), y_min + (y_max - y_min) * along])])
    velocity = float(np.max(model.sample(boundary)["VP"]))
    return AbsorbingBoundaryParameters(velocity, DEFAULT_NUMBER_OF_WAVELENGTHS,
                                       REFERENCE_FREQUENCY_FRACTION * float(max_frequency_in_hertz))
