"""Estimates of what a mesh, a simulation or a gradient will need, made before anything is allocated.

Elements and GLL nodes come from the mesh (or, before meshing, from the domain and the element
size ``min(VP) / (max_frequency * elements_per_wavelength)``). Time steps come from the stability
limit of the fourth-order Lax-Wendroff scheme, which on GLL elements of order N is about
``dt = c(N) h / VP_max`` with ``c(N) = (3.55 - 2.33 / N) / N^2`` (fitted within 20 % to the
limits the solver computes on rectangles of orders 1-8; h the smallest element edge) and of which
the solver takes 90 %. Memory and run time are rough linear models measured on small runs
(docs/reliability.md): the limits they are checked against catch runs 10 or 1000 times too large,
not 20 % too large.

:func:`check` refuses work above ``sf.config.max_memory_in_gigabytes`` or ``sf.config.max_time_steps``
with a ResourceError that names the parameters and gives the estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .configuration import GIBIBYTE, config
from .errors import ResourceError

#: Bytes per element-nodal value of a forward run (material fields, coefficients, kernels' operator, layout).
FORWARD_BYTES_PER_ELEMENT_NODE = 200.0
#: Bytes per element-nodal value of a gradient (the above, sensitivities and the adjoint's buffers).
GRADIENT_BYTES_PER_ELEMENT_NODE = 400.0
#: Bytes per element-nodal value of a mesh built from a volume model (coordinates, numbering, VP, RHO).
MESH_BYTES_PER_ELEMENT_NODE = 150.0
#: Seconds per node and time step of a forward run on one core (a gradient takes about 4 times as long).
SECONDS_PER_NODE_STEP = 1e-7
GRADIENT_TIME_FACTOR = 4.0
DEFAULT_COURANT_FRACTION = 0.9


@dataclass(frozen=True)
class ResourceEstimate:
    """What one run needs: elements, GLL nodes, time steps, memory (bytes) and a rough run time (s)."""

    n_elements: int
    n_nodes: int
    n_time_steps: int
    memory_in_bytes: float
    run_time_in_seconds: float

    def __str__(self) -> str:
        return (f"{self.n_elements:,} elements, {self.n_nodes:,} nodes, {self.n_time_steps:,} time steps, "
                f"{_gigabytes(self.memory_in_bytes)}, about {_duration(self.run_time_in_seconds)} on one core")


def _gigabytes(n_bytes: float) -> str:
    if n_bytes < 0.1 * GIBIBYTE:
        return f"{n_bytes / 2**20:.3g} MiB"
    return f"{n_bytes / GIBIBYTE:.3g} GiB"


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.2g} s"


def stable_time_step_in_seconds(smallest_element_size_in_meters: float, max_velocity_in_meters_per_second: float,
                                tensor_order: int) -> float:
    """About the solver's stability limit (s) for elements of this smallest edge (m), VP and order."""
    courant = (3.55 - 2.33 / tensor_order) / tensor_order**2
    return courant * smallest_element_size_in_meters / max_velocity_in_meters_per_second


def n_time_steps(duration_in_seconds: float, stable_time_step: float, time_step_in_seconds: float | None) -> int:
    """Steps of the solver's time axis: an explicit step, else 90 % of the stability limit."""
    step = DEFAULT_COURANT_FRACTION * stable_time_step if time_step_in_seconds is None else time_step_in_seconds
    return max(1, math.ceil(duration_in_seconds / step))


def estimate_run(*, n_elements: int, n_nodes: int, tensor_order: int, n_time_steps: int, n_sources: int = 1,
                 n_receivers: int = 1, gradient: bool = False,
                 checkpoint_memory_in_bytes: float | None = None) -> ResourceEstimate:
    """Memory and time of a forward run (or with ``gradient``, a forward and adjoint run whose stored states
    take at most ``checkpoint_memory_in_bytes``)."""
    n_element_nodes = n_elements * (tensor_order + 1) ** 2
    per_element_node = GRADIENT_BYTES_PER_ELEMENT_NODE if gradient else FORWARD_BYTES_PER_ELEMENT_NODE
    memory = per_element_node * n_element_nodes + 8.0 * (n_time_steps + 1) * (2 * n_receivers + 2 * n_sources + 1)
    run_time = SECONDS_PER_NODE_STEP * n_nodes * n_time_steps
    if gradient:
        states = 8.0 * n_nodes * (n_time_steps + 1)
        memory += 8.0 * (n_time_steps + 1) * 2 * n_receivers + (
            states if checkpoint_memory_in_bytes is None else min(states, checkpoint_memory_in_bytes))
        run_time *= GRADIENT_TIME_FACTOR
    return ResourceEstimate(n_elements, n_nodes, n_time_steps, memory, run_time)


def rectangle_elements(extent, element_size_in_meters: float) -> tuple[int, int]:
    """Elements along x and y of a rectangular mesh of the box ``extent`` = (x_min, x_max, y_min, y_max), m,
    with edges no longer than ``element_size_in_meters`` (at least one each way)."""
    x_min, x_max, y_min, y_max = extent
    return (max(1, math.ceil((x_max - x_min) / element_size_in_meters - 1e-9)),
            max(1, math.ceil((y_max - y_min) / element_size_in_meters - 1e-9)))


