"""Implicit diffusion on the continuous GLL space of a mesh: the engine of the smoothing.

Unknowns are values at the global (shared) GLL nodes. With M the lumped mass (assembled
quadrature weights, diagonal) and K the stiffness of div(D grad u), D = diag(c_x, c_y) given
per element node and integrated with the GLL rule,

    K[a, b] = sum_e sum_q W_q (c_x dphi_a/dx dphi_b/dx + c_y dphi_a/dy dphi_b/dy)(x_q),

one backward-Euler step of length 1 solves (M + K) u_new = M u_old (natural boundary conditions).
``n_steps`` steps with c = sigma^2 / (2 n_steps) spread a point load into a bump whose variance along
each axis is sigma^2 (exactly, on the interior of a mesh of order >= 2 and for constant sigma: the
discrete Laplacian of x^2 is 2 there). The system is factorised once (sparse LU with a symmetric
minimum-degree ordering) and reused.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..mesh import UnstructuredMesh, derivative_matrix

logger = logging.getLogger(__name__)

ELEMENTS_PER_CHUNK = 4096


def assemble_stiffness(mesh: UnstructuredMesh, element_global_index: NDArray[np.int64], n_global: int,
                       coefficient_x: NDArray, coefficient_y: NDArray) -> sp.csr_matrix:
    """Symmetric stiffness (n_global, n_global) of div(diag(c_x, c_y) grad u); coefficients (n_elements, n_gll), m^2."""
    n_1d = mesh.n_gll_1d
    d_dxi = np.kron(np.eye(n_1d), derivative_matrix(mesh.tensor_order))  # [node q, basis a], q = j * n + i
    d_deta = np.kron(derivative_matrix(mesh.tensor_order), np.eye(n_1d))
    weights = mesh.quadrature_weights
    stiffness = sp.csr_matrix((n_global, n_global))
    for start in range(0, mesh.n_elements, ELEMENTS_PER_CHUNK):
        chunk = slice(start, start + ELEMENTS_PER_CHUNK)
        inverse = mesh.inverse_jacobian[chunk]  # d(xi, eta)/d(x, y)
        element = np.zeros((inverse.shape[0], mesh.n_gll, mesh.n_gll))
        for axis, coefficient in ((0, coefficient_x), (1, coefficient_y)):
            gradient = inverse[..., 0, axis, None] * d_dxi + inverse[..., 1, axis, None] * d_deta  # (e, q, a)
            weighted = gradient * (weights[chunk] * coefficient[chunk])[..., None]
            element += np.matmul(np.swapaxes(weighted, 1, 2), gradient)
        nodes = element_global_index[chunk]
        rows = np.broadcast_to(nodes[:, :, None], element.shape).ravel()
        columns = np.broadcast_to(nodes[:, None, :], element.shape).ravel()
        stiffness = stiffness + sp.csr_matrix((element.ravel(), (rows, columns)), shape=(n_global, n_global))
    stiffness = 0.5 * (stiffness + stiffness.T)
    stiffness.eliminate_zeros()
    return stiffness.tocsr()


class DiffusionOperator:
    """B = (A^{-1} M)^(n_steps - 1) A^{-1} with A = M + K(sigma^2 / (2 n_steps)) on global nodes.

    ``apply(load)`` returns B load; B is symmetric positive definite, B M 1 = 1 (constants are
    preserved by u = B M u_0) and sum(M * B load) = sum(load) (the load's integral is kept).

    Parameters
    ----------
    mesh : the mesh whose GLL basis carries the diffusion.
    element_global_index : (n_elements, n_gll) global node of every element node.
    n_global : number of global nodes.
    variance_x, variance_y : (n_elements, n_gll) squared standard deviations of the kernel per axis, m^2.
    n_steps : number of backward-Euler steps (more steps: a kernel closer to a Gaussian).
    """

    def __init__(self, mesh: UnstructuredMesh, element_global_index: NDArray[np.int64], n_global: int,
                 variance_x: NDArray, variance_y: NDArray, *, n_steps: int):
        started = time.perf_counter()
        self.n_steps = n_steps
        self.mass = np.bincount(element_global_index.ravel(), weights=mesh.quadrature_weights.ravel(),
                                minlength=n_global)
        step_x, step_y = (np.asarray(variance) / (2.0 * n_steps) for variance in (variance_x, variance_y))
        stiffness = assemble_stiffness(mesh, element_global_index, n_global, step_x, step_y)
        system = (sp.diags(self.mass) + stiffness).tocsc()
        from scipy.sparse.linalg import splu  # here, not at start-up: scipy.sparse.linalg takes 0.2 s to import

        self._factorization = splu(system, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                   options={"SymmetricMode": True})
        logger.debug("factorised a diffusion operator on %d nodes (%d non-zeros) in %.2f s", n_global, system.nnz,
                     time.perf_counter() - started)

    def apply(self, load: NDArray) -> NDArray[np.float64]:
        """B load for a load (n_global,) or several (n_global, k)."""
        load = np.asarray(load, dtype=float)
        mass = self.mass if load.ndim == 1 else self.mass[:, None]
        values = self._factorization.solve(load)
        for _ in range(self.n_steps - 1):
            values = self._factorization.solve(mass * values)
        return values
