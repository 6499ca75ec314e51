"""Matplotlib views of meshes, fields, gradients, traces, misfit histories and inversions.

Every function draws into ``ax`` (or a new figure) and returns the Axes; none calls
``plt.show``.
"""

from .field_plots import field, gradient, wavefield
from .history_plots import misfit_history
from .inversion_plots import inversion
from .trace_plots import traces

__all__ = ["field", "gradient", "inversion", "misfit_history", "traces", "wavefield"]
