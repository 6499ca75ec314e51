"""specfwi: spectral-element wave simulation and full-waveform inversion in Python.

The public names below load lazily (PEP 562) so that ``import specfwi`` is fast
and a command-line call pays only for the layers it uses.
"""

from __future__ import annotations

import importlib
import os

# The solver's kernels run several short OpenMP parallel regions per time step. GNU OpenMP's
# default spin-wait (300,000 spins) keeps idle threads busy between them, which on a loaded
# machine starves the threads doing the work (40x slower runs measured); a short spin keeps
# the latency of a quiet machine and sleeps under load. Set it yourself to override.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

_PUBLIC_NAMES = {
    "config": "specfwi.configuration",  # an object (sf.config.threads = ...), so not a module named config
    "UnstructuredMesh": "specfwi.mesh",
    "AbsorbingBoundaryParameters": "specfwi.mesh",
    "Ricker": "specfwi.acquisition",
    "SampledWavelet": "specfwi.acquisition",
    "ScalarPoint2D": "specfwi.acquisition",
    "ArrayPoint2D": "specfwi.acquisition",
    "Event": "specfwi.acquisition",
    "Receiver2D": "specfwi.acquisition",
    "Wavelet": "specfwi.acquisition",
    "Window": "specfwi.misfit",
    "TopMute": "specfwi.misfit",
    "get_misfit": "specfwi.misfit",
    "simulate": "specfwi.solver",
    "SolverOptions": "specfwi.solver",
    "WavefieldCompression": "specfwi.solver",
    "compute_misfit": "specfwi.gradient",
    "compute_gradient": "specfwi.gradient",
    "GradientResult": "specfwi.gradient",
    "Mapping": "specfwi.mapping",
    "InversionModel": "specfwi.mapping",
    "ConstantSmoothing": "specfwi.mapping",
    "WavelengthSmoothing": "specfwi.mapping",
    "LBFGS": "specfwi.inversion",
    "TrustRegion": "specfwi.inversion",
    "Project": "specfwi.project",
    "EventConfiguration": "specfwi.project",
    "SimulationConfiguration": "specfwi.project",
    "UnstructuredMeshSimulationConfiguration": "specfwi.project",
    "MisfitConfiguration": "specfwi.project",
    "InverseProblemConfiguration": "specfwi.project",
}
_SUBMODULES = {"errors", "resources", "mesh", "model", "acquisition", "physics", "solver", "misfit", "io",
               "gradient", "mapping", "inversion", "project", "execution", "plot", "testing", "cli"}

__all__ = sorted(_PUBLIC_NAMES) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _PUBLIC_NAMES:
        value = getattr(importlib.import_module(_PUBLIC_NAMES[name]), name)
    elif name == "__version__":
        from .version import __version__ as value
    elif name in _SUBMODULES:
        value = importlib.import_module(f"specfwi.{name}")
    else:
        raise AttributeError(f"module 'specfwi' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
