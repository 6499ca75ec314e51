"""Reliability of projects as a user damages them: cache verification, damaged registries and their repair,
read-only storage, observed data checked on import (docs/reliability.md)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from specfwi.errors import ProjectError
from specfwi.project.project import REGISTRY_FILE_NAME
from test_project import Recomputation, forbid_computation, tiny_project

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def computed_project(tmp_path_factory) -> Path:
    """A tiny project with its mesh, traces, misfit and gradient computed once; tests work on copies."""
    folder = tmp_path_factory.mktemp("computed") / "proj"
    project = tiny_project(folder)
    project.actions.inversion.compute_gradients("sim", "energy")
    return folder


@pytest.fixture
def project_copy(computed_project, tmp_path) -> Path:
    folder = tmp_path / "proj"
    shutil.copytree(computed_project, folder)
    return folder


def gradient_file(folder: Path) -> Path:
    (path,) = (folder / "gradients").glob("*.h5")
    return path


def read_gradient_sum(path) -> float:
    return float(sf.UnstructuredMesh.from_h5(path).element_nodal_fields["VP"].sum())


# ---------------------------------------------------------------------------- cache verification

def overwrite_bytes(path: Path, n_bytes: int = 400) -> None:
    """Overwrite ``n_bytes`` in the middle of a file, as a disk or a careless user would."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\x7f" * n_bytes)


def truncate_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [overwrite_bytes, truncate_to_half, Path.unlink])
def test_a_damaged_gradient_file_is_logged_and_recomputed(project_copy, damage, caplog):
    expected = read_gradient_sum(gradient_file(project_copy))
    damage(gradient_file(project_copy))
    project = sf.Project(project_copy)
    with caplog.at_level(logging.WARNING, logger="specfwi"):
        paths = project.actions.inversion.compute_gradients("sim", "energy")
    assert "computing it again" in caplog.text and "gradients/" in caplog.text
    assert read_gradient_sum(paths["event_0"]) == expected
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="specfwi"):
        sf.Project(project_copy).actions.inversion.compute_gradients("sim", "energy")
    assert "Reusing cached gradients" in caplog.text and "computing it again" not in caplog.text


@pytest.mark.parametrize("folder", ["meshes", "waveforms"])
def test_damaged_meshes_and_traces_are_recomputed(project_copy, folder, monkeypatch):
    expected = sf.Project(project_copy).waveforms.get("sim", "event_0").values
    for path in (project_copy / folder).glob("*.h5"):
        truncate_to_half(path)
    assert np.array_equal(sf.Project(project_copy).waveforms.get("sim", "event_0").values, expected)
    forbid_computation(monkeypatch)  # now intact again: reused
    assert np.array_equal(sf.Project(project_copy).waveforms.get("sim", "event_0").values, expected)


def test_a_cached_result_is_verified_not_recomputed(project_copy, monkeypatch):
    forbid_computation(monkeypatch)
    paths = sf.Project(project_copy).actions.inversion.compute_gradients("sim", "energy")
    assert Path(paths["event_0"]).is_file()
    overwrite_bytes(gradient_file(project_copy))
    with pytest.raises(Recomputation):
        sf.Project(project_copy).actions.inversion.compute_gradients("sim", "energy")


def test_a_damaged_imported_file_raises_naming_it(project_copy):
    project = sf.Project(project_copy)
    (model_file,) = (project_copy / "models").glob("*.h5")
    with h5py.File(model_file, "r+") as handle:  # still a valid HDF5 file, with other numbers
        handle["data_vars/vp"][0, 0] += 1.0
    project = sf.Project(project_copy)
    with pytest.raises(ProjectError, match=f"{model_file.name}.*imported.*restore"):
        project.entities.get("volume_model", "model")
    truncate_to_half(model_file)
    with pytest.raises(ProjectError, match=f"{model_file.name}.*cannot be read"):
        sf.Project(project_copy).entities.get("volume_model", "model")


# ---------------------------------------------------------------------------- damaged registries and repair

def empty_registry(folder: Path) -> None:
    (folder / REGISTRY_FILE_NAME).write_bytes(b"")


def garbage_registry(folder: Path) -> None:
    (folder / REGISTRY_FILE_NAME).write_bytes(os.urandom(3000))


