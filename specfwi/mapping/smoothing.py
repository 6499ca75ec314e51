"""Smoothing preconditioners of inversion-space quantities (see docs/mapping.md).

A smoothing acts per parameter on the continuous GLL space of the inversion discretization
(an UnstructuredMesh, or a regular grid seen as an order-1 mesh) through implicit diffusion
(:mod:`specfwi.mapping.diffusion`). With W the quadrature weights of the quantity's dofs (a mesh's
``quadrature_weights``; for a grid the lumped mass of its points), Q the gather from global nodes
to element nodes (the identity on a grid), M = Q^T W Q and B the diffusion operator:

* ``smooth(f)`` = S f = Q B Q^T W f: a field (model, update, density) -> a smooth field.
  S is self-adjoint in the inner product <f, g>_W = sum W f g, keeps constants (S 1 = 1) and
  integrals, and is positive semi-definite: positive definite on continuous fields (all of a grid),
  with null space the element-nodal jumps (zero W-weighted sum at every shared node).
* ``precondition(g)`` = S W^{-1} g = Q B Q^T g: a gradient (d misfit / d dof, a plain sum) -> a smooth
  model-space direction. Symmetric positive semi-definite in the plain dot product; this is where
  the mass weighting of the preconditioner lives.

"Length" sigma is the standard deviation per axis of the smoothing kernel: smoothing a point load
gives a bump with second central moment sigma^2 along x and along y.

Two options shape ``precondition`` further (``smooth`` is unchanged by them), with H = I - S_L the
high-pass that removes what a smoothing of length L keeps (S_L a constant-length smoothing) and
D the diagonal depth weighting (z / z_max)^(p/2) (z the depth of a dof below the top of the box):

    precondition(g) = D H S W^{-1} H^T D g

still symmetric positive semi-definite in the plain dot product (H S W^{-1} H^T is a congruence of
S W^{-1}). ``high_pass_lengths_in_meters`` keeps the directions free of the scales longer than L
(H 1 = 0: no constant shift); ``depth_exponent`` p > 0 makes deep updates larger, against the fall
of the gradient's amplitude with depth (geometric spreading, illumination).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping as MappingType
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import SpecfwiWarning, invalid
from ..mesh import UnstructuredMesh
from .cache import BoundedCache
from .diffusion import DiffusionOperator
from .geometry import array_key, geometry_key, same_geometry
from .grid import RegularGrid
from .inversion_model import InversionModel
from ..mesh import check_mesh_fields
from .parameters import KNOWN_PARAMETERS
from .transfer import mesh_to_points

DEFAULT_N_DIFFUSION_STEPS = 4


def _is_non_negative_number(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and bool(np.isfinite(value)) and value >= 0.0)


def _check_per_parameter(name: str, values, unit: str) -> dict[str, tuple[float, float] | None]:
    """{"VP": a or (a_x, a_y), "RHO": None, ...} with a >= 0 -> {"VP": (a_x, a_y), "RHO": None}
    (None: deliberately not smoothed)."""
    allowed = (f"a non-empty dict from names in {list(KNOWN_PARAMETERS)} to a number >= 0, an (x, y) pair "
               f"of numbers >= 0 ({unit}), or None (not smoothed)")
    if not isinstance(values, MappingType) or not values:
        raise invalid(name, values, allowed)
    checked = {}
    for parameter, value in values.items():
        if value is None and parameter in KNOWN_PARAMETERS:
            checked[parameter] = None
            continue
        pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
        if parameter not in KNOWN_PARAMETERS or len(pair) != 2 or not all(map(_is_non_negative_number, pair)):
            raise invalid(f"{name}[{parameter}]", value, allowed)
        checked[parameter] = (float(pair[0]), float(pair[1]))
    return checked


def _check_n_steps(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise invalid("n_diffusion_steps", value, "an integer >= 1")
    return int(value)


@dataclass(frozen=True, eq=False)
class SmoothingSpace:
    """The continuous nodal space under a quantity's dofs.

    ``mesh`` carries the GLL basis (a grid becomes an order-1 mesh); ``element_global_index``
    (n_elements, n_gll) numbers its global nodes; ``element_nodal`` says whether the quantity's
    dofs are element-nodal (a mesh) or the global nodes themselves (a grid).
    """

    mesh: UnstructuredMesh
    element_global_index: NDArray[np.int64]
    n_global: int
    element_nodal: bool
    key: str

    @staticmethod
    def key_of(quantity: InversionModel) -> str:
        """The geometry key of a quantity's discretization (cheap: no numbering is built)."""
        if isinstance(quantity.model, UnstructuredMesh):
            return geometry_key(quantity.model)
        return RegularGrid.from_xarray(quantity.model, name="quantity.model").key

    @classmethod
    def of(cls, quantity: InversionModel) -> "SmoothingSpace":
        key = cls.key_of(quantity)
        if isinstance(quantity.model, UnstructuredMesh):
            mesh = quantity.model
            return cls(mesh, mesh.global_node_index, mesh.n_global_nodes, True, key)
        mesh, element_global_index = RegularGrid.from_xarray(quantity.model).as_mesh()
        return cls(mesh, element_global_index, len(mesh.vertices), False, key)

    @property
    def weights(self) -> NDArray[np.float64]:
        """W: quadrature weight of every dof, flat, m^2 (for a grid, the lumped mass of its points)."""
        if self.element_nodal:
            return self.mesh.quadrature_weights.ravel()
        return np.bincount(self.element_global_index.ravel(), weights=self.mesh.quadrature_weights.ravel(),
                           minlength=self.n_global)

    def load(self, values: NDArray) -> NDArray[np.float64]:
        """Q^T values: sum the dofs onto the global nodes."""
        if not self.element_nodal:
            return np.asarray(values, dtype=float)
        return np.bincount(self.element_global_index.ravel(), weights=values, minlength=self.n_global)

    def dofs(self, nodal: NDArray) -> NDArray[np.float64]:
        """Q u: global-node values -> dof values."""
        return nodal[self.element_global_index].ravel() if self.element_nodal else nodal


