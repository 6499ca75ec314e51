"""Tests of specfwi.misfit: values against analytic cases, adjoint sources by Taylor tests, windows, band-pass,
top mute."""

import numpy as np
import pytest
import xarray as xr
from scipy.signal import butter, sosfiltfilt, sosfreqz

import specfwi as sf
from specfwi.errors import SpecfwiError
from specfwi.misfit import MISFIT_NAMES, Bandpass, TopMute, Window, get_misfit, trapezoid_weights, uniform_time_step
from specfwi.misfit.window import window_weights
from specfwi.misfit.cross_correlation import time_shifts
from specfwi.testing import assert_adjoint, check_gradient

TIME_STEP = 0.01
TIME = np.arange(401) * TIME_STEP  # 0 .. 4 s
NAMES = ["A", "B", "C"]


def traces(values, time=TIME, names=None):
    values = np.atleast_2d(values)
    names = names or [f"R{i}" for i in range(len(values))]
    return xr.DataArray(values, dims=("receiver", "time"), coords={"receiver": names, "time": time,
                                                                   "x": ("receiver", np.arange(len(names)) * 10.0)},
                        name="phi")


def gaussian(center, width, time=TIME):
    return np.exp(-0.5 * ((time - center) / width) ** 2)


def smooth_random_traces(rng, n_receivers=3):
    """Sums of Gaussians well inside the time axis: smooth, tapered to zero at both ends."""
    values = np.zeros((n_receivers, TIME.size))
    for row in range(n_receivers):
        for _ in range(3):
            values[row] += rng.normal() * gaussian(rng.uniform(1.2, 2.8), rng.uniform(0.08, 0.2))
    return values


def taylor_check(misfit, synthetic, observed, rng):
    """Taylor test of the misfit w.r.t. the synthetic samples, with gradient dt c_k a_k."""
    value, adjoint_source = misfit(synthetic, observed)
    gradient = TIME_STEP * trapezoid_weights(TIME) * adjoint_source.values
    direction = smooth_random_traces(rng, synthetic.shape[0]) + 0.1 * rng.standard_normal(synthetic.shape)

    def function(values):
        return misfit(synthetic.copy(data=values), observed).value

    return check_gradient(function, synthetic.values, direction, gradient,
                          steps=1e-3 * 0.5 ** np.arange(6))


# ---------------------------------------------------------------- quadrature and traces
def test_trapezoid_weights_integrate_linear_functions_exactly():
    weights = trapezoid_weights(TIME)
    assert weights[0] == weights[-1] == 0.5 and np.all(weights[1:-1] == 1.0)
    integral = uniform_time_step(TIME) * np.sum(weights * (3.0 * TIME + 2.0))
    assert integral == pytest.approx(1.5 * 4.0**2 + 2.0 * 4.0, rel=1e-12)


@pytest.mark.parametrize("time", [np.array([0.0, 0.1, 0.3]), np.array([0.0]), np.array([1.0, 0.5, 0.0]),
                                  np.array([0.0, np.nan, 0.2])])
def test_time_axis_must_be_uniform_and_increasing(time):
    with pytest.raises(SpecfwiError, match="'time' must be"):
        trapezoid_weights(time)


# ---------------------------------------------------------------- analytic values
def test_energy_of_a_gaussian_matches_the_analytic_integral():
    width = 0.15
    synthetic = traces([gaussian(2.0, width), 2.0 * gaussian(1.5, width)])
    value, adjoint_source = get_misfit("L2_energy_no_observed_data")(synthetic)
    # 1/2 int (a g)^2 dt = a^2 width sqrt(pi) / 2
    assert value == pytest.approx((1.0 + 4.0) * width * np.sqrt(np.pi) / 2.0, rel=1e-10)
    np.testing.assert_array_equal(adjoint_source.values, synthetic.values)
    assert adjoint_source.dims == ("receiver", "time")
    np.testing.assert_array_equal(adjoint_source["x"].values, synthetic["x"].values)


def test_l2_of_shifted_gaussians_matches_the_analytic_integral():
    width, shift = 0.1, 0.07
    synthetic = traces(gaussian(2.0 + shift, width))
    observed = traces(gaussian(2.0, width))
    value, adjoint_source = get_misfit("L2")(synthetic, observed)
    # int (g(t - s) - g(t))^2 dt = 2 width sqrt(pi) (1 - exp(-s^2 / (4 width^2)))
    expected = 0.5 * 2.0 * width * np.sqrt(np.pi) * (1.0 - np.exp(-shift**2 / (4.0 * width**2)))
    assert value == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(adjoint_source.values, synthetic.values - observed.values, rtol=0, atol=0)


