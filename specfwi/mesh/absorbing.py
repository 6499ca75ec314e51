"""Absorbing layers: elements outside the model's box in which the solver damps outgoing waves.

A mesh built with layers (:func:`specfwi.mesh.from_volume_model` with ``absorbing_boundaries``) extends
the model's box on each absorbing side by a whole number of elements; the properties there are the
box's edge values extended outwards. :class:`AbsorbingLayers` travels with the mesh
(``mesh.absorbing_layers``) and says where the box ends, how wide each layer is and how strongly to
damp: the solver turns it into a perfectly matched layer (docs/solver.md, Boundaries).

Damping profile (per axis, s^-1): ``d(s) = d_max (s / L)^2`` at distance ``s`` into a layer of width
``L``, with ``d_max = 3 c_ref ln(1 / R) / (2 L)``, ``c_ref`` the reference velocity and ``R`` =
:data:`THEORETICAL_REFLECTION` the reflection of the continuous layer at normal incidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import invalid
from ..parameters import check_positive_number

RECTANGLE_SIDES = ("x0", "x1", "y0", "y1")
FREE_SURFACE_SIDE = "y1"
#: Layer width, in wavelengths of c_ref / f_ref, when ``absorbing_boundaries=True`` (docs/solver.md, the table).
DEFAULT_NUMBER_OF_WAVELENGTHS = 0.25
#: Normal-incidence reflection of the continuous layer that sets the damping's strength.
THEORETICAL_REFLECTION = 1e-3
#: The frequency of the layers' reference wavelength, as a fraction of the mesh's maximum frequency
#: (a Ricker wavelet's centre frequency is about 1/2.5 of its highest resolved frequency).
REFERENCE_FREQUENCY_FRACTION = 0.4


@dataclass(frozen=True)
class AbsorbingBoundaryParameters:
    """Size and strength of absorbing layers.

    reference_velocity : m/s, the velocity of the reference wavelength and of the damping's strength
        (use the largest velocity near the boundary)
    number_of_wavelengths : layer width in reference wavelengths (reference_velocity / reference_frequency)
    reference_frequency : Hz, typically the wavelet's centre frequency
    """

    reference_velocity: float
    number_of_wavelengths: float
    reference_frequency: float

    def __post_init__(self):
        for name in ("reference_velocity", "number_of_wavelengths", "reference_frequency"):
            object.__setattr__(self, name, check_positive_number(name, getattr(self, name)))

    @property
    def width_in_meters(self) -> float:
        return self.number_of_wavelengths * self.reference_velocity / self.reference_frequency


@dataclass(frozen=True)
class AbsorbingLayers:
    """The layers a mesh carries.

    box : (x_min, x_max, y_min, y_max) m, the model's box (the physical domain) inside the layers
    widths_in_meters : {side: width} for the sides with a layer ("x0": x < x_min, "x1", "y0", "y1")
    reference_velocity_in_meters_per_second : c_ref of the damping profile
    """

    box: tuple[float, float, float, float]
    widths_in_meters: dict
    reference_velocity_in_meters_per_second: float

    def element_mask(self, element_centroids: NDArray[np.float64]) -> NDArray[np.bool_]:
        """True for the elements (by centroid, (n, 2) m) outside the box: the layer elements."""
        x_min, x_max, y_min, y_max = self.box
        x, y = element_centroids[:, 0], element_centroids[:, 1]
        return (x < x_min) | (x > x_max) | (y < y_min) | (y > y_max)

    def damping_profiles(self, points: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(d_x, d_y) in 1/s at points (..., 2) in m: zero in the box, d_max (s / L)^2 in a layer."""
        x_min, x_max, y_min, y_max = self.box
        profiles = []
        axes = (("x0", x_min, "x1", x_max), ("y0", y_min, "y1", y_max))
        for axis, (low_side, low, high_side, high) in enumerate(axes):
            coordinate = points[..., axis]
            profile = np.zeros(coordinate.shape)
            for side, distance in ((low_side, low - coordinate), (high_side, coordinate - high)):
                width = self.widths_in_meters.get(side, 0.0)
                if width > 0.0:
                    strength = 1.5 * self.reference_velocity_in_meters_per_second * math.log(
                        1.0 / THEORETICAL_REFLECTION) / width
                    inside = np.clip(distance, 0.0, width) / width
                    profile += strength * inside**2
            profiles.append(profile)
        return profiles[0], profiles[1]

    def clip_to_box(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Points (n, 2) moved to the nearest point of the box: the edge extension of the properties."""
        x_min, x_max, y_min, y_max = self.box
        return np.column_stack([np.clip(points[:, 0], x_min, x_max), np.clip(points[:, 1], y_min, y_max)])

    def to_attributes(self) -> dict:
        """Flat attributes for HDF5 (see :meth:`from_attributes`)."""
        return {"box": np.asarray(self.box, dtype=float),
                "sides": np.array(list(self.widths_in_meters), dtype="S2"),
                "widths_in_meters": np.array(list(self.widths_in_meters.values()), dtype=float),
                "reference_velocity_in_meters_per_second": self.reference_velocity_in_meters_per_second}

    @classmethod
    def from_attributes(cls, attributes) -> "AbsorbingLayers":
        sides = [side.decode() if isinstance(side, bytes) else str(side) for side in attributes["sides"]]
        return cls(tuple(float(v) for v in attributes["box"]),
                   dict(zip(sides, (float(w) for w in attributes["widths_in_meters"]))),
                   float(attributes["reference_velocity_in_meters_per_second"]))


@dataclass(frozen=True)
class BoundaryChoice:
    """What an ``absorbing_boundaries`` option asks for.

    layer_sides : sides that get (or have) absorbing layers; stacey_sides : sides with the first-order
    Stacey condition only; parameters : explicit layer parameters, or None for automatic sizing
    """

    layer_sides: tuple[str, ...]
    stacey_sides: tuple[str, ...]
    parameters: AbsorbingBoundaryParameters | None


#: The values of ``absorbing_boundaries`` (:func:`check_absorbing_option`; a str other than "stacey" names a side).
AbsorbingOption = bool | Literal["stacey"] | str | tuple[str, ...] | AbsorbingBoundaryParameters
#: The values of ``free_surface`` (:func:`check_free_surface_option`): True is the top side, FREE_SURFACE_SIDE.
FreeSurfaceOption = bool | str | tuple[str, ...]

ABSORBING_OPTION_ALLOWED = ("True (layers sized automatically), an sf.AbsorbingBoundaryParameters, 'stacey', False, "
                            "or side-set names")
FREE_SURFACE_OPTION_ALLOWED = f"True (the top side, {FREE_SURFACE_SIDE!r}), False, or side-set names"


def _flag_or_side_names(parameter: str, option, allowed: str) -> bool | tuple[str, ...]:
    """True or False, or one side-set name or a non-empty sequence of them as a tuple; else InvalidParameterError
    naming ``parameter`` with ``allowed``."""
    if isinstance(option, (bool, np.bool_)):
        return bool(option)
    names = (option,) if isinstance(option, str) else option
    try:
        names = tuple(names)
    except TypeError:
        raise invalid(parameter, option, allowed) from None
    if not names or not all(isinstance(name, str) and name for name in names):
        raise invalid(parameter, option, allowed)
    return names


def check_absorbing_option(option) -> AbsorbingOption:
    """The ``absorbing_boundaries`` option checked for its form (sides are checked against a mesh later);
    side-set names come back as a tuple."""
    if isinstance(option, AbsorbingBoundaryParameters) or (isinstance(option, str) and option == "stacey"):
        return option
    return _flag_or_side_names("absorbing_boundaries", option, ABSORBING_OPTION_ALLOWED)


def check_free_surface_option(option) -> FreeSurfaceOption:
    """The ``free_surface`` option checked for its form (sides are checked against a mesh later);
    side-set names come back as a tuple."""
    return _flag_or_side_names("free_surface", option, FREE_SURFACE_OPTION_ALLOWED)


def absorbing_option_to_json(option):
    """A JSON value for a checked option: true/false, "stacey", a list of names or the parameters' dict."""
    if isinstance(option, AbsorbingBoundaryParameters):
        return {"reference_velocity": option.reference_velocity, "number_of_wavelengths": option.number_of_wavelengths,
                "reference_frequency": option.reference_frequency}
    return list(option) if isinstance(option, tuple) else option


def absorbing_option_from_json(value):
    """The inverse of :func:`absorbing_option_to_json`."""
    return AbsorbingBoundaryParameters(**value) if isinstance(value, dict) else check_absorbing_option(value)


def resolve_absorbing_boundaries(option, *, available_sides, free_sides=()) -> BoundaryChoice:
    """Normalise the ``absorbing_boundaries`` option (the same values everywhere).

    True: layers on every side that is not a free surface (automatic size); an
    :class:`AbsorbingBoundaryParameters`: the same with that size; "stacey": the first-order condition on
    those sides, no layers; False (or None): none (rigid walls); side-set names: layers on those sides.
    """
    sides = tuple(s for s in RECTANGLE_SIDES if s in available_sides and s not in free_sides)
    if option is True:
        return BoundaryChoice(sides, (), None)
    if isinstance(option, AbsorbingBoundaryParameters):
        return BoundaryChoice(sides, (), option)
    if option is False or option is None:
        return BoundaryChoice((), (), None)
    if isinstance(option, str) and option == "stacey":
        return BoundaryChoice((), sides, None)
    allowed = f"{ABSORBING_OPTION_ALLOWED} among {sorted(available_sides)}"
    chosen = _flag_or_side_names("absorbing_boundaries", option, allowed)
    if isinstance(chosen, bool) or any(s not in available_sides for s in chosen):
        raise invalid("absorbing_boundaries", option, allowed)
    on_free = [s for s in chosen if s in free_sides]
    if on_free:
        raise invalid("absorbing_boundaries", option, f"sides without a free surface (free surface on {on_free})")
    return BoundaryChoice(chosen, (), None)
