"""Exception types of specfwi.

Every error raised for bad user input is a subclass of :class:`SpecfwiError`,
itself a ``ValueError``, and its message names the parameter, the value
received and what is allowed (see :func:`invalid`).
"""

from __future__ import annotations


class SpecfwiError(ValueError):
    """Base class of all specfwi input errors."""


class InvalidParameterError(SpecfwiError):
    """A parameter has a value outside what is allowed."""


class ModelError(SpecfwiError):
    """A volume model or a material field is invalid (missing, non-finite, non-positive)."""


class OutsideMeshError(SpecfwiError):
    """A point (source, receiver, query) lies outside the mesh."""


class StabilityError(SpecfwiError):
    """A time step exceeds the stability limit of the time integrator."""


class ProjectError(SpecfwiError):
    """An on-disk project is inconsistent with what is asked of it."""


class ExecutorError(SpecfwiError):
    """An executor cannot run jobs (e.g. a Dask scheduler that cannot be reached)."""


class ResourceError(SpecfwiError):
    """A computation would need more memory or time steps than the limits of ``sf.config`` allow."""


class SpecfwiWarning(UserWarning):
    """Warnings of specfwi: input that runs, but probably not as meant."""


class SchemaVersionError(SpecfwiError):
    """A file was written with an on-disk schema this version cannot read."""


def invalid(name: str, value, allowed: str, error=InvalidParameterError) -> SpecfwiError:
    """Build the standard message: ``'name' must be <allowed>, got <value>``."""
    return error(f"{name!r} must be {allowed}, got {value!r}")
