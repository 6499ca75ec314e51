"""The seed tutorial end to end: ``specfwi demo``.

Builds the S1 project of the seed (a 3 km x 1 km model with vp = 1500 - y, rho = 1000 - y, one
source, ten surface receivers), simulates, computes the raw gradient of the "L2 energy without
observed data" misfit, maps it into inversion space with the preconditioning options of the
seed, and writes the figures and ``summary.json``. A second run reuses the project's results.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import xarray as xr

from . import plot
from .acquisition import ArrayPoint2D, Event, Ricker, ScalarPoint2D
from .errors import invalid
from .mapping import ConstantSmoothing, Mapping
from .mesh import UnstructuredMesh
from .model import GenericModel
from .project import EventConfiguration, MisfitConfiguration, Project, SimulationConfiguration
from .solver import simulate_wavefield
from .version import __version__

logger = logging.getLogger(__name__)

SOURCE_CUTOUT_RADIUS_IN_METERS = 300.0
RECEIVER_CUTOUT_RADIUS_IN_METERS = 100.0
SMOOTHING_LENGTH_IN_METERS = 100.0
SNAPSHOT_TIMES_IN_SECONDS = (0.4, 0.8, 1.2)


def seed_model():
    """The seed's 10 x 10 grid: vp = 1500 - y (m/s), rho = 1000 - y (kg/m^3) on [0, 3000] x [-1000, 0] m."""
    x = np.linspace(0.0, 3000.0, 10)
    y = np.linspace(-1000.0, 0.0, 10)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    data = xr.Dataset({"vp": (["x", "y"], 1500.0 - yy), "rho": (["x", "y"], 1000.0 - yy)}, coords={"x": x, "y": y})
    return GenericModel(name="model", data=data)


def build_seed_project(path: Path, *, max_frequency_in_hertz: float = 12.5):
    """The seed's project: model, event, event and simulation configurations, misfit (reused if it exists).

    The Ricker's centre frequency is max_frequency_in_hertz / 2.5 (the seed: 5 Hz, mesh for 12.5 Hz).
    """

    project = Project.from_volume_model(path, seed_model(), load_if_exists=True)
    source = ScalarPoint2D(x=500.0, y=-500.0, f=1.0)
    receivers = ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10), y=0.0, fields=["phi"])
    project += Event(event_name="event", sources=source, receivers=receivers)
    event_configuration = EventConfiguration(wavelet=Ricker(center_frequency=max_frequency_in_hertz / 2.5),
                                             end_time_in_seconds=2.0)
    project += SimulationConfiguration(name="sim", max_frequency_in_hertz=max_frequency_in_hertz,
                                       elements_per_wavelength=2.0,
                                       volume_models="model", event_configuration=event_configuration)
    project += MisfitConfiguration(name="energy", misfit_function="L2_energy_no_observed_data",
                                   receiver_field="phi")
    return project


def share_within(values: np.ndarray, nodes: np.ndarray, centers, radius_in_meters: float) -> float:
    """Fraction of sum |values| (element-nodal) at nodes within radius of any of the centers (m)."""
    near = np.zeros(values.shape, dtype=bool)
    for center in np.atleast_2d(centers):
        near |= np.hypot(nodes[..., 0] - center[0], nodes[..., 1] - center[1]) <= radius_in_meters
    total = np.abs(values).sum()
    return float(np.abs(values[near]).sum() / total) if total > 0 else 0.0


def _with_field(mesh, values):
    shown = mesh.geometry_copy()
    shown.attach_field("VP", values)
    return shown


def density(mesh, values):
    """A copy of ``mesh`` holding ``values / mesh.quadrature_weights`` as "VP" (a derivative per m^2)."""
    return _with_field(mesh, values / mesh.quadrature_weights)


def _clip_off_edge(values, off_edge, fraction: float) -> float | None:
    """The clip (see sf.plot.gradient) that saturates the colours at ``fraction`` of max |values| off the box's
    edge; None where those are all zero."""
    peak, inner = np.abs(values).max(), np.abs(values[off_edge]).max(initial=0.0)
    return fraction * inner / peak if inner > 0.0 else None


