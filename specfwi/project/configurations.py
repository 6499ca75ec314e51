"""Configurations of a project: how events are simulated, on which mesh, with which misfit.

Configurations are immutable values validated at construction. ``to_dict()`` gives a
JSON-serialisable description (with a ``"type"`` key) from which the project hashes
and rebuilds them; arrays (a user's mesh) are described by their content hash and
stored beside the registry by the project.
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..acquisition import Wavelet
from ..errors import ProjectError, invalid
from ..mesh import AbsorbingBoundaryParameters, UnstructuredMesh, check_mesh_fields
from ..mesh.absorbing import (FREE_SURFACE_SIDE, RECTANGLE_SIDES, absorbing_option_from_json,
                              absorbing_option_to_json, check_absorbing_option, resolve_absorbing_boundaries)
from ..mesh.gll import check_order
from ..mesh.structured import check_resolution
from ..misfit import MISFIT_NAMES, Bandpass
from ..misfit.bandpass import check_bandpass
from ..misfit.mute import TopMute, check_mute
from ..parameters import PARAMETERS, RECEIVER_FIELDS, check_positive_number
from ..solver import SolverOptions
from .hashing import describe_callable, hash_mesh

NO_OBSERVED_DATA_MISFIT = "L2_energy_no_observed_data"


def _name(value, parameter: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(parameter, value, "a non-empty string")
    return value


def _flag(value, parameter: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise invalid(parameter, value, "True or False")
    return bool(value)


class _Configuration:
    """Value equality through ``to_dict()``."""

    def to_dict(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        if not isinstance(other, _Configuration):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.to_dict().items())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.to_dict().items() if key != "type")
        return f"{type(self).__name__}({fields})"


class EventConfiguration(_Configuration):
    """How each event is simulated: source wavelet and time axis.

    Parameters
    ----------
    wavelet : a specfwi wavelet (e.g. ``Ricker``), the source time function of every source.
    end_time_in_seconds : end of the simulation, s, > 0 and > the start time.
    start_time_in_seconds : start, s; None lets the solver choose (the wavelet's start time).
    time_step_in_seconds : None for the automatic stable step, else a step in s (> 0).
    """

    def __init__(self, wavelet: Wavelet, end_time_in_seconds: float, *, start_time_in_seconds: float | None = None,
                 time_step_in_seconds: float | None = None):
        if not isinstance(wavelet, Wavelet):
            raise invalid("wavelet", wavelet, "a specfwi wavelet such as sf.Ricker(center_frequency=...)")
        self.wavelet = wavelet
        self.end_time_in_seconds = check_positive_number("end_time_in_seconds", end_time_in_seconds)
        self.start_time_in_seconds = None
        if start_time_in_seconds is not None:
            if (isinstance(start_time_in_seconds, bool) or not isinstance(start_time_in_seconds, numbers.Real)
                    or not np.isfinite(start_time_in_seconds) or start_time_in_seconds >= self.end_time_in_seconds):
                raise invalid("start_time_in_seconds", start_time_in_seconds,
                              f"None or a finite number < end_time_in_seconds ({self.end_time_in_seconds})")
            self.start_time_in_seconds = float(start_time_in_seconds)
        self.time_step_in_seconds = (None if time_step_in_seconds is None
                                     else check_positive_number("time_step_in_seconds", time_step_in_seconds))

    @property
    def simulated_time_range_in_seconds(self) -> tuple[float, float]:
        """(start, end) of the simulated time, s (the start defaults to the wavelet's own)."""
        start = self.start_time_in_seconds
        return (float(self.wavelet.start_time_in_seconds) if start is None else start), self.end_time_in_seconds

    def solver_options(self) -> SolverOptions:
        """The solver options this configuration sets: the time step (the others at their defaults)."""
        return SolverOptions(time_step_in_seconds=self.time_step_in_seconds)

    def to_dict(self) -> dict:
        return {"type": "EventConfiguration", "wavelet": self.wavelet.to_dict(),
                "end_time_in_seconds": self.end_time_in_seconds,
                "start_time_in_seconds": self.start_time_in_seconds,
                "time_step_in_seconds": self.time_step_in_seconds}

    @classmethod
    def from_dict(cls, dictionary: dict) -> EventConfiguration:
        return cls(Wavelet.from_dict(dictionary["wavelet"]), dictionary["end_time_in_seconds"],
                   start_time_in_seconds=dictionary["start_time_in_seconds"],
                   time_step_in_seconds=dictionary["time_step_in_seconds"])


class _SimulationConfigurationBase(_Configuration):
    """What every simulation configuration has: a name, an event configuration and boundary conditions."""

    def __init__(self, name: str, *, event_configuration: EventConfiguration, absorbing_boundaries,
                 free_surface: bool):
        self.name = _name(name)
        if not isinstance(event_configuration, EventConfiguration):
            raise invalid("event_configuration", event_configuration, "an sf.EventConfiguration")
        self.event_configuration = event_configuration
        self.absorbing_boundaries = check_absorbing_option(absorbing_boundaries)
        self.free_surface = _flag(free_surface, "free_surface")

    def solver_options(self) -> SolverOptions:
        """The solver options of this configuration: the event configuration's time step and the boundaries.
        With ``event_configuration``'s wavelet and simulated time, they give ``sf.simulate`` what the project
        runs."""
        return replace(self.event_configuration.solver_options(), absorbing_boundaries=self.absorbing_boundaries,
                       free_surface=self.free_surface)

    def _common_dict(self) -> dict:
        return {"name": self.name, "event_configuration": self.event_configuration.to_dict(),
                "absorbing_boundaries": absorbing_option_to_json(self.absorbing_boundaries),
                "free_surface": self.free_surface}


class SimulationConfiguration(_SimulationConfigurationBase):
    """A simulation on a mesh built from volume models of the project.

    Parameters
    ----------
    name : name of the configuration in the project.
    max_frequency_in_hertz, elements_per_wavelength : mesh resolution; the element size is
        ``min(vp) / (max_frequency_in_hertz * elements_per_wavelength)`` (see ``sf.mesh.from_volume_model``).
    volume_models : name of a volume model of the project, or a list of names; the first sets the
        domain, later ones overwrite VP and RHO where they cover it.
    event_configuration : an ``EventConfiguration``.
    tensor_order : GLL order of the elements (1..10).
    absorbing_boundaries : True (default: perfectly matched layers outside the model's box, sized from the
        model and the maximum frequency), an ``sf.AbsorbingBoundaryParameters``, side names ("x0", "x1", "y0",
        "y1") for layers on those sides, "stacey" (first-order condition, no layers) or False (rigid walls);
        see ``sf.mesh.from_volume_model``.
    free_surface : phi = 0 at y = y_max (no layer there).
    """

    def __init__(self, name: str, *, max_frequency_in_hertz: float, elements_per_wavelength: float,
                 volume_models: str | Sequence[str], event_configuration: EventConfiguration,
                 tensor_order: int = 4, absorbing_boundaries=True, free_surface: bool = False):
        super().__init__(name, event_configuration=event_configuration, absorbing_boundaries=absorbing_boundaries,
                         free_surface=free_surface)
        check_resolution(max_frequency_in_hertz, elements_per_wavelength)
        self.max_frequency_in_hertz = float(max_frequency_in_hertz)
        self.elements_per_wavelength = float(elements_per_wavelength)
        names = [volume_models] if isinstance(volume_models, str) else volume_models
        if (not isinstance(names, Sequence) or not names
                or not all(isinstance(n, str) and n.strip() for n in names)):
            raise invalid("volume_models", volume_models, "a volume model name or a non-empty list of names")
        self.volume_models = tuple(names)
        self.tensor_order = check_order(tensor_order)
        resolve_absorbing_boundaries(self.absorbing_boundaries, available_sides=RECTANGLE_SIDES,
                                     free_sides=(FREE_SURFACE_SIDE,) if self.free_surface else ())

    def solver_options(self) -> SolverOptions:
        """As for every configuration, except that layers built on chosen sides or with chosen parameters are
        simply the mesh's layers for the solver (True)."""
        options = super().solver_options()
        if isinstance(self.absorbing_boundaries, (tuple, AbsorbingBoundaryParameters)):
            return replace(options, absorbing_boundaries=True)
        return options

    def mesh_options(self) -> dict:
        """Keyword arguments of ``sf.mesh.from_volume_model`` (besides the model)."""
        return {"max_frequency_in_hertz": self.max_frequency_in_hertz,
                "elements_per_wavelength": self.elements_per_wavelength, "tensor_order": self.tensor_order,
                "absorbing_boundaries": self.absorbing_boundaries, "free_surface": self.free_surface}

    def to_dict(self) -> dict:
        return {"type": "SimulationConfiguration", **self._common_dict(),
                "max_frequency_in_hertz": self.max_frequency_in_hertz,
                "elements_per_wavelength": self.elements_per_wavelength,
                "volume_models": list(self.volume_models), "tensor_order": self.tensor_order}

    @classmethod
    def from_dict(cls, dictionary: dict) -> SimulationConfiguration:
        fields = {key: value for key, value in dictionary.items() if key not in ("type", "name")}
        fields["event_configuration"] = EventConfiguration.from_dict(fields["event_configuration"])
        fields["absorbing_boundaries"] = absorbing_option_from_json(fields["absorbing_boundaries"])
        return cls(dictionary["name"], **fields)


class UnstructuredMeshSimulationConfiguration(_SimulationConfigurationBase):
    """A simulation on a user's own mesh, which must carry element-nodal VP (m/s) and RHO (kg/m^3).

    The project stores a copy of the mesh; ``to_dict()`` names it by content hash. ``absorbing_boundaries``
    as in ``sf.simulate``: True damps in the mesh's absorbing layers if it has them (meshes from
    ``sf.mesh.from_volume_model`` do), else applies the Stacey condition on its rectangle sides.
    """

    def __init__(self, name: str, unstructured_mesh: UnstructuredMesh, event_configuration: EventConfiguration, *,
                 absorbing_boundaries=True, free_surface: bool = False):
        super().__init__(name, event_configuration=event_configuration, absorbing_boundaries=absorbing_boundaries,
                         free_surface=free_surface)
        check_mesh_fields("unstructured_mesh", unstructured_mesh, PARAMETERS, positive=True)
        self.unstructured_mesh = unstructured_mesh.copy()
        self.mesh_hash = hash_mesh(self.unstructured_mesh)

    def to_dict(self) -> dict:
        return {"type": "UnstructuredMeshSimulationConfiguration", **self._common_dict(), "mesh_hash": self.mesh_hash}

    @classmethod
    def from_dict(cls, dictionary: dict, *, unstructured_mesh: UnstructuredMesh
                  ) -> UnstructuredMeshSimulationConfiguration:
        return cls(dictionary["name"], unstructured_mesh,
                   EventConfiguration.from_dict(dictionary["event_configuration"]),
                   absorbing_boundaries=absorbing_option_from_json(dictionary["absorbing_boundaries"]),
                   free_surface=dictionary["free_surface"])


def load_callable(reference: str, *, role: str = "misfit function", entity: str = "MisfitConfiguration"
                  ) -> Callable:
    """Import ``"module:qualified.name"``; ProjectError if this process cannot (naming the ``role`` of the
    function and the ``entity`` to add again in this process)."""
    module_name, _, qualified_name = reference.partition(":")
    try:
        target = importlib.import_module(module_name)
        for attribute in qualified_name.split("."):
            target = getattr(target, attribute)
    except (ImportError, AttributeError) as error:
        raise ProjectError(f"the {role} {reference!r} cannot be imported in this process ({error}); "
                           f"define it in an importable module, or add the {entity} again in this "
                           f"process with `project += {entity}(...)`") from None
    return target


class MisfitConfiguration(_Configuration):
    """How synthetics are compared with data.

    Parameters
    ----------
    name : name of the configuration in the project.
    misfit_function : one of ``specfwi.misfit.MISFIT_NAMES`` or a callable
        ``(synthetic, observed) -> (value, adjoint_source)`` on DataArrays (see ``specfwi.misfit``);
        a callable is stored by reference ("module:qualified_name") and hash of its source.
    receiver_field : the receiver field compared ("phi").
    observed_data : None (only for "L2_energy_no_observed_data" or a callable), or the name of
        another simulation configuration (its synthetics are the data) or of observed data
        imported with ``project.waveforms.add_observed(name, event, traces)``.
    bandpass : None, or (f_min, f_max) in Hz (or an ``sf.misfit.Bandpass``): a zero-phase Butterworth
        band-pass applied alike to synthetic and observed traces (on the synthetic time axis) before
        the misfit, with its exact transpose in the adjoint source. f_max must be below the
        Nyquist frequency of the synthetics' time step: checked before any simulation when the simulation
        configuration's time step is explicit, else when the traces are compared.
    mute : None, or an ``sf.TopMute``: each event's traces (synthetic and observed alike, after the
        band-pass) are muted before ``intercept + offset / velocity``, the offset measured from the event's
        nearest source; receivers whose mute and taper do not end before the traces do get weight 0, and a
        mute that leaves an event no receiver is refused before any simulation.
    """

    def __init__(self, name: str, misfit_function: str | Callable, *, receiver_field: str = "phi",
                 observed_data: str | None = None, bandpass: Bandpass | tuple[float, float] | None = None,
                 mute: TopMute | None = None):
        self.name = _name(name)
        if isinstance(misfit_function, str):
            if misfit_function not in MISFIT_NAMES:
                raise invalid("misfit_function", misfit_function, f"one of {list(MISFIT_NAMES)} or a callable")
        elif not callable(misfit_function):
            raise invalid("misfit_function", misfit_function, f"one of {list(MISFIT_NAMES)} or a callable")
        if receiver_field not in RECEIVER_FIELDS:
            raise invalid("receiver_field", receiver_field, f"one of {list(RECEIVER_FIELDS)}")
        if observed_data is not None:
            _name(observed_data, "observed_data")
        if misfit_function == NO_OBSERVED_DATA_MISFIT and observed_data is not None:
            raise invalid("observed_data", observed_data, f"None for the misfit {NO_OBSERVED_DATA_MISFIT!r}")
        if isinstance(misfit_function, str) and misfit_function != NO_OBSERVED_DATA_MISFIT and observed_data is None:
            raise invalid("observed_data", None, f"the name of a simulation configuration or of imported observed "
                          f"data (the misfit {misfit_function!r} compares with data)")
        self.misfit_function = misfit_function
        self.receiver_field = receiver_field
        self.observed_data = observed_data
        self.bandpass = check_bandpass(bandpass)
        self.mute = check_mute(mute)

    def to_dict(self) -> dict:
        """The description that the project hashes; ``bandpass`` and ``mute`` appear only when set (so that
        configurations without them keep the hashes, and cached results, they had before they existed)."""
        function = (self.misfit_function if isinstance(self.misfit_function, str)
                    else {"callable": describe_callable(self.misfit_function)})
        dictionary = {"type": "MisfitConfiguration", "name": self.name, "misfit_function": function,
                      "receiver_field": self.receiver_field, "observed_data": self.observed_data}
        if self.bandpass is not None:
            dictionary["bandpass"] = self.bandpass.to_dict()
        if self.mute is not None:
            dictionary["mute"] = self.mute.to_dict()
        return dictionary

    @classmethod
    def from_dict(cls, dictionary: dict, *, misfit_function: Callable | None = None) -> MisfitConfiguration:
        """Rebuild; a stored callable is ``misfit_function`` if given, else imported by reference."""
        function = dictionary["misfit_function"]
        if not isinstance(function, str):
            function = misfit_function or load_callable(function["callable"]["reference"])
        bandpass, mute = dictionary.get("bandpass"), dictionary.get("mute")
        return cls(dictionary["name"], function, receiver_field=dictionary["receiver_field"],
                   observed_data=dictionary["observed_data"],
                   bandpass=None if bandpass is None else Bandpass.from_dict(bandpass),
                   mute=None if mute is None else TopMute.from_dict(mute))
