"""Point receivers: single ones (``Receiver2D``) and arrays of them (``ArrayPoint2D``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import invalid
from ..parameters import RECEIVER_FIELDS
from .checks import finite_number, non_empty_string
from .serialization import AcquisitionObject


def check_fields(fields) -> tuple[str, ...]:
    """Validate recorded field names: a name or a non-empty list of distinct names from RECEIVER_FIELDS."""
    names = (fields,) if isinstance(fields, str) else fields
    if (not isinstance(names, (list, tuple)) or not names or len(set(names)) != len(names)
            or any(name not in RECEIVER_FIELDS for name in names)):
        raise invalid("fields", fields, f"a non-empty list of distinct names from {list(RECEIVER_FIELDS)}")
    return tuple(names)


@dataclass(frozen=True, eq=False)
class Receiver2D(AcquisitionObject):
    """A receiver at (x, y) (m) named ``name`` recording ``fields`` (a tuple of field names)."""

    x: float
    y: float
    _: KW_ONLY
    name: str
    fields: tuple[str, ...] = RECEIVER_FIELDS

    def __post_init__(self):
        object.__setattr__(self, "x", finite_number("x", self.x))
        object.__setattr__(self, "y", finite_number("y", self.y))
        non_empty_string("name", self.name)
        object.__setattr__(self, "fields", check_fields(self.fields))

    def _fields(self):
        return {"x": self.x, "y": self.y, "name": self.name, "fields": list(self.fields)}


class ArrayPoint2D(AcquisitionObject, Sequence):
    """Receivers at the points (x[i], y[i]); a sequence of ``Receiver2D``.

    ``x`` and ``y`` (m) are numbers or 1-D arrays, broadcast against each other
    (``y=0.0`` puts every receiver at the surface). Receiver i is named
    ``f"{station_prefix}_{i:03d}"`` (more digits when there are more than 1000 receivers).
    Only the field "phi" is recorded for now.
    """

    def __init__(self, x: ArrayLike, y: ArrayLike, *, fields=RECEIVER_FIELDS, station_prefix: str = "REC"):
        try:
            x_array, y_array = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        except (ValueError, TypeError) as error:
            raise invalid("x, y", f"{x!r}, {y!r}", f"numbers or 1-D arrays that broadcast together ({error})") from None
        if x_array.ndim > 1 or x_array.size == 0:
            raise invalid("x, y", f"arrays broadcasting to shape {x_array.shape}", "numbers or non-empty 1-D arrays")
        if not (np.all(np.isfinite(x_array)) and np.all(np.isfinite(y_array))):
            raise invalid("x, y", f"{x!r}, {y!r}", "finite coordinates (m)")
        self._x = np.atleast_1d(x_array).copy()
        self._y = np.atleast_1d(y_array).copy()
        self._x.setflags(write=False)
        self._y.setflags(write=False)
        self._fields_recorded = check_fields(fields)
        self._station_prefix = non_empty_string("station_prefix", station_prefix)

    @property
    def x(self) -> NDArray[np.float64]:
        """(n_receivers,) x coordinates, m."""
        return self._x

    @property
    def y(self) -> NDArray[np.float64]:
        """(n_receivers,) y coordinates, m."""
        return self._y

    @property
    def fields(self) -> tuple[str, ...]:
        return self._fields_recorded

    @property
    def station_prefix(self) -> str:
        return self._station_prefix

    def __len__(self) -> int:
        return self._x.size

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not isinstance(index, (int, np.integer)) or not -len(self) <= index < len(self):
            raise IndexError(f"receiver index {index!r} out of range for {len(self)} receivers")
        index = int(index) % len(self)
        digits = max(3, len(str(len(self) - 1)))
        return Receiver2D(self._x[index], self._y[index], name=f"{self._station_prefix}_{index:0{digits}d}",
                          fields=self._fields_recorded)

    def _fields(self):
        return {"x": self._x.tolist(), "y": self._y.tolist(), "fields": list(self._fields_recorded),
                "station_prefix": self._station_prefix}

    def __repr__(self) -> str:
        return (f"ArrayPoint2D(n_receivers={len(self)}, fields={list(self._fields_recorded)}, "
                f"station_prefix={self._station_prefix!r})")
