"""Scenario S3 (SCENARIOS.md): Marmousi inversion from a 300 m-smoothed prior, VP only, 3 Hz Ricker.

    python benchmarks/s3_marmousi.py [--iterations 20] [--quick] [--output DIR] [--figure s3_marmousi.png]
                                     [--name s3] [--smoothing-meters 50] [--high-pass-meters 0]
                                     [--depth-exponent 1] [--bound-handling stop] [--initial-trust-radius 0.05]
                                     [--memory 5]

Prints per iteration and per misfit+gradient evaluation: misfit / initial, the model error
e = |vp - vp_true| / |vp_prior - vp_true| on the grid x = 0, 40, ..., 9200 m, depth = 100, 140, ..., 2900 m,
evaluations, cumulative wall time, peak memory; saves a figure of the true, prior and inverted models
and the two curves. ``--quick``: 4 sources, 1.5 s, 4 Hz mesh (checks the script; not a result).
``--output DIR`` keeps the project: a second run with another ``--name`` reuses its observed data.

Settings (the defaults; see benchmarks/RESULTS.md): inversion on the simulation mesh (7.5 Hz = 2.5 f0,
1.25 elements per wavelength, order 4: 5 GLL points per wavelength at 7.5 Hz, 12.5 at 3 Hz); observed
data from a finer mesh (2 elements per wavelength); relative scaling; source cutouts of 150 m; the top
60 m frozen by a region of interest (rising to 1 by 100 m depth); preconditioner
ConstantSmoothing({"VP": 50 m}, depth_exponent=1): smoothing only against mesh-scale noise, updates growing
with depth (``--high-pass-meters 150`` adds the high-pass: a lower e in the first iterations, the same at 20);
TrustRegion(initial_trust_region_linf=0.05) (bound_handling "stop"); bounds 1400-5600 m/s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import common  # noqa: F401 (first: it makes specfwi this checkout's)
import numpy as np
import xarray as xr
from scipy.interpolate import RegularGridInterpolator
from scipy.ndimage import gaussian_filter

import specfwi as sf

DATA = Path(__file__).resolve().parent / "data" / "marmousi_vp.npz"
FROZEN_DEPTH_IN_METERS = 60.0
TAPER_IN_METERS = 40.0


def marmousi_grids() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, true vp, prior vp) on the native grid extended by one row to 3000 m depth; y increasing."""
    data = np.load(DATA)
    x, depth, vp = data["x"], data["depth"], np.asarray(data["vp"], dtype=float)
    depth = np.append(depth, 3000.0)
    vp = np.concatenate([vp, vp[:, -1:]], axis=1)
    prior = gaussian_filter(vp, sigma=(300.0 / 15.333, 300.0 / 4.0), mode="nearest")
    return x, -depth[::-1], vp[:, ::-1], prior[:, ::-1]


def volume(name: str, x, y, vp, rho) -> sf.model.GenericModel:
    return sf.model.GenericModel(name=name, data=xr.Dataset({"vp": (["x", "y"], vp), "rho": (["x", "y"], rho)},
                                                            coords={"x": x, "y": y}))


def below_frozen_top(x, y):
    """Region of interest: 0 above 60 m depth, rising as sin^2 to 1 at 100 m."""
    ramp = np.clip((-y - FROZEN_DEPTH_IN_METERS) / TAPER_IN_METERS, 0.0, 1.0)
    return np.sin(0.5 * np.pi * ramp) ** 2


def between_frozen_top_and_1500_meters(x, y):
    """``below_frozen_top``, falling again as cos^2 from 1 at 1000 m depth to 0 at 1500 m (deeper: frozen)."""
    ramp = np.clip((-y - 1000.0) / 500.0, 0.0, 1.0)
    return below_frozen_top(x, y) * np.cos(0.5 * np.pi * ramp) ** 2


