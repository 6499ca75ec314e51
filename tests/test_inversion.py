"""Inversions in a project: they fit the data, keep their history, survive SIGKILL and concurrent runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import specfwi as sf
from specfwi.errors import InvalidParameterError, ProjectError
from specfwi.project.inversion_history import history_folder

sys.path.insert(0, str(Path(__file__).parent))
import inversion_case  # noqa: E402

CASE = Path(inversion_case.__file__)


def test_inversion_fits_the_data_and_keeps_its_history(tmp_path):
    project = inversion_case.build(tmp_path / "p")
    assert project.inversions.list() == ["inv"]
    status = project.inversions.iterate("inv", n_iterations=3)
    assert status.state == "complete" and status.n_completed_iterations == 3
    misfits = project.inversions.misfits("inv")
    assert misfits.dims == ("iteration", "event") and list(misfits["event"].values) == ["e0", "e1"]
    total = misfits.sum("event").values
    assert total.shape == (4,) and total[-1] < 0.1 * total[0]
    assert np.all(np.diff(total) < 0)
    prior = project.simulations.get_mesh("prior")
    np.testing.assert_array_equal(project.inversions.get_model("inv", 0).element_nodal_fields["VP"],
                                  prior.element_nodal_fields["VP"])
    model = project.inversions.get_model("inv", 3)
    vp = model.element_nodal_fields["VP"]
    assert vp.max() <= 1960.0 * (1 + 1e-12) and vp.min() >= 1400.0  # bounds, to round-off
    np.testing.assert_array_equal(model.element_nodal_fields["RHO"], prior.element_nodal_fields["RHO"])
    update = vp - prior.element_nodal_fields["VP"]
    place = model.get_element_nodes().reshape(-1, 2)[np.argmax(update)]
    assert np.hypot(*(place - inversion_case.BLOB_CENTER_IN_METERS)) < 100.0
    gradient = project.inversions.get_gradient("inv", 3)
    assert gradient.parameters == ("VP",) and gradient.n_dofs == prior.n_elements * prior.n_gll
    rows = project.inversions.evaluations("inv")
    assert [row["outcome"] for row in rows][0] == "prior"
    assert sum(row["outcome"] == "accepted" for row in rows) == 3
    n_evaluations = len(rows)
    trials = [name for name in project.simulations.list(include_trials=True) if ":trial:" in name]
    assert len(trials) >= 3 and not set(trials) & set(project.simulations.list())
    assert project.inversions.iterate("inv", n_iterations=2).n_completed_iterations == 3
    assert len(project.inversions.evaluations("inv")) == n_evaluations


def test_history_is_readable_without_specfwi(tmp_path):
    project = inversion_case.build(tmp_path / "p", n_events=1)
    project.inversions.iterate("inv", n_iterations=1)
    folder = history_folder(project.path, "inv")
    with sqlite3.connect(folder / "history.sqlite") as connection:
        rows = connection.execute("SELECT iteration, misfit, model_file FROM iterations ORDER BY iteration").fetchall()
        last_evaluation = connection.execute("SELECT evaluation, file FROM evaluations ORDER BY evaluation DESC "
                                             "LIMIT 1").fetchone()
    assert [row[0] for row in rows] == [0, 1] and rows[1][1] < rows[0][1]
    with h5py.File(folder / last_evaluation[1], "r") as handle:
        assert handle["trial"].shape == handle["gradient"].shape
        assert int(handle["state"].attrs["iteration"]) == 1
    with h5py.File(folder / rows[1][2], "r") as handle:
        assert handle["element_nodal_fields/VP"].shape == handle["element_nodal_fields/RHO"].shape


def test_resume_without_waiting_returns_and_continues(tmp_path):
    project = inversion_case.build(tmp_path / "p", n_events=1)
    assert project.inversions.add_iteration("inv") == 1
    status = project.inversions.resume("inv", wait=False)
    for _ in range(600):
        if status.state == "complete":
            break
        assert status.state in ("waiting", "running")
        time.sleep(0.1)
        status = project.inversions.resume("inv", wait=False)
    assert status.state == "complete" and status.n_completed_iterations == 1


def test_lbfgs_inversion_and_multiscale_continuation(tmp_path):
    project = inversion_case.build(tmp_path / "p", n_events=1, method=sf.LBFGS(initial_step_linf=0.05))
    project.inversions.iterate("inv", n_iterations=2)
    fine = sf.SimulationConfiguration("fine", max_frequency_in_hertz=30.0, elements_per_wavelength=1.0,
                                      volume_models="prior_model", tensor_order=3,
                                      event_configuration=sf.EventConfiguration(sf.Ricker(center_frequency=15.0), 0.45))
    project += fine
    project += sf.MisfitConfiguration("l2_fine", "L2", observed_data="true")
    project += sf.InverseProblemConfiguration("inv_fine", ("inv", 2), project.events.list(), "l2_fine",
                                              sf.Mapping(["VP"], "relative_deviation_from_prior"),
                                              simulation_configuration="fine")
    coarse_model = project.inversions.get_model("inv", 2)
    project.inversions.iterate("inv_fine", n_iterations=1)
    fine_prior = project.inversions.get_model("inv_fine", 0)
    assert fine_prior.n_elements > coarse_model.n_elements
    assert project.simulations.get_mesh("fine").n_elements == fine_prior.n_elements

    def integral(mesh):  # over the model's box: the meshes' absorbing layers differ in width
        box = ~mesh.layer_element_mask
        return float(np.sum(mesh.quadrature_weights[box] * mesh.element_nodal_fields["VP"][box]))

    assert integral(fine_prior) == pytest.approx(integral(coarse_model), rel=1e-5)
    misfits = project.inversions.misfits("inv_fine").sum("event").values
    assert misfits[1] < misfits[0]


def test_configuration_errors_are_clear(tmp_path):
    mapping = sf.Mapping(["VP"], "relative_deviation_from_prior")
    with pytest.raises(InvalidParameterError, match="prior_model"):
        sf.InverseProblemConfiguration("a", ("x", -1), ["e"], "l2", mapping)
    with pytest.raises(InvalidParameterError, match="bounds"):
        sf.InverseProblemConfiguration("a", "prior", ["e"], "l2", mapping, bounds={"RHO": (1.0, 2.0)})
    with pytest.raises(InvalidParameterError, match="method"):
        sf.InverseProblemConfiguration("a", "prior", ["e"], "l2", mapping, method="lbfgs")
    project = inversion_case.build(tmp_path / "p", n_events=1)
    with pytest.raises(ProjectError, match="no iteration 5"):
        project.inversions.get_model("inv", 5)


def test_preconditioner_shaping_and_bound_handling_are_stored_and_defaults_keep_older_descriptions():
    mapping = sf.Mapping(["VP"], "relative_deviation_from_prior")
    shaped = sf.InverseProblemConfiguration(
        "a", "prior", ["e"], "l2", mapping, sf.WavelengthSmoothing(
            {"VP": 0.1}, reference_frequency_in_hertz=3.0, high_pass_lengths_in_meters={"VP": (300.0, 150.0)},
            depth_exponent=1.5), method=sf.TrustRegion(0.05, bound_handling="project"))
    loaded = sf.InverseProblemConfiguration.from_dict(json.loads(json.dumps(shaped.to_dict())), load_mesh=None)
    assert loaded == shaped
    assert loaded.preconditioner.high_pass_lengths_in_meters == {"VP": (300.0, 150.0)}
    assert loaded.preconditioner.depth_exponent == 1.5 and loaded.method.bound_handling == "project"
    plain = sf.InverseProblemConfiguration("a", "prior", ["e"], "l2", mapping, sf.ConstantSmoothing({"VP": 40.0}),
                                           method=sf.TrustRegion(0.05)).to_dict()
    assert set(plain["preconditioner"]) == {"type", "lengths_in_meters", "n_diffusion_steps"}
    assert set(plain["method"]) == {"type", "initial_trust_region_linf", "memory", "eta"}
    projected = sf.InverseProblemConfiguration("a", "prior", ["e"], "l2", mapping,
                                               method=sf.LBFGS(3, bound_handling="project"))
    loaded = sf.InverseProblemConfiguration.from_dict(json.loads(json.dumps(projected.to_dict())), load_mesh=None)
    assert loaded == projected and loaded.method.bound_handling == "project"
    assert "bound_handling" not in sf.LBFGS(3).to_dict()


def _iterations_table(path: Path) -> list[tuple]:
    """Rows of the history's iterations table ([] while the history is being created)."""
    try:
        with sqlite3.connect(history_folder(path, "inv") / "history.sqlite") as connection:
            return connection.execute("SELECT iteration, evaluation, misfit FROM iterations "
                                      "ORDER BY iteration").fetchall()
    except sqlite3.OperationalError:
        return []


