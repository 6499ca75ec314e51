"""Tests of the ``specfwi`` command (specfwi.cli)."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import pytest
from test_project import tiny_project

import specfwi as sf
from specfwi.cli import build_parser, main

SUBCOMMANDS = ["demo", "info", "repair", "misfit", "gradient", "invert", "plot-gradient", "plot-waveforms"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_subcommand_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    overview = capsys.readouterr().out
    for subcommand in SUBCOMMANDS:
        assert subcommand in overview
        with pytest.raises(SystemExit) as exit_info:
            main([subcommand, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: specfwi {subcommand}" in capsys.readouterr().out


def test_parser_reads_the_documented_options():
    arguments = build_parser().parse_args(["gradient", "proj", "--simulation", "sim", "--misfit", "energy",
                                           "--events", "a", "b", "--workers", "2"])
    assert (arguments.project, arguments.simulation, arguments.misfit, arguments.events, arguments.workers,
            arguments.scheduler) == ("proj", "sim", "energy", ["a", "b"], 2, None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gradient", "proj", "--simulation", "s", "--misfit", "m", "--workers", "2",
                                   "--scheduler", "tcp://host:8786"])


def test_errors_print_one_line_and_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("specfwi: error: there is no specfwi project")
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error


def test_console_script_runs_main():
    assert entry_points(group="console_scripts")["specfwi"].value == "specfwi.cli:main"


def test_info_misfit_and_gradient_commands(tmp_path, capsys):
    project = tiny_project(tmp_path / "p")
    assert main(["gradient", str(project.path), "--simulation", "sim", "--misfit", "energy"]) == 0
    event, path = capsys.readouterr().out.strip().split("\t")
    assert (event, path) == ("event_0", project.actions.inversion.compute_gradients("sim", "energy")["event_0"])
    assert main(["misfit", str(project.path), "--simulation", "sim", "--misfit", "energy", "--events",
                 "event_0"]) == 0
    lines = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    expected = project.actions.inversion.compute_misfits("sim", "energy")["event_0"]
    assert float(lines["event_0"]) == pytest.approx(expected, rel=1e-9)
    assert float(lines["total"]) == pytest.approx(expected, rel=1e-9)
    assert main(["info", str(project.path)]) == 0
    info = capsys.readouterr().out
    for expected_line in ("volume models (1): model", "events (1): event_0", "simulation configurations (1): sim",
                          "misfit configurations (1): energy",
                          "gradient: simulation sim, misfit energy, event event_0"):
        assert expected_line in info
    assert main(["misfit", str(project.path), "--simulation", "nope", "--misfit", "energy"]) == 2
    assert "'simulation_configuration' must be one of the project's simulation configurations ['sim'], got 'nope'" \
        in capsys.readouterr().err


def test_plot_commands_write_images(tmp_path):
    project = tiny_project(tmp_path / "p")
    gradient_image, traces_image = tmp_path / "gradient.png", tmp_path / "traces.png"
    assert main(["plot-gradient", str(project.path), "--simulation", "sim", "--misfit", "energy", "--event",
                 "event_0", "--clip", "0.5", "--output", str(gradient_image)]) == 0
    assert main(["plot-waveforms", str(project.path), "--simulation", "sim", "--event", "event_0", "--output",
                 str(traces_image)]) == 0
    for image in (gradient_image, traces_image):
        assert image.read_bytes().startswith(PNG_SIGNATURE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradient.png", "p", "traces.png"]


def test_demo_command_calls_the_demo_and_prints_its_summary(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("specfwi.demo.run_demo", lambda output_dir, **options: calls.append(output_dir)
                        or {"misfit": 1.5, "output": str(output_dir)})
    assert main(["demo", "--output", str(tmp_path)]) == 0
    assert calls == [str(tmp_path)]
    assert json.loads(capsys.readouterr().out) == {"misfit": 1.5, "output": str(tmp_path)}


def test_demo_command_refuses_a_bad_frequency_before_writing_anything(tmp_path, capsys):
    output = tmp_path / "demo"
    assert main(["demo", "--output", str(output), "--max-frequency", "0"]) == 2
    assert "'max_frequency_in_hertz' must be" in capsys.readouterr().err
    assert not output.exists()


# ---------------------------------------------------------------------------- user errors (docs/reliability.md)

def one_line_error(capsys) -> str:
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error, error
    assert error.startswith("specfwi: error: ")
    return error


@pytest.fixture(scope="module")
def cached_project(tmp_path_factory):
    project = tiny_project(tmp_path_factory.mktemp("cli") / "p")
    project.actions.inversion.compute_gradients("sim", "energy")
    return project


def test_bad_arguments_print_one_line_and_exit_2(capsys):
    for argv in (["gradient", "p", "--simulation", "s"], ["info"], ["bogus"], ["misfit", "p", "--simulation", "s",
                 "--misfit", "m", "--workers", "two"], ["info", "p", "--unknown"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        one_line_error(capsys)


def test_output_is_checked_before_computing(cached_project, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("specfwi.cli._open_project", lambda path: pytest.fail("the project was opened"))
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"mine")
    common = ["plot-waveforms", str(cached_project.path), "--simulation", "sim", "--event", "event_0", "--output"]
    for output, message in ((tmp_path / "x.bogus", "image file name ending in"), (existing, "existing file"),
                            (tmp_path / "missing" / "x.png", "existing, writable folder")):
        assert main([*common, str(output)]) == 2
        assert message in one_line_error(capsys)
    assert existing.read_bytes() == b"mine"
    assert main(["plot-gradient", str(cached_project.path), "--simulation", "sim", "--misfit", "energy", "--event",
                 "event_0", "--clip", "5", "--output", str(tmp_path / "g.png")]) == 2
    assert "'clip' must be" in one_line_error(capsys)


def test_unreachable_scheduler_is_one_line_and_not_contacted_when_cached(cached_project, capsys):
    for address in ("tcp://127.0.0.1:1", "not-an-address"):  # everything cached: nothing connects
        assert main(["gradient", str(cached_project.path), "--simulation", "sim", "--misfit", "energy",
                     "--scheduler", address]) == 0
    capsys.readouterr()
    cached_project += sf.Event(event_name="new", sources=sf.ScalarPoint2D(x=300.0, y=-200.0, f=1.0),
                               receivers=sf.ArrayPoint2D(x=[100.0, 500.0], y=-20.0, fields=["phi"]))
    assert main(["misfit", str(cached_project.path), "--simulation", "sim", "--misfit", "energy",
                 "--scheduler", "not-an-address"]) == 2
    assert "cannot connect to the Dask scheduler" in one_line_error(capsys)


def test_damaged_project_and_repair_through_the_command(cached_project, tmp_path, capsys):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(cached_project.path, folder)
    (folder / "specfwi_project.sqlite").write_bytes(b"not a database" * 100)
    assert main(["info", str(folder)]) == 2
    assert "specfwi repair" in one_line_error(capsys)
    assert main(["repair", str(folder)]) == 0
    assert "kept as" in capsys.readouterr().out
    assert main(["info", str(folder)]) == 0
    n_elements = cached_project.simulations.get_mesh("sim").n_elements  # box and absorbing layers
    assert f"sim, one event's gradient: {n_elements} elements" in capsys.readouterr().out
