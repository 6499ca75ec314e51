"""Time stepping of the acoustic spectral-element equations: forward and discrete adjoint."""

from .adjoint import release_stored_states
from .compression import WavefieldCompression
from .setup import SimulationSetup
from .simulate import simulate, simulate_wavefield, traces_to_dataarray

__all__ = ["SimulationSetup", "WavefieldCompression", "release_stored_states", "simulate", "simulate_wavefield", "traces_to_dataarray"]