def _gradient_figures(raw, prior, event, output: Path) -> tuple[dict, list[str]]:
    """The seed's preconditioning panels, one figure; returns (per-panel statistics, file names)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    def region_of_interest(x, y):
        """1 in the deep central part of the model, tapering to 0 within 150 m of x = 250, 2750 and y = -100, -900."""
        def ramp(distance):
            return np.clip(distance / 150.0, 0.0, 1.0)
        return ramp(x - 250.0) * ramp(2750.0 - x) * ramp(-100.0 - y) * ramp(y + 900.0)

    cutouts = dict(source_cutout_radius_in_meters=SOURCE_CUTOUT_RADIUS_IN_METERS,
                   receiver_cutout_radius_in_meters=RECEIVER_CUTOUT_RADIUS_IN_METERS)
    mappings = {
        "(a) absolute": Mapping(inversion_parameters=["VP"], scaling="absolute"),
        "(b) relative": Mapping(inversion_parameters=["VP"], scaling="relative_deviation_from_prior"),
        "(c) relative + cutouts": Mapping(inversion_parameters=["VP"], scaling="relative_deviation_from_prior",
                                          **cutouts),
        "(d) + region of interest": Mapping(inversion_parameters=["VP"], scaling="relative_deviation_from_prior",
                                            region_of_interest=region_of_interest, **cutouts),
    }
    panels = {"raw (simulation space)": raw}
    for title, mapping in mappings.items():
        panels[title] = mapping.adjoint(raw, prior, event)
    smoothing = ConstantSmoothing({"VP": SMOOTHING_LENGTH_IN_METERS})
    panels[f"(e) + smoothing ({SMOOTHING_LENGTH_IN_METERS:.0f} m)"] = smoothing.precondition(
        panels["(d) + region of interest"], prior=prior)

    nodes = prior.get_element_nodes()
    source = [(s.x, s.y) for s in event.sources]
    receivers = [(r.x, r.y) for r in event.receivers]
    # Inversion space leaves out the absorbing layers: their gradient is folded onto the box's edge (docs/mapping.md),
    # so the mapped gradients equal the raw one's (times the prior) on the nodes off the edge and vanish in the layers;
    # the edge nodes carry the layers' share too, so the colour scales of the unmasked panels follow the other nodes.
    in_layers = np.repeat(prior.layer_element_mask[:, None], prior.n_gll, axis=1)
    x_min, x_max, y_min, y_max = prior.absorbing_layers.box if prior.absorbing_layers else prior.extent
    off_edge = ~in_layers & (nodes[..., 0] > x_min) & (nodes[..., 0] < x_max) & (nodes[..., 1] > y_min) & (
        nodes[..., 1] < y_max)
    statistics = {}
    figure, axes = plt.subplots(3, 2, figsize=(14, 8.5), constrained_layout=True)
    for ax, (title, quantity) in zip(axes.ravel(), panels.items()):
        values = (quantity if title.startswith("raw") else quantity.model).element_nodal_fields["VP"]
        smoothed = title.startswith("(e)")
        # Raw and mapped gradients are plain derivatives per element-nodal value, proportional to the
        # nodes' quadrature weights; drawn per unit area (divided by them) they read as sensitivity maps.
        shown = density(prior, values) if not smoothed else _with_field(prior, values)
        fraction = 0.5 if title.startswith(("raw", "(a)", "(b)")) else 1.0
        plot.gradient(shown, "VP", clip=_clip_off_edge(shown.element_nodal_fields["VP"], off_edge, fraction), ax=ax,
                      title=title + ("" if smoothed else " per m$^2$"))
        statistics[title] = {
            "max_abs": float(np.abs(values).max()),
            f"share_within_{SOURCE_CUTOUT_RADIUS_IN_METERS:.0f}_m_of_source": share_within(
                values, nodes, source, SOURCE_CUTOUT_RADIUS_IN_METERS),
            f"share_within_{RECEIVER_CUTOUT_RADIUS_IN_METERS:.0f}_m_of_receivers": share_within(
                values, nodes, receivers, RECEIVER_CUTOUT_RADIUS_IN_METERS),
        }
    figure.suptitle("Seed S1: gradient of the L2 energy w.r.t. VP, from simulation to inversion space")
    figure.savefig(output / "gradient_preconditioning.png", dpi=110)
    plt.close(figure)

    absolute = panels["(a) absolute"].model.element_nodal_fields["VP"]
    relative = panels["(b) relative"].model.element_nodal_fields["VP"]
    expected = raw.element_nodal_fields["VP"] * prior.element_nodal_fields["VP"]
    statistics["checks"] = {
        "absolute_equals_raw_off_the_box_edge_max_relative_difference": float(
            np.abs(absolute - raw.element_nodal_fields["VP"])[off_edge].max()
            / np.abs(raw.element_nodal_fields["VP"]).max()),
        "relative_equals_raw_times_prior_off_the_box_edge_max_relative_difference": float(
            np.abs(relative - expected)[off_edge].max() / np.abs(expected).max()),
        "mapped_max_abs_in_absorbing_layers": float(np.abs(relative[in_layers]).max(initial=0.0)),
        "cutout_max_abs_inside_source_radius": float(np.abs(
            panels["(c) relative + cutouts"].model.element_nodal_fields["VP"][
                np.hypot(nodes[..., 0] - 500.0, nodes[..., 1] + 500.0) < SOURCE_CUTOUT_RADIUS_IN_METERS]).max()),
    }
    return statistics, ["gradient_preconditioning.png"]


def run_demo(output_dir: str | os.PathLike = "specfwi_demo", *, max_frequency_in_hertz: float = 12.5,
             progress: bool | None = None) -> dict:
    """Run the seed workflow into ``output_dir``; returns the summary also written to summary.json.

    ``max_frequency_in_hertz`` below the seed's 12.5 Hz gives a quicker, coarser run (the tests use it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    if isinstance(max_frequency_in_hertz, bool) or not isinstance(max_frequency_in_hertz, (int, float)) or not (
            np.isfinite(max_frequency_in_hertz) and max_frequency_in_hertz > 0):
        raise invalid("max_frequency_in_hertz", max_frequency_in_hertz, "a finite frequency > 0 Hz")
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.perf_counter()

    project = build_seed_project(output / "project", max_frequency_in_hertz=max_frequency_in_hertz)
    event = project.events.get("event")
    mesh = project.simulations.get_mesh("sim")
    timings["project_and_mesh"] = time.perf_counter() - started

    tick = time.perf_counter()
    traces = project.waveforms.get("sim", "event")
    timings["forward"] = time.perf_counter() - tick
    figure, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    plot.traces(traces, ax=ax)
    ax.set_title("Seed S1: phi at the ten surface receivers")
    figure.savefig(output / "traces.png", dpi=110)
    plt.close(figure)

    tick = time.perf_counter()
    configuration = project.simulations.get("sim").event_configuration
    snapshots = simulate_wavefield(mesh, event, wavelet=configuration.wavelet,
                                   end_time_in_seconds=max(SNAPSHOT_TIMES_IN_SECONDS),
                                   snapshot_times_in_seconds=SNAPSHOT_TIMES_IN_SECONDS, progress=progress)
    timings["snapshots"] = time.perf_counter() - tick
    figure, axes = plt.subplots(len(SNAPSHOT_TIMES_IN_SECONDS), 1, figsize=(9, 8), constrained_layout=True)
    for ax, snapshot in zip(axes, snapshots):
        plot.wavefield(mesh, snapshot.values, ax=ax, clip=0.5)
        ax.set_title(f"phi at t = {float(snapshot.time):.2f} s")
    figure.savefig(output / "wavefield.png", dpi=110)
    plt.close(figure)

    tick = time.perf_counter()
    gradients = project.actions.inversion.compute_gradients(simulation_configuration="sim",
                                                            misfit_configuration="energy",
                                                            events=project.events.list())
    raw = UnstructuredMesh.from_h5(gradients["event"])
    misfits = project.actions.inversion.compute_misfits(simulation_configuration="sim",
                                                        misfit_configuration="energy", events=["event"])
    timings["gradient"] = time.perf_counter() - tick
    figure, ax = plt.subplots(figsize=(9, 3.8), constrained_layout=True)
    plot.gradient(density(mesh, raw.element_nodal_fields["VP"]), "VP", clip=0.2, ax=ax,
                  title="raw gradient d chi / d VP per m$^2$ (colour scale clipped at 20 %)")
    figure.savefig(output / "raw_gradient.png", dpi=110)
    plt.close(figure)

    tick = time.perf_counter()
    panel_statistics, _ = _gradient_figures(raw, mesh, event, output)
    timings["mapping_and_figures"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started

    summary = {
        "specfwi_version": __version__,
        "mesh": {"n_elements": mesh.n_elements, "n_global_nodes": mesh.n_global_nodes,
                 "tensor_order": mesh.tensor_order},
        "time_axis": {"n_samples": int(traces.sizes["time"]), "start_in_seconds": float(traces.time[0]),
                      "end_in_seconds": float(traces.time[-1]),
                      "time_step_in_seconds": float(traces.time[1] - traces.time[0])},
        "misfit": {"name": "L2_energy_no_observed_data", "value": float(misfits["event"])},
        "max_abs_trace": float(np.abs(traces).max()),
        "gradient_panels": panel_statistics,
        "timings_in_seconds": {name: round(value, 3) for name, value in timings.items()},
        "files": sorted(p.name for p in output.glob("*.png")) + ["summary.json"],
    }
    temporary = output / "summary.json.tmp"
    temporary.write_text(json.dumps(summary, indent=2))
    os.replace(temporary, output / "summary.json")
    return summary
