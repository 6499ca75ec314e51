"""Scenario S3 (SCENARIOS.md): Marmousi inversion from a 300 m-smoothed prior, VP only, 3 Hz Ricker.

    python benchmarks/s3_marmousi.py [--iterations 20] [--quick] [--output DIR] [--figure s3_marmousi.png]
                                     [--name s3] [--smoothing-meters 50] [--high-pass-meters 0]
                                     [--depth-exponent 2] [--method lbfgs] [--bound-handling project]
                                     [--initial-step 0.05] [--memory 5] [--region below_300m_fading]
                                     [--mute-velocity 1500] [--mute-intercept 0.7]
                                     [--low-band-iterations 8] [--low-band-max-hertz 3.5]
                                     [--low-band-depth-exponent 2] [--low-band-region below_300m_fading]

Prints per iteration and per misfit+gradient evaluation: misfit / initial, the model error
e = |vp - vp_true| / |vp_prior - vp_true| on the grid x = 0, 40, ..., 9200 m, depth = 100, 140, ..., 2900 m,
evaluations, cumulative wall time, peak memory; then the final model's misfit on the whole traces (full
band, no mute: the reference's misfit) against the prior's, and the model error by depth band; saves a figure of the true, prior and inverted models and the curves.
``--quick``: 4 sources, 1.5 s, 4 Hz mesh (checks the script; not a result). ``--output DIR`` keeps the
project: a second run with another ``--name`` reuses its observed data; another process reads its inversions
with ``benchmarks/`` on ``sys.path`` (their regions of interest are functions of this module).

Settings (the defaults, the best found; benchmarks/RESULTS.md has the variants): inversion on the
simulation mesh (7.5 Hz = 2.5 f0, 1.25 elements per wavelength, order 4: 5 GLL points per wavelength at
7.5 Hz, 12.5 at 3 Hz); observed data from a finer mesh (2 elements per wavelength); relative scaling;
source cutouts of 150 m; preconditioner ConstantSmoothing({"VP": 50 m}, depth_exponent=2) (smoothing only
against mesh-scale noise; updates growing as depth^2); a region of interest with no updates above 300 m
depth (rising to 1 at 400 m: left free, the near surface takes the largest updates and fits the data
without approaching the truth) and updates fading to 0.3 from 2500 m to the bottom of the box at 2900 m
(reached by reflections from above only); LBFGS(5, initial_step_linf=0.05, bound_handling="project");
bounds 1400-5600 m/s; a frequency continuation in two stages:

1. 8 iterations on the whole traces band-passed to 0.1-3.5 Hz (the diving waves ahead of the direct wave
   carry the long wavelengths);
2. the full band from that model (20 iterations in all), with a top mute, TopMute(1500 m/s, 0.7 s): each
   trace is muted before 0.7 s + offset / 1500 m/s, so the direct wave and the waves guided along the
   frozen near surface, which the model below 300 m cannot explain, no longer drive the update.

Each stage's depth exponent, region and the mute can be set apart (the flags below); the defaults use the
same preconditioner and region in both stages.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from common import project_folder  # first: it makes specfwi this checkout's
import numpy as np
import xarray as xr
from scipy.interpolate import RegularGridInterpolator
from scipy.ndimage import gaussian_filter

import specfwi as sf

DATA = Path(__file__).resolve().parent / "data" / "marmousi_vp.npz"
FROZEN_DEPTH_IN_METERS = 60.0
UPDATE_TOP_IN_METERS = 300.0
FADE_TOP_IN_METERS = 2500.0
DEEP_WEIGHT = 0.3


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


def _rising(y, top_in_meters: float, width_in_meters: float):
    """0 above ``top_in_meters`` depth, rising as sin^2 to 1 over ``width_in_meters`` below it."""
    ramp = np.clip((-y - top_in_meters) / width_in_meters, 0.0, 1.0)
    return np.sin(0.5 * np.pi * ramp) ** 2


def below_frozen_top(x, y):
    """Region of interest of the scenario: 0 above 60 m depth, rising to 1 at 100 m."""
    return _rising(y, FROZEN_DEPTH_IN_METERS, 40.0)


def below_300_meters(x, y):
    """Region of interest: 0 above 300 m depth, rising to 1 at 400 m (no near-surface updates)."""
    return _rising(y, UPDATE_TOP_IN_METERS, 100.0)


def _fading_below_2500(y, deep_weight: float):
    """1 down to 2500 m depth, falling as sin^2 to ``deep_weight`` at 2900 m (the bottom of the box)."""
    return 1.0 - (1.0 - deep_weight) * _rising(y, FADE_TOP_IN_METERS, 400.0)


def below_300_meters_fading_below_2500(x, y):
    """``below_300_meters``, falling as sin^2 from 1 at 2500 m depth to 0.3 at 2900 m."""
    return below_300_meters(x, y) * _fading_below_2500(y, DEEP_WEIGHT)


def below_300_meters_faded_out_below_2500(x, y):
    """``below_300_meters``, falling as sin^2 from 1 at 2500 m depth to 0 at 2900 m."""
    return below_300_meters(x, y) * _fading_below_2500(y, 0.0)


REGIONS = {"scenario": below_frozen_top, "below_300m": below_300_meters,
           "below_300m_fading": below_300_meters_fading_below_2500,
           "below_300m_faded_out": below_300_meters_faded_out_below_2500}
"""Regions of interest by name: the scenario's least (the top 60 m frozen), and three of ours."""


