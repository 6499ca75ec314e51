"""Names of the material parameters a mapping may invert for."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import invalid
from ..parameters import PARAMETERS

KNOWN_PARAMETERS: tuple[str, ...] = tuple(sorted(PARAMETERS))
"""Mesh parameter names (upper case) of the acoustic equation: ('RHO', 'VP')."""


def check_parameter_names(name: str, value, *, allow_empty: bool = False) -> tuple[str, ...]:
    """Validate a list of distinct parameter names from KNOWN_PARAMETERS; returns them as a tuple."""
    allowed = f"a {'' if allow_empty else 'non-empty '}list of distinct names from {list(KNOWN_PARAMETERS)}"
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise invalid(name, value, allowed)
    names = tuple(value)
    if (not names and not allow_empty) or len(set(names)) != len(names) or any(
            not isinstance(parameter, str) or parameter not in KNOWN_PARAMETERS for parameter in names):
        raise invalid(name, value, allowed)
    return names

