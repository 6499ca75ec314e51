"""Tests of SEG-Y import (specfwi.io.read_segy, p.waveforms.add_observed_segy): files written with segyio itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from specfwi.errors import ProjectError, SpecfwiError
from specfwi.io.segy import METERS_PER_FOOT, apply_scalar

segyio = pytest.importorskip("segyio")

from test_project import tiny_event, tiny_model, tiny_simulation  # noqa: E402 (after the skip)

SAMPLE_INTERVAL_IN_MICROSECONDS = 2000
N_SAMPLES = 50
RECEIVER_X = np.array([100.0, 300.0, 500.0])
RECEIVER_Y = -20.0
SOURCE_Y = -200.0
SOURCES_X = {"event_0": 150.0, "event_1": 300.0}


def events() -> list[sf.Event]:
    """Two events of three receivers, as in test_project (sources at x = 150 and 300 m, 200 m deep)."""
    return [tiny_event(name, x) for name, x in SOURCES_X.items()]


def header_values(position, scalar: int) -> int:
    """The integer a SEG-Y header holds for ``position`` (m) with a rev1 scalar (< 0: divide by |scalar|)."""
    return int(round(position * (-scalar if scalar < 0 else 1.0 / scalar)))


def write_segy(path: Path, rows: list[dict], *, coordinate_scalar: int = -100, elevation_scalar: int = -10,
               vertical_coordinate: str = "elevation", feet: bool = False) -> None:
    """A SEG-Y file (IEEE floats) of one trace per row: {"source": (x, y), "receiver": (x, y),
    "delay_in_milliseconds": int, "values": (n_samples,)}; positions in m (in feet when ``feet``)."""
    n_samples = len(rows[0]["values"])
    spec = segyio.spec()
    spec.format = 5
    spec.samples = list(range(n_samples))
    spec.tracecount = len(rows)
    field = segyio.TraceField
    with segyio.create(str(path), spec) as segy_file:
        segy_file.bin.update(hdt=SAMPLE_INTERVAL_IN_MICROSECONDS, hns=n_samples, mfeet=2 if feet else 1)
        for index, row in enumerate(rows):
            (source_x, source_y), (receiver_x, receiver_y) = row["source"], row["receiver"]
            header = {field.SourceGroupScalar: coordinate_scalar, field.ElevationScalar: elevation_scalar,
                      field.SourceX: header_values(source_x, coordinate_scalar),
                      field.GroupX: header_values(receiver_x, coordinate_scalar),
                      field.DelayRecordingTime: row["delay_in_milliseconds"],
                      field.TRACE_SAMPLE_INTERVAL: SAMPLE_INTERVAL_IN_MICROSECONDS, field.TRACE_SAMPLE_COUNT: n_samples}
            if vertical_coordinate == "elevation":  # a source 5 m below a surface at y_s + 5
                header.update({field.SourceSurfaceElevation: header_values(source_y + 5.0, elevation_scalar),
                               field.SourceDepth: header_values(5.0, elevation_scalar),
                               field.ReceiverGroupElevation: header_values(receiver_y, elevation_scalar),
                               field.SourceY: 123456, field.GroupY: 654321})
            else:
                header.update({field.SourceY: header_values(source_y, coordinate_scalar),
                               field.GroupY: header_values(receiver_y, coordinate_scalar),
                               field.SourceSurfaceElevation: 999, field.ReceiverGroupElevation: -999})
            segy_file.header[index] = header
            segy_file.trace[index] = np.asarray(row["values"], dtype=np.float32)


def survey_rows(rng: np.random.Generator, *, length_unit: float = 1.0) -> tuple[list[dict], dict[str, np.ndarray]]:
    """One trace per receiver of both events, in a shuffled order; returns the rows and the float32
    values by event (receivers in event order)."""
    values = {name: rng.standard_normal((RECEIVER_X.size, N_SAMPLES)).astype(np.float32) for name in SOURCES_X}
    delays = {"event_0": -10, "event_1": 0}
    rows = [{"source": (SOURCES_X[name] / length_unit, SOURCE_Y / length_unit),
             "receiver": (RECEIVER_X[index] / length_unit, RECEIVER_Y / length_unit),
             "delay_in_milliseconds": delays[name], "values": values[name][index]}
            for name in SOURCES_X for index in range(RECEIVER_X.size)]
    return [rows[i] for i in rng.permutation(len(rows))], values


def assert_traces(traces: xr.DataArray, event: sf.Event, values: np.ndarray, delay_in_seconds: float) -> None:
    assert traces.dims == ("receiver", "time")
    assert list(traces["receiver"].values) == event.receiver_names
    np.testing.assert_array_equal(traces.values, values.astype(float))
    np.testing.assert_allclose(traces["time"].values, delay_in_seconds + 2e-3 * np.arange(N_SAMPLES),
                               rtol=0.0, atol=1e-15)


def test_scalars_follow_the_rev1_sign_convention():
    np.testing.assert_array_equal(apply_scalar(np.array([15, 1500, 150, -3]), np.array([10, -10, 0, -1])),
                                  [150.0, 150.0, 150.0, -3.0])


@pytest.mark.parametrize("vertical_coordinate", ["elevation", "coordinate_y"])
def test_traces_go_to_events_and_receivers_by_their_header_positions(tmp_path, vertical_coordinate):
    rows, values = survey_rows(np.random.default_rng(0))
    write_segy(tmp_path / "shots.sgy", rows, vertical_coordinate=vertical_coordinate)
    observed = sf.io.read_segy(tmp_path / "shots.sgy", events(), vertical_coordinate=vertical_coordinate)
    assert list(observed) == ["event_0", "event_1"]
    for event, delay in zip(events(), (-0.010, 0.0)):
        assert_traces(observed[event.event_name], event, values[event.event_name], delay)


def test_coordinates_in_feet_are_converted_to_meters(tmp_path):
    rows, values = survey_rows(np.random.default_rng(1), length_unit=METERS_PER_FOOT)
    write_segy(tmp_path / "feet.sgy", rows, coordinate_scalar=-1000, elevation_scalar=-1000, feet=True)
    observed = sf.io.read_segy(tmp_path / "feet.sgy", events(), coordinate_tolerance_in_meters=0.01)
    assert_traces(observed["event_1"], events()[1], values["event_1"], 0.0)
    # in meters, the same numbers would put every source about 3.3 times too far
    write_segy(tmp_path / "meters.sgy", rows, coordinate_scalar=-1000, elevation_scalar=-1000)
    with pytest.raises(SpecfwiError, match="within coordinate_tolerance_in_meters"):
        sf.io.read_segy(tmp_path / "meters.sgy", events())


def test_events_without_traces_are_left_out(tmp_path):
    rows, values = survey_rows(np.random.default_rng(2))
    write_segy(tmp_path / "one_shot.sgy", [row for row in rows if row["source"][0] == SOURCES_X["event_1"]])
    observed = sf.io.read_segy(tmp_path / "one_shot.sgy", events())
    assert list(observed) == ["event_1"]


def replace_row(rows: list[dict], index: int, **changes) -> list[dict]:
    return [({**row, **changes} if i == index else row) for i, row in enumerate(rows)]


def mismatched_files(rows: list[dict]) -> dict[str, tuple[list[dict], str]]:
    """Files whose traces do not fit the events, and the error each must give."""
    first_of_event_0 = next(i for i, row in enumerate(rows) if row["source"][0] == SOURCES_X["event_0"])
    return {
        "unknown source": (replace_row(rows, 2, source=(900.0, SOURCE_Y)),
                           r"'trace 2 of bad\.sgy' must be within coordinate_tolerance_in_meters = 1\.0 m of a source "
                           r"of one of the events \['event_0', 'event_1'\] \(the nearest, of 'event_1', is 600 m away\), "
                           r"got 'a source at \(x, y\) = \(900, -200\) m'"),
        "unknown receiver": (replace_row(rows, first_of_event_0, receiver=(200.0, RECEIVER_Y)),
                             rf"'trace {first_of_event_0} of bad\.sgy' must be within coordinate_tolerance_in_meters "
                             r"= 1\.0 m of exactly one receiver of event 'event_0' \(the nearest, 'REC_\d+', is 100 m "
                             r"away\), got 'a receiver group at \(x, y\) = \(200, -20\) m, near no receiver'"),
        "missing receiver": (rows[:-1], r"'bad\.sgy' must be a trace for every receiver of each event it has traces "
                                        r"of, got \"no trace for the receivers \['REC_\d+'\] of event 'event_\d'\""),
        "two traces of a receiver": (rows + rows[:1], r"'traces 0 and 6 of bad\.sgy' must be one trace per receiver"),
        "delays differ in an event": (replace_row(rows, first_of_event_0, delay_in_milliseconds=4),
                                      r"'bad\.sgy' must be one DelayRecordingTime for all the traces of an event, got "
                                      r"\"traces of event 'event_0' with delays \[-0\.01, 0\.004\] s\""),
    }


@pytest.mark.parametrize("case", ["unknown source", "unknown receiver", "missing receiver", "two traces of a receiver",
                                  "delays differ in an event"])
def test_traces_that_fit_no_event_or_receiver_are_refused_naming_them(tmp_path, case):
    rows, _ = survey_rows(np.random.default_rng(3))
    bad_rows, message = mismatched_files(rows)[case]
    write_segy(tmp_path / "bad.sgy", bad_rows)
    with pytest.raises(SpecfwiError, match=message):
        sf.io.read_segy(tmp_path / "bad.sgy", events())


def test_bad_arguments_are_refused(tmp_path):
    rows, _ = survey_rows(np.random.default_rng(4))
    write_segy(tmp_path / "shots.sgy", rows)
    with pytest.raises(SpecfwiError, match=r"'coordinate_tolerance_in_meters' must be a finite number > 0 \(m\), "
                                           r"got 0\.0"):
        sf.io.read_segy(tmp_path / "shots.sgy", events(), coordinate_tolerance_in_meters=0.0)
    with pytest.raises(SpecfwiError, match=r"of exactly one event, not of \['event_0', 'event_1'\]"):
        sf.io.read_segy(tmp_path / "shots.sgy", events(), coordinate_tolerance_in_meters=200.0)
    with pytest.raises(SpecfwiError, match=r"'vertical_coordinate' must be one of \['elevation', 'coordinate_y'\]"):
        sf.io.read_segy(tmp_path / "shots.sgy", events(), vertical_coordinate="depth")
    with pytest.raises(SpecfwiError, match="'events' must be an sf.Event or a non-empty list"):
        sf.io.read_segy(tmp_path / "shots.sgy", [])
    with pytest.raises(SpecfwiError, match="'path' must be an existing SEG-Y file"):
        sf.io.read_segy(tmp_path / "missing.sgy", events())
    (tmp_path / "text.sgy").write_text("not a SEG-Y file")
    with pytest.raises(SpecfwiError, match="'path' must be a SEG-Y file that segyio can read"):
        sf.io.read_segy(tmp_path / "text.sgy", events())


def test_segy_data_in_a_project_give_the_misfit_of_the_traces_written(tmp_path):
    """The synthetics of a "true" model, written to SEG-Y and imported, are observed data like any other."""
    project = sf.Project.from_volume_model(tmp_path / "p", tiny_model())
    project += tiny_model("true_model", vp_offset=100.0)
    project += events()
    # SEG-Y delays are whole milliseconds: start at -12 ms (the Ricker wavelet starts at -12.5 ms)
    fixed_step = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25, time_step_in_seconds=2e-3,
                                       start_time_in_seconds=-0.012)
    project += [tiny_simulation("sim", event_configuration=fixed_step),
                tiny_simulation("true", volume_models="true_model", event_configuration=fixed_step)]
    true = {name: project.waveforms.get("true", name) for name in SOURCES_X}
    rows = [{"source": (SOURCES_X[name], SOURCE_Y), "receiver": (RECEIVER_X[index], RECEIVER_Y),
             "delay_in_milliseconds": -12, "values": traces.values[index]}
            for name, traces in true.items() for index in range(RECEIVER_X.size)]
    write_segy(tmp_path / "true.sgy", rows)
    with pytest.raises(ProjectError, match="simulation configuration"):
        project.waveforms.add_observed_segy("true", tmp_path / "true.sgy")
    clash = true["event_1"].copy(data=true["event_1"].values + 1.0)
    project.waveforms.add_observed("field", "event_1", clash)
    with pytest.raises(ProjectError, match="other observed data 'field' for event 'event_1'.*nothing was imported"):
        project.waveforms.add_observed_segy("field", tmp_path / "true.sgy")
    assert project.waveforms.list_observed() == [("field", "event_1")]  # event_0 was not stored either
    project.waveforms.remove_observed("field", "event_1")
    assert project.waveforms.add_observed_segy("field", tmp_path / "true.sgy") == ["event_0", "event_1"]
    for name, traces in true.items():
        imported = project.waveforms.get_observed("field", name)
        np.testing.assert_array_equal(imported.values, traces.values.astype(np.float32).astype(float))
        np.testing.assert_allclose(imported["time"].values, traces["time"].values, rtol=0.0, atol=1e-12)
    project += [sf.MisfitConfiguration("l2_field", "L2", observed_data="field", bandpass=(5.0, 20.0)),
                sf.MisfitConfiguration("l2_true", "L2", observed_data="true", bandpass=(5.0, 20.0))]
    field = project.actions.inversion.compute_misfits("sim", "l2_field")
    synthetic = project.waveforms.get("sim", "event_0")
    assert field["event_0"] == pytest.approx(sf.misfit.get_misfit("L2", bandpass=(5.0, 20.0))(
        synthetic, project.waveforms.get_observed("field", "event_0").assign_coords(time=synthetic["time"])).value,
        rel=1e-12)
    exact = project.actions.inversion.compute_misfits("sim", "l2_true")
    for name in SOURCES_X:  # float32 samples in the file: the misfits agree to single precision
        assert field[name] == pytest.approx(exact[name], rel=1e-5) and field[name] > 0.0
