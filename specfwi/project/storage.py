"""Atomic file writes and the HDF5 layout of xarray objects (volume models, traces).

Every file of a project is written under a temporary name in its destination
folder and renamed into place with ``os.replace``, so a reader sees either the
old file or the complete new one, and a killed process leaves only temporary
files, named ``.<name>~<host>~<pid>~<random>.tmp`` (or staging folders
``.staging~<host>~<pid>~<random>.tmp``), which :func:`remove_stale_temporaries`
deletes once their process is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from ..errors import SchemaVersionError, invalid
from .hashing import json_default

logger = logging.getLogger(__name__)

XARRAY_SCHEMA_VERSION = 1
TEMPORARY_SUFFIX = ".tmp"


def _temporary_name(name: str) -> str:
    return f".{name}~{socket.gethostname()}~{os.getpid()}~{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success, flush it and rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(_temporary_name(path.name))
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_files(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder inside ``folder``; on success, move every file in it into ``folder``.

    For writers that create several files (an HDF5 mesh and its XDMF sidecar):
    each file appears in ``folder`` complete, by ``os.replace``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / _temporary_name("staging")
    staging.mkdir()
    try:
        yield staging
        for file in sorted(staging.iterdir()):
            _fsync(file)
            os.replace(file, folder / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def write_json(path: str | os.PathLike, content) -> None:
    """Write JSON-serialisable ``content`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(content, indent=1, sort_keys=True))


def read_json(path: str | os.PathLike):
    """The content of a JSON file."""
    return json.loads(Path(path).read_text())


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete temporary files and staging folders under ``folder`` left by dead processes of this host.

    Returns how many were removed. Temporaries of live processes and of other hosts are kept.
    """
    host = socket.gethostname()
    removed = 0
    for candidate in list(Path(folder).rglob(f".*~*{TEMPORARY_SUFFIX}")):
        parts = candidate.name[: -len(TEMPORARY_SUFFIX)].rsplit("~", 3)
        if len(parts) != 4 or not parts[2].isdigit():
            continue
        candidate_host, pid = parts[1], int(parts[2])
        if candidate_host != host or _process_is_alive(pid):
            continue
        if candidate.is_dir():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            try:
                candidate.unlink(missing_ok=True)
            except OSError as error:  # a read-only folder: the temporary stays, harmless
                logger.debug("Cannot remove %s: %s", candidate, error)
                continue
        removed += 1
    if removed:
        logger.info("Removed %d temporary file(s) left by interrupted runs in %s.", removed, folder)
    return removed


# ---------------------------------------------------------------------------- xarray <-> HDF5

def _encode_values(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "US":
        return values.astype(object).astype(h5py.string_dtype())
    if values.dtype.kind == "O":
        return np.asarray([str(v) for v in values.ravel()], dtype=h5py.string_dtype()).reshape(values.shape)
    return values


def _write_variables(group: h5py.Group, variables) -> None:
    for name, variable in variables.items():
        dataset = group.create_dataset(str(name), data=_encode_values(np.asarray(variable.values)))
        dataset.attrs["dims"] = json.dumps([str(d) for d in variable.dims])
        dataset.attrs["attrs"] = json.dumps(variable.attrs, default=json_default)
        dataset.attrs["is_string"] = np.asarray(variable.values).dtype.kind in "USO"


def _read_variables(group: h5py.Group) -> dict:
    variables = {}
    for name, dataset in group.items():
        values = dataset.asstr()[()] if dataset.attrs["is_string"] else dataset[()]
        variables[name] = xr.Variable(json.loads(dataset.attrs["dims"]), np.asarray(values),
                                      attrs=json.loads(dataset.attrs["attrs"]))
    return variables


def write_xarray_h5(path: str | os.PathLike, data: xr.Dataset | xr.DataArray) -> None:
    """Write a Dataset or a named DataArray (numeric or string variables, JSON attributes) atomically."""
    if not isinstance(data, (xr.Dataset, xr.DataArray)):
        raise invalid("data", type(data).__name__, "an xarray.Dataset or xarray.DataArray")
    dataset = data.to_dataset(name=data.name or "data") if isinstance(data, xr.DataArray) else data
    with atomic_path(path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["specfwi_schema_version"] = XARRAY_SCHEMA_VERSION
            handle.attrs["kind"] = "DataArray" if isinstance(data, xr.DataArray) else "Dataset"
            handle.attrs["name"] = str(data.name or "data") if isinstance(data, xr.DataArray) else ""
            handle.attrs["attrs"] = json.dumps(dataset.attrs, default=json_default)
            _write_variables(handle.create_group("coords"), dataset.coords.variables)
            _write_variables(handle.create_group("data_vars"), dataset.data_vars.variables)


def read_xarray_h5(path: str | os.PathLike) -> xr.Dataset | xr.DataArray:
    """Read what :func:`write_xarray_h5` wrote."""
    with h5py.File(path, "r") as handle:
        version = int(handle.attrs.get("specfwi_schema_version", -1))
        if version != XARRAY_SCHEMA_VERSION:
            raise SchemaVersionError(f"{str(path)!r} has xarray schema version {version}; this specfwi reads "
                                     f"version {XARRAY_SCHEMA_VERSION}")
        dataset = xr.Dataset(_read_variables(handle["data_vars"]), coords=_read_variables(handle["coords"]),
                             attrs=json.loads(handle.attrs["attrs"]))
        if handle.attrs["kind"] == "DataArray":
            return dataset[handle.attrs["name"]]
        return dataset