@dataclass(frozen=True)
class Settings:
    """What the inversion is free to choose (the scenario fixes the rest); the defaults are the best found.

    With ``low_band_iterations`` > 0 the run has two stages (a frequency continuation): that many
    iterations of inversion ``<name>_low`` on data band-passed to (0.1, ``low_band_max_frequency_in_hertz``)
    Hz, with ``low_band_depth_exponent`` and ``low_band_region``, then inversion ``<name>`` on the full band
    from its last model, for the remaining iterations, with ``depth_exponent`` and ``region``.
    """

    name: str = "s3"
    smoothing_in_meters: float = 50.0
    high_pass_in_meters: float | None = None
    depth_exponent: float = 2.0
    method: str = "lbfgs"
    bound_handling: str = "project"
    initial_step_linf: float = 0.05
    memory: int = 5
    region: str = "below_300m_fading"
    low_band_iterations: int = 8
    low_band_max_frequency_in_hertz: float = 3.5
    low_band_depth_exponent: float = 2.0
    low_band_region: str = "below_300m_fading"
    mute_velocity_in_meters_per_second: float | None = 1500.0
    mute_intercept_in_seconds: float = 0.7

    def mute(self) -> sf.TopMute | None:
        """The full-band stage's top mute (None: the whole traces)."""
        if self.mute_velocity_in_meters_per_second is None:
            return None
        return sf.TopMute(self.mute_velocity_in_meters_per_second, self.mute_intercept_in_seconds)

    def optimizer(self) -> sf.TrustRegion | sf.LBFGS:
        if self.method == "lbfgs":
            return sf.LBFGS(self.memory, initial_step_linf=self.initial_step_linf, bound_handling=self.bound_handling)
        return sf.TrustRegion(self.initial_step_linf, memory=self.memory, bound_handling=self.bound_handling)

    def preconditioner(self, depth_exponent: float) -> sf.ConstantSmoothing:
        return sf.ConstantSmoothing({"VP": self.smoothing_in_meters}, depth_exponent=depth_exponent,
                                    high_pass_lengths_in_meters=None if self.high_pass_in_meters is None
                                    else {"VP": self.high_pass_in_meters})

    @property
    def low_band_name(self) -> str:
        """The first stage's inversion (with ``low_band_iterations`` > 0)."""
        return f"{self.name}_low"

    def stages(self, n_iterations: int) -> list[tuple[str, int]]:
        """(inversion name, iterations) in order, ``n_iterations`` in all (see ``run_and_report``)."""
        if self.low_band_iterations <= 0:
            return [(self.name, n_iterations)]
        low = min(self.low_band_iterations, n_iterations)
        return [(self.low_band_name, low)] + ([(self.name, n_iterations - low)] if n_iterations > low else [])