def deleted_registry(folder: Path) -> None:
    (folder / REGISTRY_FILE_NAME).unlink()


def dropped_table_registry(folder: Path) -> None:
    import sqlite3

    connection = sqlite3.connect(folder / REGISTRY_FILE_NAME)
    connection.execute("DROP TABLE entities")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("damage", [empty_registry, garbage_registry, deleted_registry, dropped_table_registry])
def test_a_damaged_registry_is_refused_and_repaired(project_copy, damage, monkeypatch):
    expected = read_gradient_sum(gradient_file(project_copy))
    for extra in ("-wal", "-shm"):
        (project_copy / (REGISTRY_FILE_NAME + extra)).unlink(missing_ok=True)
    damage(project_copy)
    registry = project_copy / REGISTRY_FILE_NAME
    damaged_bytes = registry.read_bytes() if registry.exists() else None
    with pytest.raises(ProjectError, match="repair"):
        sf.Project(project_copy)
    assert (registry.read_bytes() if registry.exists() else None) == damaged_bytes  # never silently replaced

    report = sf.Project.repair(project_copy)
    if damaged_bytes is not None:
        assert report.damaged_registry.read_bytes() == damaged_bytes
    assert any("misfit values" in item for item in report.not_rebuilt)
    project = sf.Project(project_copy)
    assert project.events.list() == ["event_0"]
    assert project.simulations.list() == ["sim"]
    assert project.entities.list("misfit_configuration") == ["energy"]
    forbid_computation(monkeypatch)
    paths = project.actions.inversion.compute_gradients("sim", "energy")
    assert read_gradient_sum(paths["event_0"]) == expected
    assert str(sf.Project.repair(project_copy)).endswith("nothing to repair")


def test_repair_without_entity_copies_keeps_results_by_content(project_copy, monkeypatch):
    shutil.rmtree(project_copy / "entities")  # a project written before the copies existed
    empty_registry(project_copy)
    report = sf.Project.repair(project_copy)
    assert any("its name was lost" in item for item in report.rebuilt)
    forbid_computation(monkeypatch)  # the same entities again, as the user's script adds them: results are found
    tiny_project(project_copy).actions.inversion.compute_gradients("sim", "energy")


# ---------------------------------------------------------------------------- read-only storage

def read_only_mount_available() -> str | None:
    """None if this process can mount folders read-only in a private mount namespace, else why not."""
    if shutil.which("unshare") is None:
        return "'unshare' is not installed"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot mount read-only in a mount namespace ({probe.stderr.strip()})"
    return None


def run_on_read_only(folders: list[Path], body: str) -> subprocess.CompletedProcess:
    """Run the Python ``body`` in a process that sees ``folders`` on read-only storage (EROFS: root included)."""
    reason = read_only_mount_available()
    if reason is not None and os.geteuid() == 0:
        pytest.skip(f"read-only storage cannot be simulated for root here: {reason}")
    mounts = " && ".join(f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}'"
                         for folder in folders)
    script = f"import sys; sys.path.insert(0, {str(REPOSITORY)!r})\n" + textwrap.dedent(body)
    command = ["unshare", "-m", "sh", "-c", f"{mounts} && exec \"$0\" -c \"$1\"", sys.executable, script]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY, timeout=300)


