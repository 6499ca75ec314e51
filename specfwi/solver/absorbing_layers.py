"""Time stepping in perfectly matched absorbing layers: the memory of the fluxes and its coefficients.

In frequency, the layers stretch x by s_x = 1 + d_x / (i w) and y by s_y = 1 + d_y / (i w)
(d in 1/s, :meth:`specfwi.mesh.AbsorbingLayers.damping_profiles`). The acoustic equation becomes

    (1/kappa) (phi_tt + (d_x + d_y) phi_t + d_x d_y phi) - div((1/RHO) (grad phi + psi)) = 0,
    psi_x' = -d_x psi_x + (d_y - d_x) phi_x,   psi_y' = -d_y psi_y + (d_x - d_y) phi_y

(s_y / s_x = 1 + (d_y - d_x) / (i w + d_x)). The C and E terms are diagonal
(:class:`specfwi.physics.AcousticCoefficients`); C is central-differenced like the Stacey term and
E enters averaged, E (phi^{n+1} + 2 phi^n + phi^{n-1}) / 4, which is stable for any E >= 0
(:func:`specfwi.solver.setup._step_coefficients`).

The memory psi lives at the GLL points of the layer elements. Over a step it is integrated exactly for
a frozen gradient: psi^{n+1/2} = a psi^{n-1/2} + c grad phi^n with a = exp(-d dt),
c = (d_o - d)(1 - a)/d (= (d_o - d) dt where d = 0), d_o the other axis's damping. The flux term of step
n uses the mean psi^n = (psi^{n+1/2} + psi^{n-1/2})/2 and is part of the step's residual r^n, so that the
fourth-order correction -dt^4/12 K M^-1 r^n acts on it as on K phi^n: the memory behaves like the
stiffness it corrects for the fastest modes too (added outside the correction, it made the scheme unstable
at the default time step).

The kernels keep m = w psi / RHO (w: quadrature weight): each step runs m_new = a m + drive grad phi^n,
then y^n -= (mask / M) grad^T(force (m_new + m)), with drive = c w / RHO and force = 1/2. The discrete
adjoint runs the transposed pass: with T^T mu = dt^2 mu + dt^4/12 y_mu (y_mu = -M^-1 K mu), its memory
xi_n = a xi_{n+1} + force grad(T^T mu^n + T^T mu^{n+1}), then mu^{n-1} -= (mask / D) grad^T(drive xi_n), from
xi = 0 after the last step; the derivative with respect to 1/RHO of the drive is sum_n c w xi_n . grad u^n
(see :func:`specfwi.solver.kernels._layer_pass`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..mesh import UnstructuredMesh
from .element_blocks import BLOCK_SIZE
from .kernel_structures import LayerOperator, is_round_off


class LayerCoefficients(NamedTuple):
    """The time-discrete coefficients of the layers for one time step (see the module docstring).

    operator : the kernels' LayerOperator
    drive, force : (n_blocks, n_gll, 2, B) of the forward pass (the adjoint swaps them), times dxi/dx (x) and
        deta/dy (y) where ``operator.aligned``
    drive_per_kappa : (n_layer_elements, n_gll, 2) d(drive)/d(1/RHO) = c w
    layer_elements : (n_layer_elements,) their element numbers in the mesh
    """

    operator: LayerOperator
    drive: np.ndarray
    force: np.ndarray
    drive_per_kappa: np.ndarray
    layer_elements: np.ndarray

    @property
    def n_elements(self) -> int:
        return len(self.layer_elements)

    def zero_memory(self) -> np.ndarray:
        """A memory (or sensitivity) of the blocked shape, zero, in the drive's type."""
        return np.zeros(self.drive.shape, self.drive.dtype)

    def per_element(self, blocked: np.ndarray) -> np.ndarray:
        """(n_blocks, n_gll, 2, B) -> (n_layer_elements, n_gll, 2)."""
        n_gll = blocked.shape[1]
        return np.moveaxis(blocked, -1, 1).reshape(-1, n_gll, 2)[:self.n_elements]


