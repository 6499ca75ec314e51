"""Tests of specfwi.project: storage, hashing, registry, configurations, entities, cached results, reliability."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from specfwi.errors import ProjectError, SchemaVersionError, SpecfwiError
from specfwi.project.observed import on_time_axis
from specfwi.project.hashing import hash_arrays, hash_json, hash_mesh, hash_xarray
from specfwi.project.registry import Registry
from specfwi.project.storage import (
    atomic_path,
    read_xarray_h5,
    remove_stale_temporaries,
    staged_files,
    write_xarray_h5,
)

REPOSITORY = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- tiny project helpers

def tiny_model(name: str = "model", *, vp_offset: float = 0.0) -> sf.model.GenericModel:
    """A 600 m x 400 m model with VP and RHO increasing with depth."""
    x = np.linspace(0.0, 600.0, 4)
    y = np.linspace(-400.0, 0.0, 3)
    _, yy = np.meshgrid(x, y, indexing="ij")
    data = xr.Dataset({"vp": (["x", "y"], 1500.0 + vp_offset - yy), "rho": (["x", "y"], 1000.0 - yy)},
                      coords={"x": x, "y": y})
    return sf.model.GenericModel(name=name, data=data)


def tiny_event(name: str = "event", source_x: float = 200.0) -> sf.Event:
    return sf.Event(event_name=name, sources=sf.ScalarPoint2D(x=source_x, y=-200.0, f=1.0),
                    receivers=sf.ArrayPoint2D(x=np.array([100.0, 300.0, 500.0]), y=-20.0, fields=["phi"]))


def tiny_event_configuration(end_time_in_seconds: float = 0.25) -> sf.EventConfiguration:
    return sf.EventConfiguration(sf.Ricker(center_frequency=10.0), end_time_in_seconds)


def tiny_simulation(name: str = "sim", **overrides) -> sf.SimulationConfiguration:
    options = {"max_frequency_in_hertz": 15.0, "elements_per_wavelength": 1.0, "volume_models": "model",
               "tensor_order": 3, "event_configuration": tiny_event_configuration()}
    return sf.SimulationConfiguration(name, **{**options, **overrides})


def direct_keywords(configuration) -> dict:
    """The keywords with which sf.simulate / sf.compute_gradient run what the project runs for ``configuration``:
    the wavelet and simulated time of its event configuration, the time step and boundaries of its solver options."""
    events, options = configuration.event_configuration, configuration.solver_options()
    return dict(wavelet=events.wavelet, end_time_in_seconds=events.end_time_in_seconds,
                start_time_in_seconds=events.start_time_in_seconds, time_step_in_seconds=options.time_step_in_seconds,
                absorbing_boundaries=options.absorbing_boundaries, free_surface=options.free_surface)


def tiny_project(path, *, n_events: int = 1) -> sf.Project:
    """A project with a model, ``n_events`` events, simulation "sim" and misfit "energy"."""
    project = sf.Project.from_volume_model(path, tiny_model(), load_if_exists=True)
    project += [tiny_event(f"event_{index}", 150.0 + 150.0 * index) for index in range(n_events)]
    project += tiny_simulation()
    project += sf.MisfitConfiguration("energy", "L2_energy_no_observed_data")
    return project


class Recomputation(AssertionError):
    """Raised by a job that a test forbids to run."""


def refuse(*arguments, **options):
    raise Recomputation("a cached result was computed again")


def forbid_computation(monkeypatch) -> None:
    """Make every computation fail (meshing, simulations, gradients): results must come from the cache."""
    for target in ("specfwi.project.jobs.simulate_with_options", "specfwi.project.jobs.compute_gradient_with_options",
                   "specfwi.project.accessors.build_simulation_mesh"):
        monkeypatch.setattr(target, refuse)


# ---------------------------------------------------------------------------- storage

def test_atomic_path_renames_on_success_and_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "folder" / "file.txt"
    with atomic_path(target) as temporary:
        temporary.write_text("complete")
        assert not target.exists()
    assert target.read_text() == "complete"
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "complete"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_staged_files_publish_every_file_or_none(tmp_path):
    with staged_files(tmp_path) as staging:
        (staging / "a.h5").write_text("a")
        (staging / "a.xdmf").write_text("b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "a.xdmf"]
    with pytest.raises(RuntimeError), staged_files(tmp_path) as staging:
        (staging / "c.h5").write_text("c")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "a.xdmf"]


def test_remove_stale_temporaries_keeps_those_of_live_processes(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead_pid = int(finished.stdout)
    import socket
    host = socket.gethostname()
    dead_file = tmp_path / "sub" / f".x.h5~{host}~{dead_pid}~abcd.tmp"
    dead_folder = tmp_path / f".staging~{host}~{dead_pid}~ef01.tmp"
    live_file = tmp_path / f".y.h5~{host}~{os.getpid()}~abcd.tmp"
    other_host = tmp_path / f".z.h5~another-host~{dead_pid}~abcd.tmp"
    dead_file.parent.mkdir()
    dead_folder.mkdir()
    for file in (dead_file, live_file, other_host, dead_folder / "inner.h5"):
        file.write_text("partial")
    assert remove_stale_temporaries(tmp_path) == 2
    assert not dead_file.exists() and not dead_folder.exists()
    assert live_file.exists() and other_host.exists()


def test_xarray_h5_round_trip_keeps_values_strings_and_attributes(tmp_path):
    traces = xr.DataArray(np.random.default_rng(0).standard_normal((3, 5)), dims=("receiver", "time"),
                          coords={"receiver": ["A", "B", "C"], "time": np.linspace(0, 1, 5),
                                  "x": ("receiver", [1.0, 2.0, 3.0])}, name="phi", attrs={"unit": "m"})
    write_xarray_h5(tmp_path / "traces.h5", traces)
    assert read_xarray_h5(tmp_path / "traces.h5").identical(traces)
    dataset = tiny_model().data.assign_attrs(source="test")
    write_xarray_h5(tmp_path / "model.h5", dataset)
    assert read_xarray_h5(tmp_path / "model.h5").identical(dataset)


def test_xarray_h5_refuses_another_schema_version(tmp_path):
    write_xarray_h5(tmp_path / "model.h5", tiny_model().data)
    with h5py.File(tmp_path / "model.h5", "r+") as handle:
        handle.attrs["specfwi_schema_version"] = 99
    with pytest.raises(SchemaVersionError, match="99"):
        read_xarray_h5(tmp_path / "model.h5")


# ---------------------------------------------------------------------------- hashing

def test_hashes_follow_content_not_identity():
    rng = np.random.default_rng(1)
    values = rng.standard_normal((4, 3))
    assert hash_arrays({"a": values, "b": values[0]}) == hash_arrays({"b": values[0].copy(), "a": values.copy()})
    changed = values.copy()
    changed[2, 1] = np.nextafter(changed[2, 1], np.inf)
    assert hash_arrays({"a": values}) != hash_arrays({"a": changed})
    assert hash_arrays({"a": values}) != hash_arrays({"a": values.astype(np.float32)})
    assert hash_json({"x": 1.0, "y": [1, 2]}) == hash_json({"y": [1, 2], "x": 1.0})
    assert hash_json({"x": 0.1}) != hash_json({"x": np.nextafter(0.1, 1.0)})
    model = tiny_model()
    assert hash_xarray(model.data) == hash_xarray(tiny_model().data)
    assert hash_xarray(model.data) != hash_xarray(tiny_model(vp_offset=1e-9).data)
    mesh = sf.mesh.rectangle((0, 1), (0, 1), 2, 2, tensor_order=2)
    mesh.attach_field("VP", np.ones((4, 9)))
    copy = mesh.copy()
    assert hash_mesh(copy) == hash_mesh(mesh)
    copy.element_nodal_fields["VP"][3, 4] = 2.0
    assert hash_mesh(copy) != hash_mesh(mesh)


# ---------------------------------------------------------------------------- registry

def test_registry_adds_idempotently_and_refuses_a_taken_name(tmp_path):
    registry = Registry(tmp_path / "registry.sqlite", create=True)
    assert registry.add_entity("event", "a", "hash-1", {"value": 1})
    assert not registry.add_entity("event", "a", "hash-1", {"value": 1})
    with pytest.raises(ProjectError, match="new name"):
        registry.add_entity("event", "a", "hash-2", {"value": 2})
    assert Registry(tmp_path / "registry.sqlite").get_entity("event", "a").payload == {"value": 1}
    with pytest.raises(ProjectError, match="no project registry"):
        Registry(tmp_path / "missing.sqlite")


# ---------------------------------------------------------------------------- configurations

@pytest.mark.parametrize("build, parameter", [
    (lambda: sf.EventConfiguration(sf.Ricker(center_frequency=5.0), 0.0), "end_time_in_seconds"),
    (lambda: sf.EventConfiguration(sf.Ricker(center_frequency=5.0), -1.0), "end_time_in_seconds"),
    (lambda: sf.EventConfiguration(sf.Ricker(center_frequency=5.0), 1.0, start_time_in_seconds=2.0),
     "start_time_in_seconds"),
    (lambda: sf.EventConfiguration(sf.Ricker(center_frequency=5.0), 1.0, time_step_in_seconds=0.0),
     "time_step_in_seconds"),
    (lambda: sf.EventConfiguration(lambda t: t, 1.0), "wavelet"),
    (lambda: tiny_simulation(max_frequency_in_hertz=-1.0), "max_frequency_in_hertz"),
    (lambda: tiny_simulation(elements_per_wavelength=float("nan")), "elements_per_wavelength"),
    (lambda: tiny_simulation(volume_models=[]), "volume_models"),
    (lambda: tiny_simulation(tensor_order=0), "tensor_order"),
    (lambda: tiny_simulation(free_surface="yes"), "free_surface"),
    (lambda: tiny_simulation(event_configuration=None), "event_configuration"),
    (lambda: tiny_simulation(name=""), "name"),
    (lambda: sf.MisfitConfiguration("m", "L3"), "misfit_function"),
    (lambda: sf.MisfitConfiguration("m", "L2"), "observed_data"),
    (lambda: sf.MisfitConfiguration("m", "L2_energy_no_observed_data", observed_data="sim"), "observed_data"),
    (lambda: sf.MisfitConfiguration("m", "L2_energy_no_observed_data", receiver_field="u"), "receiver_field"),
    (lambda: sf.MisfitConfiguration("m", "L2_energy_no_observed_data", bandpass=(0.0, 10.0)), "bandpass"),
    (lambda: sf.MisfitConfiguration("m", "L2_energy_no_observed_data", bandpass=(10.0, 5.0)), "bandpass"),
    (lambda: sf.MisfitConfiguration("m", "L2_energy_no_observed_data", bandpass=10.0), "bandpass"),
    (lambda: sf.MisfitConfiguration("m", "L2_energy_no_observed_data", mute=(1500.0, 0.7)), "mute"),
    (lambda: sf.UnstructuredMeshSimulationConfiguration("u", sf.mesh.rectangle((0, 1), (0, 1), 1, 1),
                                                        tiny_event_configuration()), "unstructured_mesh"),
])
def test_configurations_validate_at_construction(build, parameter):
    with pytest.raises(SpecfwiError, match=f"'{parameter}"):
        build()


def test_configurations_round_trip_through_dicts():
    event_configuration = sf.EventConfiguration(sf.Ricker(center_frequency=4.0), 2.0, start_time_in_seconds=-0.5,
                                                time_step_in_seconds=1e-3)
    assert sf.EventConfiguration.from_dict(json.loads(json.dumps(event_configuration.to_dict()))) == \
        event_configuration
    simulation = tiny_simulation(volume_models=["model", "patch"], free_surface=True)
    assert sf.SimulationConfiguration.from_dict(json.loads(json.dumps(simulation.to_dict()))) == simulation
    assert simulation != tiny_simulation()
    misfit = sf.MisfitConfiguration("cc", "cross_correlation_time_shift", observed_data="data")
    assert sf.MisfitConfiguration.from_dict(misfit.to_dict()) == misfit
    # without a band-pass the description is the one projects stored before band-passes existed
    assert misfit.to_dict() == {"type": "MisfitConfiguration", "name": "cc", "misfit_function":
                                "cross_correlation_time_shift", "receiver_field": "phi", "observed_data": "data"}
    band = sf.MisfitConfiguration("cc", "cross_correlation_time_shift", observed_data="data", bandpass=(2.0, 8.0))
    assert sf.MisfitConfiguration.from_dict(json.loads(json.dumps(band.to_dict()))) == band
    assert band.bandpass == sf.misfit.Bandpass(2.0, 8.0) and band != misfit
    assert band != sf.MisfitConfiguration("cc", "cross_correlation_time_shift", observed_data="data",
                                          bandpass=sf.misfit.Bandpass(2.0, 8.0, order=6))
    muted = sf.MisfitConfiguration("cc", "cross_correlation_time_shift", observed_data="data",
                                   mute=sf.TopMute(1500.0, 0.7))
    assert sf.MisfitConfiguration.from_dict(json.loads(json.dumps(muted.to_dict()))) == muted
    assert muted != misfit and muted != sf.MisfitConfiguration("cc", "cross_correlation_time_shift",
                                                               observed_data="data", mute=sf.TopMute(1500.0, 0.8))


# ---------------------------------------------------------------------------- project and entities

def test_project_creation_and_opening_errors(tmp_path):
    with pytest.raises(ProjectError, match="no specfwi project"):
        sf.Project(tmp_path / "missing")
    project = sf.Project.from_volume_model(tmp_path / "p", tiny_model())
    with pytest.raises(ProjectError, match="load_if_exists=True"):
        sf.Project.from_volume_model(tmp_path / "p", tiny_model())
    assert sf.Project.from_volume_model(tmp_path / "p", tiny_model(), load_if_exists=True).path == project.path
    (tmp_path / "not_empty").mkdir()
    (tmp_path / "not_empty" / "notes.txt").write_text("keep me")
    with pytest.raises(ProjectError, match="not an empty folder"):
        sf.Project.from_volume_model(tmp_path / "not_empty", tiny_model())
    with pytest.raises(ProjectError, match="new name"):
        sf.Project.from_volume_model(tmp_path / "p", tiny_model(vp_offset=10.0), load_if_exists=True)
    with pytest.raises(SpecfwiError, match="'entity' must be one of"):
        project += "event"


def test_entities_are_added_once_and_reopen_equal(tmp_path):
    project = tiny_project(tmp_path / "p", n_events=2)
    project += tiny_event("event_0", 150.0)
    with pytest.raises(ProjectError, match="new name"):
        project += tiny_event("event_0", 160.0)
    with pytest.raises(ProjectError, match="new name"):
        project += tiny_simulation(event_configuration=tiny_event_configuration(0.5))
    reopened = sf.Project(tmp_path / "p")
    assert reopened.events.list() == ["event_0", "event_1"]
    assert reopened.events.get("event_1") == tiny_event("event_1", 300.0)
    assert reopened.simulations.get("sim") == tiny_simulation()
    assert reopened.entities.get("volume_model", "model") == tiny_model()
    assert reopened.entities.get("misfit_configuration", "energy") == \
        sf.MisfitConfiguration("energy", "L2_energy_no_observed_data")
    with pytest.raises(ProjectError, match=r"'event' must be one of the project's events \['event_0', 'event_1'\]"):
        reopened.events.get("event_2")


def test_get_mesh_builds_once_and_matches_meshing_the_model(tmp_path, monkeypatch):
    project = tiny_project(tmp_path / "p")
    mesh = project.simulations.get_mesh("sim")
    direct = sf.mesh.from_volume_model(tiny_model(), max_frequency_in_hertz=15.0, elements_per_wavelength=1.0,
                                       tensor_order=3)
    assert hash_mesh(mesh) == hash_mesh(direct)
    forbid_computation(monkeypatch)
    assert hash_mesh(sf.Project(tmp_path / "p").simulations.get_mesh("sim")) == hash_mesh(direct)


def test_layered_volume_models_overwrite_where_they_cover(tmp_path):
    project = tiny_project(tmp_path / "p")
    x, y = np.linspace(0.0, 300.0, 2), np.linspace(-200.0, 0.0, 2)
    patch = xr.Dataset({"vp": (["x", "y"], np.full((2, 2), 3000.0)), "rho": (["x", "y"], np.full((2, 2), 2000.0))},
                       coords={"x": x, "y": y})
    project += sf.model.GenericModel(name="patch", data=patch)
    project += tiny_simulation("layered", volume_models=["model", "patch"])
    mesh = project.simulations.get_mesh("layered")
    # in the absorbing layers the properties are those of the box's edge
    nodes = mesh.absorbing_layers.clip_to_box(mesh.get_element_nodes().reshape(-1, 2)).reshape(
        mesh.n_elements, mesh.n_gll, 2)
    inside = (nodes[..., 0] <= 300.0) & (nodes[..., 1] >= -200.0)
    np.testing.assert_allclose(mesh.element_nodal_fields["VP"][inside], 3000.0, rtol=1e-12)
    outside = ~inside
    expected = tiny_model().sample(nodes[outside])["VP"]
    np.testing.assert_allclose(mesh.element_nodal_fields["VP"][outside], expected, rtol=1e-12)
    # the element size follows the smallest velocity of all models (the layers' width, the largest on the edge)
    in_box = (~mesh.layer_element_mask).sum()
    assert in_box == (~project.simulations.get_mesh("sim").layer_element_mask).sum()


def test_waveforms_equal_a_direct_simulation_and_are_reused(tmp_path, monkeypatch, caplog):
    project = tiny_project(tmp_path / "p")
    traces = project.waveforms.get("sim", "event_0")
    configuration = tiny_simulation()
    direct = sf.simulate(project.simulations.get_mesh("sim"), tiny_event("event_0", 150.0),
                         **direct_keywords(configuration))
    xr.testing.assert_identical(traces, direct)
    forbid_computation(monkeypatch)
    with caplog.at_level(logging.INFO, logger="specfwi"):
        again = sf.Project(tmp_path / "p").waveforms.get("sim", "event_0")
    xr.testing.assert_identical(again, direct)
    assert "Reusing cached waveforms" in caplog.text


def test_user_mesh_configuration_simulates_on_that_mesh(tmp_path):
    project = tiny_project(tmp_path / "p")
    mesh = sf.mesh.rectangle((0.0, 600.0), (-400.0, 0.0), 5, 3, tensor_order=3)
    n_nodes = mesh.n_gll
    mesh.attach_field("VP", np.full((mesh.n_elements, n_nodes), 1600.0))
    mesh.attach_field("RHO", np.full((mesh.n_elements, n_nodes), 1100.0))
    configuration = sf.UnstructuredMeshSimulationConfiguration("own", mesh, tiny_event_configuration())
    project += configuration
    project += sf.UnstructuredMeshSimulationConfiguration("own", mesh.copy(), tiny_event_configuration())
    reopened = sf.Project(tmp_path / "p")
    assert reopened.simulations.get("own") == configuration
    assert hash_mesh(reopened.simulations.get_mesh("own")) == hash_mesh(mesh)
    direct = sf.simulate(mesh, tiny_event("event_0", 150.0), **direct_keywords(configuration))
    xr.testing.assert_identical(reopened.waveforms.get("own", "event_0"), direct)


def test_observed_data_import_checks_receivers_and_round_trips(tmp_path):
    project = tiny_project(tmp_path / "p")
    event = tiny_event("event_0", 150.0)
    time_axis = np.linspace(-0.025, 0.25, 12)  # covers the simulated time, which starts with the wavelet at -0.0125 s
    observed = xr.DataArray(np.random.default_rng(2).standard_normal((3, 12)), dims=("receiver", "time"),
                            coords={"receiver": [r.name for r in event.receivers], "time": time_axis}, name="phi")
    project.waveforms.add_observed("field_data", "event_0", observed)
    project.waveforms.add_observed("field_data", "event_0", observed.copy())
    with pytest.raises(ProjectError, match="new name"):
        project.waveforms.add_observed("field_data", "event_0", observed * 2.0)
    with pytest.raises(SpecfwiError, match="receiver names"):
        project.waveforms.add_observed("other", "event_0", observed.assign_coords(receiver=["a", "b", "c"]))
    with pytest.raises(ProjectError, match="simulation configuration"):
        project.waveforms.add_observed("sim", "event_0", observed)
    with pytest.raises(ProjectError, match="observed data"):
        project += tiny_simulation("field_data")
    reopened = sf.Project(tmp_path / "p")
    assert reopened.waveforms.list_observed() == [("field_data", "event_0")]
    xr.testing.assert_identical(reopened.waveforms.get_observed("field_data", "event_0"), observed)
    with pytest.raises(ProjectError, match="add_observed"):
        reopened.waveforms.get_observed("missing", "event_0")


# ---------------------------------------------------------------------------- actions

def direct_gradient(project: sf.Project, event_name: str, misfit="L2_energy_no_observed_data", observed=None):
    """The gradient computed without the project, from the same mesh and configuration."""
    return sf.compute_gradient(project.simulations.get_mesh("sim"), project.events.get(event_name), misfit=misfit,
                               observed=observed, **direct_keywords(tiny_simulation()))


def assert_gradient_file_equals(path: str, expected) -> None:
    raw = sf.UnstructuredMesh.from_h5(path)
    assert sorted(raw.element_nodal_fields) == ["RHO", "VP"]
    for parameter in ("VP", "RHO"):
        np.testing.assert_array_equal(raw.element_nodal_fields[parameter],
                                      expected.gradient.element_nodal_fields[parameter])
    np.testing.assert_array_equal(raw.vertices, expected.gradient.vertices)


def test_gradients_equal_a_direct_computation_and_are_reused(tmp_path, monkeypatch, caplog):
    project = tiny_project(tmp_path / "p")
    gradients = project.actions.inversion.compute_gradients("sim", "energy", project.events.list())
    expected = direct_gradient(project, "event_0")
    assert list(gradients) == ["event_0"]
    assert_gradient_file_equals(gradients["event_0"], expected)
    assert np.abs(expected.gradient.element_nodal_fields["VP"]).max() > 0.0
    assert project.actions.inversion.compute_misfits("sim", "energy") == {"event_0": expected.misfit}
    forbid_computation(monkeypatch)
    with caplog.at_level(logging.INFO, logger="specfwi"):
        again = sf.Project(tmp_path / "p").actions.inversion.compute_gradients("sim", "energy", "event_0")
    assert again == gradients
    assert "Reusing cached gradients of 'sim' with 'energy' for 1 event(s): event_0" in caplog.text


def test_misfits_from_waveforms_match_the_solver(tmp_path):
    project = tiny_project(tmp_path / "p")
    energy = project.actions.inversion.compute_misfits("sim", "energy", "event_0")
    assert energy["event_0"] == pytest.approx(sf.compute_misfit(
        project.simulations.get_mesh("sim"), project.events.get("event_0"), misfit="L2_energy_no_observed_data",
        **direct_keywords(tiny_simulation())), rel=1e-12)


def test_observed_data_from_another_simulation_configuration(tmp_path):
    project = tiny_project(tmp_path / "p")
    project += tiny_model("true_model", vp_offset=100.0)
    fixed_step = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25, time_step_in_seconds=0.01)
    project += [tiny_simulation("sim_fixed_step", event_configuration=fixed_step),
                tiny_simulation("true_fixed_step", volume_models="true_model", event_configuration=fixed_step),
                tiny_simulation("true", volume_models="true_model"),
                sf.MisfitConfiguration("l2_fixed_step", "L2", observed_data="true_fixed_step"),
                sf.MisfitConfiguration("l2", "L2", observed_data="true")]
    # equal time axes: the project's misfit is the solver's
    misfits = project.actions.inversion.compute_misfits("sim_fixed_step", "l2_fixed_step", "event_0")
    observed = project.waveforms.get("true_fixed_step", "event_0")
    assert misfits["event_0"] > 0.0
    assert misfits["event_0"] == pytest.approx(sf.compute_misfit(
        project.simulations.get_mesh("sim"), project.events.get("event_0"), misfit="L2", observed=observed,
        **direct_keywords(tiny_simulation(event_configuration=fixed_step))), rel=1e-12)
    assert project.actions.inversion.compute_misfits("true_fixed_step", "l2_fixed_step", "event_0") == \
        {"event_0": 0.0}
    # automatic time steps differ between the models: observed data are resampled onto the synthetic axis
    assert project.waveforms.get("true", "event_0").sizes["time"] != project.waveforms.get("sim", "event_0").sizes[
        "time"]
    gradients = project.actions.inversion.compute_gradients("sim", "l2", "event_0")
    synthetic = project.waveforms.get("sim", "event_0")
    expected = sf.misfit.get_misfit("L2")(synthetic, on_time_axis(project.waveforms.get("true", "event_0"),
                                                                  synthetic["time"].values)).value
    assert project.actions.inversion.compute_misfits("sim", "l2", "event_0") == {"event_0": expected}
    assert np.abs(sf.UnstructuredMesh.from_h5(gradients["event_0"]).element_nodal_fields["VP"]).max() > 0.0


def test_a_band_above_the_nyquist_frequency_of_an_explicit_time_step_is_refused_before_any_simulation(
        tmp_path, monkeypatch):
    project = tiny_project(tmp_path / "p")
    fixed_step = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25, time_step_in_seconds=2e-3)
    project += [tiny_simulation("sim_fixed_step", event_configuration=fixed_step),
                tiny_simulation("true_fixed_step", event_configuration=fixed_step),
                sf.MisfitConfiguration("above_nyquist", "L2", observed_data="true_fixed_step", bandpass=(5.0, 300.0))]
    forbid_computation(monkeypatch)  # any simulation, of the synthetics or of the observed data, would raise
    for compute in (project.actions.inversion.compute_misfits, project.actions.inversion.compute_gradients):
        with pytest.raises(SpecfwiError, match=r"'bandpass' must be .*below the Nyquist frequency of the traces, "
                                               r"250\.0 Hz"):
            compute("sim_fixed_step", "above_nyquist", "event_0")


def test_bandpassed_misfit_configurations_filter_synthetic_and_observed_traces_alike(tmp_path):
    project = tiny_project(tmp_path / "p")
    project += tiny_model("true_model", vp_offset=100.0)
    fixed_step = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25, time_step_in_seconds=2e-3)
    automatic_step = tiny_event_configuration(0.6)  # about 46 samples: more than the band-pass's padding
    project += [tiny_simulation("sim_fixed_step", event_configuration=fixed_step),
                tiny_simulation("true_fixed_step", volume_models="true_model", event_configuration=fixed_step),
                tiny_simulation("sim_automatic_step", event_configuration=automatic_step),
                tiny_simulation("true_automatic_step", volume_models="true_model", event_configuration=automatic_step)]
    bands = {"l2": None, "l2_band": (5.0, 20.0), "l2_other_band": (5.0, 15.0)}
    project += [sf.MisfitConfiguration(f"{name}{suffix}", "L2", observed_data=f"true{suffix}", bandpass=band)
                for name, band in bands.items() for suffix in ("_fixed_step", "_automatic_step")]
    # equal time axes: the project's gradient is the solver's with the same band-pass
    gradients = project.actions.inversion.compute_gradients("sim_fixed_step", "l2_band_fixed_step", "event_0")
    mesh, event = project.simulations.get_mesh("sim_fixed_step"), project.events.get("event_0")
    observed = project.waveforms.get("true_fixed_step", "event_0")
    expected = sf.compute_gradient(mesh, event, misfit="L2", observed=observed, bandpass=(5.0, 20.0),
                                   **direct_keywords(tiny_simulation(event_configuration=fixed_step)))
    raw = sf.UnstructuredMesh.from_h5(gradients["event_0"])
    for parameter in ("VP", "RHO"):
        np.testing.assert_allclose(raw.element_nodal_fields[parameter],
                                   expected.gradient.element_nodal_fields[parameter], rtol=1e-12, atol=0.0)
    assert project.actions.inversion.compute_misfits("sim_fixed_step", "l2_band_fixed_step") == \
        {"event_0": expected.misfit}
    # other time axes: observed data resampled onto the synthetic one, then filtered; each band cached apart
    synthetic = project.waveforms.get("sim_automatic_step", "event_0")
    observed = on_time_axis(project.waveforms.get("true_automatic_step", "event_0"), synthetic["time"].values)
    misfits = {name: project.actions.inversion.compute_misfits("sim_automatic_step", f"{name}_automatic_step",
                                                               "event_0")["event_0"] for name in bands}
    for name, band in bands.items():
        assert misfits[name] == pytest.approx(sf.misfit.get_misfit("L2", bandpass=band)(synthetic, observed).value,
                                              rel=1e-12)
    assert min(abs(a - b) / max(a, b) for a, b in itertools.combinations(misfits.values(), 2)) > 0.01
    project += sf.MisfitConfiguration("above_nyquist", "L2", observed_data="true_fixed_step", bandpass=(5.0, 300.0))
    with pytest.raises(SpecfwiError, match=r"'bandpass' must be .*below the Nyquist frequency of the traces, 250\.0 "):
        project.actions.inversion.compute_gradients("sim_fixed_step", "above_nyquist", "event_0")


def test_muted_misfit_configurations_weight_each_event_by_its_own_offsets(tmp_path):
    project = tiny_project(tmp_path / "p", n_events=2)
    project += tiny_model("true_model", vp_offset=100.0)
    fixed_step = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25, time_step_in_seconds=2e-3)
    project += [tiny_simulation("sim_fixed_step", event_configuration=fixed_step),
                tiny_simulation("true_fixed_step", volume_models="true_model", event_configuration=fixed_step)]
    mute = sf.TopMute(8000.0, 0.15, taper_width_in_seconds=0.02)
    project += [sf.MisfitConfiguration("l2", "L2", observed_data="true_fixed_step"),
                sf.MisfitConfiguration("l2_muted", "L2", observed_data="true_fixed_step", mute=mute)]
    mesh = project.simulations.get_mesh("sim_fixed_step")
    gradients = project.actions.inversion.compute_gradients("sim_fixed_step", "l2_muted")
    misfits = project.actions.inversion.compute_misfits("sim_fixed_step", "l2_muted")
    unmuted = project.actions.inversion.compute_misfits("sim_fixed_step", "l2")
    for name in ("event_0", "event_1"):
        event = project.events.get(name)
        windows = mute.windows(event, 0.25)
        assert len(windows) == 3   # every receiver keeps part of its trace
        expected = sf.compute_gradient(mesh, event, misfit="L2", observed=project.waveforms.get("true_fixed_step", name),
                                       window=windows, **direct_keywords(tiny_simulation(event_configuration=fixed_step)))
        raw = sf.UnstructuredMesh.from_h5(gradients[name])
        for parameter in ("VP", "RHO"):
            np.testing.assert_allclose(raw.element_nodal_fields[parameter],
                                       expected.gradient.element_nodal_fields[parameter], rtol=1e-12, atol=0.0)
        assert misfits[name] == expected.misfit
        assert 0.0 < misfits[name] < 0.99 * unmuted[name]
    # the events' sources are 150 m apart: their receivers' windows open at other times
    starts = [[window.start_in_seconds for window in mute.windows(project.events.get(name), 0.25).values()]
              for name in ("event_0", "event_1")]
    assert not np.allclose(starts[0], starts[1])


def test_a_mute_that_leaves_an_event_no_receiver_is_refused_before_any_simulation(tmp_path, monkeypatch):
    project = tiny_project(tmp_path / "p")
    project += sf.MisfitConfiguration("muted_out", "L2", observed_data="sim", mute=sf.TopMute(2000.0, 0.2))
    forbid_computation(monkeypatch)  # any simulation, of the synthetics or of the observed data, would raise
    for compute in (project.actions.inversion.compute_misfits, project.actions.inversion.compute_gradients):
        with pytest.raises(SpecfwiError, match=r"'mute' must be a mute that keeps part of event 'event_0'.s traces: "
                                               r".*0\.25 s"):
            compute("sim", "muted_out", "event_0")


def test_observed_traces_are_resampled_onto_the_synthetic_time_axis():
    def gaussian_traces(time):
        centers = np.array([[0.3], [0.5]])
        return xr.DataArray(np.exp(-0.5 * ((time[None, :] - centers) / 0.05) ** 2), dims=("receiver", "time"),
                            coords={"receiver": ["A", "B"], "time": time}, name="phi")
    observed = gaussian_traces(np.arange(101) * 0.01)
    xr.testing.assert_identical(on_time_axis(observed, observed["time"].values), observed)
    target_time = np.linspace(0.0, 1.0, 77)
    resampled = on_time_axis(observed, target_time)
    np.testing.assert_allclose(resampled.values, gaussian_traces(target_time).values, rtol=0.0, atol=2e-3)
    assert list(resampled["receiver"].values) == ["A", "B"]
    with pytest.raises(ProjectError, match="observed data span"):
        on_time_axis(observed, np.linspace(0.0, 1.2, 50))


def double_energy(synthetic, observed):
    """Twice the L2 energy: its gradient is exactly twice the energy's."""
    value, adjoint_source = sf.misfit.get_misfit("L2_energy_no_observed_data")(synthetic)
    return 2.0 * value, 2.0 * adjoint_source


