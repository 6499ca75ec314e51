"""Content hashes (SHA-256, hex) of the inputs of cached results.

A hash covers values, not identities: two arrays with equal dtype, shape and
bytes hash equal, so do two dictionaries with equal canonical JSON. Results are
cached under the hash of everything they depend on plus
:data:`RESULT_SCHEMA_VERSION`, which is bumped whenever a change of the code
changes the numbers it produces.
"""

from __future__ import annotations

import hashlib
import inspect
import json

import numpy as np
import xarray as xr

RESULT_SCHEMA_VERSION = 1


def json_default(value):
    """``json.dumps(default=...)`` for numpy scalars and arrays; anything else is a TypeError."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write a value of type {type(value).__name__} as JSON")


def canonical_json(content) -> str:
    """JSON with sorted keys and no whitespace; floats keep their exact repr."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=json_default)


def _update_with_array(hasher, values) -> None:
    values = np.asarray(values)
    if values.dtype.kind in "USO":
        hasher.update(canonical_json([str(v) for v in values.ravel()]).encode())
        hasher.update(str(values.shape).encode())
        return
    values = np.ascontiguousarray(values)
    hasher.update(f"{values.dtype.str}{values.shape}".encode())
    hasher.update(values.tobytes())


def hash_json(content) -> str:
    """Hash of JSON-serialisable content."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def hash_arrays(named_arrays: dict) -> str:
    """Hash of a mapping name -> array (order of the mapping does not matter)."""
    hasher = hashlib.sha256()
    for name in sorted(named_arrays):
        hasher.update(f"\0{name}\0".encode())
        _update_with_array(hasher, named_arrays[name])
    return hasher.hexdigest()


def hash_xarray(data: xr.Dataset | xr.DataArray) -> str:
    """Hash of an xarray object: every variable's name, dims, values and attributes, and the attributes."""
    hasher = hashlib.sha256()
    dataset = data.to_dataset(name=data.name or "data") if isinstance(data, xr.DataArray) else data
    hasher.update(canonical_json({"type": type(data).__name__, "attrs": dataset.attrs}).encode())
    for name in sorted(map(str, dataset.variables)):
        variable = dataset.variables[name]
        hasher.update(canonical_json({"name": name, "dims": list(map(str, variable.dims)),
                                      "attrs": variable.attrs}).encode())
        _update_with_array(hasher, variable.values)
    return hasher.hexdigest()


def hash_mesh(mesh) -> str:
    """Hash of an UnstructuredMesh: tensor order, geometry, side sets, element-nodal fields and absorbing layers."""
    arrays = {"vertices": mesh.vertices, "connectivity": mesh.connectivity,
              "tensor_order": np.asarray(mesh.tensor_order)}
    if mesh.absorbing_layers is not None:  # (a mesh without layers hashes as before layers existed)
        arrays.update({f"absorbing_layers/{key}": np.asarray(value)
                       for key, value in mesh.absorbing_layers.to_attributes().items()})
    arrays.update({f"side_set/{name}": values for name, values in mesh.side_sets.items()})
    arrays.update({f"field/{name}": values for name, values in mesh.element_nodal_fields.items()})
    return hash_arrays(arrays)


def describe_callable(function) -> dict:
    """Identity of a user function: importable reference and a hash of its source (or its name without one)."""
    module = getattr(function, "__module__", None) or "__main__"
    qualified_name = getattr(function, "__qualname__", type(function).__qualname__)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = f"{module}:{qualified_name}"
    return {"reference": f"{module}:{qualified_name}", "source_hash": hashlib.sha256(source.encode()).hexdigest()}


def combine(*parts) -> str:
    """Hash of several hashes or JSON values together, with the result schema version."""
    return hash_json({"result_schema_version": RESULT_SCHEMA_VERSION, "parts": list(parts)})
