"""L2 misfits: the energy of the synthetic traces, and the squared residual against observed ones.

Arrays are (n_receiver, n_time) on the uniform axis ``time`` (s); adjoint sources follow the
convention of :mod:`specfwi.misfit` (delta chi = sum dt c_k a_k delta u_k).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .traces import trapezoid_weights, uniform_time_step


def half_squared_norm(traces: NDArray[np.float64], time: NDArray[np.float64]) -> float:
    """1/2 sum_r int traces_r(t)^2 dt (trapezoidal), in (trace unit)^2 s."""
    return 0.5 * uniform_time_step(time) * float(np.sum(trapezoid_weights(time) * traces**2))


def l2_energy_no_observed_data(synthetic: NDArray[np.float64], observed: None,
                               time: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """chi = 1/2 sum_r int u^2 dt; adjoint source u. ``observed`` is unused (None)."""
    return half_squared_norm(synthetic, time), synthetic.copy()


def l2(synthetic: NDArray[np.float64], observed: NDArray[np.float64],
       time: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """chi = 1/2 sum_r int (u - d)^2 dt; adjoint source u - d."""
    residual = synthetic - observed
    return half_squared_norm(residual, time), residual
