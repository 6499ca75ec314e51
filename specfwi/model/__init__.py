"""Volume models on regular grids."""

from .generic_model import GenericModel

__all__ = ["GenericModel"]