@dataclass(frozen=True)
class Settings:
    """What the inversion is free to choose (the scenario fixes the rest); the defaults are the best found."""

    name: str = "s3"
    smoothing_in_meters: float = 50.0
    high_pass_in_meters: float | None = None
    depth_exponent: float = 1.0
    bound_handling: str = "stop"
    initial_trust_region_linf: float = 0.05
    memory: int = 5
    deep_frozen: bool = False
    method: str = "trust_region"

    def optimizer(self) -> sf.TrustRegion | sf.LBFGS:
        if self.method == "lbfgs":
            return sf.LBFGS(self.memory, initial_step_linf=self.initial_trust_region_linf)
        return sf.TrustRegion(self.initial_trust_region_linf, memory=self.memory, bound_handling=self.bound_handling)

    def preconditioner(self) -> sf.ConstantSmoothing:
        return sf.ConstantSmoothing({"VP": self.smoothing_in_meters}, depth_exponent=self.depth_exponent,
                                    high_pass_lengths_in_meters=None if self.high_pass_in_meters is None
                                    else {"VP": self.high_pass_in_meters})


def build_s3(path, *, quick: bool = False, settings: Settings = Settings()) -> sf.Project:
    x, y, vp_true, vp_prior = marmousi_grids()
    rho = 310.0 * vp_true**0.25
    project = sf.Project.from_volume_model(path, volume("prior_model", x, y, vp_prior, rho), load_if_exists=True)
    project += volume("true_model", x, y, vp_true, rho)
    source_x = np.linspace(300.0, 8900.0, 4 if quick else 16)
    receivers = sf.ArrayPoint2D(x=np.arange(100.0, 9100.0 + 1.0, 50.0), y=-20.0, fields=["phi"])
    project += [sf.Event(event_name=f"shot_{index:02d}", sources=sf.ScalarPoint2D(x=sx, y=-20.0, f=1.0),
                         receivers=receivers) for index, sx in enumerate(source_x)]
    event_configuration = sf.EventConfiguration(sf.Ricker(center_frequency=3.0), 1.5 if quick else 4.0)
    max_frequency = 4.0 if quick else 7.5
    project += sf.SimulationConfiguration("prior", max_frequency_in_hertz=max_frequency, elements_per_wavelength=1.25,
                                          volume_models="prior_model", event_configuration=event_configuration)
    project += sf.SimulationConfiguration("true_fine", max_frequency_in_hertz=max_frequency,
                                          elements_per_wavelength=2.0, volume_models="true_model",
                                          event_configuration=event_configuration)
    project += sf.MisfitConfiguration("l2", "L2", observed_data="true_fine")
    region = between_frozen_top_and_1500_meters if settings.deep_frozen else below_frozen_top
    mapping = sf.Mapping(["VP"], "relative_deviation_from_prior", source_cutout_radius_in_meters=150.0,
                         region_of_interest=region)
    project += sf.InverseProblemConfiguration(
        settings.name, "prior", project.events.list(), "l2", mapping, settings.preconditioner(),
        method=settings.optimizer(),
        bounds={"VP": (1400.0, 5600.0)})
    return project


def error_grid() -> np.ndarray:
    xx, dd = np.meshgrid(np.arange(0.0, 9200.0 + 1.0, 40.0), np.arange(100.0, 2900.0 + 1.0, 40.0), indexing="ij")
    return np.column_stack([xx.ravel(), -dd.ravel()])


def model_error():
    """A function: simulation model -> e, with the true and prior VP sampled bilinearly on their grid."""
    from inversion_report import sample_vp

    x, y, vp_true, vp_prior = marmousi_grids()
    points = error_grid()
    true = RegularGridInterpolator((x, y), vp_true)(points)
    prior_error = np.linalg.norm(RegularGridInterpolator((x, y), vp_prior)(points) - true)
    return lambda mesh: float(np.linalg.norm(sample_vp(mesh, points) - true) / prior_error)


