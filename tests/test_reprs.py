"""The main objects print concisely, for notebooks and logs: what they hold, not their internals."""

from __future__ import annotations

import numpy as np
import xarray as xr

import specfwi as sf
from specfwi.demo import seed_model


def test_a_mesh_prints_its_size_order_extent_and_fields(model_mesh):
    text = repr(model_mesh)
    assert text == ("<UnstructuredMesh: 24 elements, order 4, 425 nodes, x in [0, 600] m, y in [-400, 0] m, "
                    "fields: VP, RHO>")


def test_a_project_prints_its_path_what_it_holds_and_its_cached_results(tmp_path):
    project = sf.Project.from_volume_model(tmp_path / "p", seed_model())
    project += sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=500.0, y=-500.0, f=1.0),
                        receivers=sf.ArrayPoint2D(x=[100.0, 200.0], y=0.0, fields=["phi"]))
    assert repr(project) == f"<specfwi Project at {str(tmp_path / 'p')!r}: 1 event, 1 volume_model; 0 cached results>"


def test_a_mapping_prints_the_options_it_was_given():
    def deep(x, y):
        return (y < -100.0).astype(float)

    grid = xr.Dataset(coords={"x": np.linspace(0.0, 600.0, 4), "y": np.linspace(-400.0, 0.0, 3)})
    assert repr(sf.Mapping(["VP"])) == "Mapping(inversion_parameters=['VP'], scaling='absolute')"
    mapping = sf.Mapping(["VP", "RHO"], "logarithmic", source_cutout_radius_in_meters=300.0, region_of_interest=deep,
                         inversion_discretization=grid)
    assert repr(mapping) == ("Mapping(inversion_parameters=['VP', 'RHO'], scaling='logarithmic', "
                             "source_cutout_radius_in_meters=300.0, region_of_interest=deep, "
                             "inversion_discretization=<grid of 4 x 3 points>)")


def test_an_inversion_model_prints_its_size_discretization_and_value_ranges(model_mesh):
    x = sf.Mapping(["VP", "RHO"]).map_to_inversion(model_mesh, prior=model_mesh)
    vp, rho = model_mesh.element_nodal_fields["VP"], model_mesh.element_nodal_fields["RHO"]
    assert repr(x) == (f"<InversionModel: {2 * vp.size} dofs on a mesh of 24 elements, order 4; "
                       f"VP in [{vp.min():.4g}, {vp.max():.4g}], RHO in [{rho.min():.4g}, {rho.max():.4g}]>")
