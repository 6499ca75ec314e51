"""Validation of scalar inputs shared by the acquisition classes."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import invalid


def finite_number(name: str, value) -> float:
    """Return ``value`` as a float; raise a specfwi error unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise invalid(name, value, "a finite real number")
    return float(value)


def non_empty_string(name: str, value) -> str:
    """Return ``value``; raise a specfwi error unless it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise invalid(name, value, "a non-empty string")
    return value
