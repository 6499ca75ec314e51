"""An inversion at a glance: misfit per iteration, prior, current model, last update."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..errors import invalid
from .field_plots import field
from .history_plots import misfit_history

FIGURE_SIZE_IN_INCHES = (11.0, 7.0)


def inversion(project, inverse_problem_configuration: str, *, parameter: str = "VP", iteration: int | None = None
              ) -> Figure:
    """Four panels of the inversion ``inverse_problem_configuration`` of ``project``: the total misfit
    per iteration, the prior's ``parameter``, the model of ``iteration`` (default: the latest) and its
    last update (that model minus the previous iteration's). Returns the Figure."""
    misfits = project.inversions.misfits(inverse_problem_configuration)
    latest = int(misfits["iteration"].values[-1]) if misfits.sizes["iteration"] else None
    if latest is None:
        raise invalid("inverse_problem_configuration", inverse_problem_configuration,
                      "an inversion with at least its prior evaluated (run p.inversions.iterate first)")
    iteration = latest if iteration is None else iteration
    prior = project.inversions.get_model(inverse_problem_configuration, 0)
    if parameter not in prior.element_nodal_fields:
        raise invalid("parameter", parameter, f"one of {sorted(prior.element_nodal_fields)}")
    current = project.inversions.get_model(inverse_problem_configuration, iteration)
    previous = project.inversions.get_model(inverse_problem_configuration, max(iteration - 1, 0))
    update = current.geometry_copy()
    update.attach_field(parameter, current.element_nodal_fields[parameter] - previous.element_nodal_fields[parameter])
    figure, axes = plt.subplots(2, 2, figsize=FIGURE_SIZE_IN_INCHES, constrained_layout=True)
    misfit_history(misfits.sum("event").values, ax=axes[0, 0])
    axes[0, 0].set_title(f"{inverse_problem_configuration}: total misfit")
    field(prior, parameter, ax=axes[0, 1], title=f"prior {parameter}")
    field(current, parameter, ax=axes[1, 0], title=f"{parameter}, iteration {iteration}")
    field(update, parameter, ax=axes[1, 1], title=f"update {iteration - 1 if iteration else 0} -> {iteration}")
    return figure
