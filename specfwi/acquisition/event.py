"""Events: the sources and receivers of one simulation."""

from __future__ import annotations

from collections import Counter

from ..errors import invalid
from .checks import non_empty_string
from .receivers import ArrayPoint2D, Receiver2D
from .serialization import AcquisitionObject
from .sources import ScalarPoint2D


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Event(AcquisitionObject):
    """One event: its name, point sources and receivers.

    Parameters
    ----------
    event_name : non-empty string.
    sources : a ``ScalarPoint2D`` or a non-empty list of them.
    receivers : a ``Receiver2D`` or ``ArrayPoint2D``, or a non-empty list of them; arrays expand
        into their receivers, whose names must be unique across the event (give several arrays
        different ``station_prefix`` values).

    ``event.sources`` and ``event.receivers`` are new lists of ``ScalarPoint2D`` and ``Receiver2D``.
    """

    def __init__(self, event_name: str, *, sources, receivers):
        self._event_name = non_empty_string("event_name", event_name)
        source_list = _as_list(sources)
        if not source_list or not all(isinstance(source, ScalarPoint2D) for source in source_list):
            raise invalid("sources", sources, "a ScalarPoint2D or a non-empty list of them")
        receiver_list = []
        for receiver in _as_list(receivers):
            if isinstance(receiver, ArrayPoint2D):
                receiver_list.extend(receiver)
            elif isinstance(receiver, Receiver2D):
                receiver_list.append(receiver)
            else:
                raise invalid("receivers", receivers,
                              "a Receiver2D or ArrayPoint2D or a non-empty list of them")
        if not receiver_list:
            raise invalid("receivers", receivers, "at least one receiver")
        duplicates = sorted(name for name, count in Counter(r.name for r in receiver_list).items() if count > 1)
        if duplicates:
            raise invalid("receivers", f"duplicated names {duplicates}",
                          "receivers with unique names (use distinct 'station_prefix' values)")
        self._sources = tuple(source_list)
        self._receivers = tuple(receiver_list)

    @property
    def event_name(self) -> str:
        return self._event_name

    @property
    def sources(self) -> list[ScalarPoint2D]:
        return list(self._sources)

    @property
    def receivers(self) -> list[Receiver2D]:
        return list(self._receivers)

    @property
    def receiver_names(self) -> list[str]:
        return [receiver.name for receiver in self._receivers]

    def _fields(self):
        return {"event_name": self._event_name, "sources": [source.to_dict() for source in self._sources],
                "receivers": [receiver.to_dict() for receiver in self._receivers]}

    @classmethod
    def _from_fields(cls, fields):
        return cls(fields.get("event_name"),
                   sources=[ScalarPoint2D.from_dict(source) for source in _as_list(fields.get("sources", []))],
                   receivers=[AcquisitionObject.from_dict(receiver)
                              for receiver in _as_list(fields.get("receivers", []))])

    def __repr__(self) -> str:
        return (f"Event(event_name={self._event_name!r}, n_sources={len(self._sources)}, "
                f"n_receivers={len(self._receivers)})")
