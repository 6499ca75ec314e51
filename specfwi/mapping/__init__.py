"""Mapping layer: inversion space <-> simulation space, masks, transfers and smoothing (docs/mapping.md)."""

from .inversion_model import InversionModel
from .mapping import Mapping
from .scaling import SCALINGS, Scaling
from .smoothing import ConstantSmoothing, WavelengthSmoothing

__all__ = ["SCALINGS", "ConstantSmoothing", "InversionModel", "Mapping", "Scaling", "WavelengthSmoothing"]
