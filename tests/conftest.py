"""Shared fixtures: small heterogeneous meshes (rectangular or distorted) for solver and gradient tests."""

from __future__ import annotations

import numpy as np
import pytest

import specfwi as sf

MODEL_X_RANGE_IN_METERS = (0.0, 600.0)
MODEL_Y_RANGE_IN_METERS = (-400.0, 0.0)
SHEAR = 0.25  # x moves by SHEAR * depth: parallelogram elements with non-diagonal metric terms
VERTEX_JITTER_IN_METERS = 15.0  # then interior vertices move randomly: general (non-affine) quads


def _attach_smooth_model(mesh: sf.UnstructuredMesh) -> sf.UnstructuredMesh:
    """VP (m/s) and RHO (kg/m^3) varying smoothly in x and y, so no parameter is constant."""
    nodes = mesh.get_element_nodes()
    x, y = nodes[..., 0], nodes[..., 1]
    mesh.attach_field("VP", 1500.0 - 0.8 * y + 80.0 * np.sin(x / 110.0))
    mesh.attach_field("RHO", 1000.0 - 0.5 * y + 60.0 * np.cos(x / 170.0 + y / 90.0))
    return mesh


def build_model_mesh(*, tensor_order: int = 4, distorted: bool = False, seed: int = 0) -> sf.UnstructuredMesh:
    """A 6 x 4 element mesh of [0, 600] x [-400, 0] m (sheared and jittered when ``distorted``) with VP, RHO."""
    mesh = sf.mesh.rectangle(MODEL_X_RANGE_IN_METERS, MODEL_Y_RANGE_IN_METERS, 6, 4, tensor_order=tensor_order)
    if distorted:
        vertices = mesh.vertices.copy()
        vertices[:, 0] -= SHEAR * vertices[:, 1]
        x_min, x_max = MODEL_X_RANGE_IN_METERS
        y_min, y_max = MODEL_Y_RANGE_IN_METERS
        original = mesh.vertices
        interior = ((original[:, 0] > x_min) & (original[:, 0] < x_max) & (original[:, 1] > y_min)
                    & (original[:, 1] < y_max))
        jitter = np.random.default_rng(seed).uniform(-VERTEX_JITTER_IN_METERS, VERTEX_JITTER_IN_METERS,
                                                     (int(interior.sum()), 2))
        vertices[interior] += jitter
        mesh = sf.UnstructuredMesh(vertices, mesh.connectivity, tensor_order, side_sets=mesh.side_sets)
    return _attach_smooth_model(mesh)


@pytest.fixture
def model_mesh() -> sf.UnstructuredMesh:
    """Rectangular 6 x 4 mesh, order 4, smooth heterogeneous VP and RHO."""
    return build_model_mesh()


@pytest.fixture
def distorted_model_mesh() -> sf.UnstructuredMesh:
    """The same domain sheared by 0.25 and with jittered interior vertices (non-affine quads), order 4."""
    return build_model_mesh(distorted=True)


@pytest.fixture
def make_model_mesh():
    """The builder behind ``model_mesh``: make_model_mesh(tensor_order=4, distorted=False, seed=0)."""
    return build_model_mesh