def test_a_read_only_project_reads_its_cache_and_refuses_new_work_at_once(project_copy):
    from test_project import tiny_simulation

    project = sf.Project(project_copy)
    project += tiny_simulation("finer", elements_per_wavelength=1.5)  # registered, nothing computed
    del project
    for extra in ("-wal", "-shm"):  # as an archive would hold it: no WAL files
        assert not (project_copy / (REGISTRY_FILE_NAME + extra)).exists()
    finished = run_on_read_only([project_copy], f"""
        import matplotlib; matplotlib.use("Agg")
        import numpy as np, specfwi as sf
        from specfwi.errors import ProjectError
        p = sf.Project({str(project_copy)!r})
        assert p.registry.read_only
        paths = p.actions.inversion.compute_gradients("sim", "energy")
        sf.plot.gradient(sf.UnstructuredMesh.from_h5(paths["event_0"]), "VP")
        sf.plot.traces(p.waveforms.get("sim", "event_0"))
        print("misfit", p.actions.inversion.compute_misfits("sim", "energy")["event_0"])
        import specfwi.project.jobs as jobs
        jobs.simulate_with_options = jobs.compute_gradient_with_options = None  # a run would fail: TypeError
        p += sf.MisfitConfiguration("energy", "L2_energy_no_observed_data")  # identical: nothing to write
        try:
            p += sf.MisfitConfiguration("new", "L2_energy_no_observed_data")
        except ProjectError as error:
            print("refused add:", error)
        p.actions.inversion.compute_gradients("sim", "energy", "event_0")
        try:
            p.registry.remove_entity("event", "event_0")
        except ProjectError as error:
            print("refused change:", error)
        for compute in (lambda: p.waveforms.get("finer", "event_0"), lambda: p.simulations.get_mesh("finer"),
                        lambda: p.actions.inversion.compute_gradients("finer", "energy")):
            try:
                compute()
            except ProjectError as error:
                print("refused computation:", error)
    """)
    assert finished.returncode == 0, finished.stderr
    assert "misfit" in finished.stdout
    assert "refused add:" in finished.stdout and "read-only" in finished.stdout
    assert "refused change:" in finished.stdout
    assert finished.stdout.count("refused computation:") == 3, finished.stdout
    assert finished.stdout.count("is read-only for this process") == 5, finished.stdout


def test_read_only_results_folder_is_refused_before_any_forward_run(project_copy):
    shutil.rmtree(project_copy / "gradients")
    (project_copy / "gradients").mkdir()
    finished = run_on_read_only([project_copy / "gradients"], f"""
        import specfwi as sf
        from specfwi.errors import ProjectError
        import specfwi.project.jobs as jobs
        def forbidden(*arguments, **options):
            raise AssertionError("a forward run started")
        jobs.compute_gradient_with_options = forbidden
        p = sf.Project({str(project_copy)!r})
        try:
            p.actions.inversion.compute_gradients("sim", "energy")
        except ProjectError as error:
            print("refused:", error)
    """)
    assert finished.returncode == 0, finished.stderr
    assert "refused:" in finished.stdout and "gradients" in finished.stdout and "not writable" in finished.stdout


def test_result_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        project = tiny_project(tmp_path / "proj")
        project.actions.inversion.compute_gradients("sim", "energy")
    finally:
        os.umask(previous)
    modes = {path.relative_to(tmp_path): stat.S_IMODE(path.stat().st_mode)
             for path in (tmp_path / "proj").rglob("*") if path.is_file()}
    assert set(modes.values()) == {0o644}, modes


# ---------------------------------------------------------------------------- observed data on import

def observed_like(project: sf.Project, **changes) -> xr.DataArray:
    traces = project.waveforms.get("sim", "event_0").copy()
    for name, change in changes.items():
        traces = change(traces)
    return traces


def with_nan(traces):
    values = traces.values.copy()
    values[1, 7] = np.nan
    return traces.copy(data=values)


