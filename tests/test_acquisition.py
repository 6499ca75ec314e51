"""Tests of specfwi.acquisition: wavelets, sources, receivers, events."""

import json

import numpy as np
import pytest

from specfwi.acquisition import (AcquisitionObject, ArrayPoint2D, Event, Receiver2D, Ricker, SampledWavelet,
                                 ScalarPoint2D, Wavelet)
from specfwi.errors import SpecfwiError


def round_trip(obj):
    return AcquisitionObject.from_dict(json.loads(json.dumps(obj.to_dict())))


# ---------------------------------------------------------------- Ricker
def test_ricker_peaks_at_default_time_shift_with_its_amplitude():
    wavelet = Ricker(center_frequency=5.0, amplitude=2.5)
    assert wavelet.time_shift_in_seconds == pytest.approx(1.2 / 5.0, rel=1e-15)
    time = np.linspace(-1.0, 1.0, 200001)
    values = wavelet(time)
    assert time[np.argmax(values)] == pytest.approx(0.24, abs=1e-5)
    assert values.max() == pytest.approx(2.5, rel=1e-12)
    assert wavelet(0.24) == pytest.approx(2.5, rel=1e-15)


def test_ricker_amplitude_spectrum_matches_analytic_form():
    """|W(f)| = 2 f^2 / (sqrt(pi) f0^3) exp(-f^2 / f0^2) for a unit-amplitude Ricker."""
    center_frequency = 5.0
    wavelet = Ricker(center_frequency=center_frequency, time_shift_in_seconds=5.0)
    time_step = 1e-3
    time = np.arange(10000) * time_step
    spectrum = np.abs(np.fft.rfft(wavelet(time))) * time_step
    frequency = np.fft.rfftfreq(time.size, time_step)
    analytic = (2.0 * frequency**2 / (np.sqrt(np.pi) * center_frequency**3)
                * np.exp(-((frequency / center_frequency) ** 2)))
    np.testing.assert_allclose(spectrum, analytic, atol=1e-9 * analytic.max())
    assert frequency[np.argmax(spectrum)] == pytest.approx(center_frequency, abs=frequency[1])
    assert wavelet.max_frequency_in_hertz == 2.5 * center_frequency


def test_ricker_second_derivative_matches_finite_differences():
    wavelet = Ricker(center_frequency=8.0, time_shift_in_seconds=0.1, amplitude=-3.0)
    time = np.linspace(-0.1, 0.4, 301)
    step = 1e-5
    finite_difference = (wavelet(time + step) - 2.0 * wavelet(time) + wavelet(time - step)) / step**2
    exact = wavelet.second_derivative(time)
    np.testing.assert_allclose(exact, finite_difference, atol=1e-6 * np.abs(exact).max())


def test_ricker_start_time_bounds_the_wavelet_before_it():
    wavelet = Ricker(center_frequency=10.0, amplitude=4.0)
    start = wavelet.start_time_in_seconds
    assert -0.02 < start < 0.0
    assert abs(wavelet(start)) == pytest.approx(1e-6 * 4.0, rel=1e-8)
    earlier = start - np.linspace(1e-9, 1.0, 10001)
    assert np.all(np.abs(wavelet(earlier)) < 1e-6 * 4.0)
    later = start + 1e-4
    assert abs(wavelet(later)) > 1e-6 * 4.0


@pytest.mark.parametrize("frequency", [0.0, -5.0, np.nan, np.inf, "5", None, True])
def test_ricker_rejects_bad_center_frequency(frequency):
    with pytest.raises(SpecfwiError, match="'center_frequency' must be"):
        Ricker(center_frequency=frequency)


def test_ricker_rejects_bad_shift_and_amplitude():
    with pytest.raises(SpecfwiError, match="'time_shift_in_seconds'"):
        Ricker(center_frequency=5.0, time_shift_in_seconds=np.nan)
    with pytest.raises(SpecfwiError, match="'amplitude'"):
        Ricker(center_frequency=5.0, amplitude=0.0)


def test_ricker_value_equality_hash_and_round_trip():
    wavelet = Ricker(center_frequency=5)
    assert wavelet == Ricker(center_frequency=5.0, time_shift_in_seconds=0.24)
    assert hash(wavelet) == hash(Ricker(center_frequency=5.0))
    assert wavelet != Ricker(center_frequency=6.0)
    assert round_trip(wavelet) == wavelet
    assert Wavelet.from_dict(wavelet.to_dict()) == wavelet
    assert wavelet.to_dict()["type"] == "Ricker"


