"""Value equality, hashing and a plain-dict round trip for acquisition objects.

``to_dict()`` returns a JSON-serialisable dict whose ``"type"`` key names the class and whose
other keys are the constructor's keyword arguments; ``AcquisitionObject.from_dict`` rebuilds the
object (from any base class: ``Wavelet.from_dict`` accepts every wavelet type). Two objects are
equal when their dicts are equal, and they hash by their dict, so a project can store and hash them.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from ..errors import invalid

_TYPES: dict[str, type[AcquisitionObject]] = {}


class AcquisitionObject:
    """Base class of wavelets, sources, receivers and events."""

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        if not abstract:
            _TYPES[cls.__name__] = cls

    def _fields(self) -> dict[str, Any]:
        """Constructor keyword arguments as JSON-serialisable values."""
        raise NotImplementedError

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]):
        """Build from the output of ``_fields`` (override where values need decoding)."""
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict with a ``"type"`` key; inverse of ``from_dict``."""
        return {"type": type(self).__name__, **self._fields()}

    @classmethod
    def from_dict(cls, dictionary: dict[str, Any]):
        """Rebuild an object from ``to_dict()`` output; its type must be ``cls`` or a subclass."""
        if not isinstance(dictionary, dict) or "type" not in dictionary:
            raise invalid("dictionary", dictionary, "a dict with a 'type' key")
        target = _TYPES.get(dictionary["type"])
        allowed_types = sorted(name for name, known in _TYPES.items() if issubclass(known, cls))
        if target is None or not issubclass(target, cls):
            raise invalid("type", dictionary["type"], f"one of {allowed_types}")
        fields = {key: value for key, value in dictionary.items() if key != "type"}
        allowed_keys = set(inspect.signature(target).parameters)
        unknown = sorted(set(fields) - allowed_keys)
        if unknown:
            raise invalid(f"keys of a {target.__name__} dict", unknown, f"among {sorted(allowed_keys)}")
        return target._from_fields(fields)

    def __eq__(self, other) -> bool:
        if not isinstance(other, AcquisitionObject):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))
