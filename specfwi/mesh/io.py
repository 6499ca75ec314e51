"""HDF5 storage of an UnstructuredMesh, with an XDMF sidecar so that ParaView opens it.

Layout of the HDF5 file (schema version 1)
------------------------------------------
attributes  ``specfwi_schema_version`` (= 1), ``tensor_order``, ``specfwi_version``
``vertices``                (n_vertices, 2) float64, m
``connectivity``            (n_elements, 4) int64, counter-clockwise vertex indices
``side_sets/<name>``        (n, 2) int64, (element, edge) pairs
``element_nodal_fields/<name>``  (n_elements, n_gll) float64
``global_node_coordinates`` (n_global_nodes, 2) float64, m, the unique GLL nodes
``global_node_index``       (n_elements, n_gll) int64, global number of every element node
``visualization/element_node_coordinates``  (n_elements * n_gll, 2) float64, m, every element's
                            GLL nodes (point e * n_gll + q), so that discontinuous fields show
``visualization/sub_quad_connectivity``     (n_elements * order^2, 4) int64, every element split
                            into the quads between its GLL nodes, indices into the points above
``visualization/absorbing_layer``  (n_elements * n_gll,) float64, 1 on the nodes of layer elements, else 0
``absorbing_layers`` (group, only for meshes with layers): attributes ``box`` (x_min, x_max, y_min, y_max),
                            ``sides``, ``widths_in_meters``, ``reference_velocity_in_meters_per_second``

The XDMF file (same path with suffix ``.xdmf``) describes the ``visualization``
quads with one node-centred attribute per element-nodal field, and ABSORBING_LAYER (the layer mark). Both files are
written to temporary names in the target directory and renamed into place.
"""

from __future__ import annotations

import logging
import os
import uuid
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from ..errors import SchemaVersionError, invalid
from ..version import __version__
from .absorbing import AbsorbingLayers
from .unstructured_mesh import UnstructuredMesh

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FIELDS_GROUP = "element_nodal_fields"
SIDE_SETS_GROUP = "side_sets"
VISUALIZATION_GROUP = "visualization"
LAYERS_GROUP = "absorbing_layers"
LAYER_MARK = "absorbing_layer"


def xdmf_path_for(path) -> Path:
    """The XDMF sidecar of an HDF5 mesh file: the same path with suffix ``.xdmf``."""
    return Path(path).with_suffix(".xdmf")


def write_h5(mesh: UnstructuredMesh, path) -> Path:
    """Write ``mesh`` to the HDF5 file ``path`` (str or Path) and its XDMF sidecar; returns ``path``."""
    path = Path(path)
    if path.suffix.lower() == ".xdmf":
        raise invalid("path", str(path), "an HDF5 file name (the .xdmf sidecar is written beside it)")
    if not path.parent.is_dir():
        raise invalid("path", str(path), "a file in an existing directory")
    for group, names in ((FIELDS_GROUP, mesh.element_nodal_fields), (SIDE_SETS_GROUP, mesh.side_sets)):
        for name in names:
            if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
                raise invalid(f"{group} name", name, "a non-empty string without '/'")
    with _atomic_target(path) as temporary_path:
        _write_datasets(mesh, temporary_path)
    with _atomic_target(xdmf_path_for(path)) as temporary_path:
        temporary_path.write_text(_xdmf_text(mesh, path.name), encoding="utf-8")
    logger.debug("wrote %r to %s", mesh, path)
    return path


def read_h5(path) -> UnstructuredMesh:
    """Read a mesh written by :func:`write_h5` (str or Path)."""
    path = Path(path)
    if not path.is_file():
        raise invalid("path", str(path), "an existing specfwi mesh file (HDF5)")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise invalid("path", str(path), f"a readable HDF5 file ({error})") from error
    with handle:
        version = handle.attrs.get("specfwi_schema_version")
        if version is None:
            raise SchemaVersionError(f"{str(path)!r} has no 'specfwi_schema_version' attribute: "
                                     f"it was not written by specfwi's write_h5")
        if int(version) != SCHEMA_VERSION:
            raise SchemaVersionError(f"{str(path)!r} uses specfwi mesh schema version {int(version)}, "
                                     f"this specfwi reads version {SCHEMA_VERSION} only; "
                                     f"read it with the specfwi version that wrote it")
        side_sets = {name: dataset[()] for name, dataset in handle.get(SIDE_SETS_GROUP, {}).items()}
        fields = {name: dataset[()] for name, dataset in handle.get(FIELDS_GROUP, {}).items()}
        layers = (AbsorbingLayers.from_attributes(handle[LAYERS_GROUP].attrs) if LAYERS_GROUP in handle
                  else None)
        return UnstructuredMesh(handle["vertices"][()], handle["connectivity"][()],
                                int(handle.attrs["tensor_order"]), element_nodal_fields=fields,
                                side_sets=side_sets, absorbing_layers=layers)


@contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (not yet created, so the file gets the umask's permissions like any
    other); rename it onto ``path`` on success, remove it on failure."""
    temporary_path = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)


def _write_datasets(mesh: UnstructuredMesh, path: Path) -> None:
    with h5py.File(path, "w") as handle:
        handle.attrs["specfwi_schema_version"] = SCHEMA_VERSION
        handle.attrs["tensor_order"] = mesh.tensor_order
        handle.attrs["specfwi_version"] = __version__
        handle.create_dataset("vertices", data=mesh.vertices)
        handle.create_dataset("connectivity", data=mesh.connectivity)
        side_sets = handle.create_group(SIDE_SETS_GROUP)
        for name, pairs in mesh.side_sets.items():
            side_sets.create_dataset(name, data=pairs)
        fields = handle.create_group(FIELDS_GROUP)
        for name, values in mesh.element_nodal_fields.items():
            fields.create_dataset(name, data=values)
        handle.create_dataset("global_node_coordinates", data=mesh.global_node_coordinates)
        handle.create_dataset("global_node_index", data=mesh.global_node_index)
        visualization = handle.create_group(VISUALIZATION_GROUP)
        visualization.create_dataset("element_node_coordinates", data=mesh.get_element_nodes().reshape(-1, 2))
        visualization.create_dataset("sub_quad_connectivity",
                                     data=mesh.sub_quad_connectivity())
        visualization.create_dataset(LAYER_MARK, data=np.repeat(mesh.layer_element_mask.astype(float), mesh.n_gll))
        if mesh.absorbing_layers is not None:
            group = handle.create_group(LAYERS_GROUP)
            for key, value in mesh.absorbing_layers.to_attributes().items():
                group.attrs[key] = value


def _xdmf_text(mesh: UnstructuredMesh, h5_name: str) -> str:
    n_points = mesh.n_elements * mesh.n_gll
    n_sub_quads = mesh.n_elements * mesh.tensor_order**2

    def data_item(parent, dataset: str, shape: tuple[int, ...], number_type: str) -> None:
        item = ElementTree.SubElement(parent, "DataItem", Dimensions=" ".join(map(str, shape)),
                                      NumberType=number_type, Precision="8", Format="HDF")
        item.text = f"{h5_name}:/{dataset}"

    root = ElementTree.Element("Xdmf", Version="3.0")
    grid = ElementTree.SubElement(ElementTree.SubElement(root, "Domain"), "Grid", Name="mesh", GridType="Uniform")
    topology = ElementTree.SubElement(grid, "Topology", TopologyType="Quadrilateral",
                                      NumberOfElements=str(n_sub_quads))
    data_item(topology, f"{VISUALIZATION_GROUP}/sub_quad_connectivity", (n_sub_quads, 4), "Int")
    geometry = ElementTree.SubElement(grid, "Geometry", GeometryType="XY")
    data_item(geometry, f"{VISUALIZATION_GROUP}/element_node_coordinates", (n_points, 2), "Float")
    for name in mesh.element_nodal_fields:
        attribute = ElementTree.SubElement(grid, "Attribute", Name=name, AttributeType="Scalar", Center="Node")
        data_item(attribute, f"{FIELDS_GROUP}/{name}", (mesh.n_elements, mesh.n_gll), "Float")
    attribute = ElementTree.SubElement(grid, "Attribute", Name="ABSORBING_LAYER", AttributeType="Scalar", Center="Node")
    data_item(attribute, f"{VISUALIZATION_GROUP}/{LAYER_MARK}", (n_points,), "Float")
    ElementTree.indent(root)
    return '<?xml version="1.0"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