# ---------------------------------------------------------------- SampledWavelet
def test_sampled_wavelet_interpolates_a_ricker():
    ricker = Ricker(center_frequency=5.0)
    time = np.arange(-0.1, 0.7, 1e-3)
    sampled = SampledWavelet(time, ricker(time))
    np.testing.assert_array_equal(sampled(time), ricker(time))
    between = time[:-1] + 0.37e-3
    np.testing.assert_allclose(sampled(between), ricker(between), atol=1e-6)
    np.testing.assert_allclose(sampled.second_derivative(between), ricker.second_derivative(between),
                               atol=1e-3 * np.abs(ricker.second_derivative(between)).max())
    assert sampled.start_time_in_seconds == time[0]
    assert sampled.max_frequency_in_hertz is None and sampled.center_frequency is None


def test_sampled_wavelet_is_zero_outside_its_span():
    sampled = SampledWavelet([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    outside = np.array([-1.0, -1e-9, 3.0 + 1e-9, 10.0])
    np.testing.assert_array_equal(sampled(outside), 0.0)
    np.testing.assert_array_equal(sampled.second_derivative(outside), 0.0)
    assert sampled(1.5) == pytest.approx(2.5)


@pytest.mark.parametrize("time, values, name", [
    ([0.0, 2.0, 1.0], [0.0, 1.0, 0.0], "time_in_seconds"),
    ([0.0, 1.0, 1.0], [0.0, 1.0, 0.0], "time_in_seconds"),
    ([0.0, np.nan, 2.0], [0.0, 1.0, 0.0], "time_in_seconds"),
    ([0.0], [1.0], "time_in_seconds"),
    ([0.0, 1.0, 2.0], [0.0, np.inf, 0.0], "values"),
    ([0.0, 1.0, 2.0], [0.0, 1.0], "values"),
])
def test_sampled_wavelet_rejects_bad_samples(time, values, name):
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        SampledWavelet(time, values)


def test_sampled_wavelet_equality_and_round_trip():
    sampled = SampledWavelet([0.0, 0.5, 1.0], [0.0, 1.0, 0.0])
    assert round_trip(sampled) == sampled
    assert hash(round_trip(sampled)) == hash(sampled)
    assert sampled != SampledWavelet([0.0, 0.5, 1.0], [0.0, 2.0, 0.0])
    assert sampled != Ricker(center_frequency=1.0)


# ---------------------------------------------------------------- sources and receivers
def test_scalar_point_holds_position_and_amplitude():
    source = ScalarPoint2D(x=500.0, y=-500.0, f=2.0)
    assert (source.x, source.y, source.f) == (500.0, -500.0, 2.0)
    assert ScalarPoint2D(x=1, y=2).f == 1.0
    assert round_trip(source) == source
    assert source != ScalarPoint2D(x=500.0, y=-500.0, f=1.0)
    with pytest.raises(SpecfwiError, match="'y' must be"):
        ScalarPoint2D(x=0.0, y=np.nan)


def test_array_point_broadcasts_and_names_receivers():
    receivers = ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10), y=0.0, fields=["phi"])
    assert len(receivers) == 10
    np.testing.assert_array_equal(receivers.y, np.zeros(10))
    names = [receiver.name for receiver in receivers]
    assert names[0] == "REC_000" and names[-1] == "REC_009"
    assert all(isinstance(receiver, Receiver2D) and receiver.fields == ("phi",) for receiver in receivers)
    assert receivers[-1] == receivers[9] == Receiver2D(2900.0, 0.0, name="REC_009")
    assert [r.name for r in receivers[2:4]] == ["REC_002", "REC_003"]
    with pytest.raises(IndexError):
        receivers[10]
    single = ArrayPoint2D(x=5.0, y=-1.0, station_prefix="OBS")
    assert len(single) == 1 and single[0].name == "OBS_000"


def test_array_point_widens_names_beyond_a_thousand_receivers():
    receivers = ArrayPoint2D(x=np.arange(1001.0), y=0.0)
    assert receivers[0].name == "REC_0000" and receivers[1000].name == "REC_1000"


