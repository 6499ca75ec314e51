"""Maps of element-nodal fields, gradients and wavefield snapshots on a mesh (or a regular grid)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.tri import Triangulation

from ..errors import invalid
from ..mesh import UnstructuredMesh
from ..mesh.io import sub_quad_connectivity
from .axes import add_colorbar, axes_or_new, label_map_axes
from .color_scale import SIGNED_COLORMAP, UNSIGNED_COLORMAP, color_limits


def _draw_element_nodal(mesh: UnstructuredMesh, values, ax: Axes, *, limits: tuple[float, float], cmap: str,
                        label: str, title: str | None) -> Axes:
    """Gouraud-shaded triangles between every element's GLL nodes; values (n_elements, n_gll). The model's box
    of a mesh with absorbing layers is outlined (dashed)."""
    points = mesh.get_element_nodes().reshape(-1, 2)
    quads = sub_quad_connectivity(mesh.tensor_order, mesh.n_elements)
    triangles = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    mappable = ax.tripcolor(Triangulation(points[:, 0], points[:, 1], triangles), np.ravel(values),
                            shading="gouraud", cmap=cmap, vmin=limits[0], vmax=limits[1])
    if mesh.absorbing_layers is not None:
        x_min, x_max, y_min, y_max = mesh.absorbing_layers.box
        ax.plot([x_min, x_max, x_max, x_min, x_min], [y_min, y_min, y_max, y_max, y_min], "k--", linewidth=0.8)
    add_colorbar(ax, mappable, label)
    label_map_axes(ax, title)
    return ax


def _field_values(mesh: UnstructuredMesh, name: str) -> np.ndarray:
    if name not in mesh.element_nodal_fields:
        raise invalid("name", name, f"one of the mesh fields {sorted(mesh.element_nodal_fields)}")
    return mesh.element_nodal_fields[name]


def field(mesh: UnstructuredMesh, name: str, *, clip: float | None = None, ax: Axes | None = None,
          cmap: str | None = None, title: str | None = None) -> Axes:
    """Draw the element-nodal field ``name`` of ``mesh``; returns the Axes.

    Colours are symmetric around zero for a field with both signs and span the data
    range otherwise; ``clip`` in (0, 1] saturates them at ``clip * max|field|``.
    """
    values = _field_values(mesh, name)
    signed = bool(np.nanmin(values) < 0.0 < np.nanmax(values))
    return _draw_element_nodal(mesh, values, axes_or_new(ax), limits=color_limits(values, clip=clip, symmetric=signed),
                               cmap=cmap or (SIGNED_COLORMAP if signed else UNSIGNED_COLORMAP),
                               label=name, title=name if title is None else title)


def wavefield(mesh: UnstructuredMesh, values, *, ax: Axes | None = None, clip: float | None = None,
              title: str | None = None) -> Axes:
    """Draw a snapshot of a global nodal field ``values`` (n_global_nodes,) with a symmetric scale."""
    values = np.asarray(values, dtype=float)
    if values.shape != (mesh.n_global_nodes,):
        raise invalid("values", f"array of shape {values.shape}", f"an array of shape ({mesh.n_global_nodes},)")
    return _draw_element_nodal(mesh, values[mesh.global_node_index], axes_or_new(ax),
                               limits=color_limits(values, clip=clip, symmetric=True), cmap=SIGNED_COLORMAP,
                               label="wavefield", title=title)


def gradient(g, parameter: str, *, clip: float | None = None, ax: Axes | None = None,
             title: str | None = None) -> Axes:
    """Draw the ``parameter`` component of a gradient with a colour scale symmetric around zero.

    ``g`` is an UnstructuredMesh, an xarray.Dataset on a regular grid with dims (x, y), or
    an object whose ``.model`` is one of these. ``clip`` in (0, 1] saturates the colours at
    ``clip * max|gradient|``.
    """
    model = getattr(g, "model", g) if not isinstance(g, (UnstructuredMesh, xr.Dataset)) else g
    title = f"gradient {parameter}" if title is None else title
    ax = axes_or_new(ax)
    if isinstance(model, UnstructuredMesh):
        values = _field_values(model, parameter)
        return _draw_element_nodal(model, values, ax, limits=color_limits(values, clip=clip, symmetric=True),
                                   cmap=SIGNED_COLORMAP, label=parameter, title=title)
    if isinstance(model, xr.Dataset):
        return _draw_grid(model, parameter, ax, clip=clip, title=title)
    raise invalid("g", type(g).__name__, "an UnstructuredMesh or xarray.Dataset, or an object whose .model is one")


def _draw_grid(dataset: xr.Dataset, parameter: str, ax: Axes, *, clip: float | None, title: str) -> Axes:
    variable = next((v for v in (parameter, parameter.lower(), parameter.upper()) if v in dataset.data_vars), None)
    if variable is None:
        raise invalid("parameter", parameter, f"one of the dataset variables {sorted(map(str, dataset.data_vars))}")
    if set(dataset[variable].dims) != {"x", "y"}:
        raise invalid(f"g[{variable!r}].dims", dataset[variable].dims, "('x', 'y')")
    values = dataset[variable].transpose("y", "x").values
    vmin, vmax = color_limits(values, clip=clip, symmetric=True)
    mappable = ax.pcolormesh(dataset["x"].values, dataset["y"].values, values, shading="gouraud",
                             cmap=SIGNED_COLORMAP, vmin=vmin, vmax=vmax)
    add_colorbar(ax, mappable, parameter)
    label_map_axes(ax, title)
    return ax
