"""Scalings between a simulation-space parameter and its inversion-space deviation.

With ``prior`` the prior model and ``d`` the (masked, transferred) inversion-space deviation,
both element-nodal arrays of one parameter:

* ``"absolute"``: model = prior + d (d in the parameter's physical unit);
* ``"relative_deviation_from_prior"``: model = prior * (1 + d);
* ``"logarithmic"``: model = prior * exp(d).
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ..errors import invalid

Scaling = Literal["absolute", "relative_deviation_from_prior", "logarithmic"]
SCALINGS: tuple[str, ...] = get_args(Scaling)


def check_scaling(value) -> str:
    """Validate a scaling name."""
    if not isinstance(value, str) or value not in SCALINGS:
        raise invalid("scaling", value, f"one of {list(SCALINGS)}")
    return value


def to_simulation(scaling: Scaling, prior: NDArray, deviation: NDArray) -> NDArray[np.float64]:
    """The model value from the prior and the deviation d (see the module docstring)."""
    if scaling == "absolute":
        return prior + deviation
    if scaling == "relative_deviation_from_prior":
        return prior * (1.0 + deviation)
    return prior * np.exp(deviation)


def derivative(scaling: Scaling, prior: NDArray, deviation: NDArray) -> NDArray[np.float64]:
    """d model / d deviation at the deviation d, element-wise."""
    if scaling == "absolute":
        return np.ones_like(prior)
    if scaling == "relative_deviation_from_prior":
        return np.array(prior, dtype=float)
    return prior * np.exp(deviation)


def to_inversion_field(scaling: Scaling, model: NDArray, prior: NDArray) -> NDArray[np.float64]:
    """The element-nodal field whose projection is the inversion-space value.

    The model itself for "absolute" (inversion values are physical), (model - prior) / prior for
    "relative_deviation_from_prior" and ln(model / prior) for "logarithmic".
    """
    if scaling == "absolute":
        return np.array(model, dtype=float)
    if scaling == "relative_deviation_from_prior":
        return (model - prior) / prior
    return np.log(model / prior)
