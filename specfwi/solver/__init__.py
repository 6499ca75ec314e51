"""Time stepping of the acoustic spectral-element equations: forward and discrete adjoint."""

from .adjoint import release_stored_states
from .compression import WavefieldCompression
from .options import SolverOptions
from .setup import SimulationSetup
from .simulate import simulate, simulate_with_options, simulate_wavefield, traces_to_dataarray

__all__ = ["SimulationSetup", "SolverOptions", "WavefieldCompression", "release_stored_states", "simulate",
           "simulate_wavefield", "simulate_with_options", "traces_to_dataarray"]
