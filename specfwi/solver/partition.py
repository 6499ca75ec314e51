"""Element colouring and chunking for race-free parallel assembly."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp


def color_elements(global_node_index: np.ndarray, n_global_nodes: int) -> np.ndarray:
    """Greedy colouring: elements sharing a node get different colours; returns (n_elements,) int colours."""
    n_elements, n_gll = global_node_index.shape
    incidence = sp.csr_matrix((np.ones(global_node_index.size), global_node_index.ravel(),
                               np.arange(0, global_node_index.size + 1, n_gll)), shape=(n_elements, n_global_nodes))
    adjacency = (incidence @ incidence.T).tocsr()
    return _greedy_coloring(adjacency.indptr, adjacency.indices, n_elements)


@numba.njit(cache=True)
def _greedy_coloring(indptr, indices, n_elements):
    colors = -np.ones(n_elements, dtype=np.int64)
    used = np.zeros(64, dtype=np.int64) - 1
    for element in range(n_elements):
        for position in range(indptr[element], indptr[element + 1]):
            neighbour_color = colors[indices[position]]
            if neighbour_color >= 0:
                used[neighbour_color] = element
        color = 0
        while used[color] == element:
            color += 1
        colors[element] = color
    return colors


@dataclass(frozen=True)
class ElementSchedule:
    """Elements ordered by colour and cut into chunks (one chunk = one unit of parallel work).

    chunk_elements : (n_elements,) element indices, colour by colour
    chunk_offsets : (n_chunks + 1,) start of each chunk in chunk_elements
    color_chunk_offsets : (n_colors + 1,) first chunk of each colour
    """

    chunk_elements: np.ndarray
    chunk_offsets: np.ndarray
    color_chunk_offsets: np.ndarray

    @classmethod
    def build(cls, global_node_index: np.ndarray, n_global_nodes: int, *, elements_per_chunk: int = 32) -> "ElementSchedule":
        colors = color_elements(global_node_index, n_global_nodes)
        order = np.argsort(colors, kind="stable")
        chunk_offsets = [0]
        color_chunk_offsets = [0]
        for color in range(colors.max() + 1):
            count = int(np.sum(colors == color))
            start = chunk_offsets[-1]
            chunk_offsets.extend(start + np.append(np.arange(elements_per_chunk, count, elements_per_chunk), count))
            color_chunk_offsets.append(len(chunk_offsets) - 1)
        return cls(order.astype(np.int64), np.asarray(chunk_offsets, dtype=np.int64),
                   np.asarray(color_chunk_offsets, dtype=np.int64))