def _check_depth_exponent(value) -> float:
    if not _is_non_negative_number(value):
        raise invalid("depth_exponent", value, "a finite number >= 0 (0: no depth weighting)")
    return float(value)


def _check_high_pass(values) -> dict[str, tuple[float, float]]:
    """None -> {}; else as _check_per_parameter, with lengths > 0 (None entries dropped: not high-passed)."""
    if values is None:
        return {}
    checked = _check_per_parameter("high_pass_lengths_in_meters", values, "m")
    for parameter, lengths in checked.items():
        if lengths is not None and min(lengths) <= 0.0:
            raise invalid(f"high_pass_lengths_in_meters[{parameter}]", values[parameter],
                          "a length > 0 or an (x, y) pair of lengths > 0 (m), or None (not high-passed)")
    return {parameter: lengths for parameter, lengths in checked.items() if lengths is not None}


def _depth_weights(space: SmoothingSpace, exponent: float) -> NDArray[np.float64]:
    """D of the module docstring at every dof: (z / z_max)^(exponent / 2), z >= 0 the depth below the
    top of the model's box (above it, in an absorbing layer: 0), z_max the deepest dof's."""
    mesh = space.mesh
    heights = mesh.get_element_nodes()[..., 1].ravel() if space.element_nodal else mesh.vertices[:, 1]
    top = float(heights.max()) if mesh.absorbing_layers is None else mesh.absorbing_layers.box[3]
    depth = np.maximum(top - heights, 0.0)
    return (depth / depth.max()) ** (0.5 * exponent)