def test_callable_misfits_are_stored_by_reference(tmp_path):
    project = tiny_project(tmp_path / "p")
    project += sf.MisfitConfiguration("double", double_energy)
    project += sf.MisfitConfiguration("session_only", lambda synthetic, observed: double_energy(synthetic, observed))
    reopened = sf.Project(tmp_path / "p")
    double = reopened.actions.inversion.compute_gradients("sim", "double", "event_0")
    energy = reopened.actions.inversion.compute_gradients("sim", "energy", "event_0")
    for parameter in ("VP", "RHO"):
        np.testing.assert_allclose(sf.UnstructuredMesh.from_h5(double["event_0"]).element_nodal_fields[parameter],
                                   2.0 * sf.UnstructuredMesh.from_h5(energy["event_0"]).element_nodal_fields[parameter],
                                   rtol=1e-12)
    assert project.actions.inversion.compute_misfits("sim", "session_only", "event_0") == \
        reopened.actions.inversion.compute_misfits("sim", "double", "event_0")
    with pytest.raises(ProjectError, match="cannot be imported"):
        reopened.actions.inversion.compute_misfits("sim", "session_only", "event_0")


def test_not_waiting_returns_finished_events_and_collects_the_rest_later(tmp_path):
    project = tiny_project(tmp_path / "p", n_events=2)
    gradients, calls = {}, 0
    while len(gradients) < 2:
        gradients = project.actions.inversion.compute_gradients("sim", "energy", wait=False)
        calls += 1
        time.sleep(0.05)
    assert calls >= 2  # the first call returned before both events were computed
    for event in ("event_0", "event_1"):
        assert_gradient_file_equals(gradients[event], direct_gradient(project, event))


