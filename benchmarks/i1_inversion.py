"""Scenario I1 (SCENARIOS.md): invert S1's background for a +5 % VP Gaussian at (1500, -500) m.

    python benchmarks/i1_inversion.py [--iterations 10] [--quick] [--output DIR]

Prints per iteration: misfit / initial, the L2 model error in x in [700, 2300], y in [-900, -100] m
relative to the prior's, evaluations, wall time, peak memory; then every evaluation; then where the
largest VP increase lies and the targets (misfit / initial <= 0.05, error <= 0.5, within 100 m).
``--quick`` runs the reduced I1 of the test suite (6 Hz mesh, 2.5 Hz Ricker).
Settings: relative scaling, VP only, cutouts of 200 m around sources and 100 m around receivers,
ConstantSmoothing of 100 m as preconditioner, TrustRegion(initial_trust_region_linf=0.05), bounds 1400-3000 m/s.
"""

from __future__ import annotations

import argparse

from common import project_folder  # first: it makes specfwi this checkout's
import numpy as np
import xarray as xr

import specfwi as sf

BLOB_CENTER_IN_METERS = (1500.0, -500.0)
BLOB_SIGMA_IN_METERS = 200.0
BOX_IN_METERS = (700.0, 2300.0, -900.0, -100.0)
SOURCE_X_IN_METERS = (300.0, 900.0, 1500.0, 2100.0, 2700.0)


def i1_model(name: str, *, with_blob: bool) -> sf.model.GenericModel:
    """S1's vp = 1500 - y, rho = 1000 - y on a 10 m grid; the true model adds +5 % VP in the Gaussian."""
    x = np.linspace(0.0, 3000.0, 301)
    y = np.linspace(-1000.0, 0.0, 101)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    vp = 1500.0 - yy
    if with_blob:
        r2 = (xx - BLOB_CENTER_IN_METERS[0]) ** 2 + (yy - BLOB_CENTER_IN_METERS[1]) ** 2
        vp = vp * (1.0 + 0.05 * np.exp(-r2 / (2.0 * BLOB_SIGMA_IN_METERS**2)))
    return sf.model.GenericModel(name=name, data=xr.Dataset({"vp": (["x", "y"], vp), "rho": (["x", "y"], 1000.0 - yy)},
                                                            coords={"x": x, "y": y}))


def build_i1(path, *, quick: bool = False, method=None) -> sf.Project:
    """The I1 project with the inverse problem "i1" (reduced: 6 Hz mesh and a 2.5 Hz Ricker)."""
    project = sf.Project.from_volume_model(path, i1_model("prior_model", with_blob=False), load_if_exists=True)
    project += i1_model("true_model", with_blob=True)
    receivers = sf.ArrayPoint2D(x=np.concatenate([np.linspace(100.0, 2900.0, 10), np.full(10, 2900.0)]),
                                y=np.concatenate([np.zeros(10), np.linspace(-950.0, -50.0, 10)]), fields=["phi"])
    project += [sf.Event(event_name=f"shot_{index}", sources=sf.ScalarPoint2D(x=x, y=-950.0, f=1.0),
                         receivers=receivers) for index, x in enumerate(SOURCE_X_IN_METERS)]
    wavelet = sf.Ricker(center_frequency=2.5 if quick else 5.0)
    for name, model in (("prior", "prior_model"), ("true", "true_model")):
        project += sf.SimulationConfiguration(name, max_frequency_in_hertz=6.0 if quick else 12.5,
                                              elements_per_wavelength=2.0, volume_models=model, tensor_order=4,
                                              event_configuration=sf.EventConfiguration(wavelet, 2.0))
    project += sf.MisfitConfiguration("l2", "L2", observed_data="true")
    mapping = sf.Mapping(["VP"], "relative_deviation_from_prior", source_cutout_radius_in_meters=200.0,
                         receiver_cutout_radius_in_meters=100.0)
    project += sf.InverseProblemConfiguration(
        "i1", "prior", project.events.list(), "l2", mapping, sf.ConstantSmoothing({"VP": 100.0}),
        method=method or sf.TrustRegion(initial_trust_region_linf=0.05), bounds={"VP": (1400.0, 3000.0)})
    return project


def box_points(spacing_in_meters: float = 10.0) -> np.ndarray:
    x_min, x_max, y_min, y_max = BOX_IN_METERS
    xx, yy = np.meshgrid(np.arange(x_min, x_max + 1e-9, spacing_in_meters),
                         np.arange(y_min, y_max + 1e-9, spacing_in_meters), indexing="ij")
    return np.column_stack([xx.ravel(), yy.ravel()])


def model_error_in_box(project: sf.Project):
    """A function: simulation model -> L2 error of VP in the box relative to the prior's (10 m grid)."""
    from inversion_report import sample_vp

    points = box_points()
    true = sample_vp(project.simulations.get_mesh("true"), points)
    prior_error = np.linalg.norm(sample_vp(project.simulations.get_mesh("prior"), points) - true)
    return lambda mesh: float(np.linalg.norm(sample_vp(mesh, points) - true) / prior_error)


def largest_increase(project: sf.Project, name: str, iteration: int) -> tuple[np.ndarray, float]:
    """(place (x, y) in m of the largest VP increase over the prior, its distance to the blob's centre)."""
    model = project.inversions.get_model(name, iteration)
    increase = model.element_nodal_fields["VP"] - project.inversions.get_model(name, 0).element_nodal_fields["VP"]
    place = model.get_element_nodes().reshape(-1, 2)[int(np.argmax(increase))]
    return place, float(np.hypot(*(place - BLOB_CENTER_IN_METERS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="the reduced I1 of the test suite")
    parser.add_argument("--output", help="project folder to keep (default: a temporary one)")
    arguments = parser.parse_args()
    from inversion_report import run_and_report

    with project_folder(arguments.output, prefix="i1_") as folder:
        project = build_i1(folder, quick=arguments.quick)
        print(f"specfwi {sf.__file__}; I1{' (quick)' if arguments.quick else ''}; mesh "
              f"{project.simulations.get_mesh('prior').n_elements} elements")
        figures = run_and_report(project, [("i1", arguments.iterations)], model_error_in_box(project))
        place, distance = largest_increase(project, "i1", figures["iteration"])
        print(f"\nlargest VP increase at ({place[0]:.0f}, {place[1]:.0f}) m, {distance:.0f} m from the blob's centre")
        relative_misfit = figures["relative_misfit"]
        print(f"targets: misfit/initial {relative_misfit:.4f} <= 0.05: {relative_misfit <= 0.05}; "
              f"model error {figures['model_error']:.3f} <= 0.5: {figures['model_error'] <= 0.5}; "
              f"within 100 m: {distance <= 100.0}")


if __name__ == "__main__":
    main()
