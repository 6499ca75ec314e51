"""Matplotlib views of meshes, fields, gradients, traces and misfit histories.

Every function draws into ``ax`` (or a new figure) and returns the Axes; none calls
``plt.show``.
"""

from .field_plots import field, gradient, wavefield
from .history_plots import misfit_history
from .trace_plots import traces

__all__ = ["field", "gradient", "misfit_history", "traces", "wavefield"]