def _run_case(path: Path, n_iterations: int) -> subprocess.Popen:
    repository = str(Path(__file__).parents[1])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repository,
                                                                            os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(CASE), str(path), str(n_iterations)], cwd=repository,
                            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_then_iterate_gives_the_models_of_an_uninterrupted_run(tmp_path):
    n_iterations = 5
    reference = inversion_case.build(tmp_path / "reference", n_events=1)
    reference.inversions.iterate("inv", n_iterations=n_iterations)
    killed_path = tmp_path / "killed"
    process = _run_case(killed_path, n_iterations)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if len(_iterations_table(killed_path.resolve())) >= 2:
            break
        time.sleep(0.005)
    assert process.poll() is None, process.stderr.read().decode()
    os.kill(process.pid, signal.SIGKILL)  # during iteration 2 or a later one, before the last
    process.wait()
    assert len(_iterations_table(killed_path.resolve())) <= n_iterations
    resumed = inversion_case.build(killed_path, n_events=1)
    resumed.inversions.iterate("inv", n_iterations=n_iterations)
    for iteration in range(n_iterations + 1):
        np.testing.assert_allclose(resumed.inversions.get_model("inv", iteration).element_nodal_fields["VP"],
                                   reference.inversions.get_model("inv", iteration).element_nodal_fields["VP"],
                                   rtol=1e-12)
    assert [row[0] for row in _iterations_table(killed_path.resolve())] == list(range(n_iterations + 1))


