"""Scenarios of benchmarks/SCENARIOS.md (S1, S2, A1), an analytic A1 reference and a timing helper.

Everything here is shared by the benchmark scripts of this folder; the scripts only choose a
scenario and what to measure (see ``measurement.py`` for the fresh-process runs).

Importing this module puts the repository root first on ``sys.path``, so that the benchmarks
measure the specfwi of this checkout, never a copy installed earlier (``pip install .`` copies
the package: after an edit, that copy is stale). Import it before specfwi.
"""

from __future__ import annotations

import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPOSITORY_ROOT = str(Path(__file__).resolve().parent.parent)
if sys.path[0] != REPOSITORY_ROOT:
    sys.path.insert(0, REPOSITORY_ROOT)

import numpy as np  # noqa: E402 (third-party and specfwi imports after the path)
import xarray as xr  # noqa: E402
from numpy.polynomial.legendre import leggauss  # noqa: E402
from scipy.special import hankel1  # noqa: E402

import specfwi as sf  # noqa: E402

ENERGY_MISFIT = "L2_energy_no_observed_data"


@contextmanager
def project_folder(output: str | None, *, prefix: str) -> Iterator[Path]:
    """The folder of a script's project: ``output`` (kept), or a new temporary one removed afterwards."""
    if output:
        yield Path(output)
        return
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Scenario:
    """A mesh (VP, RHO attached), one event per source, the wavelet and the end time (s)."""

    name: str
    mesh: sf.UnstructuredMesh
    events: list
    wavelet: sf.Ricker
    end_time_in_seconds: float
    mesh_options: str


# ---------------------------------------------------------------- S1: the seed tutorial

def s1_model() -> sf.model.GenericModel:
    """The seed's model: vp = 1500 - y, rho = 1000 - y on a 10 x 10 grid of [0, 3000] x [-1000, 0] m (exact: linear)."""
    x = np.linspace(0.0, 3000.0, 10)
    y = np.linspace(-1000.0, 0.0, 10)
    _, yy = np.meshgrid(x, y, indexing="ij")
    data = xr.Dataset({"vp": (["x", "y"], 1500.0 - yy), "rho": (["x", "y"], 1000.0 - yy)}, coords={"x": x, "y": y})
    return sf.model.GenericModel(name="model", data=data)


def s1_scenario(*, quick: bool = False) -> Scenario:
    """S1 with the seed's mesh options (12.5 Hz, 2 elements per wavelength, order 4); ``quick``: end time 0.5 s."""
    mesh = sf.mesh.from_volume_model(s1_model(), max_frequency_in_hertz=12.5, elements_per_wavelength=2.0,
                                     tensor_order=4)
    event = sf.Event(event_name="event", sources=sf.ScalarPoint2D(x=500.0, y=-500.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10), y=0.0, fields=["phi"]))
    return Scenario("S1", mesh, [event], sf.Ricker(center_frequency=5.0), 0.5 if quick else 2.0,
                    "max frequency 12.5 Hz, 2 elements per wavelength, order 4")


# ---------------------------------------------------------------- S2: scale

@dataclass(frozen=True)
class S2Model:
    """S2's analytic model, sampled exactly at any point (the interface of sf.mesh.from_volume_model).

    vp = 1500 + 0.7 depth + 800 exp(-r^2 / (2 * 500^2)), r the distance to (4600, -1800) m;
    rho = 1000 + 0.2 depth; depth = -y (m). The smallest vp, 1500 m/s, is at the surface.
    """

    extent: tuple[float, float, float, float] = (0.0, 9200.0, -3000.0, 0.0)
    min_velocity_in_meters_per_second: float = 1500.0

    def sample(self, points) -> dict[str, np.ndarray]:
        x, y = np.asarray(points, dtype=float).reshape(-1, 2).T
        depth = -y
        body = 800.0 * np.exp(-((x - 4600.0) ** 2 + (y + 1800.0) ** 2) / (2.0 * 500.0**2))
        return {"VP": 1500.0 + 0.7 * depth + body, "RHO": 1000.0 + 0.2 * depth}


