"""The tensor-product layout of the kernels, for meshes whose nodes form one rectangular grid.

A rectangle of n_elements_x x n_elements_y axis-aligned elements (``sf.mesh.rectangle``,
``sf.mesh.from_volume_model``) numbers its global nodes x-major: node = ix * n_y + iy.
On such a grid the stiffness of axis-aligned elements splits into an x part, which couples
nodes along x only, and a y part along y only:

    (K u)[ix, iy] = sum over element columns  D^T (c_x * D u)  along x  (at fixed iy)
                  + sum over element rows     D^T (c_y * D u)  along y  (at fixed ix)

with D the GLL derivative matrix and c_x (c_y) the xi-xi (eta-eta) tensor at the element
nodes. Where two elements share a node row (column), their coefficients on it add up, so the
kernels need no index arrays and stream contiguous rows: on S2 a stiffness product takes
about half the time of the blocked layout (:mod:`specfwi.solver.element_blocks`), which
serves every other mesh.

**Memory order.** The kernels see the grid as (n_outer, n_inner) node lines: work items sweep
the outer axis, and SIMD runs along the contiguous inner lines. The longer axis of the mesh is
the inner one: for a mesh wider than tall (S1: 201 x 69 nodes) the grid is *transposed*, its node
lines run along x. Within a line the nodes are stored in runs, one per GLL point (:func:`_in_runs`).
The solver keeps its nodal vectors in that order (:class:`NodeOrder`): node k = outer line *
n_inner + position in the line. Long inner lines leave fewer loop tails and set-ups per node: S1's
forward run is 1.26 times faster transposed, its gradient 1.37 times, S2's forward run 1.09 times
(docs/solver.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh import UnstructuredMesh
from .kernel_structures import GridOperator

COORDINATE_DECIMALS = 6  # grid lines: node coordinates equal to 1e-6 m


def _in_runs(inner_index: np.ndarray, tensor_order: int, n_elements: int) -> np.ndarray:
    """The memory position of node ``inner_index`` (e P + m: local point m of element e) of a node line of
    n_elements elements: in the run of its local point, run 0 (the nodes that elements share) first
    (:mod:`specfwi.solver.unrolled`)."""
    element, local = np.divmod(inner_index, tensor_order)
    return np.where(local == 0, element, local * n_elements + 1 + element)


@dataclass(frozen=True)
class NodeOrder:
    """A permutation of the global nodes: the solver's position k holds mesh node ``mesh_nodes[k]``."""

    mesh_nodes: np.ndarray

    @property
    def positions(self) -> np.ndarray:
        """The solver's position of every mesh node (the inverse permutation)."""
        positions = np.empty_like(self.mesh_nodes)
        positions[self.mesh_nodes] = np.arange(len(self.mesh_nodes))
        return positions

    def to_solver(self, values: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Values per mesh node (last axis) in the solver's order (a new array of ``dtype``)."""
        return np.ascontiguousarray(np.asarray(values)[..., self.mesh_nodes], dtype=dtype)

    def to_mesh(self, values: np.ndarray) -> np.ndarray:
        """Values in the solver's order (last axis) per mesh node (a new array)."""
        result = np.empty_like(values)
        result[..., self.mesh_nodes] = values
        return result


@dataclass(frozen=True)
class NodeGrid:
    """The grid of a mesh's global nodes and where each element node sits on it, in memory order.

    n_x, n_y : the mesh's nodes along x and y; ``transposed``: the inner (contiguous) axis is x
    outer_slots : (n_elements, n_gll) flat position of each element node in the outer-axis coefficients
        (n_elements_outer, n_gll_1d, n_inner) [element column, local index along the outer axis, inner line]
    inner_slots : (n_elements, n_gll) flat position in the inner-axis coefficients
        (n_outer, n_gll_1d, n_elements_inner) [outer line, local index along the inner axis, element row]
    """

    n_x: int
    n_y: int
    tensor_order: int
    transposed: bool
    outer_slots: np.ndarray
    inner_slots: np.ndarray

    @property
    def memory_shape(self) -> tuple[int, int]:
        """(n_outer, n_inner): the grid as the kernels see it."""
        return (self.n_y, self.n_x) if self.transposed else (self.n_x, self.n_y)

    @property
    def node_order(self) -> NodeOrder | None:
        """The solver's node order (None where it is the mesh's own): outer line by outer line, each
        inner line in runs (:mod:`specfwi.solver.unrolled`)."""
        ix, iy = np.meshgrid(np.arange(self.n_x), np.arange(self.n_y), indexing="ij")
        mesh_nodes = ix * self.n_y + iy
        outer, inner = (iy, ix) if self.transposed else (ix, iy)
        order = np.empty(self.n_x * self.n_y, dtype=np.int64)
        order[outer * self.memory_shape[1] + self.inner_positions(inner)] = mesh_nodes
        return None if np.array_equal(order, np.arange(len(order))) else NodeOrder(order)

    def inner_positions(self, inner_index: np.ndarray) -> np.ndarray:
        """Where node ``inner_index`` of an inner line (in mesh order) sits in memory (see _in_runs)."""
        return _in_runs(inner_index, self.tensor_order, (self.memory_shape[1] - 1) // self.tensor_order)

    @property
    def outer_shape(self) -> tuple[int, int, int]:
        """The shape of the outer-axis coefficients: (n_elements_outer, n_gll_1d, n_inner)."""
        n_outer, n_inner = self.memory_shape
        return (n_outer - 1) // self.tensor_order, self.tensor_order + 1, n_inner

    @property
    def inner_shape(self) -> tuple[int, int, int]:
        """The shape of the inner-axis coefficients: (n_outer, n_gll_1d, n_elements_inner)."""
        n_outer, n_inner = self.memory_shape
        return n_outer, self.tensor_order + 1, (n_inner - 1) // self.tensor_order

    @classmethod
    def detect(cls, mesh: UnstructuredMesh, n_tensor_components: int) -> "NodeGrid | None":
        """The grid of ``mesh``, or None unless its elements tile a node grid numbered x-major, each
        element's local xi along +x and eta along +y, and the stiffness has no cross component."""
        if n_tensor_components != 2:
            return None
        order, n_gll_1d = mesh.tensor_order, mesh.n_gll_1d
        coordinates = np.round(mesh.global_node_coordinates, COORDINATE_DECIMALS)
        n_x, n_y = (len(np.unique(coordinates[:, axis])) for axis in (0, 1))
        if n_x * n_y != mesh.n_global_nodes or (n_x - 1) % order or (n_y - 1) % order:
            return None
        numbering = mesh.global_node_index
        first_x, first_y = np.divmod(numbering[:, 0], n_y)
        j, i = np.divmod(np.arange(mesh.n_gll), n_gll_1d)  # local node q = j * n_gll_1d + i
        expected = (first_x[:, None] + i) * n_y + first_y[:, None] + j
        column, row = first_x // order, first_y // order
        tiles = (n_x - 1) // order * ((n_y - 1) // order)
        if (not np.array_equal(numbering, expected) or np.any(first_x % order) or np.any(first_y % order)
                or mesh.n_elements != tiles or len(np.unique(column * n_y + row)) != tiles):
            return None
        transposed = n_x > n_y
        # (first node, local index, element index) along the outer and the inner axis
        outer, inner = ((first_y, j, row), (first_x, i, column)) if transposed else ((first_x, i, column),
                                                                                     (first_y, j, row))
        n_inner = n_x if transposed else n_y
        inner_slots = (((outer[0][:, None] + outer[1]) * n_gll_1d + inner[1]) * ((n_inner - 1) // order)
                       + inner[2][:, None])
        outer_slots = ((outer[2][:, None] * n_gll_1d + outer[1]) * n_inner
                       + _in_runs(inner[0][:, None] + inner[1], order, (n_inner - 1) // order))
        return cls(n_x, n_y, order, transposed, outer_slots, inner_slots)

    @property
    def _components(self) -> tuple[int, int]:
        """The (xi-xi, eta-eta) tensor components along the outer and the inner axis."""
        return (1, 0) if self.transposed else (0, 1)

    def operator(self, tensor: np.ndarray, derivative: np.ndarray) -> GridOperator:
        """The kernels' operator from the (n_elements, n_gll, 2) (xi-xi, eta-eta) tensor: the outer-axis and
        inner-axis coefficients and the derivative matrix's entries row by row as a tuple."""
        outer, inner = self._components
        coefficient_outer = np.bincount(self.outer_slots.ravel(), weights=tensor[:, :, outer].ravel(),
                                        minlength=int(np.prod(self.outer_shape))).reshape(self.outer_shape)
        coefficient_inner = np.bincount(self.inner_slots.ravel(), weights=tensor[:, :, inner].ravel(),
                                        minlength=int(np.prod(self.inner_shape))).reshape(self.inner_shape)
        return GridOperator(coefficient_outer, coefficient_inner,
                            tuple(float(value) for value in np.asarray(derivative).ravel()))

    def result_buffer(self, dtype=np.float64) -> np.ndarray:
        """The kernels' buffer of partial results: two inner lines per outer element column (the outer-axis parts
        of the lines that two work items share; each line's result is used as soon as it is complete)."""
        n_elements_outer, _, n_inner = self.outer_shape
        return np.zeros(2 * n_elements_outer * n_inner, dtype)

    def sensitivity_buffer(self) -> tuple[np.ndarray, np.ndarray]:
        """Accumulators of the adjoint's gradient products: (outer-axis part, inner-axis part), shaped as the
        coefficients."""
        return np.zeros(self.outer_shape), np.zeros(self.inner_shape)

    def product_weights(self, geometric: np.ndarray) -> np.ndarray:
        """What the grid kernels take besides the products: nothing (the weights apply in :meth:`kappa`)."""
        return np.zeros((0, 0, 0, 0))

    def kappa(self, buffer: tuple[np.ndarray, np.ndarray], geometric: np.ndarray) -> np.ndarray:
        """d(misfit)/d(kappa) per element node (n_elements, n_gll) from the accumulated products and the
        (n_elements, n_gll, 2) geometric tensor (the products are shared by the elements on a node line)."""
        products_outer, products_inner = buffer
        outer, inner = self._components
        return (geometric[:, :, outer] * products_outer.ravel()[self.outer_slots]
                + geometric[:, :, inner] * products_inner.ravel()[self.inner_slots])
