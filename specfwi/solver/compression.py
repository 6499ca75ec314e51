"""Wavefield compression: an approximate gradient from every k-th forward state (an option, never the default).

The adjoint needs the forward states u^n and scaled residuals y^n = mask (F^n - K u^n) / M of every step.
With ``WavefieldCompression(forward_wavefield_sampling_interval=k)`` the forward run keeps them at every k-th
step only (and at the last), and the adjoint fills the steps between by cubic Lagrange interpolation in time
through the four nearest samples (u^{-1} = 0, the state at rest). Memory: n_steps / k states and residuals
instead of a checkpointed store; time: no recomputation (one stiffness product per sample instead). The
result is not the exact discrete gradient: docs/solver.md reports its angle to the exact one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import invalid


@dataclass(frozen=True)
class WavefieldCompression:
    """Keep every ``forward_wavefield_sampling_interval``-th forward state (an integer >= 1; 1 keeps all)."""

    forward_wavefield_sampling_interval: int

    def __post_init__(self):
        interval = self.forward_wavefield_sampling_interval
        if isinstance(interval, bool) or not isinstance(interval, (int, np.integer)) or interval < 1:
            raise invalid("forward_wavefield_sampling_interval", interval, "an integer >= 1")


def _lagrange(steps: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, weights) of the cubic Lagrange interpolation at ``step`` through the (up to) four of the sorted
    ``steps`` nearest it; the sample itself where ``step`` is one."""
    position = int(np.searchsorted(steps, step, side="right")) - 1
    if position >= 0 and steps[position] == step:
        return np.array([position]), np.ones(1)
    rows = np.arange(max(position - 1, 0), min(position + 3, len(steps)))
    nodes = steps[rows].astype(float)
    weights = np.array([np.prod([(step - other) / (node - other) for other in nodes if other != node])
                        for node in nodes])
    return rows, weights


class SampledForwardStates:
    """Forward states and scaled residuals at sample steps, interpolated at any step in between.

    state_steps, residual_steps : sorted sample steps of each; states, residuals : (n_samples, n_nodes) at them,
    in the kernels' node order; forcings : (n_residual_samples, n_stacey) the Stacey nodes' forcing at the
    residuals' steps (kernel_structures.StateStore)
    """

    def __init__(self, state_steps, states, residual_steps, residuals, forcings):
        self.state_steps, self.states = np.asarray(state_steps), states
        self.residual_steps, self.residuals, self.forcings = np.asarray(residual_steps), residuals, forcings

    def state(self, step: int, out: np.ndarray) -> None:
        """out = u^step (0 before the first step: the state at rest)."""
        if step < 0:
            out[:] = 0.0
            return
        rows, weights = _lagrange(self.state_steps, step)
        np.dot(weights.astype(self.states.dtype), self.states[rows], out=out)

    def residual(self, step: int, out: np.ndarray, forcing_out: np.ndarray) -> None:
        """out = y^step, forcing_out = the Stacey nodes' forcing at step."""
        rows, weights = _lagrange(self.residual_steps, step)
        np.dot(weights.astype(self.residuals.dtype), self.residuals[rows], out=out)
        np.dot(weights.astype(self.forcings.dtype), self.forcings[rows], out=forcing_out)

    def fill(self, start: int, stop: int, states: np.ndarray, residuals: np.ndarray, forcings: np.ndarray) -> None:
        """The rows of a segment as the kernels' adjoint_steps reads them: states[n + 1 - start] = u^n for n in
        start - 1 .. stop, residuals[n - start] = y^n and forcings[n - start] for n in start .. stop - 1."""
        for step in range(start - 1, stop + 1):
            self.state(step, states[step + 1 - start])
        for step in range(start, stop):
            self.residual(step, residuals[step - start], forcings[step - start])
