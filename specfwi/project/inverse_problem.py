"""``sf.InverseProblemConfiguration``: what an inversion inverts, from where, with what (a project entity).

Like the other configurations it is an immutable value with ``to_dict()``; its Mapping,
preconditioner and method are described in JSON too. A region of interest given as a callable
is stored by reference ("module:qualified_name") and hash of its source; meshes (a region of
interest, an inversion discretization) by content hash, their files stored by the project.
Objects given in this process are kept by the project for this process, so callables work
even where they cannot be imported.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from ..errors import invalid
from ..inversion import LBFGS, TrustRegion
from ..inversion.optimizer import Optimizer
from ..mapping import ConstantSmoothing, Mapping, WavelengthSmoothing
from ..mapping.grid import RegularGrid
from ..mesh import UnstructuredMesh
from ..parameters import PARAMETERS
from ..solver.compression import WavefieldCompression
from .configurations import _Configuration, _name, load_callable
from .hashing import describe_callable, hash_mesh

DEFAULT_INITIAL_TRUST_REGION_LINF = 0.05
Preconditioner = ConstantSmoothing | WavelengthSmoothing
PriorModel = str | tuple[str, int]


def default_method() -> TrustRegion:
    return TrustRegion(initial_trust_region_linf=DEFAULT_INITIAL_TRUST_REGION_LINF)


# ---------------------------------------------------------------------------- descriptions

def describe_mapping(mapping: Mapping) -> tuple[dict, dict[str, UnstructuredMesh]]:
    """(JSON description, {content hash: mesh} of the meshes it refers to)."""
    meshes = {}

    def mesh_reference(mesh: UnstructuredMesh) -> dict:
        key = hash_mesh(mesh)
        meshes[key] = mesh
        return {"mesh_hash": key}

    region = None if mapping.region_of_interest is None else mapping.region_of_interest.region
    if region is not None:
        region = mesh_reference(region) if isinstance(region, UnstructuredMesh) else {
            "callable": describe_callable(region)}
    discretization = mapping.inversion_discretization
    if isinstance(discretization, UnstructuredMesh):
        discretization = mesh_reference(discretization)
    elif isinstance(discretization, RegularGrid):
        discretization = {"grid": {"x": discretization.x.tolist(), "y": discretization.y.tolist()}}
    description = {"inversion_parameters": list(mapping.inversion_parameters), "scaling": mapping.scaling,
                   "source_cutout_radius_in_meters": mapping.source_cutout_radius_in_meters,
                   "receiver_cutout_radius_in_meters": mapping.receiver_cutout_radius_in_meters,
                   "cutout_taper_width_in_meters": mapping.cutout_taper_width_in_meters,
                   "region_of_interest": region, "inversion_discretization": discretization}
    return description, meshes


def build_mapping(description: dict, load_mesh: Callable[[str], UnstructuredMesh]) -> Mapping:
    """The Mapping of :func:`describe_mapping`'s description (callables imported, meshes loaded)."""
    region = description["region_of_interest"]
    if region is not None:
        region = (load_mesh(region["mesh_hash"]) if "mesh_hash" in region
                  else load_callable(region["callable"]["reference"], role="region of interest",
                                entity="InverseProblemConfiguration"))
    discretization = description["inversion_discretization"]
    if discretization is not None:
        discretization = (load_mesh(discretization["mesh_hash"]) if "mesh_hash" in discretization else
                          xr.Dataset(coords={"x": discretization["grid"]["x"], "y": discretization["grid"]["y"]}))
    return Mapping(description["inversion_parameters"], description["scaling"],
                   source_cutout_radius_in_meters=description["source_cutout_radius_in_meters"],
                   receiver_cutout_radius_in_meters=description["receiver_cutout_radius_in_meters"],
                   cutout_taper_width_in_meters=description["cutout_taper_width_in_meters"],
                   region_of_interest=region, inversion_discretization=discretization)


