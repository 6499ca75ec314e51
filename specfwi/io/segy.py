"""Observed traces from SEG-Y files (through ``segyio``, the optional extra ``specfwi[segy]``).

Each trace is assigned to an event by its source position and to one of that event's receivers
by its receiver-group position, both read from the trace headers (SEG-Y rev1 byte positions):

- x: ``SourceX`` (73) for the source, ``GroupX`` (81) for the receiver, times the coordinate
  scalar ``SourceGroupScalar`` (71);
- y (up, as in specfwi), with ``vertical_coordinate="elevation"`` (the default):
  ``SourceSurfaceElevation`` (45) - ``SourceDepth`` (49) for the source and
  ``ReceiverGroupElevation`` (41) for the receiver, times the elevation scalar ``ElevationScalar``
  (69); ``SourceY`` and ``GroupY`` are not read. With ``vertical_coordinate="coordinate_y"``:
  ``SourceY`` (77) and ``GroupY`` (85) times the coordinate scalar, for files whose second
  coordinate is the vertical one (as 2D modelling codes often write them);
- a scalar s follows the rev1 sign convention: s > 0 multiplies, s < 0 divides by |s|, 0 means 1;
- ``CoordinateUnits`` (89) must be 0 or 1 (lengths); the binary header's ``MeasurementSystem``
  (3255) = 2 means feet, converted to meters;
- time (s): ``DelayRecordingTime`` (109, ms, signed) + k dt, k = 0 .. n - 1, with dt the trace
  header's ``TRACE_SAMPLE_INTERVAL`` (117, us), or the binary header's ``Interval`` (3217) where
  that is 0, and n the binary header's ``Samples`` (3221). Time 0 is the origin time of the
  source, as in specfwi's simulations. The traces of one event must share their delay.

A position matches when it lies within ``coordinate_tolerance_in_meters`` (Euclidean distance)
of an event's source (any of its sources) or of a receiver. Every trace must match exactly one
event and, in it, exactly one receiver; every receiver of a matched event must have exactly one
trace. Events that no trace matches are left out of the result.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..acquisition import Event
from ..acquisition.checks import finite_number
from ..errors import invalid

logger = logging.getLogger(__name__)

VerticalCoordinate = Literal["elevation", "coordinate_y"]
VERTICAL_COORDINATES = ("elevation", "coordinate_y")
DEFAULT_COORDINATE_TOLERANCE_IN_METERS = 1.0
METERS_PER_FOOT = 0.3048
FEET = 2  # binary header MeasurementSystem: 1 meters, 2 feet
LENGTH_COORDINATE_UNITS = (0, 1)  # trace header CoordinateUnits: 0 unspecified, 1 length


def _segyio():
    try:
        import segyio
    except ImportError:
        raise ImportError("reading SEG-Y files needs segyio: pip install \"specfwi[segy]\"") from None
    return segyio


def apply_scalar(values: NDArray, scalar: NDArray) -> NDArray[np.float64]:
    """Header values times a SEG-Y rev1 scalar: s > 0 multiplies, s < 0 divides by |s|, 0 counts as 1."""
    scalar = np.asarray(scalar, dtype=float)
    factor = np.ones_like(scalar)
    factor[scalar > 0] = scalar[scalar > 0]
    factor[scalar < 0] = -1.0 / scalar[scalar < 0]
    return np.asarray(values, dtype=float) * factor


@dataclass(frozen=True)
class SegyTraces:
    """What the reader takes from a SEG-Y file, one row per trace.

    source_positions, receiver_positions : (n_traces, 2) (x, y) in m, y up.
    delays_in_seconds : (n_traces,) time of each trace's first sample, s.
    sample_interval_in_seconds : dt, s.
    values : (n_traces, n_samples) samples, float64.
    """

    source_positions: NDArray[np.float64]
    receiver_positions: NDArray[np.float64]
    delays_in_seconds: NDArray[np.float64]
    sample_interval_in_seconds: float
    values: NDArray[np.float64]


def _sample_interval_in_seconds(segy_file, path: Path) -> float:
    segyio = _segyio()
    trace_intervals = np.asarray(segy_file.attributes(segyio.TraceField.TRACE_SAMPLE_INTERVAL)[:], dtype=float)
    binary_interval = float(segy_file.bin[segyio.BinField.Interval])
    intervals = np.where(trace_intervals > 0, trace_intervals, binary_interval)
    if np.any(intervals <= 0) or np.any(intervals != intervals[0]):
        raise invalid("path", str(path), f"a SEG-Y file whose traces share one positive sample interval "
                      f"(TRACE_SAMPLE_INTERVAL, or the binary header's Interval), found "
                      f"{sorted(set(intervals.tolist()))} us")
    return intervals[0] * 1e-6


def read_segy_headers(path: str | Path, *, vertical_coordinate: VerticalCoordinate = "elevation") -> SegyTraces:
    """Positions, delays, sample interval and samples of every trace of a SEG-Y file (see the module)."""
    segyio = _segyio()
    if vertical_coordinate not in VERTICAL_COORDINATES:
        raise invalid("vertical_coordinate", vertical_coordinate, f"one of {list(VERTICAL_COORDINATES)}")
    path = Path(path)
    if not path.is_file():
        raise invalid("path", str(path), "an existing SEG-Y file")
    field = segyio.TraceField
    try:
        segy_file = segyio.open(path, "r", ignore_geometry=True)
    except (RuntimeError, OSError, ValueError) as error:
        raise invalid("path", str(path), f"a SEG-Y file that segyio can read ({error})") from None
    with segy_file:
        if segy_file.tracecount == 0:
            raise invalid("path", str(path), "a SEG-Y file with at least one trace")

        def header(name: str) -> NDArray[np.int64]:
            return np.asarray(segy_file.attributes(getattr(field, name))[:], dtype=np.int64)

        units = header("CoordinateUnits")
        if not np.all(np.isin(units, LENGTH_COORDINATE_UNITS)):
            raise invalid("path", str(path), f"a SEG-Y file with lengths as coordinates (CoordinateUnits 0 or 1), "
                          f"found CoordinateUnits {sorted(set(units.tolist()))}")
        sample_counts = header("TRACE_SAMPLE_COUNT")
        n_samples = len(segy_file.samples)
        if np.any((sample_counts != 0) & (sample_counts != n_samples)):
            raise invalid("path", str(path), f"a SEG-Y file whose traces all have the binary header's {n_samples} "
                          f"samples, found TRACE_SAMPLE_COUNT {sorted(set(sample_counts.tolist()))}")
        coordinate_scalar, elevation_scalar = header("SourceGroupScalar"), header("ElevationScalar")
        source_x, receiver_x = (apply_scalar(header(name), coordinate_scalar) for name in ("SourceX", "GroupX"))
        if vertical_coordinate == "elevation":
            source_y = apply_scalar(header("SourceSurfaceElevation") - header("SourceDepth"), elevation_scalar)
            receiver_y = apply_scalar(header("ReceiverGroupElevation"), elevation_scalar)
        else:
            source_y, receiver_y = (apply_scalar(header(name), coordinate_scalar) for name in ("SourceY", "GroupY"))
        length_unit = METERS_PER_FOOT if segy_file.bin[segyio.BinField.MeasurementSystem] == FEET else 1.0
        return SegyTraces(source_positions=length_unit * np.column_stack([source_x, source_y]),
                          receiver_positions=length_unit * np.column_stack([receiver_x, receiver_y]),
                          delays_in_seconds=1e-3 * header("DelayRecordingTime").astype(float),
                          sample_interval_in_seconds=_sample_interval_in_seconds(segy_file, path),
                          values=np.asarray(segy_file.trace.raw[:], dtype=float).reshape(segy_file.tracecount, -1))


def _distances(positions: NDArray[np.float64], targets: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distances (n_positions, n_targets) between points (m)."""
    return np.linalg.norm(positions[:, None, :] - targets[None, :, :], axis=-1)