class _DiffusionSmoothing:
    """Common machinery: subclasses give the kernel variances of a parameter on a smoothing space."""

    def __init__(self, *, n_diffusion_steps: int, high_pass_lengths_in_meters: dict | None,
                 depth_exponent: float):
        self.n_diffusion_steps = _check_n_steps(n_diffusion_steps)
        self.high_pass_lengths_in_meters = _check_high_pass(high_pass_lengths_in_meters)
        self.depth_exponent = _check_depth_exponent(depth_exponent)
        self._operators: BoundedCache[DiffusionOperator] = BoundedCache()
        self._spaces: BoundedCache[SmoothingSpace] = BoundedCache()
        self._depth_weights: BoundedCache[NDArray[np.float64]] = BoundedCache()

    def _shaping_repr(self) -> str:
        """The non-default options of ``precondition``, for __repr__ (empty when none is set)."""
        options = ""
        if self.high_pass_lengths_in_meters:
            options += f", high_pass_lengths_in_meters={self.high_pass_lengths_in_meters}"
        if self.depth_exponent:
            options += f", depth_exponent={self.depth_exponent}"
        return options

    @property
    def entries(self) -> dict[str, tuple[float, float] | None]:
        """The per-parameter settings, None for a parameter deliberately not smoothed."""
        raise NotImplementedError

    @property
    def parameters(self) -> tuple[str, ...]:
        """The smoothed parameters."""
        return tuple(parameter for parameter, entry in self.entries.items() if entry is not None)

    def _variances(self, parameter: str, space: SmoothingSpace, prior) -> tuple[tuple, NDArray, NDArray]:
        """(cache key, variance_x, variance_y) of one parameter, (n_elements, n_gll) each, m^2."""
        raise NotImplementedError

    def smooth(self, quantity: InversionModel, *, prior: UnstructuredMesh | None = None) -> InversionModel:
        """S f per smoothed parameter of an inversion-space field (others unchanged); see the module docstring."""
        space = self._space(quantity)
        weights = space.weights
        return self._apply(quantity, space, prior, lambda values: space.load(weights * values), lambda values: values)

    def precondition(self, gradient: InversionModel, *, prior: UnstructuredMesh | None = None) -> InversionModel:
        """D H S W^{-1} H^T D g per parameter of an inversion-space gradient (see the module docstring; S is
        the identity for parameters not smoothed, H for those without a high-pass length, D without a depth
        exponent)."""
        space = self._space(gradient)
        weights = space.weights
        gradient = self._high_pass(self._depth_weighted(gradient, space), space, transposed=True)
        direction = self._apply(gradient, space, prior, space.load, lambda values: values / weights)
        return self._depth_weighted(self._high_pass(direction, space, transposed=False), space)

    def _depth_weighted(self, quantity: InversionModel, space: SmoothingSpace) -> InversionModel:
        if not self.depth_exponent:
            return quantity
        weights = self._depth_weights.get(space.key, lambda: _depth_weights(space, self.depth_exponent))
        return quantity.with_values({parameter: weights * quantity.values(parameter)
                                     for parameter in quantity.parameters})

    def _high_pass(self, quantity: InversionModel, space: SmoothingSpace, *, transposed: bool) -> InversionModel:
        """H f = f - S_L f, or H^T g = g - W S_L W^{-1} g (the transpose in the plain dot product)."""
        values = {}
        weights = space.weights
        for parameter in quantity.parameters:
            values[parameter] = field = quantity.values(parameter)
            if parameter not in self.high_pass_lengths_in_meters:
                continue
            length_x, length_y = self.high_pass_lengths_in_meters[parameter]
            shape = (space.mesh.n_elements, space.mesh.n_gll)
            operator = self._operators.get((space.key, "high_pass", length_x, length_y), lambda: DiffusionOperator(
                space.mesh, space.element_global_index, space.n_global, np.full(shape, length_x**2),
                np.full(shape, length_y**2), n_steps=self.n_diffusion_steps))
            if transposed:
                values[parameter] = field - weights * space.dofs(operator.apply(space.load(field)))
            else:
                values[parameter] = field - space.dofs(operator.apply(space.load(weights * field)))
        return quantity.with_values(values)

    def _space(self, quantity) -> SmoothingSpace:
        if not isinstance(quantity, InversionModel):
            raise invalid("quantity", type(quantity).__name__, "an InversionModel")
        return self._spaces.get(SmoothingSpace.key_of(quantity), lambda: SmoothingSpace.of(quantity))

    def _apply(self, quantity: InversionModel, space: SmoothingSpace, prior, to_load, unsmoothed) -> InversionModel:
        missing = [parameter for parameter in quantity.parameters if parameter not in self.entries]
        if missing:
            warnings.warn(f"{self!r} has no entry for the inversion parameter(s) {missing}, which stay unsmoothed; "
                          f"give each an entry (None: not smoothed) to say so", SpecfwiWarning, stacklevel=3)
        values = {parameter: quantity.values(parameter) for parameter in quantity.parameters}
        groups: dict[tuple, tuple[DiffusionOperator, list[str]]] = {}
        for parameter in quantity.parameters:
            if parameter not in self.parameters:
                values[parameter] = unsmoothed(values[parameter])
                continue
            key, variance_x, variance_y = self._variances(parameter, space, prior)
            operator = self._operators.get((space.key, key), lambda: DiffusionOperator(
                space.mesh, space.element_global_index, space.n_global, variance_x, variance_y,
                n_steps=self.n_diffusion_steps))
            groups.setdefault(key, (operator, []))[1].append(parameter)
        for operator, parameters in groups.values():
            nodal = operator.apply(np.column_stack([to_load(values[parameter]) for parameter in parameters]))
            for column, parameter in enumerate(parameters):
                values[parameter] = space.dofs(nodal[:, column])
        return quantity.with_values(values)