def describe_preconditioner(preconditioner: Preconditioner | None) -> dict | None:
    """JSON description; the high-pass and depth options only when set (so that configurations stored
    before they existed keep their content hash)."""
    if preconditioner is None:
        return None
    if isinstance(preconditioner, ConstantSmoothing):
        description = {"type": "ConstantSmoothing", "lengths_in_meters": preconditioner.lengths_in_meters,
                       "n_diffusion_steps": preconditioner.n_diffusion_steps}
    else:
        description = {"type": "WavelengthSmoothing", "n_wavelengths": preconditioner.n_wavelengths,
                       "reference_frequency_in_hertz": preconditioner.reference_frequency_in_hertz,
                       "velocity_parameter": preconditioner.velocity_parameter,
                       "n_diffusion_steps": preconditioner.n_diffusion_steps}
    if preconditioner.high_pass_lengths_in_meters:
        description["high_pass_lengths_in_meters"] = preconditioner.high_pass_lengths_in_meters
    if preconditioner.depth_exponent:
        description["depth_exponent"] = preconditioner.depth_exponent
    return description


def build_preconditioner(description: dict | None) -> Preconditioner | None:
    if description is None:
        return None
    options = {key: value for key, value in description.items() if key != "type"}
    if description["type"] == "ConstantSmoothing":
        return ConstantSmoothing(options.pop("lengths_in_meters"), **options)
    return WavelengthSmoothing(options.pop("n_wavelengths"), **options)


def build_method(description: dict) -> Optimizer:
    options = {key: value for key, value in description.items() if key != "type"}
    return {"LBFGS": LBFGS, "TrustRegion": TrustRegion}[description["type"]](**options)


# ---------------------------------------------------------------------------- validation

def _check_prior_model(value) -> PriorModel:
    if isinstance(value, str) and value.strip():
        return value
    if (isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str) and value[0].strip()
            and isinstance(value[1], numbers.Integral) and not isinstance(value[1], bool) and value[1] >= 0):
        return (value[0], int(value[1]))
    raise invalid("prior_model", value, "the name of a simulation configuration, or (inversion name, iteration >= 0)")


def _check_events(value) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if (not isinstance(names, Sequence) or not names or not all(isinstance(n, str) and n.strip() for n in names)
            or len(set(names)) != len(names)):
        raise invalid("events", value, "an event name or a non-empty list of distinct event names")
    return tuple(names)


def _check_bounds(value) -> dict[str, tuple[float, float]]:
    allowed = f"None or a dict from names in {list(PARAMETERS)} to (min, max) in SI units, 0 < min < max"
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("bounds", value, allowed)
    checked = {}
    for parameter, pair in value.items():
        if (parameter not in PARAMETERS or not isinstance(pair, (tuple, list)) or len(pair) != 2
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) for v in pair)
                or not 0 < pair[0] < pair[1]):
            raise invalid(f"bounds[{parameter!r}]", pair, allowed)
        checked[parameter] = (float(pair[0]), float(pair[1]))
    return checked


