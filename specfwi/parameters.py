"""The names of the acoustic material parameters and of the recorded fields, and the check of their values.

The lowest layer beside :mod:`specfwi.errors`: every other layer takes these names from here.
Parameter names are upper case on meshes, in mappings and gradients (``VP`` in m/s, ``RHO`` in
kg/m^3) and lower case as the variables of xarray volume models (``vp``, ``rho``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ModelError, SpecfwiError, invalid

PARAMETERS: tuple[str, ...] = ("VP", "RHO")
"""Material parameters of the acoustic equation, as meshes, mappings and gradients name them."""

MODEL_VARIABLES: tuple[str, ...] = tuple(name.lower() for name in PARAMETERS)
"""The same parameters as variables of an xarray volume model: ('vp', 'rho')."""

RECEIVER_FIELDS: tuple[str, ...] = ("phi",)
"""Fields a receiver may record: the scalar field of the acoustic equation."""


def check_finite_values(name: str, values: ArrayLike, *, positive: bool = False, positive_because: str = "",
                        error: type[SpecfwiError] = ModelError) -> NDArray:
    """Return ``values`` as an array; raise ``error`` naming ``name`` unless they are finite everywhere and,
    if ``positive``, > 0 everywhere (``positive_because``: why, appended to the message)."""
    values = np.asarray(values)
    n_not_finite = int(np.sum(~np.isfinite(values)))
    if n_not_finite:
        raise invalid(name, f"{n_not_finite} non-finite values", "finite everywhere", error)
    if positive and np.any(values <= 0.0):
        reason = f" ({positive_because})" if positive_because else ""
        raise invalid(name, f"a minimum of {float(values.min())!r}", f"> 0 everywhere{reason}", error)
    return values


def check_positive_number(name: str, value, *, allowed: str = "a finite number > 0") -> float:
    """``value`` as a float; raise InvalidParameterError naming ``name`` (and saying what is ``allowed``) unless
    it is a finite real number > 0 (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
            np.isfinite(value) and value > 0):
        raise invalid(name, value, allowed)
    return float(value)
