"""Analytic solution of the 2D acoustic point-source problem, for verification tests.

For (1/(rho c^2)) phi_tt - div((1/rho) grad phi) = f delta(x - x_s) w(t) in a homogeneous whole
plane, phi = f rho (G * w) with the 2D Green's function of (1/c^2) d_tt - Laplacian,

    G(r, t) = H(t - t0) / (2 pi sqrt(t^2 - t0^2)),   t0 = r / c.

Substituting tau = t0 cosh(s) in the convolution integral removes the singularity at the front
(G dtau = ds / 2 pi):

    phi(r, t) = f rho / (2 pi) * int_0^inf w(t - t0 cosh s) ds,

an integral of a smooth function that we evaluate by adaptive quadrature. The wavelet is taken as
zero before ``wavelet_start_in_seconds`` (the solver starts from rest there).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad

QUADRATURE_RELATIVE_TOLERANCE = 1e-11


def point_source_trace(time_in_seconds, *, distance_in_meters: float, velocity_in_meters_per_second: float,
                       density_in_kilograms_per_cubic_meter: float, amplitude: float, wavelet,
                       wavelet_start_in_seconds: float) -> np.ndarray:
    """phi at ``distance_in_meters`` from a point source f w(t), sampled at ``time_in_seconds`` (n_time,)."""
    front_time = distance_in_meters / velocity_in_meters_per_second
    time = np.asarray(time_in_seconds, dtype=float)
    values = np.zeros_like(time)
    for index, t in enumerate(time):
        if t - wavelet_start_in_seconds <= front_time:
            continue
        largest_argument = np.arccosh((t - wavelet_start_in_seconds) / front_time)
        values[index] = quad(lambda s, t=t: float(wavelet(t - front_time * np.cosh(s))), 0.0, largest_argument,
                             epsabs=0.0, epsrel=QUADRATURE_RELATIVE_TOLERANCE, limit=200)[0]
    return amplitude * density_in_kilograms_per_cubic_meter / (2.0 * np.pi) * values


def point_source_trace_by_fourier_transform(time_in_seconds, *, distance_in_meters: float,
                                            velocity_in_meters_per_second: float,
                                            density_in_kilograms_per_cubic_meter: float, amplitude: float, wavelet,
                                            padded_duration_in_seconds: float) -> np.ndarray:
    """The same solution computed in the frequency domain (an independent check of point_source_trace).

    With numpy's transform convention (kernel exp(-i omega t)) the outgoing Green's function is
    G(omega) = -(i/4) H0^(2)(omega r / c) for omega > 0. ``time_in_seconds`` must be uniform; the
    wavelet is sampled on it extended with zeros to ``padded_duration_in_seconds`` (long enough for
    the response to die out, so that the periodic wrap-around is negligible).
    """
    from scipy.special import hankel2

    time = np.asarray(time_in_seconds, dtype=float)
    time_step = time[1] - time[0]
    n_samples = int(np.ceil(padded_duration_in_seconds / time_step))
    padded_time = time[0] + time_step * np.arange(n_samples)
    spectrum = np.fft.rfft(wavelet(padded_time))
    angular_frequency = 2.0 * np.pi * np.fft.rfftfreq(n_samples, time_step)
    green = np.zeros_like(spectrum)
    positive = angular_frequency > 0.0
    green[positive] = -0.25j * hankel2(0, angular_frequency[positive] * distance_in_meters
                                       / velocity_in_meters_per_second)
    response = np.fft.irfft(spectrum * green, n_samples)  # rfft(w) ~ w(omega) / dt: the product is the convolution
    return amplitude * density_in_kilograms_per_cubic_meter * response[:time.size]
