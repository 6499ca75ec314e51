"""Wave equations: material parameters -> discrete coefficients and their derivatives."""

from .acoustic import PARAMETERS, AcousticCoefficients, check_material

__all__ = ["PARAMETERS", "AcousticCoefficients", "check_material"]
