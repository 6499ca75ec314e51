"""The kernel module of each tensor order.

Numba unrolls the element loops only when the number of GLL points per axis is a
compile-time constant, and caches compiled code on disk only for functions of a real
source file. So every order uses a copy of :mod:`specfwi.solver.kernels` with its ``N``
line changed, written once into the user's cache folder ($SPECFWI_CACHE_DIR, else
$XDG_CACHE_HOME/specfwi, else ~/.cache/specfwi) and imported from there; numba then caches
its compiled code beside it. The copy's name holds a digest of its source and of
:mod:`specfwi.solver.unrolled`, whose generated code it compiles: numba keys its cache on
the copy's file alone, so a change to either file must give a new copy, or stale compiled
code would be loaded (this happened: it crashed).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from . import kernels, unrolled

_N_LINE = re.compile(r"^N = \d+  # GLL points per axis.*$", flags=re.M)


def _cache_folder() -> Path:
    if os.environ.get("SPECFWI_CACHE_DIR"):
        return Path(os.environ["SPECFWI_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "specfwi"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


@lru_cache(maxsize=None)
def kernels_for_order(tensor_order: int) -> ModuleType:
    """The kernel module (apply_stiffness, forward_steps, adjoint_steps) for a tensor order."""
    n_gll_1d = tensor_order + 1
    template = Path(kernels.__file__).read_text()
    source, count = _N_LINE.subn(f"N = {n_gll_1d}  # GLL points per axis (tensor order + 1)", template)
    if count != 1:
        raise RuntimeError(f"{kernels.__file__} must define N on one line of the form 'N = 5  # GLL points per axis'")
    generator = Path(unrolled.__file__).read_text()
    digest = hashlib.sha256("\n".join([source, generator]).encode()).hexdigest()[:12]
    name = f"specfwi_kernels_order{tensor_order}_{digest}"
    path = _cache_folder() / f"{name}.py"
    if not path.exists():
        _write_atomically(path, source)
    specification = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(specification)
    sys.modules[name] = module
    specification.loader.exec_module(module)
    return module
