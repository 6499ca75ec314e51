"""Point sources."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from .checks import finite_number
from .serialization import AcquisitionObject


@dataclass(frozen=True, eq=False)
class ScalarPoint2D(AcquisitionObject):
    """A point source of the acoustic equation at (x, y).

    ``f`` is the amplitude in ``(1/(RHO VP^2)) phi_tt - div((1/RHO) grad phi) = f delta(x - x_s) w(t)``.

    Parameters
    ----------
    x, y : position, m (y up, surface at y = 0).
    f : source amplitude (finite).
    """

    x: float
    y: float
    _: KW_ONLY
    f: float = 1.0

    def __post_init__(self):
        for name in ("x", "y", "f"):
            object.__setattr__(self, name, finite_number(name, getattr(self, name)))

    def _fields(self):
        return {"x": self.x, "y": self.y, "f": self.f}
