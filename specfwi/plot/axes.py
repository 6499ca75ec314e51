"""The Axes a plot draws into: the caller's, or a new figure's."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable

from ..errors import invalid


def axes_or_new(ax: Axes | None) -> Axes:
    """Return ``ax``, or the Axes of a new figure when ``ax`` is None (never shows it)."""
    if ax is None:
        return plt.subplots()[1]
    if not isinstance(ax, Axes):
        raise invalid("ax", type(ax).__name__, "None or a matplotlib Axes")
    return ax


def label_map_axes(ax: Axes, title: str | None) -> None:
    """Equal aspect, axes labelled in metres, optional title."""
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    if title is not None:
        ax.set_title(title)


def add_colorbar(ax: Axes, mappable: ScalarMappable, label: str) -> None:
    """A colorbar right of the map that takes its space from the map's own axes (layout-engine safe)."""
    ax.figure.colorbar(mappable, ax=ax, label=label, fraction=0.03, pad=0.02)