def build_s3(path, *, quick: bool = False, settings: Settings = Settings()) -> sf.Project:
    """The scenario (``build_scenario``) and the inversions of ``settings``."""
    project = build_scenario(path, quick=quick)
    add_inversions(project, settings)
    return project


def build_scenario(path, *, quick: bool = False) -> sf.Project:
    """S3's models, events, simulation configurations ("prior"; "true_fine", the data) and the L2 misfit "l2"."""
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
    return project


def add_inversions(project: sf.Project, settings: Settings) -> None:
    """The inversions of ``settings`` (one stage, or two: see ``Settings``), on ``build_scenario``'s project."""
    full_band_misfit = "l2"
    mute = settings.mute()
    if mute is not None:
        full_band_misfit = f"l2_muted_{mute.velocity_in_meters_per_second:g}_{mute.intercept_time_in_seconds:g}"
        project += sf.MisfitConfiguration(full_band_misfit, "L2", observed_data="true_fine", mute=mute)
    full_band = (full_band_misfit, settings.region, settings.depth_exponent)
    stages = [(settings.name, "prior", full_band)]
    if settings.low_band_iterations > 0:
        low_band = f"l2_below_{settings.low_band_max_frequency_in_hertz:g}_hz"
        project += sf.MisfitConfiguration(low_band, "L2", observed_data="true_fine",
                                          bandpass=(0.1, settings.low_band_max_frequency_in_hertz))
        stages = [(settings.low_band_name, "prior",
                   (low_band, settings.low_band_region, settings.low_band_depth_exponent)),
                  (settings.name, (settings.low_band_name, settings.low_band_iterations), full_band)]
    for name, prior, (misfit, region, depth_exponent) in stages:
        mapping = sf.Mapping(["VP"], "relative_deviation_from_prior", source_cutout_radius_in_meters=150.0,
                             region_of_interest=REGIONS[region])
        project += sf.InverseProblemConfiguration(
            name, prior, project.events.list(), misfit, mapping, settings.preconditioner(depth_exponent),
            method=settings.optimizer(), simulation_configuration="prior", bounds={"VP": (1400.0, 5600.0)})


def error_grid() -> np.ndarray:
    xx, dd = np.meshgrid(np.arange(0.0, 9200.0 + 1.0, 40.0), np.arange(100.0, 2900.0 + 1.0, 40.0), indexing="ij")
    return np.column_stack([xx.ravel(), -dd.ravel()])


def true_and_prior_on_error_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(``error_grid()`` points, the true VP there, the prior VP there): bilinear samples of the native grid."""
    x, y, vp_true, vp_prior = marmousi_grids()
    points = error_grid()
    return points, RegularGridInterpolator((x, y), vp_true)(points), RegularGridInterpolator((x, y), vp_prior)(points)


def model_error():
    """A function: simulation model -> e, with the true and prior VP sampled bilinearly on their grid."""
    from inversion_report import sample_vp

    points, true, prior = true_and_prior_on_error_grid()
    prior_error = np.linalg.norm(prior - true)
    return lambda mesh: float(np.linalg.norm(sample_vp(mesh, points) - true) / prior_error)


DEPTH_BANDS_IN_METERS = ((100, 300), (300, 600), (600, 1000), (1000, 1500), (1500, 2000), (2000, 2500), (2500, 2900))


def error_by_depth(mesh: sf.UnstructuredMesh) -> list[tuple[tuple[int, int], float, float]]:
    """Per depth band: (band in m, the prior's share of |vp_prior - vp_true|^2, the model's |vp - vp_true|^2 there
    over the same total); e^2 is the sum of the last column."""
    from inversion_report import sample_vp

    points, true, prior = true_and_prior_on_error_grid()
    prior_squared = (prior - true) ** 2
    model_squared = (sample_vp(mesh, points) - true) ** 2
    depth = -points[:, 1]
    rows = []
    for top, bottom in DEPTH_BANDS_IN_METERS:
        inside = (depth >= top) & (depth < bottom) if bottom < DEPTH_BANDS_IN_METERS[-1][1] else (depth >= top)
        rows.append(((top, bottom), prior_squared[inside].sum() / prior_squared.sum(),
                     model_squared[inside].sum() / prior_squared.sum()))
    return rows


def final_model(project: sf.Project, stages: list[tuple[str, int]]) -> sf.UnstructuredMesh:
    """The last model of the last stage's inversion."""
    name = stages[-1][0]
    return project.inversions.get_model(name, project.inversions.status(name).n_completed_iterations)


