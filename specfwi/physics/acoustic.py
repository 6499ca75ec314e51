"""Acoustic wave equation: material parameters -> spectral-element coefficients, and back.

Equation (docs/solver.md): (1/(RHO VP^2)) phi_tt - div((1/RHO) grad phi) = f delta(x - x_s) w(t).
Its Galerkin discretisation on GLL nodes gives, on the global (shared) nodes,

    M phi_tt + C phi_t + K phi = F(t)

* M (diagonal) assembles ``quadrature_weights / (RHO VP^2)``;
* C (diagonal) assembles ``edge_weight / (RHO VP)`` over absorbing side sets: the
  first-order Clayton-Engquist / Stacey condition d(phi)/dn = -(1/VP) d(phi)/dt;
  in absorbing layers (perfectly matched, see ``mesh.absorbing_layers``) it also assembles
  ``quadrature_weights (d_x + d_y) / (RHO VP^2)``;
* E (diagonal, layers only) assembles ``quadrature_weights d_x d_y / (RHO VP^2)``, a term E phi;
* K = sum_e sum_q kappa_eq * G_eq(grad, grad) with kappa = 1/RHO at element node q
  and G the geometric tensor below.

In the layers, phi_tt + (d_x + d_y) phi_t + d_x d_y phi is the time-domain form of the
stretched coordinates' (1 + d_x / (i w)) (1 + d_y / (i w)) (i w)^2; the memory of the fluxes
that completes the layer is a matter of time stepping (specfwi.solver.absorbing_layers).

The derivative of a functional with respect to VP and RHO follows from its
derivatives with respect to M, C (per global node) and kappa (per element node):
see :meth:`AcousticCoefficients.material_gradient`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from ..mesh import UnstructuredMesh
from ..parameters import PARAMETERS, check_finite_values


def check_material(mesh: UnstructuredMesh) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return (VP, RHO) element-nodal arrays after checking they exist, are finite and positive (ModelError
    naming the parameter: the shared check of :mod:`specfwi.parameters`)."""
    fields = mesh.element_nodal_fields
    if any(name not in fields for name in PARAMETERS):
        raise ModelError(f"mesh.element_nodal_fields must hold {list(PARAMETERS)}, got {sorted(fields)}")
    vp, rho = (check_finite_values(name, fields[name], positive=True) for name in PARAMETERS)
    return vp, rho


def geometric_stiffness_tensor(mesh: UnstructuredMesh) -> NDArray[np.float64]:
    """G at every element node, (n_elements, n_gll, 3) = (G_xixi, G_xieta, G_etaeta), dimensionless.

    G = w J (grad xi, grad eta) (grad xi, grad eta)^T, so that
    int grad u . grad v = sum_q G_q : (u_xi, u_eta) (v_xi, v_eta)^T.
    """
    inverse = mesh.inverse_jacobian  # [e, q, reference, physical]
    weights = mesh.quadrature_weights
    tensor = np.empty((mesh.n_elements, mesh.n_gll, 3))
    tensor[..., 0] = weights * np.einsum("eqk,eqk->eq", inverse[:, :, 0], inverse[:, :, 0])
    tensor[..., 1] = weights * np.einsum("eqk,eqk->eq", inverse[:, :, 0], inverse[:, :, 1])
    tensor[..., 2] = weights * np.einsum("eqk,eqk->eq", inverse[:, :, 1], inverse[:, :, 1])
    return tensor


def absorbing_edge_weights(mesh: UnstructuredMesh, side_sets) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(element, local node, edge quadrature weight in m) of every node on the given side sets' edges."""
    elements, nodes, weights = [], [], []
    for name in side_sets:
        pairs = mesh.side_sets[name]
        for edge in range(4):
            selected = pairs[pairs[:, 1] == edge, 0]
            if len(selected) == 0:
                continue
            local = mesh.edge_node_indices(edge)
            elements.append(np.repeat(selected, len(local)))
            nodes.append(np.tile(local, len(selected)))
            weights.append(mesh.edge_quadrature_weights(selected, edge).ravel())
    if not elements:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(elements), np.concatenate(nodes), np.concatenate(weights)


