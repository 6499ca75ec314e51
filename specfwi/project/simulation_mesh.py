"""The simulation mesh of a SimulationConfiguration, built from the project's volume models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from ..mesh import UnstructuredMesh, from_volume_model
from ..model import GenericModel


class LayeredVolumeModel:
    """Volume models stacked in order: the first sets the domain, later ones overwrite VP and RHO inside them.

    Has the interface ``sf.mesh.from_volume_model`` expects: ``extent`` (m),
    ``min_velocity_in_meters_per_second`` (over all models) and ``sample(points)``.
    """

    def __init__(self, models: Sequence[GenericModel]):
        self.models = list(models)
        x_min, x_max, y_min, y_max = self.extent
        for model in self.models[1:]:
            other_x_min, other_x_max, other_y_min, other_y_max = model.extent
            if other_x_min >= x_max or other_x_max <= x_min or other_y_min >= y_max or other_y_max <= y_min:
                raise ModelError(f"the volume model {model.name!r}, extent {model.extent} m, lies wholly outside the "
                                 f"domain of the first volume model {self.models[0].name!r}, {self.extent} m, and "
                                 f"would change nothing; list volume models that overlap the first one")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        return self.models[0].extent

    @property
    def min_velocity_in_meters_per_second(self) -> float:
        return min(model.min_velocity_in_meters_per_second for model in self.models)

    def sample(self, points) -> dict[str, np.ndarray]:
        """VP and RHO at points (n, 2), m: values of the last model containing each point."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        values = self.models[0].sample(points)
        for model in self.models[1:]:
            x_min, x_max, y_min, y_max = model.extent
            inside = ((points[:, 0] >= x_min) & (points[:, 0] <= x_max)
                      & (points[:, 1] >= y_min) & (points[:, 1] <= y_max))
            if np.any(inside):
                for name, sampled in model.sample(points[inside]).items():
                    values[name][inside] = sampled
        return values


def build_simulation_mesh(models: Sequence[GenericModel], **mesh_options) -> UnstructuredMesh:
    """A mesh with element-nodal VP (m/s) and RHO (kg/m^3) over the first model's extent (and its absorbing
    layers); ``mesh_options``: those of ``sf.mesh.from_volume_model``."""
    model = models[0] if len(models) == 1 else LayeredVolumeModel(models)
    return from_volume_model(model, **mesh_options)