def test_two_processes_on_one_inversion(tmp_path):
    path = tmp_path / "shared"
    inversion_case.build(path, n_events=1)
    first, second = _run_case(path, 2), _run_case(path, 3)
    assert first.wait(timeout=600) == 0, first.stderr.read().decode()
    assert second.wait(timeout=600) == 0, second.stderr.read().decode()
    rows = _iterations_table(path.resolve())
    assert [row[0] for row in rows] == [0, 1, 2, 3]
    evaluations = [row["evaluation"] for row in inversion_case.build(path, n_events=1).inversions.evaluations("inv")]
    assert evaluations == list(range(len(evaluations)))
    assert all(later[2] < earlier[2] for earlier, later in zip(rows, rows[1:]))


def test_command_line_and_plot(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from specfwi.cli import main

    project = inversion_case.build(tmp_path / "p", n_events=1)
    assert main(["info", str(project.path)]) == 0
    assert "inv: not started, 0 of 0 iteration(s) complete" in capsys.readouterr().out
    assert main(["invert", str(project.path), "--inversion", "inv", "--iterations", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("complete: 1 iteration(s)")
    assert float(lines[1].split("\t")[1]) < float(lines[0].split("\t")[1])
    assert main(["info", str(project.path)]) == 0
    info = capsys.readouterr().out
    assert "inv: complete, 1 of 1 iteration(s) complete" in info
    assert "simulation configurations (2): prior, true (and 2 trial models of inversions)" in info
    assert main(["invert", str(project.path), "--inversion", "missing", "--iterations", "1"]) == 2
    figure = sf.plot.inversion(project, "inv")
    assert len(figure.axes) >= 4
    assert figure.axes[3].get_title() == "update 0 -> 1"


def test_a_configuration_naming_missing_entities_is_refused(tmp_path):
    project = inversion_case.build(tmp_path / "p", n_events=1)
    mapping = sf.Mapping(["VP"], "relative_deviation_from_prior")
    with pytest.raises(ProjectError, match="missing_event"):
        project += sf.InverseProblemConfiguration("other", "prior", ["missing_event"], "l2", mapping)
    with pytest.raises(ProjectError, match="no_such_inversion"):
        project += sf.InverseProblemConfiguration("other", ("no_such_inversion", 1), ["e0"], "l2", mapping)
    assert project.inversions.list() == ["inv"]


class GatedExecutor:
    """A thread pool whose tasks start only once ``gate`` is set (or after 60 s, so that a call that waits for
    them fails its assertions rather than hangs): what is submitted before is still running."""

    def __init__(self, pool, gate):
        self.pool, self.gate = pool, gate

    def submit(self, function, *arguments, **options):
        def gated():
            self.gate.wait(timeout=60.0)
            return function(*arguments, **options)
        return self.pool.submit(gated)


def test_an_executor_runs_the_events(tmp_path):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    project = inversion_case.build(tmp_path / "p", n_events=2)
    project.inversions.add_iteration("inv")
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        executor = GatedExecutor(pool, gate)
        status = project.inversions.resume("inv", wait=False, executor=executor)
        assert status.state == "waiting" and status.n_evaluations == 0
        gate.set()
        status = project.inversions.iterate("inv", n_iterations=1, executor=executor)
    assert status.state == "complete"
    misfits = project.inversions.misfits("inv")
    assert misfits.shape == (2, 2) and float(misfits.sum("event")[1]) < float(misfits.sum("event")[0])