class InverseProblemConfiguration(_Configuration):
    """An inverse problem of the project.

    Parameters
    ----------
    name : name of the inverse problem (and of its inversion) in the project.
    prior_model : the name of a simulation configuration (its mesh, VP and RHO are the prior and iteration 0),
        or (inversion name, iteration): that inversion's model (multi-scale: continue from it).
    events : event names whose misfits are summed.
    misfit_configuration : name of a misfit configuration of the project (with its observed data).
    mapping : an ``sf.Mapping`` between simulation and inversion space.
    preconditioner : None or ``sf.ConstantSmoothing`` / ``sf.WavelengthSmoothing``: the inverse Hessian's
        initial approximation is the smoothing's ``precondition`` (mass weighting and smoothing).
    method : ``sf.TrustRegion(...)`` (default, initial_trust_region_linf=0.05) or ``sf.LBFGS(...)``.
    wavefield_compression : None (exact gradients) or an ``sf.WavefieldCompression``: approximate gradients from
        every k-th forward state (docs/solver.md, Wavefield compression).
    executor : None (this process) or an executor (``submit``) for the per-event jobs; not stored.
    simulation_configuration : the simulation configuration whose mesh and event configuration the
        inversion uses; None: the prior's (``prior_model``, or the simulation configuration of the
        inversion named by it). With a prior from another inversion on another mesh, the prior's VP and
        RHO are interpolated onto this one (Lagrange, element by element).
    bounds : {"VP": (min, max), "RHO": (min, max)} in m/s and kg/m^3: every model of the inversion stays
        inside (see docs/inversion.md for how they reach inversion space).
    """

    def __init__(self, name: str, prior_model: PriorModel, events: str | Sequence[str], misfit_configuration: str,
                 mapping: Mapping, preconditioner: Preconditioner | None = None, method: Optimizer | None = None,
                 wavefield_compression=None, executor=None, *, simulation_configuration: str | None = None,
                 bounds: dict | None = None):
        self.name = _name(name)
        self.prior_model = _check_prior_model(prior_model)
        self.events = _check_events(events)
        self.misfit_configuration = _name(misfit_configuration, "misfit_configuration")
        if not isinstance(mapping, Mapping):
            raise invalid("mapping", mapping, "an sf.Mapping")
        self.mapping = mapping
        if preconditioner is not None and not isinstance(preconditioner, (ConstantSmoothing, WavelengthSmoothing)):
            raise invalid("preconditioner", preconditioner, "None, sf.ConstantSmoothing or sf.WavelengthSmoothing")
        self.preconditioner = preconditioner
        method = default_method() if method is None else method
        if not isinstance(method, (LBFGS, TrustRegion)):
            raise invalid("method", method, "sf.TrustRegion(initial_trust_region_linf=...) or sf.LBFGS(...)")
        self.method = method
        if wavefield_compression is not None and not isinstance(wavefield_compression, WavefieldCompression):
            raise invalid("wavefield_compression", wavefield_compression,
                          "None (exact gradients) or an sf.WavefieldCompression(forward_wavefield_sampling_interval=k)")
        self.wavefield_compression = wavefield_compression
        self.executor = executor
        self.simulation_configuration = (None if simulation_configuration is None
                                         else _name(simulation_configuration, "simulation_configuration"))
        self.bounds = _check_bounds(bounds)
        unknown = [parameter for parameter in self.bounds if parameter not in mapping.inversion_parameters]
        if unknown:
            raise invalid("bounds", sorted(self.bounds), f"bounds of inverted parameters only "
                          f"{list(mapping.inversion_parameters)}")
        if isinstance(self.prior_model, tuple) and self.prior_model[0] == self.name:
            raise invalid("prior_model", self.prior_model, "another inversion than this one")

    def meshes(self) -> dict[str, UnstructuredMesh]:
        """{content hash: mesh} of the meshes the mapping refers to (stored by the project)."""
        return describe_mapping(self.mapping)[1]

    def to_dict(self) -> dict:
        prior = list(self.prior_model) if isinstance(self.prior_model, tuple) else self.prior_model
        return {"type": "InverseProblemConfiguration", "name": self.name, "prior_model": prior,
                "events": list(self.events), "misfit_configuration": self.misfit_configuration,
                "mapping": describe_mapping(self.mapping)[0],
                "preconditioner": describe_preconditioner(self.preconditioner), "method": self.method.to_dict(),
                "wavefield_compression": None if self.wavefield_compression is None else {
                    "forward_wavefield_sampling_interval":
                        self.wavefield_compression.forward_wavefield_sampling_interval},
                "simulation_configuration": self.simulation_configuration,
                "bounds": {parameter: list(pair) for parameter, pair in self.bounds.items()}}

    @classmethod
    def from_dict(cls, dictionary: dict, *, load_mesh: Callable[[str], UnstructuredMesh]
                  ) -> InverseProblemConfiguration:
        prior = dictionary["prior_model"]
        return cls(dictionary["name"], prior if isinstance(prior, str) else tuple(prior), dictionary["events"],
                   dictionary["misfit_configuration"], build_mapping(dictionary["mapping"], load_mesh),
                   build_preconditioner(dictionary["preconditioner"]), build_method(dictionary["method"]),
                   wavefield_compression=(None if dictionary.get("wavefield_compression") is None
                                          else WavefieldCompression(**dictionary["wavefield_compression"])),
                   simulation_configuration=dictionary["simulation_configuration"],
                   bounds={parameter: tuple(pair) for parameter, pair in dictionary["bounds"].items()} or None)


__all__ = ["InverseProblemConfiguration"]