@pytest.mark.parametrize("change, message", [
    (with_nan, "non-finite values .* receiver"),
    (lambda t: t.isel(time=slice(None, None, -1)), "strictly increasing"),
    (lambda t: t.assign_coords(time=[f"t{i}" for i in range(t.sizes["time"])]), "time.*numbers"),
    (lambda t: t.isel(receiver=[0, 1]), "receiver names"),
    (lambda t: t.isel(time=slice(0, t.sizes["time"] // 2)), "covers the simulated time of no simulation"),
])
def test_observed_data_are_checked_on_import(project_copy, change, message):
    project = sf.Project(project_copy)
    with pytest.raises(ProjectError if "simulated" in message else sf.errors.SpecfwiError, match=message):
        project.waveforms.add_observed("data", "event_0", observed_like(project, change=change))
    assert project.waveforms.list_observed() == []


def test_observed_data_can_be_removed_and_imported_again(project_copy):
    project = sf.Project(project_copy)
    traces = observed_like(project)
    project.waveforms.add_observed("data", "event_0", traces * 2.0)
    with pytest.raises(ProjectError, match="already holds other observed data .data. for event .event_0."):
        project.waveforms.add_observed("data", "event_0", traces)
    project.waveforms.remove_observed("data", "event_0")
    project.waveforms.add_observed("data", "event_0", traces)
    assert np.array_equal(project.waveforms.get_observed("data", "event_0").values, traces.values)
    with pytest.raises(ProjectError, match="no observed data 'other'"):
        project.waveforms.remove_observed("other", "event_0")


def test_observed_data_not_covering_a_configuration_are_refused_before_simulating(project_copy, monkeypatch):
    project = sf.Project(project_copy)
    traces = observed_like(project)
    from test_project import tiny_event_configuration, tiny_simulation
    project += tiny_simulation("longer", event_configuration=tiny_event_configuration(0.5))
    project.waveforms.add_observed("data", "event_0", traces)  # covers "sim"
    project += sf.MisfitConfiguration("l2", "L2", observed_data="data")
    forbid_computation(monkeypatch)
    with pytest.raises(ProjectError, match="does not cover the simulated time"):
        project.actions.inversion.compute_gradients("longer", "l2")


# ---------------------------------------------------------------------------- resource estimates

def test_step_estimate_is_close_to_the_solvers_time_axis(tmp_path):
    from specfwi.solver import SimulationSetup

    project = tiny_project(tmp_path / "proj")
    mesh, event = project.simulations.get_mesh("sim"), project.events.get("event_0")
    configuration = project.simulations.get("sim")
    events = configuration.event_configuration
    setup = SimulationSetup.build(mesh, event, wavelet=events.wavelet, end_time_in_seconds=events.end_time_in_seconds,
                                  start_time_in_seconds=events.start_time_in_seconds,
                                  options=replace(configuration.solver_options(), progress=False))
    for estimate in (project.simulations.estimate("sim"),
                     sf.resources.estimate_from_mesh(mesh, duration_in_seconds=setup.time[-1] - setup.time[0])):
        assert (estimate.n_elements, estimate.n_nodes) == (mesh.n_elements, mesh.n_global_nodes)
        assert 0.67 < estimate.n_time_steps / setup.n_steps < 1.5


def test_simulations_above_the_step_limit_are_refused_before_stepping(model_mesh, monkeypatch):
    event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=300.0, y=-200.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=[100.0], y=-20.0, fields=["phi"]))
    monkeypatch.setattr(sf.config, "max_time_steps", 1000)
    monkeypatch.setattr("specfwi.solver.setup.time_axis", lambda *a: pytest.fail("the time axis was built"))
    for run in (sf.simulate, lambda *a, **o: sf.compute_gradient(*a, misfit="L2_energy_no_observed_data", **o)):
        with pytest.raises(sf.errors.ResourceError, match=r"time steps, more than sf.config.max_time_steps, 1,000"):
            run(model_mesh, event, wavelet=sf.Ricker(center_frequency=10.0), end_time_in_seconds=1e3)


def test_projects_refuse_work_above_the_memory_limit_before_meshing(tmp_path, monkeypatch):
    project = tiny_project(tmp_path / "proj")
    forbid_computation(monkeypatch)
    monkeypatch.setattr(sf.config, "max_memory_in_gigabytes", 1e-6)
    for compute in (lambda: project.actions.inversion.compute_gradients("sim", "energy"),
                    lambda: project.waveforms.get("sim", "event_0"), lambda: project.simulations.get_mesh("sim")):
        with pytest.raises(sf.errors.ResourceError, match=r"would need .* more than sf.config.max_memory_in_gigabytes"):
            compute()
    monkeypatch.setattr(sf.config, "max_memory_in_gigabytes", None)  # the available memory
    model = sf.model.GenericModel("big", xr.Dataset({"vp": (["x", "y"], np.full((2, 2), 1500.0)),
                                                     "rho": (["x", "y"], np.full((2, 2), 1000.0))},
                                                    coords={"x": [0.0, 1e5], "y": [-1e5, 0.0]}))
    with pytest.raises(sf.errors.ResourceError, match="this mesh would need .* GiB of memory, more than the memory"):
        sf.mesh.from_volume_model(model, max_frequency_in_hertz=1000.0, elements_per_wavelength=2.0)
    with pytest.raises(sf.errors.ResourceError, match="check n_elements_x, n_elements_y and tensor_order"):
        sf.mesh.rectangle((0.0, 1.0), (0.0, 1.0), 100_000, 100_000)


@pytest.mark.parametrize("setting, value", [("max_memory_in_gigabytes", -1.0), ("max_memory_in_gigabytes", "8"),
                                            ("max_time_steps", 0), ("max_time_steps", 1.5)])
def test_bad_limits_are_named(setting, value):
    before = getattr(sf.config, setting)
    with pytest.raises(sf.errors.InvalidParameterError, match=f"sf.config.{setting}"):
        setattr(sf.config, setting, value)
    assert getattr(sf.config, setting) == before


@pytest.mark.parametrize("value", [1e-6, 0.3])
def test_absurd_elements_per_wavelength_are_refused(value):
    from test_project import tiny_simulation

    with pytest.raises(sf.errors.InvalidParameterError, match="elements_per_wavelength.*>= 0.5"):
        tiny_simulation(elements_per_wavelength=value)


# ---------------------------------------------------------------------------- quieter mistakes

def test_a_window_outside_the_simulated_time_is_refused_before_stepping(model_mesh, monkeypatch):
    event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=300.0, y=-200.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=[100.0, 500.0], y=-20.0, fields=["phi"]))
    monkeypatch.setattr(sf.solver.SimulationSetup, "run_forward_in_solver_order",
                        lambda *a, **o: pytest.fail("the time stepping started"))
    options = dict(wavelet=sf.Ricker(center_frequency=10.0), misfit="L2_energy_no_observed_data",
                   end_time_in_seconds=0.2)
    first, second = event.receiver_names
    for compute in (sf.compute_misfit, sf.compute_gradient):
        with pytest.raises(sf.errors.InvalidParameterError, match="'window' must be a window that overlaps"):
            compute(model_mesh, event, window=sf.Window(5.0, 6.0), **options)
        with pytest.raises(sf.errors.InvalidParameterError, match=r"window\[.*\]. must be a window that overlaps"):
            compute(model_mesh, event, window={first: sf.Window(0.0, 0.1), second: sf.Window(-9.0, -8.0)},
                    **options)
        with pytest.raises(pytest.fail.Exception, match="time stepping started"):  # overlapping windows pass
            compute(model_mesh, event, window={first: sf.Window(0.0, 0.1)}, **options)


