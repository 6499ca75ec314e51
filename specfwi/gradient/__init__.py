"""Misfits of simulations and their adjoint gradients (solver + misfit)."""

from .compute import GradientResult, compute_gradient, compute_gradient_with_options, compute_misfit

__all__ = ["GradientResult", "compute_gradient", "compute_gradient_with_options", "compute_misfit"]