def s2_scenario(*, max_frequency_in_hertz: float = 20.0, elements_per_wavelength: float = 2.0,
                tensor_order: int = 4, quick: bool = False) -> Scenario:
    """S2 with one event per source (8 shots, 200 receivers each); ``quick``: 5 Hz mesh, end time 1 s."""
    if quick:
        max_frequency_in_hertz = 5.0
    mesh = sf.mesh.from_volume_model(S2Model(), max_frequency_in_hertz=max_frequency_in_hertz,
                                     elements_per_wavelength=elements_per_wavelength, tensor_order=tensor_order)
    receivers = sf.ArrayPoint2D(x=np.linspace(100.0, 9100.0, 200), y=-10.0, fields=["phi"])
    events = [sf.Event(event_name=f"shot_{index}", sources=sf.ScalarPoint2D(x=float(x), y=-20.0, f=1.0),
                       receivers=receivers)
              for index, x in enumerate(np.linspace(500.0, 8700.0, 8))]
    return Scenario("S2", mesh, events, sf.Ricker(center_frequency=8.0), 1.0 if quick else 4.0,
                    f"max frequency {max_frequency_in_hertz:g} Hz, {elements_per_wavelength:g} elements per "
                    f"wavelength, order {tensor_order}")


# ---------------------------------------------------------------- A1: accuracy

A1_VELOCITY_IN_METERS_PER_SECOND = 2000.0
A1_DENSITY_IN_KILOGRAMS_PER_CUBIC_METER = 1000.0
A1_CENTER_FREQUENCY_IN_HERTZ = 10.0
A1_MAX_FREQUENCY_IN_HERTZ = 2.5 * A1_CENTER_FREQUENCY_IN_HERTZ  # the wavelength of "elements per wavelength"
A1_OFFSET_IN_METERS = 1000.0
A1_END_TIME_IN_SECONDS = 0.8
#: Box around the source (0, 0) and the receiver (1000, 0): the earliest boundary reflection travels
#: 2 sqrt(500^2 + 700^2) = 1720 m (top and bottom) or 1800 m (sides), i.e. arrives after 0.86 s > 0.8 s.
A1_X_RANGE = (-400.0, 1400.0)
A1_Y_RANGE = (-700.0, 700.0)


def a1_scenario(*, tensor_order: int, elements_per_wavelength: float) -> Scenario:
    """A1 on a regular mesh with at least ``elements_per_wavelength`` elements per wavelength at 25 Hz."""
    wavelength = A1_VELOCITY_IN_METERS_PER_SECOND / A1_MAX_FREQUENCY_IN_HERTZ
    target_size = wavelength / elements_per_wavelength
    n_x = math.ceil((A1_X_RANGE[1] - A1_X_RANGE[0]) / target_size - 1e-9)
    n_y = math.ceil((A1_Y_RANGE[1] - A1_Y_RANGE[0]) / target_size - 1e-9)
    mesh = sf.mesh.rectangle(A1_X_RANGE, A1_Y_RANGE, n_x, n_y, tensor_order=tensor_order)
    shape = (mesh.n_elements, mesh.n_gll)
    mesh.attach_field("VP", np.full(shape, A1_VELOCITY_IN_METERS_PER_SECOND))
    mesh.attach_field("RHO", np.full(shape, A1_DENSITY_IN_KILOGRAMS_PER_CUBIC_METER))
    elements = wavelength / max((A1_X_RANGE[1] - A1_X_RANGE[0]) / n_x, (A1_Y_RANGE[1] - A1_Y_RANGE[0]) / n_y)
    event = sf.Event(event_name="a1", sources=sf.ScalarPoint2D(x=0.0, y=0.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=A1_OFFSET_IN_METERS, y=0.0, fields=["phi"]))
    return Scenario("A1", mesh, [event], sf.Ricker(center_frequency=A1_CENTER_FREQUENCY_IN_HERTZ),
                    A1_END_TIME_IN_SECONDS, f"{elements:.2f} elements ({elements * tensor_order:.1f} GLL points) "
                    f"per wavelength")