def _describe(position: NDArray[np.float64]) -> str:
    return f"(x, y) = ({position[0]:.6g}, {position[1]:.6g}) m"


def _assign_events(traces: SegyTraces, events: Sequence[Event], tolerance: float, path: Path) -> NDArray[np.int64]:
    """Index into ``events`` of each trace's event (by source position)."""
    distances = np.stack([_distances(traces.source_positions,
                                   np.array([[source.x, source.y] for source in event.sources])).min(axis=1)
                          for event in events], axis=1)
    matches = distances <= tolerance
    for trace in range(distances.shape[0]):
        if not matches[trace].any():
            nearest = int(np.argmin(distances[trace]))
            raise invalid(f"trace {trace} of {path.name}", f"a source at {_describe(traces.source_positions[trace])}",
                          f"within coordinate_tolerance_in_meters = {tolerance} m of a source of one of the events "
                          f"{[event.event_name for event in events]} (the nearest, of {events[nearest].event_name!r}, "
                          f"is {distances[trace, nearest]:.6g} m away)")
        if matches[trace].sum() > 1:
            raise invalid(f"trace {trace} of {path.name}", f"a source at {_describe(traces.source_positions[trace])}",
                          f"within coordinate_tolerance_in_meters = {tolerance} m of the sources of exactly one "
                          f"event, not of {[events[i].event_name for i in np.flatnonzero(matches[trace])]}")
    return np.argmax(matches, axis=1)


