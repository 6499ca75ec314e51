"""A top mute: per-receiver time windows that open after a line of constant velocity in offset.

A receiver at offset h (m) from the event's nearest source is muted (weight 0) before

    t_mute(h) = intercept_time + h / velocity,

and its weight rises as a Hann taper to 1 over ``taper_width`` after it. In a surface survey this
removes the direct wave and the waves guided along the near surface (all slower than ``velocity``
when it is set near the water or weathering velocity, with ``intercept_time`` past the wavelet's
peak by about half its length), so that the misfit measures the reflections from below. The mute is a set of
:class:`~specfwi.misfit.window.Window` objects, so it applies alike to synthetic and observed
traces, and the adjoint source carries the same weights.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np

from ..acquisition import Event
from ..acquisition.checks import finite_number
from ..errors import invalid
from .window import Window

DEFAULT_TAPER_WIDTH_IN_SECONDS = 0.1
OPEN_END_IN_SECONDS = 1.0
"""How far past the end of the traces each window ends (its falling taper never reaches them)."""


@dataclass(frozen=True)
class TopMute:
    """Mute each trace before ``intercept_time_in_seconds + offset / velocity_in_meters_per_second``.

    The offset is the distance (m) from the receiver to the event's nearest source. After the mute
    time the weight rises as a Hann taper over ``taper_width_in_seconds`` (0: a step).
    """

    velocity_in_meters_per_second: float
    intercept_time_in_seconds: float
    _: KW_ONLY
    taper_width_in_seconds: float = DEFAULT_TAPER_WIDTH_IN_SECONDS

    def __post_init__(self):
        velocity = finite_number("velocity_in_meters_per_second", self.velocity_in_meters_per_second)
        if velocity <= 0.0:
            raise invalid("velocity_in_meters_per_second", self.velocity_in_meters_per_second,
                          "a finite number > 0 (m/s)")
        taper = finite_number("taper_width_in_seconds", self.taper_width_in_seconds)
        if taper < 0.0:
            raise invalid("taper_width_in_seconds", self.taper_width_in_seconds, "a finite number >= 0 (s)")
        object.__setattr__(self, "velocity_in_meters_per_second", velocity)
        object.__setattr__(self, "intercept_time_in_seconds",
                           finite_number("intercept_time_in_seconds", self.intercept_time_in_seconds))
        object.__setattr__(self, "taper_width_in_seconds", taper)

    def to_dict(self) -> dict:
        return {"velocity_in_meters_per_second": self.velocity_in_meters_per_second,
                "intercept_time_in_seconds": self.intercept_time_in_seconds,
                "taper_width_in_seconds": self.taper_width_in_seconds}

    @classmethod
    def from_dict(cls, dictionary: dict) -> TopMute:
        return cls(dictionary["velocity_in_meters_per_second"], dictionary["intercept_time_in_seconds"],
                   taper_width_in_seconds=dictionary["taper_width_in_seconds"])

    def mute_times_in_seconds(self, offsets_in_meters) -> np.ndarray:
        """t_mute (s) at each offset (m)."""
        return self.intercept_time_in_seconds + np.asarray(offsets_in_meters, dtype=float) / \
            self.velocity_in_meters_per_second

    def windows(self, event: Event, end_time_in_seconds: float) -> dict[str, Window]:
        """Receiver name -> ``Window`` for the receivers of ``event`` on traces that end at ``end_time_in_seconds``.

        A receiver whose taper would not end before ``end_time_in_seconds`` is left out: the misfit gives it
        weight 0 (see :func:`~specfwi.misfit.window.window_weights`). A mute that leaves out every receiver of
        the event is an error (its misfit would be 0).
        """
        sources = np.array([(source.x, source.y) for source in event.sources])
        windows = {}
        for receiver in event.receivers:
            offset = np.min(np.hypot(sources[:, 0] - receiver.x, sources[:, 1] - receiver.y))
            start = float(self.mute_times_in_seconds(offset))
            if start + self.taper_width_in_seconds < end_time_in_seconds:
                end = end_time_in_seconds + self.taper_width_in_seconds + OPEN_END_IN_SECONDS
                windows[receiver.name] = Window(start, end, taper_width_in_seconds=self.taper_width_in_seconds)
        if not windows:
            raise invalid("mute", self, f"a mute that keeps part of event {event.event_name!r}'s traces: at every "
                          f"receiver the mute time plus the taper is at or after their end, {end_time_in_seconds} s")
        return windows


def check_mute(mute) -> TopMute | None:
    """Validate a ``mute`` option: None or a ``TopMute``."""
    if mute is None or isinstance(mute, TopMute):
        return mute
    raise invalid("mute", mute, "None or a TopMute(velocity_in_meters_per_second, intercept_time_in_seconds)")
