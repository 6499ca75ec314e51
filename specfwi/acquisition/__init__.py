"""Acquisition layer: wavelets, point sources, receivers and events.

Every object here has value equality, a hash, and a JSON-serialisable ``to_dict()`` /
``from_dict()`` round trip (see :mod:`specfwi.acquisition.serialization`).
"""

from .event import Event
from .receivers import RECEIVER_FIELDS, ArrayPoint2D, Receiver2D
from .serialization import AcquisitionObject
from .sources import ScalarPoint2D
from .wavelets import Ricker, SampledWavelet, Wavelet

__all__ = ["RECEIVER_FIELDS", "AcquisitionObject", "ArrayPoint2D", "Event", "Receiver2D", "Ricker",
           "SampledWavelet", "ScalarPoint2D", "Wavelet"]