def whole_trace_misfit(project: sf.Project, stages: list[tuple[str, int]]) -> float:
    """The L2 misfit "l2" (full band, no mute: the reference's) of the final model, over the prior's."""
    prior = project.simulations.get("prior")
    name = stages[-1][0]
    final = f"{name}_iteration_{project.inversions.status(name).n_completed_iterations}"
    project += sf.UnstructuredMeshSimulationConfiguration(final, final_model(project, stages), prior.event_configuration)

    def misfit(simulation: str) -> float:
        return sum(project.actions.inversion.compute_misfits(simulation, "l2").values())

    return misfit(final) / misfit("prior")


def save_figure(project: sf.Project, stages: list[tuple[str, int]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inversion_report import sample_vp

    x, y, vp_true, vp_prior = marmousi_grids()
    error = model_error()
    errors, misfit_axes, iteration = [], [], 0
    for stage, (name, _) in enumerate(stages):
        misfits = project.inversions.misfits(name).sum("event").values
        first = 0 if stage == 0 else 1
        errors += [error(project.inversions.get_model(name, k)) for k in range(first, len(misfits))]
        label = f"misfit / its first\n({name}: {project.inversions.get(name).misfit_configuration})"
        misfit_axes.append((np.arange(iteration, iteration + len(misfits)), misfits / misfits[0], label))
        iteration += len(misfits) - 1
    last_model = final_model(project, stages)
    points = error_grid()
    shape = (len(np.unique(points[:, 0])), len(np.unique(points[:, 1])))
    result = sample_vp(last_model, points).reshape(shape)
    figure, axes = plt.subplots(2, 2, figsize=(13, 7), constrained_layout=True)
    extent = (0, 9200, -3000, 0)
    for ax, values, title in ((axes[0, 0], vp_true, "true VP"), (axes[0, 1], vp_prior, "prior VP"),
                              (axes[1, 0], None, f"VP after {iteration} iterations")):
        if values is None:
            image = ax.imshow(result.T, extent=(0, 9200, -2900, -100), aspect="auto", vmin=1500, vmax=5500,
                              cmap="viridis")
        else:
            image = ax.imshow(values.T[::-1], extent=extent, aspect="auto", vmin=1500, vmax=5500, cmap="viridis")
        ax.set_title(title)
        figure.colorbar(image, ax=ax, label="m/s")
    for iterations, relative_misfits, label in misfit_axes:
        axes[1, 1].plot(iterations, relative_misfits, "o-", label=label)
    axes[1, 1].plot(np.arange(len(errors)), errors, "s-", label="model error e")
    axes[1, 1].set_xlabel("iteration")
    axes[1, 1].legend(loc="center right", fontsize="small")
    figure.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, help="iterations in all (both stages)")
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
                        help="the full-band stage's preconditioner's depth exponent p (updates grow as depth^p)")
    parser.add_argument("--method", choices=["trust_region", "lbfgs"], default=defaults.method)
    parser.add_argument("--bound-handling", choices=["stop", "project"], default=defaults.bound_handling,
                        help="steps at the bounds: stopped at the first, or clipped into them")
    parser.add_argument("--initial-step", type=float, default=defaults.initial_step_linf,
                        help="max-norm of the first step (the trust region's first radius; relative: 0.05 is 5 %%)")
    parser.add_argument("--memory", type=int, default=defaults.memory, help="quasi-Newton pairs kept")
    parser.add_argument("--region", choices=list(REGIONS), default=defaults.region,
                        help="the full-band stage's region of interest: scenario (the top 60 m frozen), below_300m "
                             "(no updates above 300 m), below_300m_fading (and updates fading to 0.3 from 2500 m to "
                             "2900 m), below_300m_faded_out (fading to 0)")
    parser.add_argument("--low-band-iterations", type=int, default=defaults.low_band_iterations,
                        help="iterations of the first, low-band stage (0: one stage on the full band)")
    parser.add_argument("--low-band-max-hertz", type=float, default=defaults.low_band_max_frequency_in_hertz,
                        help="the low-band stage's upper frequency (Hz)")
    parser.add_argument("--low-band-depth-exponent", type=float, default=defaults.low_band_depth_exponent,
                        help="the low-band stage's depth exponent")
    parser.add_argument("--low-band-region", choices=list(REGIONS), default=defaults.low_band_region,
                        help="the low-band stage's region of interest")
    parser.add_argument("--mute-velocity", type=float, default=defaults.mute_velocity_in_meters_per_second or 0.0,
                        help="the full-band stage's top mute: traces muted before intercept + offset / velocity "
                             "(m/s); 0: no mute")
    parser.add_argument("--mute-intercept", type=float, default=defaults.mute_intercept_in_seconds,
                        help="the top mute's intercept time (s)")
    arguments = parser.parse_args()
    from inversion_report import run_and_report

    with project_folder(arguments.output, prefix="s3_") as folder:
        settings = Settings(name=arguments.name, smoothing_in_meters=arguments.smoothing_meters,
                            high_pass_in_meters=arguments.high_pass_meters or None,
                            depth_exponent=arguments.depth_exponent, method=arguments.method,
                            bound_handling=arguments.bound_handling, initial_step_linf=arguments.initial_step,
                            memory=arguments.memory, region=arguments.region,
                            low_band_iterations=arguments.low_band_iterations,
                            low_band_max_frequency_in_hertz=arguments.low_band_max_hertz,
                            low_band_depth_exponent=arguments.low_band_depth_exponent,
                            low_band_region=arguments.low_band_region,
                            mute_velocity_in_meters_per_second=arguments.mute_velocity or None,
                            mute_intercept_in_seconds=arguments.mute_intercept)
        project = build_s3(folder, quick=arguments.quick, settings=settings)
        mesh = project.simulations.get_mesh("prior")
        print(f"specfwi {sf.__file__}; S3{' (quick)' if arguments.quick else ''}; inversion mesh {mesh.n_elements} "
              f"elements, {mesh.n_global_nodes} nodes; data mesh "
              f"{project.simulations.get_mesh('true_fine').n_elements} elements; {settings}")
        stages = settings.stages(arguments.iterations)
        figures = run_and_report(project, stages, model_error())
        print(f"\nafter {figures['iteration']} iterations: e = {figures['model_error']:.3f}, "
              f"{figures['evaluations']} evaluations, {figures['wall_time_in_seconds']:.0f} s, "
              f"peak memory {figures['peak_memory_in_megabytes']:.0f} MB")
        print(f"the final model's misfit on the whole traces (the reference's misfit) / the prior's: "
              f"{whole_trace_misfit(project, stages):.3f} (computed after the timing)")
        print("\nmodel error by depth (squares, over the prior's total; e^2 is the sum of the last column)")
        print("depth_m     prior  result")
        for (top, bottom), prior_share, result_share in error_by_depth(final_model(project, stages)):
            print(f"{top:4d}-{bottom:<4d}  {prior_share:6.3f}  {result_share:6.3f}")
        save_figure(project, stages, arguments.figure)


if __name__ == "__main__":
    # Run as the module s3_marmousi, so that the project refers to the regions of interest as
    # "s3_marmousi:<function>": importable by another process with benchmarks/ on its path (not "__main__:...").
    import s3_marmousi

    s3_marmousi.main()
