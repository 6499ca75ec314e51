"""A tiny inversion (600 m x 400 m, +5 % VP blob at (300, -200) m) shared by tests and their subprocesses.

Run as a script: ``python inversion_case.py PROJECT N_ITERATIONS`` builds the project (if needed) and
iterates the inversion "inv" to N iterations.
"""

from __future__ import annotations

import sys

import numpy as np
import xarray as xr

import specfwi as sf

BLOB_CENTER_IN_METERS = (300.0, -200.0)


def volume(name: str, blob: float) -> sf.model.GenericModel:
    x = np.linspace(0.0, 600.0, 61)
    y = np.linspace(-400.0, 0.0, 41)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    bump = np.exp(-((xx - BLOB_CENTER_IN_METERS[0]) ** 2 + (yy - BLOB_CENTER_IN_METERS[1]) ** 2) / (2 * 80.0**2))
    return sf.model.GenericModel(name=name, data=xr.Dataset(
        {"vp": (["x", "y"], (1500.0 - yy) * (1.0 + blob * bump)), "rho": (["x", "y"], 1000.0 - yy)},
        coords={"x": x, "y": y}))


def build(path, *, n_events: int = 2, method=None, preconditioner=None) -> sf.Project:
    """The project with prior and true simulations, L2 misfit, and the inverse problem "inv"."""
    project = sf.Project.from_volume_model(path, volume("prior_model", 0.0), load_if_exists=True)
    project += volume("true_model", 0.05)
    receivers = sf.ArrayPoint2D(x=np.linspace(50.0, 550.0, 6), y=-20.0, fields=["phi"])
    project += [sf.Event(event_name=f"e{index}", sources=sf.ScalarPoint2D(x=x, y=-380.0, f=1.0), receivers=receivers)
                for index, x in enumerate([150.0, 450.0][:n_events])]
    event_configuration = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.45)
    for name, model in (("prior", "prior_model"), ("true", "true_model")):
        project += sf.SimulationConfiguration(name, max_frequency_in_hertz=20.0, elements_per_wavelength=1.0,
                                              volume_models=model, tensor_order=3,
                                              event_configuration=event_configuration)
    project += sf.MisfitConfiguration("l2", "L2", observed_data="true")
    project += sf.InverseProblemConfiguration(
        "inv", "prior", project.events.list(), "l2",
        sf.Mapping(["VP"], "relative_deviation_from_prior", source_cutout_radius_in_meters=100.0),
        sf.ConstantSmoothing({"VP": 40.0}) if preconditioner is None else preconditioner,
        method=method or sf.TrustRegion(initial_trust_region_linf=0.05), bounds={"VP": (1400.0, 1960.0)})
    return project


if __name__ == "__main__":
    build(sys.argv[1], n_events=1).inversions.iterate("inv", n_iterations=int(sys.argv[2]))
