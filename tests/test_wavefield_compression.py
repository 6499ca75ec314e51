"""Wavefield compression (specfwi.solver.compression): every k-th forward state, interpolated; an approximate
gradient that approaches the exact one as k falls, and is the exact one for k = 1."""

from __future__ import annotations

import numpy as np
import pytest

import specfwi as sf
from specfwi.errors import InvalidParameterError
from test_gradient import OPTIONS, small_event

ENERGY = dict(OPTIONS, misfit="L2_energy_no_observed_data")


@pytest.fixture(scope="module")
def exact(request):
    from conftest import build_model_mesh

    mesh = build_model_mesh()
    return mesh, sf.compute_gradient(mesh, small_event(), **ENERGY)


def compressed(mesh, interval):
    return sf.compute_gradient(mesh, small_event(), **ENERGY, wavefield_compression=sf.WavefieldCompression(
        forward_wavefield_sampling_interval=interval))


def test_every_state_kept_gives_the_exact_gradient(exact):
    mesh, reference = exact
    result = compressed(mesh, 1)
    assert result.misfit == reference.misfit
    for name in ("VP", "RHO"):
        np.testing.assert_array_equal(result.gradient.element_nodal_fields[name],
                                      reference.gradient.element_nodal_fields[name])


def test_sparser_samples_give_a_close_approximation_that_degrades_with_the_interval(exact):
    mesh, reference = exact
    expected = reference.gradient.element_nodal_fields["VP"]
    errors = []
    for interval in (2, 4, 8):
        values = compressed(mesh, interval).gradient.element_nodal_fields["VP"]
        errors.append(np.linalg.norm(values - expected) / np.linalg.norm(expected))
        cosine = np.sum(values * expected) / (np.linalg.norm(values) * np.linalg.norm(expected))
        assert cosine > 0.999
    assert 1e-8 < errors[0] < errors[1] < errors[2] < 0.05


@pytest.mark.parametrize("interval", [0, -1, 2.5, True, "4"])
def test_bad_sampling_intervals_are_refused(interval):
    with pytest.raises(InvalidParameterError, match="forward_wavefield_sampling_interval"):
        sf.WavefieldCompression(forward_wavefield_sampling_interval=interval)


def test_compute_gradient_refuses_anything_else_as_compression(model_mesh):
    with pytest.raises(InvalidParameterError, match="wavefield_compression"):
        sf.compute_gradient(model_mesh, small_event(), **ENERGY, wavefield_compression=4)


def test_a_project_caches_compressed_gradients_under_their_own_keys(tmp_path):
    import test_project as tp

    project = tp.tiny_project(tmp_path / "p")
    actions = project.actions.inversion
    exact_path = actions.compute_gradients("sim", "energy", "event_0")["event_0"]
    compression = sf.WavefieldCompression(forward_wavefield_sampling_interval=3)
    compressed_path = actions.compute_gradients("sim", "energy", "event_0",
                                                wavefield_compression=compression)["event_0"]
    assert compressed_path != exact_path
    direct = sf.compute_gradient(project.simulations.get_mesh("sim"), project.events.get("event_0"),
                                 misfit="L2_energy_no_observed_data", wavefield_compression=compression,
                                 **tp.direct_keywords(tp.tiny_simulation()))
    tp.assert_gradient_file_equals(compressed_path, direct)
    configuration = sf.InverseProblemConfiguration(
        "inv", "sim", ["event_0"], "energy", sf.Mapping(["VP"], "relative_deviation_from_prior"),
        wavefield_compression=compression)
    rebuilt = type(configuration).from_dict(configuration.to_dict(), load_mesh=None)
    assert rebuilt.wavefield_compression == compression
