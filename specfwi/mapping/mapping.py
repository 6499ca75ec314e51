"""The Mapping between simulation space and inversion space (see docs/mapping.md).

For every inversion parameter, with ``prior`` the prior model on the simulation mesh, T the
transfer from the inversion discretization to the simulation element nodes, P its projection
(identity on the simulation mesh), w in [0, 1] the mask (cutouts of the event times the region
of interest) at the simulation element nodes, and x_prior = map_to_inversion(prior, prior):

    d = L (w * T (x - x_prior))                  (x_prior = 0 unless scaling is "absolute")
    model = prior + d                            "absolute"
    model = prior * (1 + d)                      "relative_deviation_from_prior"
    model = prior * exp(d)                       "logarithmic"

L copies the deviation of the box's edge into the absorbing layers of a mesh that has them
(specfwi.mapping.layers; the identity without layers, or with ``invert_in_absorbing_layers=True``).
Parameters that are not inverted for stay at the prior. ``adjoint`` is the exact transpose of
the linearised map for plain sums over vector entries (inversion side) and over element-nodal
entries (simulation side): it takes a raw gradient (d misfit / d element-nodal value) and returns
d misfit / d x. No mass matrix enters; turning gradients into densities is the preconditioner's job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..errors import invalid
from ..mesh import UnstructuredMesh
from . import layers
from . import scaling as scalings
from .cache import BoundedCache
from .discretization import InversionSpace, check_discretization
from .geometry import geometry_key, same_geometry
from .inversion_model import InversionModel
from .masks import RegionOfInterest, cutout_mask, station_coordinates
from .parameters import KNOWN_PARAMETERS, check_mesh_fields, check_parameter_names
from .scaling import Scaling


def _check_length(name: str, value, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
            np.isfinite(value) and (value >= 0.0 if allow_zero else value > 0.0)):
        raise invalid(name, value, f"None or a finite number {'>=' if allow_zero else '>'} 0 (m)")
    return float(value)


@dataclass
class _BoundMesh:
    """What the mapping derives from one simulation-mesh geometry (cached per geometry)."""

    space: InversionSpace
    region_of_interest: NDArray[np.float64]  # (n_elements, n_gll), ones without a region
    edge_extension: NDArray[np.int64] | None  # L of the module docstring (layers.edge_extension_sources), or None

    @cached_property
    def node_tree(self) -> cKDTree:
        return cKDTree(self.space.simulation_mesh.get_element_nodes().reshape(-1, 2))


class Mapping:
    """Maps inversion-space quantities to simulation models and raw gradients back.

    Parameters
    ----------
    inversion_parameters : non-empty list of distinct names from ("RHO", "VP"); the others stay at the prior.
    scaling : "absolute" (x in physical units), "relative_deviation_from_prior" (x = (m - m_prior) / m_prior)
        or "logarithmic" (x = ln(m / m_prior)).
    source_cutout_radius_in_meters, receiver_cutout_radius_in_meters : None (no cutout) or > 0: within this
        distance of each source / receiver of the event the update vanishes.
    cutout_taper_width_in_meters : >= 0; beyond the radius the mask rises as sin^2 over this width
        to 1. None (default) uses each cutout's own radius.
    region_of_interest : None, an UnstructuredMesh with a field "region_of_interest" in [0, 1], or a
        callable f(x, y) -> values in [0, 1] (arrays of element-node coordinates, m); updates are
        multiplied by it.
    inversion_discretization : None (the simulation mesh), an UnstructuredMesh (coarser than the simulation
        mesh), or a regular grid (an xarray Dataset/DataArray with coordinates x, y in m) covering it.
    invert_in_absorbing_layers : False (default): the absorbing layers of a simulation mesh follow the box's
        edge (their entries of x have no effect and get a zero gradient); True: they are inverted like the box.

    Every method takes the ``prior`` (an UnstructuredMesh holding the inversion parameters); meshes of
    several geometries (event-dependent meshes) may be used with one Mapping. ``event`` is anything with
    ``.sources`` and ``.receivers`` (objects with ``.x``, ``.y`` in m); with ``event=None`` no cutout is
    applied, only the region of interest. Cutouts make the simulation model event-dependent.
    """

    def __init__(self, inversion_parameters: Sequence[str] = ("VP", "RHO"), scaling: Scaling = "absolute",
                 *, source_cutout_radius_in_meters: float | None = None,
                 receiver_cutout_radius_in_meters: float | None = None,
                 cutout_taper_width_in_meters: float | None = None,
                 region_of_interest: UnstructuredMesh | Callable | None = None,
                 inversion_discretization=None, invert_in_absorbing_layers: bool = False):
        self.inversion_parameters = check_parameter_names("inversion_parameters", inversion_parameters)
        self.scaling: Scaling = scalings.check_scaling(scaling)
        self.source_cutout_radius_in_meters = _check_length(
            "source_cutout_radius_in_meters", source_cutout_radius_in_meters, allow_zero=False)
        self.receiver_cutout_radius_in_meters = _check_length(
            "receiver_cutout_radius_in_meters", receiver_cutout_radius_in_meters, allow_zero=False)
        self.cutout_taper_width_in_meters = _check_length(
            "cutout_taper_width_in_meters", cutout_taper_width_in_meters, allow_zero=True)
        self.region_of_interest = None if region_of_interest is None else RegionOfInterest(region_of_interest)
        self.inversion_discretization = check_discretization(inversion_discretization)
        if not isinstance(invert_in_absorbing_layers, bool):
            raise invalid("invert_in_absorbing_layers", invert_in_absorbing_layers, "True or False")
        self.invert_in_absorbing_layers = invert_in_absorbing_layers
        self._bound_meshes: BoundedCache[_BoundMesh] = BoundedCache()

    def __repr__(self) -> str:
        return (f"Mapping(inversion_parameters={list(self.inversion_parameters)}, scaling={self.scaling!r}, "
                f"source_cutout_radius_in_meters={self.source_cutout_radius_in_meters}, "
                f"receiver_cutout_radius_in_meters={self.receiver_cutout_radius_in_meters})")

    # ------------------------------------------------------------------ public maps
    def map_to_simulation(self, x: InversionModel, prior: UnstructuredMesh, event=None) -> UnstructuredMesh:
        """The simulation model of the inversion-space model ``x``: a copy of ``prior`` whose inversion
        parameters follow the formulas of the module docstring (cutouts of ``event`` if given)."""
        bound, prior = self._bind(prior)
        x = bound.space.check(x, self.inversion_parameters, "x")
        mask = self._mask(bound, event)
        model = prior.copy()
        for parameter, deviation in self._deviations(bound, x, prior, mask).items():
            model.attach_field(parameter, scalings.to_simulation(
                self.scaling, prior.element_nodal_fields[parameter], deviation))
        return model

    def map_to_inversion(self, model: UnstructuredMesh, prior: UnstructuredMesh) -> InversionModel:
        """The inversion-space model of a simulation model (on the prior's mesh).

        Each parameter's field f (the model for "absolute", (model - prior) / prior or ln(model / prior)
        otherwise) is projected: taken as is on the simulation mesh, fitted by least squares weighted by
        the quadrature weights on another discretization. Masks are not inverted:
        map_to_simulation(map_to_inversion(model)) gives back the model where the mask is 1 and the
        simulation mesh is the inversion discretization, and the prior exactly for model = prior.
        """
        bound, prior = self._bind(prior)
        check_mesh_fields("model", model, self.inversion_parameters, positive=self.scaling == "logarithmic")
        if not same_geometry(model, prior):
            raise invalid("model", "a mesh of another geometry", "a model on the mesh of the prior")
        return bound.space.make(self.inversion_parameters, {
            parameter: bound.space.project(scalings.to_inversion_field(
                self.scaling, model.element_nodal_fields[parameter], prior.element_nodal_fields[parameter]))
            for parameter in self.inversion_parameters})

    def derivative(self, direction: InversionModel, prior: UnstructuredMesh, event=None, *,
                   x: InversionModel | None = None) -> UnstructuredMesh:
        """The linearised map at ``x`` (default: the prior) applied to an inversion-space ``direction``.

        Returns a mesh with the model perturbation of every inversion parameter (zero for the other
        parameters the prior holds), (n_elements, n_gll) each.
        """
        bound, prior = self._bind(prior)
        direction = bound.space.check(direction, self.inversion_parameters, "direction")
        factors, mask = self._derivative_factors(bound, prior, event, x)
        perturbation = prior.geometry_copy()
        for parameter in KNOWN_PARAMETERS:
            if parameter in prior.element_nodal_fields:
                perturbation.attach_field(parameter, np.zeros((prior.n_elements, prior.n_gll)))
        for parameter, factor in factors.items():
            perturbation.attach_field(parameter, factor * layers.extend(
                mask * bound.space.interpolate(direction.values(parameter)), bound.edge_extension))
        return perturbation

    def adjoint(self, gradient: UnstructuredMesh, prior: UnstructuredMesh, event=None, *,
                x: InversionModel | None = None) -> InversionModel:
        """The inversion-space gradient of a raw simulation-space ``gradient``.

        ``gradient`` holds, per inversion parameter, d misfit / d element-nodal value on the prior's
        mesh. The result holds d misfit / d x: T^T (w * (d model / d d) * gradient), the transpose of
        :meth:`derivative` at ``x`` (default: the prior; only "logarithmic" depends on it).
        """
        bound, prior = self._bind(prior)
        check_mesh_fields("gradient", gradient, self.inversion_parameters)
        if not same_geometry(gradient, prior):
            raise invalid("gradient", "a mesh of another geometry", "a gradient on the mesh of the prior")
        factors, mask = self._derivative_factors(bound, prior, event, x)
        return bound.space.make(self.inversion_parameters, {
            parameter: bound.space.interpolate_adjoint(
                mask * layers.fold(factor * gradient.element_nodal_fields[parameter], bound.edge_extension))
            for parameter, factor in factors.items()})

    def adjoint_sum(self, gradients: Sequence[UnstructuredMesh], prior: UnstructuredMesh | Sequence[UnstructuredMesh],
                    *, events: Sequence | None = None, x: InversionModel | None = None) -> InversionModel:
        """Sum over events of :meth:`adjoint`, each raw gradient masked by its own event's cutouts.

        ``prior`` is one mesh shared by all events or one per gradient (event-dependent meshes);
        ``events`` is None (no cutouts) or one event per gradient.
        """
        gradients = list(gradients)
        if not gradients:
            raise invalid("gradients", gradients, "a non-empty list of raw gradients")
        priors = list(prior) if isinstance(prior, (list, tuple)) else [prior] * len(gradients)
        events = [None] * len(gradients) if events is None else list(events)
        if len(priors) != len(gradients) or len(events) != len(gradients):
            raise invalid("prior, events", f"{len(priors)} priors and {len(events)} events",
                          f"one prior (or one per gradient) and one event per gradient ({len(gradients)})")
        total = None
        for gradient, each_prior, event in zip(gradients, priors, events):
            vector = self.adjoint(gradient, each_prior, event, x=x)
            total = vector if total is None else total.from_vector(total.to_vector() + vector.to_vector())
        return total

    def mask(self, prior: UnstructuredMesh, event=None) -> NDArray[np.float64]:
        """The mask w at the element nodes of the prior's mesh, (n_elements, n_gll): the region of
        interest times, when ``event`` is given, the cutouts around its sources and receivers."""
        bound, _ = self._bind(prior)
        return self._mask(bound, event)

    # ------------------------------------------------------------------ internals
    def _bind(self, prior: UnstructuredMesh) -> tuple[_BoundMesh, UnstructuredMesh]:
        check_mesh_fields("prior", prior, self.inversion_parameters, positive=self.scaling != "absolute")

        def build() -> _BoundMesh:
            space = InversionSpace(self.inversion_discretization, prior, box_only=not self.invert_in_absorbing_layers)
            region = (np.ones((prior.n_elements, prior.n_gll)) if self.region_of_interest is None
                      else self.region_of_interest.values_on(prior))
            sources = None if self.invert_in_absorbing_layers else layers.edge_extension_sources(prior)
            return _BoundMesh(space, region, sources)

        return self._bound_meshes.get(geometry_key(prior), build), prior

    def _mask(self, bound: _BoundMesh, event) -> NDArray[np.float64]:
        mask = bound.region_of_interest.copy()
        if event is None:
            return mask
        for stations, radius in (("sources", self.source_cutout_radius_in_meters),
                                 ("receivers", self.receiver_cutout_radius_in_meters)):
            if radius is None:
                continue
            if not hasattr(event, stations):
                raise invalid("event", type(event).__name__, "an event with .sources and .receivers")
            centers = station_coordinates(getattr(event, stations), f"event.{stations}")
            taper = radius if self.cutout_taper_width_in_meters is None else self.cutout_taper_width_in_meters
            mask *= cutout_mask(bound.node_tree, centers, radius, taper).reshape(mask.shape)
        return mask

    def _deviations(self, bound: _BoundMesh, x: InversionModel, prior: UnstructuredMesh,
                    mask: NDArray) -> dict[str, NDArray[np.float64]]:
        """d = w * T (x - x_prior) per inversion parameter, (n_elements, n_gll)."""
        deviations = {}
        for parameter in self.inversion_parameters:
            difference = x.values(parameter)
            if self.scaling == "absolute":
                difference = difference - bound.space.project(prior.element_nodal_fields[parameter])
            deviations[parameter] = layers.extend(mask * bound.space.interpolate(difference), bound.edge_extension)
        return deviations

    def _derivative_factors(self, bound: _BoundMesh, prior: UnstructuredMesh, event, x: InversionModel | None):
        """d model / d d per inversion parameter at x, and the mask."""
        mask = self._mask(bound, event)
        if x is None:
            zeros = np.zeros((prior.n_elements, prior.n_gll))
            deviations = {parameter: zeros for parameter in self.inversion_parameters}
        else:
            deviations = self._deviations(bound, bound.space.check(x, self.inversion_parameters, "x"), prior, mask)
        return {parameter: scalings.derivative(self.scaling, prior.element_nodal_fields[parameter], deviation)
                for parameter, deviation in deviations.items()}, mask
