"""S3's model error for idealised recoveries at the data's resolution: what e a band-limited model reaches.

    python benchmarks/s3_resolution_floor.py

The prior misses r = vp_true - vp_prior (the truth less its 300 m Gaussian smoothing). Each row gives
the model error (e as SCENARIOS.md defines it) of prior + B r, B a low-pass filter standing for a
recovery that is exact up to some resolution and blind beyond it:

- a Gaussian of constant standard deviation sigma;
- a Gaussian whose full width at half maximum is half a wavelength at frequency f at each depth,
  sigma = (v / 2f) / 2.355, v the prior's mean velocity at that depth (a soft limit);
- an ideal cutoff of the spatial frequency at 2f / v (|k| <= 2f / v: every wavenumber that a
  frequency up to f can illuminate from all directions; a surface survey sees fewer).

These are reference points, not bounds: a real inversion recovers less than the ideal cutoff (its
aperture is one-sided), and its shallow part can be sharper than the soft Gaussian.
"""

from __future__ import annotations

import common  # noqa: F401 (first: it makes specfwi this checkout's)
import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.ndimage import gaussian_filter

from s3_marmousi import marmousi_grids, true_and_prior_on_error_grid

GRID_SPACING_IN_METERS = (15.333, 4.0)
FULL_WIDTH_AT_HALF_MAXIMUM_PER_SIGMA = 2.355
FREQUENCIES_IN_HERTZ = (4.0, 5.0, 6.0, 7.5)


def by_depth(residual: np.ndarray, values_by_depth: np.ndarray, low_pass) -> np.ndarray:
    """Each depth row of ``residual`` filtered by ``low_pass(value)`` with that row's value."""
    recovered = np.empty_like(residual)
    for value in np.unique(values_by_depth):
        rows = values_by_depth == value
        recovered[:, rows] = low_pass(value)[:, rows]
    return recovered


def main() -> None:
    x, y, vp_true, vp_prior = marmousi_grids()
    residual = vp_true - vp_prior
    points, true, prior = true_and_prior_on_error_grid()
    prior_error = np.linalg.norm(prior - true)

    def model_error(recovered: np.ndarray) -> float:
        return float(np.linalg.norm(prior + RegularGridInterpolator((x, y), recovered)(points) - true) / prior_error)

    def gaussian(sigma_in_meters: float) -> np.ndarray:
        return gaussian_filter(residual, [sigma_in_meters / h for h in GRID_SPACING_IN_METERS], mode="nearest")

    pad = (len(x) // 4, len(y) // 4)
    spectrum = np.fft.fft2(np.pad(residual, ((pad[0],) * 2, (pad[1],) * 2), mode="reflect"))
    spatial_frequency = np.hypot(*np.meshgrid(*(np.fft.fftfreq(n, h) for n, h in
                                                zip(spectrum.shape, GRID_SPACING_IN_METERS)), indexing="ij"))

    def ideal_cutoff(cutoff_per_meter: float) -> np.ndarray:
        filtered = np.real(np.fft.ifft2(spectrum * (spatial_frequency <= cutoff_per_meter)))
        return filtered[pad[0]:pad[0] + len(x), pad[1]:pad[1] + len(y)]

    print("recovery of the prior's error                              e")
    for sigma in (50.0, 100.0, 130.0, 150.0, 200.0):
        print(f"Gaussian, sigma {sigma:3.0f} m everywhere                        {model_error(gaussian(sigma)):.3f}")
    mean_velocity = vp_prior.mean(axis=0)
    for frequency in FREQUENCIES_IN_HERTZ:
        sigma_by_depth = np.round(mean_velocity / (2.0 * frequency) / FULL_WIDTH_AT_HALF_MAXIMUM_PER_SIGMA, -1)
        print(f"Gaussian, FWHM lambda / 2 at {frequency:3.1f} Hz (sigma {sigma_by_depth.min():3.0f}-"
              f"{sigma_by_depth.max():3.0f} m)     {model_error(by_depth(residual, sigma_by_depth, gaussian)):.3f}")
    for frequency in FREQUENCIES_IN_HERTZ:
        cutoff_by_depth = np.round(2.0 * frequency / mean_velocity, 4)
        print(f"ideal cutoff |k| <= 2f / v at {frequency:3.1f} Hz                     "
              f"{model_error(by_depth(residual, cutoff_by_depth, ideal_cutoff)):.3f}")


if __name__ == "__main__":
    main()
