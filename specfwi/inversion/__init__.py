"""Inversion layer: optimisers over inversion-space vectors, inverse-problem configurations (docs/inversion.md).

The optimisers are pure state machines over flat float64 vectors (they know nothing of meshes or
projects): ``state = method.start(x0)``, then ``method.propose(state)`` and
``state = method.update(state, misfit, gradient)`` until done; ``state.to_dict()`` serialises.
"""

from .lbfgs import LBFGS
from .quasi_newton import Bounds
from .state import LineSearchState, OptimizerState
from .trust_region import TrustRegion

__all__ = ["LBFGS", "Bounds", "LineSearchState", "OptimizerState", "TrustRegion"]