def _event_traces(traces: SegyTraces, rows: NDArray[np.int64], event: Event, tolerance: float,
                  path: Path) -> xr.DataArray:
    """The traces ``rows`` of the file as the receivers of ``event``, dims ("receiver", "time")."""
    receivers = event.receivers
    distances = _distances(traces.receiver_positions[rows], np.array([[r.x, r.y] for r in receivers]))
    matches = distances <= tolerance
    receiver_rows = {}
    for row, trace in enumerate(rows):
        matched = np.flatnonzero(matches[row])
        if matched.size != 1:
            nearest = int(np.argmin(distances[row]))
            found = ("no receiver" if matched.size == 0 else
                     f"the receivers {[receivers[i].name for i in matched]}")
            raise invalid(f"trace {trace} of {path.name}",
                          f"a receiver group at {_describe(traces.receiver_positions[trace])}, near {found}",
                          f"within coordinate_tolerance_in_meters = {tolerance} m of exactly one receiver of event "
                          f"{event.event_name!r} (the nearest, {receivers[nearest].name!r}, is "
                          f"{distances[row, nearest]:.6g} m away)")
        name = receivers[matched[0]].name
        if name in receiver_rows:
            raise invalid(f"traces {receiver_rows[name]} and {trace} of {path.name}", f"two traces of receiver "
                          f"{name!r} of event {event.event_name!r}", "one trace per receiver")
        receiver_rows[name] = trace
    missing = [receiver.name for receiver in receivers if receiver.name not in receiver_rows]
    if missing:
        raise invalid(path.name, f"no trace for the receivers {missing} of event {event.event_name!r}",
                      "a trace for every receiver of each event it has traces of")
    delays = traces.delays_in_seconds[rows]
    if np.any(delays != delays[0]):
        raise invalid(path.name, f"traces of event {event.event_name!r} with delays {sorted(set(delays.tolist()))} s",
                      "one DelayRecordingTime for all the traces of an event")
    order = [receiver_rows[receiver.name] for receiver in receivers]
    time = delays[0] + traces.sample_interval_in_seconds * np.arange(traces.values.shape[1])
    return xr.DataArray(traces.values[order], dims=("receiver", "time"),
                        coords={"receiver": event.receiver_names, "time": time}, name="phi")


def read_segy(path: str | Path, events: Sequence[Event], *,
              coordinate_tolerance_in_meters: float = DEFAULT_COORDINATE_TOLERANCE_IN_METERS,
              vertical_coordinate: VerticalCoordinate = "elevation") -> dict[str, xr.DataArray]:
    """Observed traces of a SEG-Y file by event: {event name: DataArray ("receiver", "time")}.

    Parameters
    ----------
    path : the SEG-Y file (rev0/rev1, IBM or IEEE floats, as segyio reads them).
    events : the candidate events (``sf.Event``); each trace is matched to one of them by its source
        position and to one of its receivers by its receiver-group position (see the module's
        docstring for the headers).
    coordinate_tolerance_in_meters : the largest distance (m, > 0) between a header position and
        the source or receiver it matches.
    vertical_coordinate : "elevation" (elevation and depth headers) or "coordinate_y" (SourceY, GroupY).

    Each DataArray has the event's receiver names in its order and the file's time axis (s); the
    events that no trace matches are absent.
    """
    tolerance = finite_number("coordinate_tolerance_in_meters", coordinate_tolerance_in_meters)
    if tolerance <= 0.0:
        raise invalid("coordinate_tolerance_in_meters", coordinate_tolerance_in_meters, "a finite number > 0 (m)")
    events = [events] if isinstance(events, Event) else list(events)
    if not events or not all(isinstance(event, Event) for event in events):
        raise invalid("events", events, "an sf.Event or a non-empty list of them")
    path = Path(path)
    traces = read_segy_headers(path, vertical_coordinate=vertical_coordinate)
    assignment = _assign_events(traces, events, tolerance, path)
    observed = {events[index].event_name: _event_traces(traces, np.flatnonzero(assignment == index), events[index],
                                                        tolerance, path)
                for index in np.unique(assignment)}
    logger.info("Read %d traces of %d event(s) from %s.", traces.values.shape[0], len(observed), path)
    return observed
