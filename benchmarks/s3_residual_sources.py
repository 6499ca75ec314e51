"""Where S3's data residual comes from: the prior's misfit once parts of it are replaced by the truth.

    python benchmarks/s3_residual_sources.py [--output DIR]

Each row is the full-band L2 misfit (all 16 shots) of a model on the inversion's mesh, over the prior's, on
the whole traces and on the traces after the top mute of the benchmark's full-band stage (``Settings().mute()``):

- the true model: what the inversion's mesh cannot reproduce of the finer mesh's data (modelling error);
- the true model with the prior's VP above 60 m (blended into the truth over 40 m): the best model that S3,
  which keeps the top 60 m at the prior, allows; above 300 m: the best that the benchmark's inversions,
  which also keep 60-300 m, can reach;
- the prior with the true VP above 60 m or 300 m: the share of the prior's residual that those layers make.

A residual that the model below cannot explain is fitted there anyway, as structure that is not in the
truth: the larger these shares, the sooner the model error stops falling while the misfit still does. The
mute removes the direct and near-surface guided waves, and with them most of the share of the top 60 m.
"""

from __future__ import annotations

import argparse

from common import project_folder  # first: it makes specfwi this checkout's
import numpy as np

import specfwi as sf
from s3_marmousi import Settings, build_scenario, marmousi_grids, volume

TAPER_IN_METERS = 40.0
TOPS_IN_METERS = (60.0, 300.0)


def top_replaced(top_in_meters: float, *, true_above: bool) -> sf.model.GenericModel:
    """The prior VP with the true VP above ``top_in_meters`` depth (``true_above``), or the true VP with the
    prior's above it; blended linearly over the next 40 m. RHO is the scenario's (of the true VP)."""
    x, y, vp_true, vp_prior = marmousi_grids()
    below_weight = np.clip((-y - top_in_meters) / TAPER_IN_METERS, 0.0, 1.0)[None, :]
    above, below = (vp_true, vp_prior) if true_above else (vp_prior, vp_true)
    name = f"{'prior_true' if true_above else 'true_prior'}_above_{top_in_meters:g}m"
    return volume(name, x, y, (1.0 - below_weight) * above + below_weight * below, 310.0 * vp_true**0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", help="project folder to keep or reuse (default: a temporary one)")
    arguments = parser.parse_args()
    with project_folder(arguments.output, prefix="s3_residual_") as folder:
        project = build_scenario(folder)
        prior = project.simulations.get("prior")
        models = {"true model": "true_model"}
        for true_above, label in ((False, "true, the prior's above {top:g} m"), (True, "prior, the truth above {top:g} m")):
            for top in TOPS_IN_METERS:
                model = top_replaced(top, true_above=true_above)
                project += model
                models[label.format(top=top)] = model.name
        for name in models.values():
            project += sf.SimulationConfiguration(f"on_inversion_mesh_{name}", max_frequency_in_hertz=7.5,
                                                  elements_per_wavelength=1.25, volume_models=name,
                                                  event_configuration=prior.event_configuration)
        project += sf.MisfitConfiguration("l2_muted", "L2", observed_data="true_fine", mute=Settings().mute())

        def misfit(simulation: str, misfit_configuration: str) -> float:
            return sum(project.actions.inversion.compute_misfits(simulation, misfit_configuration).values())

        prior_misfits = {name: misfit("prior", name) for name in ("l2", "l2_muted")}
        print(f"model (on the inversion's mesh)          misfit / the prior's: whole traces  muted ({Settings().mute()})")
        for label, name in models.items():
            ratios = [misfit(f"on_inversion_mesh_{name}", configuration) / prior
                      for configuration, prior in prior_misfits.items()]
            print(f"{label:40s} {ratios[0]:12.3f}  {ratios[1]:6.3f}")
        print(f"the prior's muted misfit / its misfit on the whole traces: "
              f"{prior_misfits['l2_muted'] / prior_misfits['l2']:.3f}")


if __name__ == "__main__":
    main()
