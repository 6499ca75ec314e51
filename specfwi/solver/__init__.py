"""Time stepping of the acoustic spectral-element equations: forward and discrete adjoint."""

from .setup import SimulationSetup
from .simulate import simulate, simulate_wavefield, traces_to_dataarray

__all__ = ["SimulationSetup", "simulate", "simulate_wavefield", "traces_to_dataarray"]