class ConstantSmoothing(_DiffusionSmoothing):
    """Smoothing with a fixed length per parameter.

    Parameters
    ----------
    lengths_in_meters : {"VP": sigma} or {"VP": (sigma_x, sigma_y)}: standard deviation of the
        kernel (per axis), m, >= 0, or None: not smoothed. A parameter of the inversion model without an
        entry is not smoothed either, with a SpecfwiWarning.
    n_diffusion_steps : implicit diffusion steps (>= 1); more steps give a kernel closer to a Gaussian
        at the cost of one sparse solve each. The variance does not depend on it.
    high_pass_lengths_in_meters : None (default) or {"VP": L} / {"VP": (L_x, L_y)}, m, > 0: ``precondition``
        removes from directions the scales that a smoothing of this length keeps (H of the module docstring);
        parameters without an entry are not high-passed.
    depth_exponent : p >= 0 (default 0: none): ``precondition`` weights gradient and direction by
        (depth / largest depth)^(p/2), so that updates grow as depth^p (D of the module docstring).
    """

    def __init__(self, lengths_in_meters: dict, *, n_diffusion_steps: int = DEFAULT_N_DIFFUSION_STEPS,
                 high_pass_lengths_in_meters: dict | None = None, depth_exponent: float = 0.0):
        super().__init__(n_diffusion_steps=n_diffusion_steps, high_pass_lengths_in_meters=high_pass_lengths_in_meters,
                         depth_exponent=depth_exponent)
        self.lengths_in_meters = _check_per_parameter("lengths_in_meters", lengths_in_meters, "m")

    def __repr__(self) -> str:
        return (f"ConstantSmoothing({self.lengths_in_meters}, n_diffusion_steps={self.n_diffusion_steps}"
                f"{self._shaping_repr()})")

    @property
    def entries(self) -> dict[str, tuple[float, float] | None]:
        return self.lengths_in_meters

    def _variances(self, parameter, space, prior):
        sigma_x, sigma_y = self.lengths_in_meters[parameter]
        shape = (space.mesh.n_elements, space.mesh.n_gll)
        return (sigma_x, sigma_y), np.full(shape, sigma_x**2), np.full(shape, sigma_y**2)


