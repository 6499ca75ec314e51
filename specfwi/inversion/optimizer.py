"""What LBFGS and TrustRegion share: the state machine's outer protocol.

``start(x0)`` gives a state whose trial is x0; then repeatedly ``propose(state)`` gives the
model to evaluate and ``update(state, misfit, gradient, ...)`` returns the next state (the
input state is not modified). ``bounds`` and ``precondition`` are passed to every ``update``
(they are not part of the state: the caller rebuilds them identically on resumption).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from typing import Literal, get_args

from ..errors import invalid
from .quasi_newton import Bounds, Preconditioner, check_vector, descent_direction, identity, remember_pair
from .state import OptimizerState


BoundHandling = Literal["stop", "project"]
"""How a step treats the bounds: "stop" ends it at the first bound it meets; "project" clips it into the box."""


def check_bound_handling(bound_handling) -> BoundHandling:
    if bound_handling not in get_args(BoundHandling):
        raise invalid("bound_handling", bound_handling, f"one of {list(get_args(BoundHandling))}")
    return bound_handling


class Optimizer:
    """Base class; subclasses implement ``_first_step_linf``, ``_start_search`` and ``_receive``."""

    memory: int
    bound_handling: BoundHandling

    def to_dict(self) -> dict:
        raise NotImplementedError

    def _with_bound_handling(self, description: dict) -> dict:
        """``description`` with ``bound_handling`` added when not the default "stop" (descriptions stored before
        the option existed keep their content)."""
        return description if self.bound_handling == "stop" else {**description, "bound_handling": self.bound_handling}

    def __eq__(self, other) -> bool:
        return isinstance(other, Optimizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.to_dict().items())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.to_dict().items() if key != "type")
        return f"{type(self).__name__}({fields})"

    def start(self, x0: ArrayLike, *, bounds: Bounds | None = None) -> OptimizerState:
        """The initial state: its trial is x0 projected into the bounds."""
        x0 = Bounds.of(bounds, len(check_vector("x0", x0))).project(check_vector("x0", x0))
        return OptimizerState(x=x0, trial=x0.copy())

    @staticmethod
    def propose(state: OptimizerState) -> NDArray[np.float64]:
        """The model (n,) whose misfit and gradient ``update`` expects next."""
        return state.trial.copy()

    def update(self, state: OptimizerState, misfit: float, gradient: ArrayLike, *, bounds: Bounds | None = None,
               precondition: Preconditioner | None = None) -> OptimizerState:
        """The next state after the evaluation of ``propose(state)``: misfit (a number) and gradient (n,)."""
        if state.status != "running":
            raise invalid("state.status", state.status, "'running' (this optimisation has stopped: "
                          f"{state.message})")
        gradient = check_vector("gradient", gradient, len(state.x))
        if isinstance(misfit, bool) or not np.isfinite(misfit):
            raise invalid("misfit", misfit, "a finite number")
        state = state.copy()
        state.n_evaluations += 1
        bounds = Bounds.of(bounds, len(state.x))
        precondition = identity if precondition is None else precondition
        if state.n_evaluations == 1:
            state.misfit, state.gradient = float(misfit), gradient
            state.last_outcome = "accepted"
            self._begin_iteration(state, bounds, precondition)
        else:
            self._receive(state, float(misfit), gradient, bounds, precondition)
        return state

    def _accept(self, state: OptimizerState, x_new, misfit: float, gradient, bounds: Bounds) -> None:
        """Move to an accepted model and remember the quasi-Newton pair."""
        x_new = bounds.project(x_new)
        step = x_new - state.x
        remember_pair(state, step, gradient - state.gradient, self.memory)
        state.x, state.misfit, state.gradient = x_new, misfit, gradient
        state.iteration += 1
        state.last_outcome = "accepted"
        state.last_step_linf = float(np.max(np.abs(step), initial=0.0))

    @staticmethod
    def _stop(state: OptimizerState, message: str) -> None:
        state.status, state.message = "stopped", message
        state.trial = state.x.copy()

    def _begin_iteration(self, state: OptimizerState, bounds: Bounds, precondition: Preconditioner) -> None:
        """From an accepted model: a new descent direction (see quasi_newton), then the first trial along it."""
        direction = descent_direction(state, bounds, precondition, self._first_step_linf(state))
        if direction is None:
            self._stop(state, "no descent direction: the projected gradient is zero")
            return
        state.direction = direction
        self._start_search(state, bounds)

    def _first_step_linf(self, state: OptimizerState) -> float:
        """Max-norm of the first step with an empty memory."""
        raise NotImplementedError

    def _start_search(self, state: OptimizerState, bounds: Bounds) -> None:
        raise NotImplementedError

    def _receive(self, state, misfit, gradient, bounds, precondition) -> None:
        raise NotImplementedError


def check_memory(memory) -> int:
    if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)) or memory < 1:
        raise invalid("memory", memory, "an integer >= 1 (the number of quasi-Newton pairs kept)")
    return int(memory)