def ricker_spectrum(angular_frequency: np.ndarray, wavelet: sf.Ricker) -> np.ndarray:
    """W(omega) = integral w(t) exp(i omega t) dt of a Ricker wavelet (omega in rad/s).

    w = -g'' / (2 b) for the Gaussian g = exp(-b (t - t_s)^2), b = (pi f0)^2, so
    W = omega^2 / (2 b) sqrt(pi / b) exp(-omega^2 / (4 b)) exp(i omega t_s), times the amplitude.
    """
    b = (math.pi * wavelet.center_frequency) ** 2
    return (wavelet.amplitude * angular_frequency**2 / (2.0 * b) * math.sqrt(math.pi / b)
            * np.exp(-angular_frequency**2 / (4.0 * b) + 1j * angular_frequency * wavelet.time_shift_in_seconds))


def analytic_trace(time_in_seconds: np.ndarray, *, offset_in_meters: float, velocity_in_meters_per_second: float,
                   density_in_kilograms_per_cubic_meter: float, source_amplitude: float,
                   wavelet: sf.Ricker) -> np.ndarray:
    """phi(t) at distance r from a source f delta(x) w(t) in a homogeneous unbounded 2D acoustic medium.

    The equation (1/(rho c^2)) phi_tt - div((1/rho) grad phi) = f delta w is, times rho, the scalar wave
    equation with source rho f delta w, whose 2D Green's function in the frequency domain (convention
    exp(-i omega t), outgoing) is (i/4) H0^(1)(omega r / c). So
    phi(t) = (1/pi) Re integral_0^inf rho f (i/4) H0^(1)(omega r / c) W(omega) exp(-i omega t) d omega,
    evaluated by composite Gauss-Legendre quadrature up to omega = 12 pi f0, where the Ricker spectrum
    has decayed to exp(-36) of its scale (about one oscillation of the integrand per panel).
    Independent of the time-domain form H(t - r/c) / (2 pi sqrt(t^2 - r^2/c^2)) convolved with w
    (they agree to 5e-6 relative L2, the error of a fine-grid convolution). Returns (n_times,) values.
    """
    time_in_seconds = np.asarray(time_in_seconds, dtype=float)
    highest = 12.0 * math.pi * wavelet.center_frequency
    travel_time = offset_in_meters / velocity_in_meters_per_second
    span = np.abs(time_in_seconds).max() + abs(wavelet.time_shift_in_seconds) + travel_time
    n_panels = max(64, math.ceil(highest * span / (2.0 * math.pi)))
    nodes, weights = leggauss(32)
    edges = np.linspace(0.0, highest, n_panels + 1)
    half = 0.5 * np.diff(edges)[:, None]
    omega = (edges[:-1, None] + half * (nodes[None, :] + 1.0)).ravel()
    quadrature = (half * weights[None, :]).ravel()
    spectrum = (density_in_kilograms_per_cubic_meter * source_amplitude * 0.25j
                * hankel1(0, omega * travel_time)
                * ricker_spectrum(omega, wavelet) * quadrature)
    values = np.empty(time_in_seconds.shape)
    for start in range(0, len(time_in_seconds), 256):  # bounded memory: 256 x n_nodes complex values
        chunk = time_in_seconds[start:start + 256]
        values[start:start + 256] = np.real(np.exp(-1j * np.outer(chunk, omega)) @ spectrum) / math.pi
    return values


# ---------------------------------------------------------------- timing

@dataclass
class Timing:
    """Wall times (s) of repeated runs, measured with time.perf_counter."""

    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def summary(self) -> str:
        return f"min {min(self.seconds):.3f} s, median {self.median:.3f} s, max {max(self.seconds):.3f} s"


def time_repeats(function, repeats: int) -> tuple[Timing, object]:
    """Call ``function()`` ``repeats`` times; (the wall times, the last result)."""
    seconds = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return Timing(seconds), result