@pytest.mark.parametrize("shift", [0.0, 0.0037, -0.0213, 0.3456, -0.5])
def test_cross_correlation_recovers_the_time_shift_of_a_gaussian(shift):
    width = 0.1
    synthetic = traces([gaussian(2.0 + shift, width), gaussian(1.7 + shift, 2 * width)], names=["A", "B"])
    observed = traces([gaussian(2.0, width), gaussian(1.7, 2 * width)], names=["A", "B"])
    recovered = time_shifts(synthetic.values, observed.values, TIME)
    np.testing.assert_allclose(recovered, shift, atol=0.01 * TIME_STEP)
    value, _ = get_misfit("cross_correlation_time_shift")(synthetic, observed)
    assert value == pytest.approx(0.5 * np.sum(recovered**2), rel=1e-12)


def test_cross_correlation_skips_receivers_with_zero_traces():
    synthetic = traces([gaussian(2.05, 0.1), np.zeros(TIME.size)])
    observed = traces([gaussian(2.0, 0.1), gaussian(2.0, 0.1)])
    value, adjoint_source = get_misfit("cross_correlation_time_shift")(synthetic, observed)
    assert value == pytest.approx(0.5 * 0.05**2, rel=0.02)
    np.testing.assert_array_equal(adjoint_source.values[1], 0.0)
    assert np.any(adjoint_source.values[0] != 0.0)


# ---------------------------------------------------------------- adjoint sources (Taylor tests)
WINDOWS = {
    "none": None,
    "single": Window(1.0, 3.0, taper_width_in_seconds=0.4),
    "per_receiver": {"R0": Window(0.8, 3.2, taper_width_in_seconds=0.5), "R2": Window(1.0, 3.5)},
}


@pytest.mark.parametrize("window", list(WINDOWS.values()), ids=list(WINDOWS))
@pytest.mark.parametrize("name", MISFIT_NAMES)
def test_adjoint_source_is_the_gradient_of_the_misfit(name, window):
    rng = np.random.default_rng(12)
    synthetic = traces(smooth_random_traces(rng))
    observed = None
    if name != "L2_energy_no_observed_data":
        observed = traces(np.roll(synthetic.values, 7, axis=1) + 0.3 * smooth_random_traces(rng))
    result = taylor_check(get_misfit(name, window=window), synthetic, observed, rng)
    assert result.passed(1e-6 if name == "cross_correlation_time_shift" else 1e-8, minimum_slope=1.8), str(result)
    assert abs(result.directional_derivative) > 0.0


def test_taylor_check_catches_a_wrong_cross_correlation_adjoint_sign():
    rng = np.random.default_rng(3)
    synthetic = traces(smooth_random_traces(rng))
    observed = traces(np.roll(synthetic.values, 5, axis=1))
    correct = get_misfit("cross_correlation_time_shift")

    def flipped(synthetic, observed):
        value, adjoint_source = correct(synthetic, observed)
        return value, -adjoint_source

    result = taylor_check(get_misfit(flipped), synthetic, observed, rng)
    assert not result.passed(1e-2)


def test_windowed_l2_adjoint_source_is_the_residual_times_squared_weights():
    window = Window(1.0, 3.0, taper_width_in_seconds=0.5)
    rng = np.random.default_rng(5)
    synthetic, observed = traces(smooth_random_traces(rng)), traces(smooth_random_traces(rng))
    value, adjoint_source = get_misfit("L2", window=window)(synthetic, observed)
    weights = window.weights(TIME)
    np.testing.assert_allclose(adjoint_source.values, (synthetic.values - observed.values) * weights**2,
                               rtol=1e-14, atol=0)
    residual = (synthetic.values - observed.values) * weights
    assert value == pytest.approx(0.5 * TIME_STEP * np.sum(trapezoid_weights(TIME) * residual**2), rel=1e-14)


