"""Colour limits of plotted fields: symmetric around zero for signed data, optionally clipped."""

from __future__ import annotations

import numpy as np

from ..errors import invalid

SIGNED_COLORMAP = "RdBu_r"
UNSIGNED_COLORMAP = "viridis"


def check_clip(clip) -> float:
    """Validate ``clip``: None (no clipping, 1.0) or a fraction in (0, 1] of max|field|."""
    if clip is None:
        return 1.0
    if isinstance(clip, bool) or not isinstance(clip, (int, float, np.number)) or not (0.0 < clip <= 1.0):
        raise invalid("clip", clip, "None or a number in (0, 1] (fraction of max|field| at which colours saturate)")
    return float(clip)


def color_limits(values, *, clip=None, symmetric: bool | None = None) -> tuple[float, float]:
    """(vmin, vmax) for ``values``.

    ``symmetric=None`` chooses a scale symmetric around zero when the finite values
    have both signs, the data range otherwise. A clipped limit is ``clip * max|values|``;
    it replaces the limit on the side(s) where the data reach that magnitude.
    """
    fraction = check_clip(clip)
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    saturation = fraction * max(abs(low), abs(high))
    if symmetric is None:
        symmetric = low < 0.0 < high
    if symmetric:
        saturation = saturation or 1.0  # an all-zero field still gets a usable scale
        return -saturation, saturation
    if high > 0.0:
        return min(low, saturation), saturation
    return -saturation, max(high, -saturation)