@dataclass
class AcousticCoefficients:
    """Discrete coefficients of the acoustic equation on one mesh.

    mass : (n_global_nodes,) assembled diagonal mass, s^2 m^-2 (per unit f)
    damping : (n_global_nodes,) assembled diagonal boundary damping, zero without absorbing sides
    stiffness_tensor : (n_elements, n_gll, 3) kappa * G (kappa = 1/RHO)
    """

    mesh: UnstructuredMesh
    mass: NDArray[np.float64]
    damping: NDArray[np.float64]
    stiffness_tensor: NDArray[np.float64]
    geometric_tensor: NDArray[np.float64]
    absorbing_nodes: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]
    layer_damping: NDArray[np.float64] | None = None
    zero_order: NDArray[np.float64] | None = None

    @classmethod
    def from_mesh(cls, mesh: UnstructuredMesh, *, absorbing_side_sets=(), with_layers: bool = False
                  ) -> "AcousticCoefficients":
        """``with_layers``: damp in the mesh's absorbing layers (``layer_damping`` (n_elements, n_gll, 2):
        d_x, d_y in 1/s; ``zero_order``: E)."""
        vp, rho = check_material(mesh)
        inverse_modulus = mesh.quadrature_weights / (rho * vp**2)
        mass = mesh.assemble(inverse_modulus)
        elements, nodes, weights = absorbing_edge_weights(mesh, absorbing_side_sets)
        damping = np.bincount(mesh.global_node_index[elements, nodes], weights=weights / (rho[elements, nodes] * vp[elements, nodes]),
                              minlength=mesh.n_global_nodes)
        layer_damping = zero_order = None
        if with_layers and mesh.absorbing_layers is not None:
            layer_damping = np.stack(mesh.absorbing_layers.damping_profiles(mesh.get_element_nodes()), axis=-1)
            damping = damping + mesh.assemble(inverse_modulus * layer_damping.sum(axis=-1))
            zero_order = mesh.assemble(inverse_modulus * layer_damping.prod(axis=-1))
        geometric = geometric_stiffness_tensor(mesh)
        return cls(mesh, mass, damping, geometric * (1.0 / rho)[..., None], geometric, (elements, nodes, weights),
                   layer_damping, zero_order)

    def material_gradient(self, mass_sensitivity, damping_sensitivity, kappa_sensitivity,
                          zero_order_sensitivity=None) -> dict[str, NDArray[np.float64]]:
        """Chain rule from d/dM, d/dC, d/dE (global) and d/dkappa (element-nodal) to d/dVP, d/dRHO (element-nodal)."""
        mesh = self.mesh
        vp, rho = mesh.element_nodal_fields["VP"], mesh.element_nodal_fields["RHO"]
        index = mesh.global_node_index
        per_inverse_modulus = mass_sensitivity[index]
        if self.layer_damping is not None:
            per_inverse_modulus = per_inverse_modulus + damping_sensitivity[index] * self.layer_damping.sum(axis=-1) \
                + zero_order_sensitivity[index] * self.layer_damping.prod(axis=-1)
        mass_per_node = per_inverse_modulus * mesh.quadrature_weights / (rho * vp**2)
        gradient_vp = -2.0 * mass_per_node / vp
        gradient_rho = -mass_per_node / rho - kappa_sensitivity / rho**2
        elements, nodes, weights = self.absorbing_nodes
        if len(elements):
            damping_per_node = damping_sensitivity[mesh.global_node_index[elements, nodes]] * weights / (
                rho[elements, nodes] * vp[elements, nodes])
            np.add.at(gradient_vp, (elements, nodes), -damping_per_node / vp[elements, nodes])
            np.add.at(gradient_rho, (elements, nodes), -damping_per_node / rho[elements, nodes])
        return {"VP": gradient_vp, "RHO": gradient_rho}
