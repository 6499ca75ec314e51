"""Reading observed data from files: SEG-Y through segyio (the optional extra ``specfwi[segy]``)."""

from .segy import VERTICAL_COORDINATES, VerticalCoordinate, read_segy

__all__ = ["VERTICAL_COORDINATES", "VerticalCoordinate", "read_segy"]