def test_smoothing_without_an_entry_for_a_parameter_warns(small_mesh_for_smoothing):
    from test_smoothing import quantity_on

    quantity = quantity_on(small_mesh_for_smoothing, parameters=("VP", "RHO"), fill=1.0)
    with pytest.warns(sf.errors.SpecfwiWarning, match=r"no entry for the inversion parameter\(s\) \['RHO'\]"):
        smoothed = sf.ConstantSmoothing({"VP": 100.0}).smooth(quantity)
    assert np.array_equal(smoothed.values("RHO"), quantity.values("RHO"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unsmoothed = sf.ConstantSmoothing({"VP": 100.0, "RHO": None}).smooth(quantity)  # None says so: no warning
    assert np.array_equal(unsmoothed.values("RHO"), quantity.values("RHO"))
    assert np.array_equal(unsmoothed.values("VP"), smoothed.values("VP"))


@pytest.fixture
def small_mesh_for_smoothing():
    return sf.mesh.rectangle((0.0, 400.0), (-300.0, 0.0), 4, 3, tensor_order=2)


def test_a_second_volume_model_outside_the_domain_is_an_error(tmp_path, monkeypatch):
    from test_project import tiny_model, tiny_simulation

    project = tiny_project(tmp_path / "proj")
    far = tiny_model("far")
    far = sf.model.GenericModel("far", far.data.assign_coords(x=far.data["x"] + 10000.0))
    project += far
    project += tiny_simulation("layered", volume_models=["model", "far"])
    forbid_computation(monkeypatch)
    with pytest.raises(sf.errors.ModelError, match="'far'.* lies wholly outside the domain of the first"):
        project.waveforms.get("layered", "event_0")


def test_a_region_of_interest_of_the_wrong_shape_is_named(model_mesh):
    region = model_mesh.geometry_copy()
    region.element_nodal_fields["region_of_interest"] = np.ones((model_mesh.n_elements, 4))
    with pytest.raises(sf.errors.InvalidParameterError,
                       match=r"region_of_interest.*\(24, 25\) of its mesh, got .an array of shape \(24, 4\)"):
        sf.Mapping(inversion_parameters=["VP"], region_of_interest=region)
