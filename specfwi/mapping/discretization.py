"""An inversion discretization bound to one simulation mesh: its transfer and projection.

The transfer T maps the dofs of one parameter on the inversion discretization to the element
nodes of the simulation mesh (a sparse matrix, n_elements * n_gll rows): the identity on the
simulation mesh itself, Lagrange interpolation from another mesh, bilinear interpolation from
a regular grid. The projection P maps back: the identity on the simulation mesh, otherwise the
least-squares fit weighted by the simulation quadrature weights W (the L2 projection),

    P f = argmin_x sum W (T x - f)^2 = (T^T W T)^{-1} T^T W f,

so that P T x = x for every x. It needs every inversion dof to be seen by the simulation mesh.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr
from numpy.typing import NDArray

from ..errors import invalid
from ..mesh import UnstructuredMesh
from .geometry import same_geometry
from .grid import RegularGrid
from .inversion_model import InversionModel
from .transfer import grid_to_points, mesh_to_mesh

Discretization = UnstructuredMesh | RegularGrid | None


def check_discretization(value) -> Discretization:
    """Validate an ``inversion_discretization``: None, an UnstructuredMesh or an xarray grid."""
    if value is None or isinstance(value, UnstructuredMesh):
        return value
    if isinstance(value, (xr.Dataset, xr.DataArray)):
        return RegularGrid.from_xarray(value)
    raise invalid("inversion_discretization", type(value).__name__,
                  "None (the simulation mesh), an UnstructuredMesh or an xarray Dataset/DataArray "
                  "with coordinates 'x' and 'y'")


class InversionSpace:
    """The inversion discretization ``discretization`` seen from ``simulation_mesh``.

    ``box_only``: the absorbing layers of the simulation mesh take no values from another discretization
    (its transfer has zero rows there: the Mapping fills them by edge extension), so it need only cover the
    model's box.
    """

    def __init__(self, discretization: Discretization, simulation_mesh: UnstructuredMesh, *, box_only: bool = False):
        self.simulation_mesh = simulation_mesh
        if discretization is None or (isinstance(discretization, UnstructuredMesh)
                                      and same_geometry(discretization, simulation_mesh)):
            self.is_identity = True
            self._container = simulation_mesh.geometry_copy()
            self.n_dofs = simulation_mesh.n_elements * simulation_mesh.n_gll
            self.transfer = sp.identity(self.n_dofs, format="csr")
            return
        self.is_identity = False
        name = "simulation mesh nodes in inversion_discretization"
        evaluated = (np.flatnonzero(~simulation_mesh.layer_element_mask) if box_only
                     else np.arange(simulation_mesh.n_elements))
        target = simulation_mesh
        if len(evaluated) < simulation_mesh.n_elements:
            target = UnstructuredMesh(simulation_mesh.vertices, simulation_mesh.connectivity[evaluated],
                                      simulation_mesh.tensor_order)
        if isinstance(discretization, UnstructuredMesh):
            self._container = discretization.geometry_copy()
            self.n_dofs = discretization.n_elements * discretization.n_gll
            transfer = mesh_to_mesh(discretization, target, name=name)
        else:
            self._container = discretization
            self.n_dofs = discretization.n_points
            transfer = grid_to_points(discretization, target.get_element_nodes().reshape(-1, 2), name=name)
        rows = (evaluated[:, None] * simulation_mesh.n_gll + np.arange(simulation_mesh.n_gll)).ravel()
        embedding = sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))),
                                  shape=(simulation_mesh.n_elements * simulation_mesh.n_gll, len(rows)))
        self.transfer = (embedding @ transfer).tocsr()

    # ------------------------------------------------------------------ operators
    def interpolate(self, values: NDArray) -> NDArray[np.float64]:
        """T: dofs of one parameter (n_dofs,) -> simulation element-nodal field (n_elements, n_gll)."""
        mesh = self.simulation_mesh
        return (self.transfer @ np.ravel(values)).reshape(mesh.n_elements, mesh.n_gll)

    def interpolate_adjoint(self, field: NDArray) -> NDArray[np.float64]:
        """T^T: element-nodal field (n_elements, n_gll) -> dofs (n_dofs,)."""
        return self.transfer.T @ np.ravel(field)

    @cached_property
    def _normal_factorization(self):
        weights = self.simulation_mesh.quadrature_weights.ravel()
        normal = (self.transfer.T @ sp.diags(weights) @ self.transfer).tocsc()
        unseen = np.flatnonzero(normal.diagonal() <= 0.0)
        if len(unseen):
            raise invalid("inversion_discretization", f"{len(unseen)} dofs that no simulation node depends on",
                          "a discretization whose every dof influences the simulation mesh "
                          "(map_to_inversion fits the dofs to the simulation nodes)")
        try:
            return spla.splu(normal)
        except RuntimeError as error:
            raise invalid("inversion_discretization", "a discretization with more dofs per region than the "
                          "simulation mesh has nodes there", "one no finer than the simulation mesh") from error

    def project(self, field: NDArray) -> NDArray[np.float64]:
        """P: element-nodal field (n_elements, n_gll) -> dofs (n_dofs,) (see the module docstring)."""
        if self.is_identity:
            return np.array(field, dtype=float).ravel()
        weights = self.simulation_mesh.quadrature_weights.ravel()
        return self._normal_factorization.solve(self.transfer.T @ (weights * np.ravel(field)))

    # ------------------------------------------------------------------ containers
    def make(self, parameters: tuple[str, ...], values: dict[str, NDArray]) -> InversionModel:
        """An InversionModel holding flat dof values (n_dofs,) per parameter."""
        if isinstance(self._container, RegularGrid):
            return InversionModel(self._container.dataset(values), parameters)
        model = self._container.geometry_copy()
        for parameter in parameters:
            model.attach_field(parameter, np.asarray(values[parameter]).reshape(model.n_elements, model.n_gll))
        return InversionModel(model, parameters)

    def check(self, quantity, parameters: tuple[str, ...], name: str) -> InversionModel:
        """Validate that ``quantity`` is an InversionModel of ``parameters`` on this discretization."""
        if not isinstance(quantity, InversionModel):
            raise invalid(name, type(quantity).__name__, "an InversionModel (from map_to_inversion or adjoint)")
        if quantity.parameters != parameters:
            raise invalid(f"{name}.parameters", list(quantity.parameters),
                          f"the inversion parameters {list(parameters)}")
        container = self._container
        if isinstance(container, RegularGrid):
            matches = isinstance(quantity.model, xr.Dataset) and container.same_as(
                RegularGrid.from_xarray(quantity.model, name=f"{name}.model"))
            described = "the inversion grid"
        else:
            matches = isinstance(quantity.model, UnstructuredMesh) and same_geometry(quantity.model, container)
            described = "the simulation mesh" if self.is_identity else "the inversion mesh"
        if not matches:
            raise invalid(f"{name}.model", f"{type(quantity.model).__name__} of another geometry",
                          f"a quantity on {described}")
        return quantity