def _blocked(values: np.ndarray, n_blocks: int) -> np.ndarray:
    """(n, n_gll, ...) -> (n_blocks, n_gll, ..., BLOCK_SIZE), padding lanes 0."""
    padded = np.zeros((n_blocks * BLOCK_SIZE,) + values.shape[1:], values.dtype)
    padded[:len(values)] = values
    padded = padded.reshape((n_blocks, BLOCK_SIZE) + values.shape[1:])
    return np.ascontiguousarray(np.moveaxis(padded, 1, -1))


def memory_coefficients(layer_damping: np.ndarray, time_step_in_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(a, c) per point and axis from (..., 2) damping d (1/s): a = exp(-d dt), c = (d_o - d)(1 - a)/d."""
    decay = np.exp(-layer_damping * time_step_in_seconds)
    with np.errstate(invalid="ignore", divide="ignore"):
        integral = np.where(layer_damping > 0.0, -np.expm1(-layer_damping * time_step_in_seconds) / layer_damping,
                            time_step_in_seconds)
    other = layer_damping[..., ::-1]
    return decay, (other - layer_damping) * integral


def build_layer_coefficients(mesh: UnstructuredMesh, layer_damping: np.ndarray | None, derivative: np.ndarray,
                             positions: np.ndarray | None, time_step_in_seconds: float, dtype: np.dtype
                             ) -> LayerCoefficients:
    """The layers' coefficients for the kernels (empty arrays without layers, so that one compiled kernel
    serves both). ``positions``: the kernels' position of each mesh node (None: the mesh's numbering)."""
    n_gll = mesh.n_gll
    if layer_damping is None:
        elements = np.zeros(0, np.int64)
    else:
        elements = np.flatnonzero(np.any(layer_damping > 0.0, axis=(1, 2)))
    damping = np.zeros((0, n_gll, 2)) if layer_damping is None else layer_damping[elements]
    decay, integral = memory_coefficients(damping, time_step_in_seconds)
    kappa = 1.0 / mesh.element_nodal_fields["RHO"][elements] if len(elements) else np.zeros((0, n_gll))
    drive_per_kappa = integral * mesh.quadrature_weights[elements][..., None]
    force = np.full(damping.shape, 0.5)
    element_nodes = mesh.global_node_index[elements]
    if positions is not None:
        element_nodes = positions[element_nodes]
    n_blocks = -(-len(elements) // BLOCK_SIZE)
    blocked_nodes = _blocked(element_nodes, n_blocks)  # (n_blocks, n_gll, B)
    lane_slots = (np.arange(n_blocks)[:, None, None] * n_gll + np.arange(n_gll)[None, :, None]) * BLOCK_SIZE \
        + np.arange(BLOCK_SIZE)
    real = _blocked(np.ones(element_nodes.shape, bool), n_blocks)
    slots, slot_nodes = lane_slots[real], blocked_nodes[real]
    nodes, inverse = np.unique(slot_nodes, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    slot_offsets = np.searchsorted(inverse[order], np.arange(len(nodes) + 1)).astype(np.int64)
    inverse_jacobian = mesh.inverse_jacobian[elements].reshape(len(elements), n_gll, 4)
    aligned = is_round_off(inverse_jacobian[..., 1:3], inverse_jacobian)
    drive = drive_per_kappa * kappa[..., None]
    if aligned:
        own_axis = inverse_jacobian[..., [0, 3]]  # dxi/dx, deta/dy
        drive, force = drive * own_axis, force * own_axis
    operator = LayerOperator(np.ascontiguousarray(blocked_nodes, dtype=np.int64),
                             _blocked(inverse_jacobian, n_blocks).astype(dtype),
                             np.ascontiguousarray(derivative, dtype=dtype),
                             _blocked(decay, n_blocks).astype(dtype), np.zeros(blocked_nodes.size, dtype),
                             nodes.astype(np.int64), slot_offsets, slots[order].astype(np.int64), bool(aligned))
    return LayerCoefficients(operator, _blocked(drive, n_blocks).astype(dtype), _blocked(force, n_blocks).astype(dtype),
                             drive_per_kappa, elements)


__all__ = ["LayerCoefficients", "build_layer_coefficients", "memory_coefficients"]
