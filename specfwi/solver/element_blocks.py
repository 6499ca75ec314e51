"""Elements grouped in blocks of SIMD lanes, and the gather that assembles their results.

The kernels evaluate ``BLOCK_SIZE`` elements at once, element index innermost, so that
every arithmetic line of the element computation is one vector operation across those
elements. Element-nodal data therefore live in a *blocked* layout (n_blocks, ..., n_gll,
BLOCK_SIZE). Each element writes its nodal results into its own slots of a flat buffer
(no two elements share a slot: no races, no colouring); a node then sums its slots. A
node belongs to at most 4 elements on most quadrilateral meshes, so its first 4 slots are
a fixed-width table (unused entries point at a slot that stays zero); the few nodes with
more (vertices of valence > 4 on unstructured meshes) list their further slots separately,
and the kernels add those into the node's first slot before the node pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernel_structures import BlockOperator

BLOCK_SIZE = 16  # elements per block: the SIMD lanes of the kernels
SLOTS_PER_NODE = 4  # fixed-width part of each node's slot list


@dataclass(frozen=True)
class ElementBlocks:
    """The blocked numbering of a mesh.

    block_elements : (n_blocks, BLOCK_SIZE) element of each lane, -1 for padding lanes
    node_blocks : (n_blocks, n_gll, BLOCK_SIZE) global node of each lane's GLL point (padding: node 0)
    node_slots : (n_global_nodes, SLOTS_PER_NODE) flat slots of each node's element results
        (slot of lane l, GLL point q, block b: (b * n_gll + q) * BLOCK_SIZE + l); unused: ``zero_slot``
    extra_nodes : (n_extra_nodes,) the nodes with more than SLOTS_PER_NODE slots
    extra_slot_offsets, extra_slots : CSR list of those nodes' further slots
    """

    block_elements: np.ndarray
    node_blocks: np.ndarray
    node_slots: np.ndarray
    extra_nodes: np.ndarray
    extra_slot_offsets: np.ndarray
    extra_slots: np.ndarray

    node_order = None  # the kernels keep the mesh's node numbering

    @property
    def zero_slot(self) -> int:
        """The slot after the last lane: the result buffer holds it at 0."""
        return self.node_blocks.size

    def result_buffer(self, dtype=np.float64) -> np.ndarray:
        """The kernels' flat buffer of element results: every lane's slots plus the zero slot, zeroed."""
        return np.zeros(self.node_blocks.size + 1, dtype)

    def operator(self, tensor: np.ndarray, derivative: np.ndarray) -> BlockOperator:
        """The kernels' operator from the (n_elements, n_gll, n_components) stiffness tensor."""
        return BlockOperator(self.node_blocks, self.to_blocks(tensor), np.ascontiguousarray(derivative),
                             self.node_slots, self.extra_nodes, self.extra_slot_offsets, self.extra_slots)

    def sensitivity_buffer(self) -> np.ndarray:
        """Accumulators of the adjoint's gradient products, one per element node (blocked)."""
        return np.zeros(self.node_blocks.shape)

    def product_weights(self, geometric: np.ndarray) -> np.ndarray:
        """The (n_elements, n_gll, n_components) geometric tensor, blocked, for the products of the stiffness kernel."""
        return self.to_blocks(geometric)

    def kappa(self, buffer: np.ndarray, geometric: np.ndarray) -> np.ndarray:
        """d(misfit)/d(kappa) per element node (n_elements, n_gll): the kernel applied the weights already."""
        return self.from_blocks(buffer)

    @classmethod
    def build(cls, global_node_index: np.ndarray) -> "ElementBlocks":
        """Elements ordered by their smallest global node number, 16 consecutive ones per block.

        Following the node numbering keeps the nodes of a block, and the slots of consecutive
        nodes, close in memory: on S2 a time step took 1.4 times less than with blocks along
        the other axis of the mesh's x-major numbering.
        """
        n_elements, n_gll = global_node_index.shape
        n_nodes = int(global_node_index.max()) + 1
        n_blocks = -(-n_elements // BLOCK_SIZE)
        lanes = np.full(n_blocks * BLOCK_SIZE, -1, dtype=np.int64)
        lanes[:n_elements] = np.argsort(global_node_index.min(axis=1), kind="stable")
        block_elements = lanes.reshape(n_blocks, BLOCK_SIZE)
        padded_nodes = np.vstack([global_node_index, np.zeros((1, n_gll), dtype=global_node_index.dtype)])
        node_blocks = np.ascontiguousarray(padded_nodes[block_elements].transpose(0, 2, 1), dtype=np.int64)

        real = (block_elements >= 0)[:, None, :].repeat(n_gll, axis=1)
        nodes = node_blocks[real]
        slots = np.flatnonzero(real.ravel())
        order = np.argsort(nodes, kind="stable")
        nodes, slots = nodes[order], slots[order]
        offsets = np.searchsorted(nodes, np.arange(n_nodes + 1))
        rank = np.arange(len(nodes)) - offsets[nodes]
        node_slots = np.full((n_nodes, SLOTS_PER_NODE), node_blocks.size, dtype=np.int64)
        fixed = rank < SLOTS_PER_NODE
        node_slots[nodes[fixed], rank[fixed]] = slots[fixed]
        extra_nodes, extra_counts = np.unique(nodes[~fixed], return_counts=True)
        extra_slot_offsets = np.concatenate([[0], np.cumsum(extra_counts)]).astype(np.int64)
        return cls(block_elements, node_blocks, node_slots, extra_nodes.astype(np.int64), extra_slot_offsets,
                   slots[~fixed].astype(np.int64))

    def to_blocks(self, element_nodal: np.ndarray) -> np.ndarray:
        """(n_elements, n_gll[, n_components]) -> (n_blocks, [n_components,] n_gll, BLOCK_SIZE); padding 0."""
        values = np.asarray(element_nodal, dtype=float)
        padded = np.concatenate([values, np.zeros((1,) + values.shape[1:])])[self.block_elements]
        axes = (0, 3, 2, 1) if values.ndim == 3 else (0, 2, 1)
        return np.ascontiguousarray(padded.transpose(axes))

    def from_blocks(self, blocked: np.ndarray) -> np.ndarray:
        """(n_blocks, n_gll, BLOCK_SIZE) -> (n_elements, n_gll), the inverse of :meth:`to_blocks`."""
        real = self.block_elements >= 0
        per_lane = np.asarray(blocked).transpose(0, 2, 1)[real]
        result = np.empty_like(per_lane)
        result[self.block_elements[real]] = per_lane
        return result