# ---------------------------------------------------------------------------- reliability

def run_script(body: str, *arguments, **popen_options) -> subprocess.Popen:
    """Start a Python process that has this test module importable as ``tp``."""
    script = f"import logging, sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\nimport test_project as tp\n" \
             f"logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n" \
             + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", script, *map(str, arguments)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **popen_options)


def test_a_killed_computation_leaves_a_project_that_completes_with_equal_results(tmp_path, caplog):
    process = run_script("""
        project = tp.tiny_project(sys.argv[1], n_events=3)
        project.actions.inversion.compute_gradients("sim", "energy")
    """, tmp_path / "p")
    output = []
    for line in process.stdout:
        output.append(line)
        if "Starting gradients" in line and "event_1" in line:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(output)
    project = sf.Project(tmp_path / "p")
    assert not list((tmp_path / "p").rglob(".*.tmp"))
    with caplog.at_level(logging.INFO, logger="specfwi"):
        gradients = project.actions.inversion.compute_gradients("sim", "energy")
    assert "Reusing cached gradients of 'sim' with 'energy' for 1 event(s): event_0" in caplog.text
    assert sorted(gradients) == ["event_0", "event_1", "event_2"]
    for event, path in gradients.items():
        assert_gradient_file_equals(path, direct_gradient(project, event))


