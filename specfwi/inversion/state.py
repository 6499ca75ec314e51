"""The state of an optimiser: flat float64 vectors and numbers, serialisable without pickle.

``OptimizerState.to_dict()`` gives {name: ndarray | float | int | str}; arrays are the vectors
and the quasi-Newton memory, the rest scalars. ``from_dict`` rebuilds it exactly (bitwise), so
that a run resumed from a stored state continues as if it had never stopped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
import numpy as np
from numpy.typing import NDArray

def _empty() -> NDArray[np.float64]:
    return np.zeros(0)


def _empty_memory() -> NDArray[np.float64]:
    return np.zeros((0, 0))


@dataclass
class LineSearchState:
    """A bracketing/zoom line search along ``direction`` from ``x`` (Nocedal & Wright, Alg. 3.5-3.6).

    Step lengths ``alpha`` (dimensionless, multiples of the direction); ``phase`` "bracket", "zoom" or "fallback";
    ``alpha`` is the pending trial; the lo end (alpha_lo = 0 at first) satisfies sufficient decrease
    and has the lowest misfit seen; slopes are directional derivatives g'direction.
    """

    phase: str = "bracket"
    alpha: float = 0.0
    alpha_max: float = np.inf
    misfit_0: float = 0.0
    slope_0: float = 0.0
    alpha_lo: float = 0.0
    misfit_lo: float = 0.0
    slope_lo: float = 0.0
    alpha_hi: float = 0.0
    misfit_hi: float = 0.0
    slope_hi: float = 0.0
    n_evaluations: int = 0


@dataclass
class OptimizerState:
    """Everything an optimiser needs to continue, at one moment of its run.

    x, misfit, gradient : the current (last accepted) model, its misfit and its gradient (n,).
    direction : the search direction from x (n,); trial : the next model to evaluate (n,).
    s_memory, y_memory : quasi-Newton pairs (k, n), oldest first: s = x_new - x, y = g_new - g.
    iteration : accepted steps so far (0 until the first is accepted); n_evaluations : misfit+gradient
    evaluations received; n_restarts : times the memory was cleared for want of a descent direction.
    trust_radius_linf : the trust region's radius (max-norm, inversion-space units; TrustRegion only).
    predicted_reduction : the model's predicted misfit reduction of the pending trial (TrustRegion only).
    last_outcome : what the last evaluation decided; last_step_linf : max-norm of the last accepted step.
    status : "running", or "stopped" (no descent possible: message says why).
    """

    x: NDArray[np.float64]
    misfit: float = np.nan
    gradient: NDArray[np.float64] = field(default_factory=_empty)
    direction: NDArray[np.float64] = field(default_factory=_empty)
    trial: NDArray[np.float64] = field(default_factory=_empty)
    s_memory: NDArray[np.float64] = field(default_factory=_empty_memory)
    y_memory: NDArray[np.float64] = field(default_factory=_empty_memory)
    iteration: int = 0
    n_evaluations: int = 0
    n_restarts: int = 0
    trust_radius_linf: float = np.nan
    predicted_reduction: float = np.nan
    last_outcome: str = ""
    last_step_linf: float = 0.0
    status: str = "running"
    message: str = ""
    line_search: LineSearchState = field(default_factory=LineSearchState)

    def to_dict(self) -> dict:
        """{name: value}; the line search's entries are prefixed "line_search.". Arrays are copies."""
        content = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, LineSearchState):
                for inner in dataclasses.fields(value):
                    content[f"line_search.{inner.name}"] = _plain(getattr(value, inner.name))
            else:
                content[item.name] = _plain(value)
        return content

    @classmethod
    def from_dict(cls, content: dict) -> "OptimizerState":
        line_search = {key.split(".", 1)[1]: value for key, value in content.items() if key.startswith("line_search.")}
        own = {key: value for key, value in content.items() if not key.startswith("line_search.")}
        return cls(**_typed(cls, own), line_search=LineSearchState(**_typed(LineSearchState, line_search)))

    def copy(self) -> "OptimizerState":
        return OptimizerState.from_dict(self.to_dict())


def _plain(value):
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=float)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def _typed(cls, content: dict) -> dict:
    """Values cast back to the field types (numbers read from files may come as numpy scalars)."""
    types = {item.name: item.type for item in dataclasses.fields(cls)}
    typed = {}
    for key, value in content.items():
        kind = types[key]
        if "NDArray" in str(kind):
            typed[key] = np.array(value, dtype=float)
        elif kind in ("int", int):
            typed[key] = int(value)
        elif kind in ("float", float):
            typed[key] = float(value)
        elif kind in ("str", str):
            typed[key] = value.decode() if isinstance(value, bytes) else str(value)
    return typed