def save_figure(project: sf.Project, name: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inversion_report import sample_vp

    x, y, vp_true, vp_prior = marmousi_grids()
    misfits = project.inversions.misfits(name).sum("event").values
    last = len(misfits) - 1
    error = model_error()
    errors = [error(project.inversions.get_model(name, k)) for k in range(last + 1)]
    points = error_grid()
    shape = (len(np.unique(points[:, 0])), len(np.unique(points[:, 1])))
    result = sample_vp(project.inversions.get_model(name, last), points).reshape(shape)
    figure, axes = plt.subplots(2, 2, figsize=(13, 7), constrained_layout=True)
    extent = (0, 9200, -3000, 0)
    for ax, values, title in ((axes[0, 0], vp_true, "true VP"), (axes[0, 1], vp_prior, "prior VP"),
                              (axes[1, 0], None, f"VP after {last} iterations")):
        if values is None:
            image = ax.imshow(result.T, extent=(0, 9200, -2900, -100), aspect="auto", vmin=1500, vmax=5500,
                              cmap="viridis")
        else:
            image = ax.imshow(values.T[::-1], extent=extent, aspect="auto", vmin=1500, vmax=5500, cmap="viridis")
        ax.set_title(title)
        figure.colorbar(image, ax=ax, label="m/s")
    axes[1, 1].plot(misfits / misfits[0], "o-", label="misfit / initial")
    axes[1, 1].plot(errors, "s-", label="model error e")
    axes[1, 1].set_xlabel("iteration")
    axes[1, 1].legend()
    figure.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a reduced S3 that checks the script")
    parser.add_argument("--output", help="project folder to keep (default: a temporary one)")
    parser.add_argument("--figure", default="s3_marmousi.png")
    defaults = Settings()
    parser.add_argument("--name", default=defaults.name, help="the inversion's name in the project")
    parser.add_argument("--smoothing-meters", type=float, default=defaults.smoothing_in_meters,
                        help="the preconditioner's smoothing length (m)")
    parser.add_argument("--high-pass-meters", type=float, default=defaults.high_pass_in_meters or 0.0,
                        help="the preconditioner's high-pass length (m); 0 (default): none")
    parser.add_argument("--depth-exponent", type=float, default=defaults.depth_exponent,
                        help="the preconditioner's depth exponent p (updates grow as depth^p)")
    parser.add_argument("--bound-handling", choices=["stop", "project"], default=defaults.bound_handling,
                        help="the trust region's steps at the bounds")
    parser.add_argument("--initial-trust-radius", type=float, default=defaults.initial_trust_region_linf,
                        help="the trust region's initial max-norm radius (relative: 0.05 is 5 %%)")
    parser.add_argument("--memory", type=int, default=defaults.memory, help="quasi-Newton pairs kept")
    parser.add_argument("--method", choices=["trust_region", "lbfgs"], default=defaults.method,
                        help="TrustRegion or LBFGS (--initial-trust-radius is then its first step's max-norm)")
    parser.add_argument("--deep-frozen", action="store_true",
                        help="freeze the model below 1500 m too (region of interest tapering from 1000 m)")
    arguments = parser.parse_args()
    from inversion_report import run_and_report

    folder = Path(arguments.output) if arguments.output else Path(tempfile.mkdtemp(prefix="s3_"))
    try:
        settings = Settings(arguments.name, arguments.smoothing_meters, arguments.high_pass_meters or None,
                            arguments.depth_exponent, arguments.bound_handling, arguments.initial_trust_radius,
                            arguments.memory, arguments.deep_frozen, arguments.method)
        project = build_s3(folder, quick=arguments.quick, settings=settings)
        mesh = project.simulations.get_mesh("prior")
        print(f"specfwi {sf.__file__}; S3{' (quick)' if arguments.quick else ''}; inversion mesh {mesh.n_elements} "
              f"elements, {mesh.n_global_nodes} nodes; data mesh "
              f"{project.simulations.get_mesh('true_fine').n_elements} elements; {settings}")
        figures = run_and_report(project, settings.name, arguments.iterations, model_error())
        print(f"\nafter {figures['iteration']} iterations: e = {figures['model_error']:.3f}, misfit / initial = "
              f"{figures['relative_misfit']:.3f}, {figures['evaluations']} evaluations, "
              f"{figures['wall_time_in_seconds']:.0f} s, peak memory {figures['peak_memory_in_megabytes']:.0f} MB")
        save_figure(project, settings.name, arguments.figure)
    finally:
        if not arguments.output:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