def wait_for_both(folder: Path, name: str) -> None:
    """A barrier: mark ``name`` ready and wait until two parties are."""
    (folder / f"ready_{name}").touch()
    while len(list(folder.glob("ready_*"))) < 2:
        time.sleep(0.01)


def add_event_and_compute(folder: Path, name: str, source_x: float) -> None:
    project = tiny_project(folder)
    project += tiny_event(name, source_x)
    project.actions.inversion.compute_gradients("sim", "energy", name)


def test_two_processes_share_a_project(tmp_path, monkeypatch):
    other = run_script("""
        import pathlib
        folder = pathlib.Path(sys.argv[1])
        tp.wait_for_both(folder.parent, "other")
        tp.add_event_and_compute(folder, "b", 350.0)
    """, tmp_path / "p")
    wait_for_both(tmp_path, "this")
    add_event_and_compute(tmp_path / "p", "a", 250.0)
    output, _ = other.communicate(timeout=120)
    assert other.returncode == 0, output
    project = sf.Project(tmp_path / "p")
    assert sorted(project.events.list()) == ["a", "b", "event_0"]
    forbid_computation(monkeypatch)
    gradients = project.actions.inversion.compute_gradients("sim", "energy", ["a", "b"])
    for event, path in gradients.items():
        assert_gradient_file_equals(path, direct_gradient(project, event))