class WavelengthSmoothing(_DiffusionSmoothing):
    """Smoothing over a number of local wavelengths of the prior.

    The kernel's standard deviation at a point is ``n_wavelengths * velocity / reference_frequency_in_hertz``
    with the velocity (``velocity_parameter`` of the prior, m/s) at that point.

    Parameters
    ----------
    n_wavelengths : {"VP": n} or {"VP": (n_x, n_y)}, >= 0, or None: not smoothed. A parameter of the
        inversion model without an entry is not smoothed either, with a SpecfwiWarning.
    reference_frequency_in_hertz : > 0.
    velocity_parameter : the prior field giving the wavelength, default "VP".
    n_diffusion_steps, high_pass_lengths_in_meters, depth_exponent : as for ConstantSmoothing.

    ``smooth`` and ``precondition`` need ``prior=``: an UnstructuredMesh holding the velocity, on the
    quantity's mesh or on another mesh (interpolated at the quantity's nodes; nodes outside the prior's
    bounding box take the value at the nearest point of the box).
    """

    def __init__(self, n_wavelengths: dict, *, reference_frequency_in_hertz: float, velocity_parameter: str = "VP",
                 n_diffusion_steps: int = DEFAULT_N_DIFFUSION_STEPS, high_pass_lengths_in_meters: dict | None = None,
                 depth_exponent: float = 0.0):
        super().__init__(n_diffusion_steps=n_diffusion_steps, high_pass_lengths_in_meters=high_pass_lengths_in_meters,
                         depth_exponent=depth_exponent)
        self.n_wavelengths = _check_per_parameter("n_wavelengths", n_wavelengths, "wavelengths")
        if not _is_non_negative_number(reference_frequency_in_hertz) or reference_frequency_in_hertz == 0:
            raise invalid("reference_frequency_in_hertz", reference_frequency_in_hertz, "a finite number > 0 (Hz)")
        self.reference_frequency_in_hertz = float(reference_frequency_in_hertz)
        if not isinstance(velocity_parameter, str) or not velocity_parameter:
            raise invalid("velocity_parameter", velocity_parameter,
                          "the name of a velocity field of the prior, e.g. 'VP'")
        self.velocity_parameter = velocity_parameter

    def __repr__(self) -> str:
        return (f"WavelengthSmoothing({self.n_wavelengths}, reference_frequency_in_hertz="
                f"{self.reference_frequency_in_hertz}, n_diffusion_steps={self.n_diffusion_steps}"
                f"{self._shaping_repr()})")

    @property
    def entries(self) -> dict[str, tuple[float, float] | None]:
        return self.n_wavelengths

    def _velocity(self, space: SmoothingSpace, prior) -> NDArray[np.float64]:
        """The prior velocity at the element nodes of the smoothing mesh, (n_elements, n_gll), m/s."""
        if prior is None:
            raise invalid("prior", None, f"an UnstructuredMesh with the field {self.velocity_parameter!r} "
                                         "(WavelengthSmoothing needs the local velocity)")
        check_mesh_fields("prior", prior, [self.velocity_parameter], positive=True,
                          positive_because="the smoothing length is a fraction of the local wavelength")
        velocity = prior.element_nodal_fields[self.velocity_parameter]
        if same_geometry(prior, space.mesh):
            return velocity
        x_min, x_max, y_min, y_max = prior.extent
        nodes = space.mesh.get_element_nodes().reshape(-1, 2)
        nearest = np.column_stack([np.clip(nodes[:, 0], x_min, x_max), np.clip(nodes[:, 1], y_min, y_max)])
        transfer = mesh_to_points(prior, nearest, name="smoothing nodes in prior")
        return (transfer @ velocity.ravel()).reshape(space.mesh.n_elements, space.mesh.n_gll)

    def _variances(self, parameter, space, prior):
        wavelength = self._velocity(space, prior) / self.reference_frequency_in_hertz
        n_x, n_y = self.n_wavelengths[parameter]
        return (n_x, n_y, array_key(wavelength)), (n_x * wavelength) ** 2, (n_y * wavelength) ** 2
