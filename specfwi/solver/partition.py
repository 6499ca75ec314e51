"""Chunking and colouring of elements for race-free parallel assembly.

Elements are sorted into horizontal strips (by centroid y, then x) and cut into
``n_chunks`` chunks of consecutive elements; chunks are coloured greedily so that no
two chunks of one colour share a node. On layered or rectangular meshes strips touch
only their neighbours, so two colours suffice: each stiffness application is then
two parallel regions, whatever the mesh size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

CHUNKS_PER_THREAD = 8


@numba.njit(cache=True)
def _greedy_coloring(indptr, indices, n_items):
    colors = -np.ones(n_items, dtype=np.int64)
    used = -np.ones(n_items + 1, dtype=np.int64)
    for item in range(n_items):
        for position in range(indptr[item], indptr[item + 1]):
            neighbour_color = colors[indices[position]]
            if neighbour_color >= 0:
                used[neighbour_color] = item
        color = 0
        while used[color] == item:
            color += 1
        colors[item] = color
    return colors


@dataclass(frozen=True)
class ElementSchedule:
    """Elements ordered by colour, then chunk.

    chunk_elements : (n_elements,) element indices, colour by colour
    chunk_offsets : (n_chunks + 1,) start of each chunk in chunk_elements
    color_chunk_offsets : (n_colors + 1,) first chunk of each colour
    """

    chunk_elements: np.ndarray
    chunk_offsets: np.ndarray
    color_chunk_offsets: np.ndarray

    @property
    def n_colors(self) -> int:
        return len(self.color_chunk_offsets) - 1

    @classmethod
    def build(cls, global_node_index: np.ndarray, element_centroids: np.ndarray, *,
              n_chunks: int | None = None) -> "ElementSchedule":
        n_elements, n_gll = global_node_index.shape
        if n_chunks is None:
            n_chunks = CHUNKS_PER_THREAD * numba.config.NUMBA_NUM_THREADS
        n_chunks = max(1, min(n_chunks, n_elements))
        strips = np.lexsort((element_centroids[:, 0], element_centroids[:, 1]))
        chunk_of_position = (np.arange(n_elements) * n_chunks) // n_elements
        chunk_of_element = np.empty(n_elements, dtype=np.int64)
        chunk_of_element[strips] = chunk_of_position
        element_rows = np.repeat(chunk_of_element, n_gll)
        incidence = sp.coo_matrix((np.ones(global_node_index.size), (element_rows, global_node_index.ravel())),
                                  shape=(n_chunks, int(global_node_index.max()) + 1)).tocsr()
        adjacency = (incidence @ incidence.T).tocsr()
        chunk_colors = _greedy_coloring(adjacency.indptr.astype(np.int64), adjacency.indices.astype(np.int64), n_chunks)
        chunk_order = np.argsort(chunk_colors, kind="stable")
        elements, offsets = [], [0]
        for chunk in chunk_order:
            members = strips[chunk_of_position == chunk]
            elements.append(members)
            offsets.append(offsets[-1] + len(members))
        color_chunk_offsets = np.searchsorted(chunk_colors[chunk_order], np.arange(chunk_colors.max() + 2))
        return cls(np.concatenate(elements).astype(np.int64), np.asarray(offsets, dtype=np.int64),
                   color_chunk_offsets.astype(np.int64))