def estimate_rectangle(n_elements_x: int, n_elements_y: int, tensor_order: int) -> ResourceEstimate:
    """The estimate for building a rectangular mesh of n_elements_x x n_elements_y elements (no time steps)."""
    n_elements = n_elements_x * n_elements_y
    n_nodes = (n_elements_x * tensor_order + 1) * (n_elements_y * tensor_order + 1)
    return ResourceEstimate(n_elements, n_nodes, 0, MESH_BYTES_PER_ELEMENT_NODE * n_elements * (tensor_order + 1) ** 2,
                            0.0)


def estimate_from_domain(extent, *, min_velocity_in_meters_per_second: float,
                         max_velocity_in_meters_per_second: float | None = None, max_frequency_in_hertz: float,
                         elements_per_wavelength: float, tensor_order: int, duration_in_seconds: float | None = None,
                         time_step_in_seconds: float | None = None, n_sources: int = 1, n_receivers: int = 1,
                         gradient: bool = False, checkpoint_memory_in_bytes: float | None = None,
                         layer_widths_in_meters: dict[str, float] | None = None) -> ResourceEstimate:
    """The estimate for a rectangular mesh of the box ``extent`` = (x_min, x_max, y_min, y_max), m, sized as
    ``sf.mesh.from_volume_model`` sizes it, extended by absorbing layers of ``layer_widths_in_meters`` (by side
    "x0", "x1", "y0", "y1"); without ``duration_in_seconds``, the mesh alone (0 steps)."""
    widths = layer_widths_in_meters or {}
    x_min, x_max, y_min, y_max = extent
    extent = (x_min - widths.get("x0", 0.0), x_max + widths.get("x1", 0.0),
              y_min - widths.get("y0", 0.0), y_max + widths.get("y1", 0.0))
    x_min, x_max, y_min, y_max = extent
    element_size = min_velocity_in_meters_per_second / (max_frequency_in_hertz * elements_per_wavelength)
    n_x, n_y = rectangle_elements(extent, element_size)
    n_nodes = (n_x * tensor_order + 1) * (n_y * tensor_order + 1)
    if duration_in_seconds is None:
        return estimate_rectangle(n_x, n_y, tensor_order)
    smallest = min(element_size, (x_max - x_min) / n_x, (y_max - y_min) / n_y)
    steps = n_time_steps(duration_in_seconds,
                         stable_time_step_in_seconds(smallest, max_velocity_in_meters_per_second, tensor_order),
                         time_step_in_seconds)
    return estimate_run(n_elements=n_x * n_y, n_nodes=n_nodes, tensor_order=tensor_order, n_time_steps=steps,
                        n_sources=n_sources, n_receivers=n_receivers, gradient=gradient,
                        checkpoint_memory_in_bytes=checkpoint_memory_in_bytes)


def estimate_from_mesh(mesh, *, duration_in_seconds: float, time_step_in_seconds: float | None = None,
                       n_sources: int = 1, n_receivers: int = 1, gradient: bool = False,
                       checkpoint_memory_in_bytes: float | None = None) -> ResourceEstimate:
    """The estimate for a run on ``mesh`` (an UnstructuredMesh with element-nodal VP, m/s)."""
    vertices = mesh.vertices[mesh.connectivity]  # (n_elements, 4, 2)
    edges = np.linalg.norm(vertices - np.roll(vertices, 1, axis=1), axis=2)
    velocity = float(np.max(mesh.element_nodal_fields["VP"]))
    stable = stable_time_step_in_seconds(float(edges.min()), velocity, mesh.tensor_order)
    return estimate_run(n_elements=mesh.n_elements, n_nodes=mesh.n_global_nodes, tensor_order=mesh.tensor_order,
                        n_time_steps=n_time_steps(duration_in_seconds, stable, time_step_in_seconds),
                        n_sources=n_sources, n_receivers=n_receivers, gradient=gradient,
                        checkpoint_memory_in_bytes=checkpoint_memory_in_bytes)


def check(estimate: ResourceEstimate, what: str, *, parameters: str) -> None:
    """ResourceError if ``estimate`` exceeds ``sf.config.max_memory_in_gigabytes`` or ``sf.config.max_time_steps``.

    ``what`` names the work ("the mesh of 'sim'"), ``parameters`` the inputs that set its size.
    """
    memory_limit = config.memory_limit_in_bytes()
    step_limit = config.max_time_steps
    too_much = []
    if memory_limit is not None and estimate.memory_in_bytes > memory_limit:
        source = ("sf.config.max_memory_in_gigabytes" if config.max_memory_in_gigabytes is not None
                  else "the memory available on this machine (sf.config.max_memory_in_gigabytes)")
        too_much.append(f"{_gigabytes(estimate.memory_in_bytes)} of memory, more than {source}, "
                        f"{_gigabytes(memory_limit)}")
    if estimate.n_time_steps > step_limit:
        too_much.append(f"{estimate.n_time_steps:.3g} time steps, more than sf.config.max_time_steps, {step_limit:,}")
    if too_much:
        raise ResourceError(f"{what} would need {' and '.join(too_much)} ({estimate}); check {parameters}, or raise "
                            f"the limit if you mean it")