# ---------------------------------------------------------------------------- the north-star example

def north_star(folder: Path):
    """The example of the README up to the raw gradient, as written, at a tiny size."""
    x = np.linspace(0.0, 600.0, 10); y = np.linspace(-400.0, 0.0, 10)  # noqa: E702
    xx, yy = np.meshgrid(x, y, indexing="ij")
    ds = xr.Dataset({"vp": (["x", "y"], 1500.0 - yy), "rho": (["x", "y"], 1000.0 - yy)},
                    coords={"x": x, "y": y})

    p = sf.Project.from_volume_model(folder, sf.model.GenericModel(name="model", data=ds),
                                     load_if_exists=True)
    src = sf.ScalarPoint2D(x=200.0, y=-200.0, f=1.0)
    rec = sf.ArrayPoint2D(x=np.linspace(50.0, 550.0, 10), y=0.0, fields=["phi"])
    p += sf.Event(event_name="event", sources=src, receivers=rec)
    ec = sf.EventConfiguration(wavelet=sf.Ricker(center_frequency=10.0), end_time_in_seconds=0.25)
    p += sf.SimulationConfiguration(name="sim", max_frequency_in_hertz=15.0,
                                    elements_per_wavelength=1.0, volume_models="model",
                                    event_configuration=ec, tensor_order=3)
    p += sf.MisfitConfiguration(name="energy", misfit_function="L2_energy_no_observed_data",
                                receiver_field="phi")
    gradients = p.actions.inversion.compute_gradients(
        simulation_configuration="sim", misfit_configuration="energy", events=p.events.list())
    raw = sf.UnstructuredMesh.from_h5(gradients["event"])          # simulation space
    return p, raw


def test_north_star_example_runs_twice_and_reuses_everything(tmp_path, monkeypatch, caplog):
    project, raw = north_star(tmp_path / "proj")
    mesh = project.simulations.get_mesh("sim")
    for parameter in ("VP", "RHO"):
        values = raw.element_nodal_fields[parameter]
        assert values.shape == (mesh.n_elements, mesh.n_gll)
        assert np.all(np.isfinite(values)) and np.abs(values).max() > 0.0
    forbid_computation(monkeypatch)
    with caplog.at_level(logging.INFO, logger="specfwi"):
        _, again = north_star(tmp_path / "proj")
    assert "Reusing cached gradients" in caplog.text
    for parameter in ("VP", "RHO"):
        np.testing.assert_array_equal(again.element_nodal_fields[parameter], raw.element_nodal_fields[parameter])