@pytest.mark.parametrize("kwargs, name", [
    ({"x": [0.0, 1.0], "y": [0.0, 1.0, 2.0]}, "x, y"),
    ({"x": np.zeros((2, 2)), "y": 0.0}, "x, y"),
    ({"x": [0.0, np.nan], "y": 0.0}, "x, y"),
    ({"x": [], "y": 0.0}, "x, y"),
    ({"x": 0.0, "y": 0.0, "fields": ["vx"]}, "fields"),
    ({"x": 0.0, "y": 0.0, "fields": []}, "fields"),
    ({"x": 0.0, "y": 0.0, "fields": ["phi", "phi"]}, "fields"),
    ({"x": 0.0, "y": 0.0, "station_prefix": ""}, "station_prefix"),
])
def test_array_point_rejects_bad_input(kwargs, name):
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        ArrayPoint2D(**kwargs)


def test_array_point_equality_and_round_trip():
    receivers = ArrayPoint2D(x=[0.0, 1.0], y=-2.0)
    assert receivers == ArrayPoint2D(x=np.array([0.0, 1.0]), y=[-2.0, -2.0])
    assert receivers != ArrayPoint2D(x=[0.0, 1.0], y=-2.0, station_prefix="B")
    assert round_trip(receivers) == receivers
    assert hash(round_trip(receivers)) == hash(receivers)


# ---------------------------------------------------------------- events
def make_event(**overrides):
    arguments = {"sources": ScalarPoint2D(x=500.0, y=-500.0, f=1.0),
                 "receivers": ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10), y=0.0, fields=["phi"])}
    arguments.update(overrides)
    return Event(event_name="event", **arguments)


def test_event_expands_sources_and_receivers_into_lists():
    event = make_event()
    assert event.event_name == "event"
    assert event.sources == [ScalarPoint2D(x=500.0, y=-500.0, f=1.0)]
    assert len(event.receivers) == 10 and event.receivers[3].x == pytest.approx(100.0 + 3 * 2800.0 / 9)
    assert event.receiver_names[0] == "REC_000"
    event.receivers.clear()
    assert len(event.receivers) == 10


def test_event_mixes_arrays_and_single_receivers():
    event = make_event(sources=[ScalarPoint2D(x=0.0, y=-1.0), ScalarPoint2D(x=1.0, y=-1.0)],
                       receivers=[ArrayPoint2D(x=[0.0, 1.0], y=0.0), Receiver2D(5.0, 0.0, name="EXTRA")])
    assert len(event.sources) == 2
    assert event.receiver_names == ["REC_000", "REC_001", "EXTRA"]


@pytest.mark.parametrize("overrides, name", [
    ({"sources": []}, "sources"),
    ({"sources": Ricker(center_frequency=1.0)}, "sources"),
    ({"receivers": []}, "receivers"),
    ({"receivers": ScalarPoint2D(x=0.0, y=0.0)}, "receivers"),
    ({"receivers": [ArrayPoint2D(x=[0.0, 1.0], y=0.0), ArrayPoint2D(x=[2.0], y=0.0)]}, "receivers"),
])
def test_event_rejects_bad_input(overrides, name):
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        make_event(**overrides)
    with pytest.raises(SpecfwiError, match="'event_name' must be"):
        Event(event_name="", sources=ScalarPoint2D(x=0.0, y=0.0), receivers=Receiver2D(0.0, 0.0, name="A"))


def test_event_round_trips_through_json_with_value_equality():
    event = make_event()
    restored = round_trip(event)
    assert isinstance(restored, Event) and restored == event and hash(restored) == hash(event)
    explicit = make_event(receivers=list(ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10), y=0.0)))
    assert explicit == event
    assert make_event(sources=ScalarPoint2D(x=501.0, y=-500.0)) != event


def test_from_dict_rejects_unknown_types_and_keys():
    with pytest.raises(SpecfwiError, match="'type' must be one of"):
        Wavelet.from_dict(ScalarPoint2D(x=0.0, y=0.0).to_dict())
    with pytest.raises(SpecfwiError, match="keys of a Ricker dict"):
        AcquisitionObject.from_dict({"type": "Ricker", "center_frequency": 1.0, "phase": 0.0})
    with pytest.raises(SpecfwiError, match="'dictionary' must be"):
        AcquisitionObject.from_dict({"center_frequency": 1.0})