def test_per_receiver_windows_exclude_unlisted_receivers():
    rng = np.random.default_rng(6)
    synthetic = traces(smooth_random_traces(rng))
    value, adjoint_source = get_misfit("L2_energy_no_observed_data", window={"R1": Window(0.0, 4.0)})(synthetic)
    np.testing.assert_array_equal(adjoint_source.values[[0, 2]], 0.0)
    np.testing.assert_array_equal(adjoint_source.values[1], synthetic.values[1])
    only_r1 = get_misfit("L2_energy_no_observed_data")(synthetic.isel(receiver=[1])).value
    assert value == pytest.approx(only_r1, rel=1e-14)
    with pytest.raises(SpecfwiError, match="'window' must be"):
        get_misfit("L2_energy_no_observed_data", window={"nope": Window(0.0, 1.0)})(synthetic)


# ---------------------------------------------------------------- windows
def test_window_weights_follow_the_hann_taper():
    window = Window(1.0, 3.0, taper_width_in_seconds=0.5)
    time = np.array([0.5, 1.0, 1.25, 1.5, 2.0, 2.5, 2.75, 3.0, 3.5])
    np.testing.assert_allclose(window.weights(time), [0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-15)
    np.testing.assert_array_equal(Window(1.0, 3.0).weights(time), [0, 1, 1, 1, 1, 1, 1, 1, 0])


@pytest.mark.parametrize("arguments, name", [
    ((2.0, 1.0), "end_in_seconds"), ((1.0, 1.0), "end_in_seconds"), ((np.nan, 1.0), "start_in_seconds"),
    ((0.0, 1.0, -0.1), "taper_width_in_seconds"), ((0.0, 1.0, 0.6), "taper_width_in_seconds"),
])
def test_window_rejects_bad_bounds(arguments, name):
    start, end, *taper = arguments
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        Window(start, end, taper_width_in_seconds=taper[0] if taper else 0.0)


# ---------------------------------------------------------------- validation and user callables
def test_get_misfit_rejects_unknown_names_listing_the_allowed_ones():
    with pytest.raises(SpecfwiError, match="'misfit' must be one of .*'L2'.*cross_correlation_time_shift"):
        get_misfit("L1")
    with pytest.raises(SpecfwiError, match="'misfit' must be"):
        get_misfit(3.0)
    with pytest.raises(SpecfwiError, match="'window' must be"):
        get_misfit("L2", window=(0.0, 1.0))


def test_observed_data_must_be_given_exactly_when_needed():
    synthetic = traces(gaussian(2.0, 0.1))
    with pytest.raises(SpecfwiError, match="'observed' must be None"):
        get_misfit("L2_energy_no_observed_data")(synthetic, synthetic)
    for name in ("L2", "cross_correlation_time_shift"):
        with pytest.raises(SpecfwiError, match="'observed' must be traces"):
            get_misfit(name)(synthetic)


def test_observed_traces_must_match_the_synthetic_ones():
    synthetic = traces(np.ones((3, TIME.size)), names=NAMES)
    misfit = get_misfit("L2")
    with pytest.raises(SpecfwiError, match="'observed.receiver' must be"):
        misfit(synthetic, traces(np.ones((3, TIME.size)), names=["A", "B", "D"]))
    with pytest.raises(SpecfwiError, match="'observed.time' must be"):
        misfit(synthetic, traces(np.ones((3, TIME.size)), time=TIME + 0.5 * TIME_STEP, names=NAMES))
    with pytest.raises(SpecfwiError, match="'observed' must be"):
        misfit(synthetic, np.ones((3, TIME.size)))


def test_observed_receivers_are_matched_by_name():
    rng = np.random.default_rng(8)
    synthetic = traces(smooth_random_traces(rng), names=NAMES)
    observed = traces(smooth_random_traces(rng), names=NAMES)
    reordered = observed.isel(receiver=[2, 0, 1])
    for name in ("L2", "cross_correlation_time_shift"):
        assert get_misfit(name)(synthetic, reordered).value == get_misfit(name)(synthetic, observed).value


@pytest.mark.parametrize("bad, name", [
    (lambda t: t.rename({"time": "t"}), "synthetic.dims"),
    (lambda t: t.drop_vars("time"), "synthetic.coords"),
    (lambda t: t.assign_coords(time=TIME**2), "synthetic.time"),
    (lambda t: t.copy(data=np.where(TIME > 2.0, np.nan, t.values)), "synthetic"),
    (lambda t: t.values, "synthetic"),
])
def test_synthetic_traces_are_validated(bad, name):
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        get_misfit("L2_energy_no_observed_data")(bad(traces(gaussian(2.0, 0.1))))


def test_transposed_traces_are_accepted():
    synthetic = traces(smooth_random_traces(np.random.default_rng(1)))
    misfit = get_misfit("L2_energy_no_observed_data")
    assert misfit(synthetic.T).value == misfit(synthetic).value
    assert misfit(synthetic.T).adjoint_source.dims == ("receiver", "time")


def quartic(synthetic, observed):
    """chi = 1/4 sum int u^4 dt, adjoint source u^3 (a user misfit returning a numpy array)."""
    time = synthetic["time"].values
    value = 0.25 * uniform_time_step(time) * np.sum(trapezoid_weights(time) * synthetic.values**4)
    return value, synthetic.values**3


def test_user_callable_is_validated_and_windowed():
    rng = np.random.default_rng(9)
    synthetic = traces(smooth_random_traces(rng))
    misfit = get_misfit(quartic, window=Window(1.5, 2.5, taper_width_in_seconds=0.3))
    value, adjoint_source = misfit(synthetic)
    assert isinstance(adjoint_source, xr.DataArray) and adjoint_source.dims == ("receiver", "time")
    np.testing.assert_array_equal(adjoint_source.values[:, TIME < 1.5], 0.0)
    result = taylor_check(misfit, synthetic, None, rng)
    assert result.passed(1e-8), str(result)


@pytest.mark.parametrize("output, match", [
    (lambda u: (np.nan, u.values), "misfit value of"),
    (lambda u: ("1", u.values), "misfit value of"),
    (lambda u: (1.0, u.values[:, :-1]), "adjoint source of"),
    (lambda u: (1.0, u.rename({"receiver": "station"})), "adjoint source of"),
    (lambda u: (1.0, np.full(u.shape, np.inf)), "adjoint source of"),
    (lambda u: (1.0, "adjoint"), "adjoint source of"),
    (lambda u: 1.0, "output of misfit"),
])
def test_user_callable_output_is_validated(output, match):
    synthetic = traces(gaussian(2.0, 0.1))
    with pytest.raises(SpecfwiError, match=match):
        get_misfit(lambda synthetic, observed: output(synthetic))(synthetic)


def test_get_misfit_returns_a_misfit_unchanged_without_window():
    misfit = get_misfit("L2")
    assert get_misfit(misfit) is misfit
    assert misfit.requires_observed_data and misfit.name == "L2"


# ---------------------------------------------------------------- band-pass
@pytest.mark.parametrize("order", [2, 4, 6])
@pytest.mark.parametrize("band", [(0.5, 8.0), (5.0, 45.0)])
def test_bandpass_transpose_passes_the_dot_product_test(band, order):
    bandpass = Bandpass(*band, order=order)
    assert_adjoint(lambda u: bandpass.apply(u, TIME), lambda v: bandpass.transpose(v, TIME), (3, TIME.size),
                   (3, TIME.size), rng=order)
    # zero phase does not make the filter symmetric: the padding and initial conditions at the ends do not
    with pytest.raises(AssertionError, match="dot-product test failed"):
        assert_adjoint(lambda u: bandpass.apply(u, TIME), lambda v: bandpass.apply(v, TIME), TIME.size, TIME.size)


def test_bandpass_is_scipys_zero_phase_filter():
    rng = np.random.default_rng(4)
    values = rng.standard_normal((2, TIME.size))
    sections = butter(4, (1.0, 6.0), btype="bandpass", output="sos", fs=1.0 / TIME_STEP)
    np.testing.assert_allclose(Bandpass(1.0, 6.0).apply(values, TIME),
                               sosfiltfilt(sections, values, axis=-1, padtype="odd"), rtol=0.0, atol=1e-14)


def test_bandpass_removes_a_tone_outside_the_band_and_keeps_one_inside():
    time = np.arange(2001) * 0.002  # 4 s at 500 Hz
    low, high = np.sin(2.0 * np.pi * 3.0 * time + 0.3), np.cos(2.0 * np.pi * 30.0 * time + 0.1)
    filtered = Bandpass(10.0, 50.0).apply(np.stack([low, high, low + high]), time)
    # Away from the ends, a tone comes out times the squared amplitude response |H(f)|^2 of the
    # Butterworth filter (forward and backward, no phase): 1.3e-5 at 3 Hz, 0.9999 at 30 Hz.
    _, response = sosfreqz(butter(4, (10.0, 50.0), btype="bandpass", output="sos", fs=500.0), [3.0, 30.0], fs=500.0)
    gain = np.abs(response) ** 2
    assert gain[0] < 2e-5 and gain[1] > 0.9998
    interior = (time > 1.0) & (time < 3.0)
    np.testing.assert_allclose(filtered[0, interior], gain[0] * low[interior], rtol=0.0, atol=1e-8)
    np.testing.assert_allclose(filtered[1, interior], gain[1] * high[interior], rtol=0.0, atol=1e-6)
    np.testing.assert_allclose(filtered[2], filtered[0] + filtered[1], rtol=0.0, atol=1e-12)


BANDPASS_MISFITS = {
    "L2": dict(window=None),
    "L2 windowed": dict(window=Window(1.0, 3.0, taper_width_in_seconds=0.4)),
    "cross_correlation_time_shift": dict(window=None),
    "L2_energy_no_observed_data": dict(window=None),
}


@pytest.mark.parametrize("case", list(BANDPASS_MISFITS))
def test_bandpassed_adjoint_source_is_the_gradient_of_the_misfit(case):
    name = case.split()[0]
    rng = np.random.default_rng(21)
    synthetic = traces(smooth_random_traces(rng) + 0.05 * rng.standard_normal((3, TIME.size)))
    observed = None
    if name != "L2_energy_no_observed_data":
        observed = traces(np.roll(synthetic.values, 7, axis=1) + 0.3 * smooth_random_traces(rng))
    misfit = get_misfit(name, bandpass=(0.5, 4.0), **BANDPASS_MISFITS[case])
    result = taylor_check(misfit, synthetic, observed, rng)
    assert result.passed(1e-6 if name == "cross_correlation_time_shift" else 1e-8, minimum_slope=1.8), str(result)
    assert abs(result.directional_derivative) > 0.0


def test_bandpass_applies_alike_to_synthetic_and_observed_traces():
    rng = np.random.default_rng(22)
    synthetic = traces(smooth_random_traces(rng))
    noise = 0.5 * np.sin(2.0 * np.pi * 30.0 * TIME) * gaussian(2.0, 0.3)  # far above a 0.5 - 4 Hz band
    observed = synthetic + noise
    # 1/2 int noise^2 dt = 1/2 * 0.5^2 * 1/2 * 0.3 sqrt(pi) per receiver, without the band-pass
    assert get_misfit("L2")(synthetic, observed).value == pytest.approx(3 * 0.25 * 0.3 * np.sqrt(np.pi) / 4, rel=1e-3)
    filtered = get_misfit("L2", bandpass=(0.5, 4.0))
    assert filtered(synthetic, observed).value < 1e-6 * filtered(synthetic, 0.0 * synthetic).value
    value, adjoint_source = get_misfit("L2_energy_no_observed_data", bandpass=(0.5, 4.0))(
        traces(np.stack([noise, smooth_random_traces(rng, 1)[0]])))
    assert np.abs(adjoint_source.values[0]).max() < 1e-3 * np.abs(adjoint_source.values[1]).max()


@pytest.mark.parametrize("bandpass, match", [
    ((0.0, 4.0), r"'bandpass' must be \(f_min, f_max\) in Hz with 0 < f_min < f_max .*got \(0\.0, 4\.0\)"),
    ((-1.0, 4.0), r"'bandpass' must be .*0 < f_min < f_max"),
    ((4.0, 4.0), r"'bandpass' must be .*0 < f_min < f_max .*got \(4\.0, 4\.0\)"),
    ((5.0, 4.0), r"'bandpass' must be .*0 < f_min < f_max"),
    ((1.0, np.inf), r"'bandpass' must be .*finite"),
    (("1", 4.0), r"'bandpass' must be"),
    ((1.0, 2.0, 3.0), r"'bandpass' must be None or \(f_min, f_max\)"),
    (4.0, r"'bandpass' must be None or \(f_min, f_max\)"),
])
def test_bandpass_rejects_bad_bands_naming_the_parameter(bandpass, match):
    with pytest.raises(SpecfwiError, match=match):
        get_misfit("L2", bandpass=bandpass)


def test_bandpass_must_lie_below_the_nyquist_frequency_of_the_traces():
    synthetic = traces(gaussian(2.0, 0.1))
    misfit = get_misfit("L2_energy_no_observed_data", bandpass=(1.0, 50.0))  # TIME_STEP = 0.01 s: Nyquist 50 Hz
    with pytest.raises(SpecfwiError, match=r"'bandpass' must be .*f_max below the Nyquist frequency of the traces, "
                                           r"50\.0 Hz \(time step 0\.01 s\), got \(1\.0, 50\.0\)"):
        misfit(synthetic)
    with pytest.raises(SpecfwiError, match=r"'time' must be more than 27 samples"):
        get_misfit("L2_energy_no_observed_data", bandpass=(1.0, 10.0))(synthetic.isel(time=slice(0, 27)))
    with pytest.raises(SpecfwiError, match="'order' must be an integer"):
        Bandpass(1.0, 10.0, order=0)


# ---------------------------------------------------------------------------- top mute

def surface_event(receiver_x, source_x=1000.0):
    return sf.Event(event_name="shot", sources=sf.ScalarPoint2D(x=source_x, y=-20.0),
                    receivers=sf.ArrayPoint2D(x=np.asarray(receiver_x, dtype=float), y=-20.0, fields=["phi"]))


def test_top_mute_opens_each_window_at_the_offset_over_the_velocity_after_the_intercept():
    mute = TopMute(2000.0, 0.5, taper_width_in_seconds=0.2)
    event = surface_event([1000.0, 2000.0, 200.0, 8000.0])   # offsets 0, 1000, 800, 7000 m
    windows = mute.windows(event, 4.0)
    # the last receiver's mute time, 0.5 + 3.5 = 4 s, leaves no sample: it gets weight 0
    assert list(windows) == ["REC_000", "REC_001", "REC_002"]
    np.testing.assert_allclose([windows[name].start_in_seconds for name in windows], [0.5, 1.0, 0.9], rtol=1e-15)
    np.testing.assert_allclose(mute.mute_times_in_seconds([0.0, 1000.0]), [0.5, 1.0], rtol=1e-15)
    weights = window_weights(windows, traces(np.ones((4, TIME.size)), names=[f"REC_{i:03d}" for i in range(4)]))
    for row, start in enumerate([0.5, 1.0, 0.9]):
        assert np.all(weights[row, TIME <= start] == 0.0)
        assert np.all(weights[row, TIME >= start + 0.2] == 1.0)           # open to the end of the traces
        rising = (TIME > start) & (TIME < start + 0.2)
        np.testing.assert_allclose(weights[row, rising], 0.5 * (1.0 - np.cos(np.pi * (TIME[rising] - start) / 0.2)))
    assert not np.any(weights[3])
    with pytest.raises(SpecfwiError, match="'mute' must be a mute that keeps part of event 'shot'.s traces"):
        mute.windows(surface_event([8000.0]), 4.0)


def test_top_mute_measures_offsets_from_the_nearest_source_in_both_coordinates():
    sources = [sf.ScalarPoint2D(x=0.0, y=-300.0), sf.ScalarPoint2D(x=900.0, y=0.0)]
    event = sf.Event(event_name="two_sources", sources=sources,
                     receivers=sf.ArrayPoint2D(x=np.array([400.0, 500.0]), y=0.0, fields=["phi"]))
    windows = TopMute(1000.0, 0.0, taper_width_in_seconds=0.0).windows(event, 10.0)
    np.testing.assert_allclose([windows["REC_000"].start_in_seconds, windows["REC_001"].start_in_seconds],
                               [0.5, 0.4], rtol=1e-15)                   # hypot(400, 300) = 500 m; 900 - 500 = 400 m


def test_top_mute_round_trips_and_rejects_bad_values_naming_the_parameter():
    mute = TopMute(1500.0, 0.7, taper_width_in_seconds=0.05)
    assert TopMute.from_dict(mute.to_dict()) == mute
    for arguments, keywords, name in [((0.0, 0.7), {}, "velocity_in_meters_per_second"),
                                      ((float("inf"), 0.7), {}, "velocity_in_meters_per_second"),
                                      ((1500.0, float("nan")), {}, "intercept_time_in_seconds"),
                                      ((1500.0, 0.7), {"taper_width_in_seconds": -0.1}, "taper_width_in_seconds")]:
        with pytest.raises(SpecfwiError, match=f"'{name}'"):
            TopMute(*arguments, **keywords)
