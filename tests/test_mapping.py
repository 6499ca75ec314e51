"""Tests of specfwi.mapping.Mapping and its pieces: scalings, masks, transfers, projections."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import specfwi as sf
from specfwi.errors import OutsideMeshError, SpecfwiError
from specfwi.mapping import InversionModel, Mapping
from specfwi.mapping.grid import RegularGrid
from specfwi.mapping.masks import cutout_taper
from specfwi.mapping.transfer import grid_to_points, mesh_to_mesh
from specfwi.mesh import UnstructuredMesh, rectangle
from specfwi.testing import assert_adjoint, check_gradient

X_RANGE, Y_RANGE = (0.0, 3000.0), (-1000.0, 0.0)
PARAMETERS = ("VP", "RHO")
SCALINGS = ("absolute", "relative_deviation_from_prior", "logarithmic")


def with_prior_fields(mesh: UnstructuredMesh, seed: int = 0) -> UnstructuredMesh:
    """The seed's 1D model (vp = 1500 - y, rho = 1000 - y) plus element-wise random wiggles."""
    rng = np.random.default_rng(seed)
    y = mesh.get_element_nodes()[..., 1]
    mesh.attach_field("VP", 1500.0 - y + 20.0 * rng.standard_normal(y.shape))
    mesh.attach_field("RHO", 1000.0 - y + 10.0 * rng.standard_normal(y.shape))
    return mesh


@pytest.fixture
def prior():
    return with_prior_fields(rectangle(X_RANGE, Y_RANGE, 6, 4, tensor_order=3))


def tiny_event(sources=((500.0, -500.0),), receivers=((100.0, 0.0), (1700.0, 0.0), (2900.0, 0.0))):
    return SimpleNamespace(sources=[SimpleNamespace(x=x, y=y) for x, y in sources],
                           receivers=[SimpleNamespace(x=x, y=y, name=f"R{i}") for i, (x, y) in enumerate(receivers)])


def discretization(kind: str):
    if kind == "simulation":
        return None
    if kind == "nested_mesh":
        return rectangle(X_RANGE, Y_RANGE, 3, 2, tensor_order=2)
    if kind == "other_mesh":  # coarser, not nested
        return rectangle(X_RANGE, Y_RANGE, 4, 3, tensor_order=2)
    return xr.Dataset(coords={"x": np.linspace(-50.0, 3050.0, 8), "y": np.linspace(-1020.0, 10.0, 5)})


def ramp_region(x, y):
    return np.clip((x - 300.0) / 1000.0, 0.0, 1.0)


MASKS = {
    "none": dict(),
    "cutouts": dict(source_cutout_radius_in_meters=300.0, receiver_cutout_radius_in_meters=150.0,
                    cutout_taper_width_in_meters=200.0),
    "cutouts_and_region": dict(source_cutout_radius_in_meters=250.0, receiver_cutout_radius_in_meters=100.0,
                               region_of_interest=ramp_region),
}


def random_gradient(mesh: UnstructuredMesh, rng) -> UnstructuredMesh:
    gradient = mesh.copy()
    for name in PARAMETERS:
        gradient.attach_field(name, rng.standard_normal((mesh.n_elements, mesh.n_gll)))
    return gradient


def stacked_fields(mesh: UnstructuredMesh) -> np.ndarray:
    return np.stack([mesh.element_nodal_fields[name] for name in PARAMETERS])


def misfit_like(gradient: UnstructuredMesh, model: UnstructuredMesh) -> float:
    """A function of the model whose raw gradient is ``gradient``: sum over entries of gradient * model."""
    return float(np.sum(stacked_fields(gradient) * stacked_fields(model)))


# ---------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("arguments, name", [
    (dict(inversion_parameters=[]), "inversion_parameters"),
    (dict(inversion_parameters=["VS"]), "inversion_parameters"),
    (dict(inversion_parameters=["VP", "VP"]), "inversion_parameters"),
    (dict(inversion_parameters="VP"), "inversion_parameters"),
    (dict(scaling="relative"), "scaling"),
    (dict(source_cutout_radius_in_meters=0.0), "source_cutout_radius_in_meters"),
    (dict(receiver_cutout_radius_in_meters=-5.0), "receiver_cutout_radius_in_meters"),
    (dict(source_cutout_radius_in_meters=float("nan")), "source_cutout_radius_in_meters"),
    (dict(cutout_taper_width_in_meters=-1.0), "cutout_taper_width_in_meters"),
    (dict(region_of_interest="everywhere"), "region_of_interest"),
    (dict(inversion_discretization=np.zeros((3, 3))), "inversion_discretization"),
    (dict(inversion_discretization=xr.Dataset(coords={"x": [0.0, 1.0], "y": [1.0, 0.0]})),
     "inversion_discretization.y"),
])
def test_bad_arguments_raise_specfwi_errors_naming_the_parameter(arguments, name):
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        Mapping(**arguments)


def test_bad_scaling_error_lists_the_allowed_values():
    with pytest.raises(SpecfwiError) as error:
        Mapping(scaling="log")
    assert all(scaling in str(error.value) for scaling in SCALINGS)


def test_region_of_interest_mesh_values_outside_unit_interval_are_rejected(prior):
    region = prior.copy()
    region.attach_field("region_of_interest", np.full((prior.n_elements, prior.n_gll), 1.5))
    with pytest.raises(SpecfwiError, match="'region_of_interest' must be"):
        Mapping(region_of_interest=region)
    with pytest.raises(SpecfwiError, match="region_of_interest"):
        Mapping(region_of_interest=prior)  # no such field


def test_region_of_interest_callable_values_outside_unit_interval_are_rejected_when_evaluated(prior):
    mapping = Mapping(region_of_interest=lambda x, y: x / 1000.0)
    with pytest.raises(SpecfwiError, match="'region_of_interest' must be a callable returning values in"):
        mapping.map_to_inversion(prior, prior)


def test_prior_missing_a_parameter_or_not_positive_is_rejected(prior):
    only_vp = prior.copy()
    del only_vp.element_nodal_fields["RHO"]
    with pytest.raises(SpecfwiError, match="'prior' must be a mesh with the fields"):
        Mapping(["VP", "RHO"]).map_to_inversion(only_vp, only_vp)
    Mapping(["VP"]).map_to_inversion(only_vp, only_vp)  # RHO is not needed when not inverted for
    negative = prior.copy()
    negative.element_nodal_fields["VP"][0, 0] = -1.0
    with pytest.raises(SpecfwiError, match=r"'prior\[VP\]' must be > 0"):
        Mapping(["VP"], "logarithmic").map_to_inversion(negative, negative)


def test_vectors_and_quantities_of_the_wrong_size_or_discretization_are_rejected(prior):
    mapping = Mapping(["VP"])
    x = mapping.map_to_inversion(prior, prior)
    with pytest.raises(SpecfwiError, match="'vector' must be a flat vector of length"):
        x.from_vector(np.zeros(x.n_dofs + 1))
    other_mesh = with_prior_fields(rectangle(X_RANGE, Y_RANGE, 5, 4, tensor_order=3))
    with pytest.raises(SpecfwiError, match="'x.model' must be a quantity on the simulation mesh"):
        mapping.map_to_simulation(mapping.map_to_inversion(other_mesh, other_mesh), prior)
    with pytest.raises(SpecfwiError, match="'x.parameters' must be"):
        mapping.map_to_simulation(Mapping(["RHO"]).map_to_inversion(prior, prior), prior)
    with pytest.raises(SpecfwiError, match="'gradient' must be a gradient on the mesh of the prior"):
        mapping.adjoint(other_mesh, prior)


def test_simulation_nodes_outside_the_inversion_discretization_are_rejected(prior):
    small_grid = xr.Dataset(coords={"x": np.linspace(0.0, 2000.0, 5), "y": np.linspace(-1000.0, 0.0, 3)})
    with pytest.raises(OutsideMeshError, match="inside the grid"):
        Mapping(inversion_discretization=small_grid).map_to_inversion(prior, prior)
    small_mesh = rectangle((0.0, 2000.0), Y_RANGE, 2, 2)
    with pytest.raises(OutsideMeshError, match="inside the mesh"):
        Mapping(inversion_discretization=small_mesh).map_to_inversion(prior, prior)


# ---------------------------------------------------------------------------------------------- adjoints
COMBINATIONS = list(itertools.product(SCALINGS, ("simulation", "nested_mesh", "other_mesh", "grid"), MASKS))


def check_adjoint_of_the_linearised_map(prior, mapping, rng, scaling):
    event = tiny_event()
    reference = mapping.map_to_inversion(prior, prior)
    scale = 50.0 if scaling == "absolute" else 0.05
    x = reference.from_vector(reference.to_vector() + scale * rng.standard_normal(reference.n_dofs))

    def forward(vector):
        return stacked_fields(mapping.derivative(reference.from_vector(vector), prior, event, x=x))

    def adjoint(fields):
        gradient = prior.copy()
        for name, values in zip(PARAMETERS, fields):
            gradient.attach_field(name, values)
        return mapping.adjoint(gradient, prior, event, x=x).to_vector()

    assert_adjoint(forward, adjoint, reference.n_dofs, (2, prior.n_elements, prior.n_gll), rtol=1e-10, rng=rng)


@pytest.mark.parametrize("scaling, kind, masks", COMBINATIONS)
def test_adjoint_is_the_transpose_of_the_linearised_map(prior, scaling, kind, masks):
    rng = np.random.default_rng(COMBINATIONS.index((scaling, kind, masks)))
    parameters = ["VP", "RHO"] if kind != "grid" else ["RHO"]
    mapping = Mapping(parameters, scaling, inversion_discretization=discretization(kind), **MASKS[masks])
    check_adjoint_of_the_linearised_map(prior, mapping, rng, scaling)


def layered_prior() -> UnstructuredMesh:
    """The prior's box inside one element of absorbing layers on every side, its fields edge-extended."""
    mesh = rectangle((-500.0, 3500.0), (-1250.0, 250.0), 8, 6, tensor_order=3)
    mesh.absorbing_layers = sf.mesh.AbsorbingLayers((*X_RANGE, *Y_RANGE), {side: 500.0 for side in
                                                                           ("x0", "x1", "y0", "y1")}, 2500.0)
    return with_prior_fields(mesh)


@pytest.mark.parametrize("scaling, kind, masks", COMBINATIONS)
def test_adjoint_is_the_transpose_of_the_linearised_map_on_a_mesh_with_layers(scaling, kind, masks):
    """Other discretizations need only cover the box (the layers follow its edge)."""
    rng = np.random.default_rng(COMBINATIONS.index((scaling, kind, masks)))
    parameters = ["VP", "RHO"] if kind != "grid" else ["RHO"]
    mapping = Mapping(parameters, scaling, inversion_discretization=discretization(kind), **MASKS[masks])
    check_adjoint_of_the_linearised_map(layered_prior(), mapping, rng, scaling)


@pytest.mark.parametrize("scaling", SCALINGS)
def test_layers_follow_the_edge_of_the_box_and_get_no_gradient_of_their_own(scaling):
    prior = layered_prior()
    mapping = Mapping(["VP"], scaling)
    reference = mapping.map_to_inversion(prior, prior)
    rng = np.random.default_rng(5)
    x = reference.from_vector(reference.to_vector() + 0.01 * rng.standard_normal(reference.n_dofs))
    model = mapping.map_to_simulation(x, prior)
    in_layers = prior.layer_element_mask
    deviation = model.element_nodal_fields["VP"] - prior.element_nodal_fields["VP"]
    nodes = prior.get_element_nodes()
    edge_point = prior.absorbing_layers.clip_to_box(nodes[in_layers].reshape(-1, 2))
    box_nodes = nodes[~in_layers].reshape(-1, 2)
    distances = np.linalg.norm(box_nodes[None, :, :] - edge_point[:, None, :], axis=2)
    assert np.all(distances.min(axis=1) < 1e-9)  # every layer node extends a node on the box's edge
    if scaling == "absolute":  # ... and takes the deviation of one of the box nodes there (elements may differ)
        candidates = np.where(distances < 1e-9, deviation[~in_layers].ravel()[None, :], np.nan)
        matches = np.isclose(candidates, deviation[in_layers].ravel()[:, None], rtol=1e-8, atol=0.0)  # (prior + d) - prior
        assert np.all(matches.any(axis=1))
    assert np.abs(deviation[in_layers]).max() > 0.0
    gradient = prior.copy()
    gradient.attach_field("VP", rng.standard_normal((prior.n_elements, prior.n_gll)))
    folded = mapping.adjoint(gradient, prior).values("VP").reshape(prior.n_elements, prior.n_gll)
    assert np.all(folded[in_layers] == 0.0) and np.abs(folded[~in_layers]).max() > 0.0
    inverted = Mapping(["VP"], scaling, invert_in_absorbing_layers=True).adjoint(gradient, prior).values("VP")
    assert np.abs(inverted.reshape(prior.n_elements, prior.n_gll)[in_layers]).max() > 0.0


@pytest.mark.parametrize("kind", ["simulation", "other_mesh", "grid"])
def test_logarithmic_adjoint_is_the_derivative_of_map_to_simulation(prior, kind):
    rng = np.random.default_rng(7)
    mapping = Mapping(["VP", "RHO"], "logarithmic", inversion_discretization=discretization(kind),
                      **MASKS["cutouts_and_region"])
    event = tiny_event()
    raw_gradient = random_gradient(prior, rng)
    x = mapping.map_to_inversion(prior, prior)
    x = x.from_vector(0.1 * rng.standard_normal(x.n_dofs))
    gradient = mapping.adjoint(raw_gradient, prior, event, x=x)
    def function(vector):
        return misfit_like(raw_gradient, mapping.map_to_simulation(x.from_vector(vector), prior, event))

    result = check_gradient(function, x.to_vector(), rng.standard_normal(x.n_dofs), gradient.to_vector())
    assert result.passed(1e-7, minimum_slope=1.9), str(result)
    assert result.remainder_slope == pytest.approx(2.0, abs=0.1)


def test_logarithmic_adjoint_at_the_prior_is_not_the_adjoint_elsewhere(prior):
    """The linearisation point matters: the Taylor test fails with the gradient taken at the prior."""
    rng = np.random.default_rng(8)
    mapping = Mapping(["VP"], "logarithmic")
    raw_gradient = random_gradient(prior, rng)
    x = mapping.map_to_inversion(prior, prior)
    x = x.from_vector(0.3 * rng.standard_normal(x.n_dofs))
    at_prior = mapping.adjoint(raw_gradient, prior)
    result = check_gradient(lambda v: misfit_like(raw_gradient, mapping.map_to_simulation(x.from_vector(v), prior)),
                            x.to_vector(), rng.standard_normal(x.n_dofs), at_prior.to_vector())
    assert not result.passed(1e-3)


def test_adjoint_sum_adds_the_adjoints_of_each_event_with_its_own_cutouts(prior):
    rng = np.random.default_rng(3)
    mapping = Mapping(["VP"], "relative_deviation_from_prior", source_cutout_radius_in_meters=300.0)
    events = [tiny_event(sources=((500.0, -500.0),)), tiny_event(sources=((2500.0, -300.0),))]
    gradients = [random_gradient(prior, rng) for _ in events]
    total = mapping.adjoint_sum(gradients, prior, events=events)
    separately = sum(mapping.adjoint(g, prior, e).to_vector() for g, e in zip(gradients, events))
    np.testing.assert_allclose(total.to_vector(), separately, rtol=1e-14, atol=0.0)
    without_cutouts = mapping.adjoint_sum(gradients, prior).to_vector()
    assert not np.allclose(total.to_vector(), without_cutouts)


def test_adjoint_sum_on_event_dependent_meshes_uses_each_prior():
    rng = np.random.default_rng(4)
    grid = xr.Dataset(coords={"x": np.linspace(0.0, 3000.0, 7), "y": np.linspace(-1000.0, 0.0, 4)})
    mapping = Mapping(["VP"], "relative_deviation_from_prior", inversion_discretization=grid)
    priors = [with_prior_fields(rectangle(X_RANGE, Y_RANGE, 6, 4, tensor_order=3), seed=1),
              with_prior_fields(rectangle(X_RANGE, Y_RANGE, 5, 3, tensor_order=4), seed=2)]
    gradients = [random_gradient(each, rng) for each in priors]
    total = mapping.adjoint_sum(gradients, priors)
    separately = sum(mapping.adjoint(g, p).to_vector() for g, p in zip(gradients, priors))
    np.testing.assert_allclose(total.to_vector(), separately, rtol=1e-14)
    with pytest.raises(SpecfwiError, match="'prior, events' must be"):
        mapping.adjoint_sum(gradients, priors[:1] * 3)


# ---------------------------------------------------------------------------------------------- physics of the pieces
def test_cutout_zeroes_the_gradient_inside_the_radius_and_keeps_it_beyond_radius_plus_taper(prior):
    rng = np.random.default_rng(5)
    radius, taper = 300.0, 200.0
    mapping = Mapping(["VP"], source_cutout_radius_in_meters=radius, receiver_cutout_radius_in_meters=radius,
                      cutout_taper_width_in_meters=taper)
    event = tiny_event(sources=((500.0, -500.0),), receivers=((2000.0, 0.0),))
    raw_gradient = random_gradient(prior, rng)
    gradient = mapping.adjoint(raw_gradient, prior, event).model.element_nodal_fields["VP"]
    raw = raw_gradient.element_nodal_fields["VP"]
    nodes = prior.get_element_nodes()
    distance = np.min([np.hypot(nodes[..., 0] - x, nodes[..., 1] - y) for x, y in ((500.0, -500.0), (2000.0, 0.0))],
                      axis=0)
    inside, beyond = distance <= radius, distance >= radius + taper
    between = ~inside & ~beyond
    assert inside.sum() > 5 and beyond.sum() > 5 and between.sum() > 5
    assert np.all(gradient[inside] == 0.0)
    assert np.array_equal(gradient[beyond], raw[beyond])
    ratio = gradient[between] / raw[between]
    assert np.all((ratio > 0.0) & (ratio < 1.0))
    # the model update vanishes inside the cutouts too
    x = mapping.map_to_inversion(prior, prior)
    model = mapping.map_to_simulation(x.from_vector(x.to_vector() + 100.0), prior, event)
    update = model.element_nodal_fields["VP"] - prior.element_nodal_fields["VP"]
    assert np.all(update[inside] == 0.0) and np.allclose(update[beyond], 100.0, rtol=1e-12)


def test_cutout_taper_is_a_smooth_monotone_ramp():
    distance = np.linspace(0.0, 10.0, 1001)
    values = cutout_taper(distance, 3.0, 4.0)
    assert np.all(values[distance <= 3.0] == 0.0) and np.all(values[distance >= 7.0] == 1.0)
    assert np.all(np.diff(values) >= 0.0)
    assert cutout_taper(np.array([5.0]), 3.0, 4.0)[0] == pytest.approx(0.5, rel=1e-14)
    assert np.array_equal(cutout_taper(np.array([2.9, 3.0, 3.1]), 3.0, 0.0), [0.0, 0.0, 1.0])


def test_default_taper_width_equals_the_radius(prior):
    event = tiny_event(sources=((1500.0, -500.0),), receivers=())
    default = Mapping(["VP"], source_cutout_radius_in_meters=200.0).mask(prior, event)
    explicit = Mapping(["VP"], source_cutout_radius_in_meters=200.0,
                       cutout_taper_width_in_meters=200.0).mask(prior, event)
    assert np.array_equal(default, explicit)


def test_relative_scaling_multiplies_the_raw_gradient_by_the_prior(prior):
    raw_gradient = random_gradient(prior, np.random.default_rng(6))
    gradient = Mapping(["VP", "RHO"], "relative_deviation_from_prior").adjoint(raw_gradient, prior)
    for name in PARAMETERS:
        np.testing.assert_array_equal(gradient.model.element_nodal_fields[name],
                                      prior.element_nodal_fields[name] * raw_gradient.element_nodal_fields[name])
    absolute = Mapping(["VP", "RHO"], "absolute").adjoint(raw_gradient, prior)
    np.testing.assert_array_equal(absolute.to_vector(), stacked_fields(raw_gradient).ravel())


def test_a_parameter_not_inverted_for_gets_no_update(prior):
    mapping = Mapping(["VP"], "relative_deviation_from_prior")
    x = mapping.map_to_inversion(prior, prior)
    assert x.parameters == ("VP",) and x.n_dofs == prior.n_elements * prior.n_gll
    model = mapping.map_to_simulation(x.from_vector(np.full(x.n_dofs, 0.1)), prior)
    np.testing.assert_array_equal(model.element_nodal_fields["RHO"], prior.element_nodal_fields["RHO"])
    np.testing.assert_allclose(model.element_nodal_fields["VP"], 1.1 * prior.element_nodal_fields["VP"], rtol=1e-15)
    gradient = mapping.adjoint(random_gradient(prior, np.random.default_rng(0)), prior)
    assert list(gradient.model.element_nodal_fields) == ["VP"]


@pytest.mark.parametrize("scaling, kind, masks", [(s, k, "cutouts_and_region") for s in SCALINGS
                                                  for k in ("simulation", "nested_mesh", "other_mesh", "grid")])
def test_round_trip_of_the_prior_is_exact(prior, scaling, kind, masks):
    mapping = Mapping(["VP", "RHO"], scaling, inversion_discretization=discretization(kind), **MASKS[masks])
    x_prior = mapping.map_to_inversion(prior, prior)
    model = mapping.map_to_simulation(x_prior, prior, tiny_event())
    for name in PARAMETERS:
        np.testing.assert_array_equal(model.element_nodal_fields[name], prior.element_nodal_fields[name])
    if scaling != "absolute":
        assert np.all(x_prior.to_vector() == 0.0)


@pytest.mark.parametrize("scaling", SCALINGS)
def test_round_trip_of_a_model_on_the_simulation_mesh_is_exact_where_the_mask_is_one(prior, scaling):
    rng = np.random.default_rng(9)
    mapping = Mapping(["VP", "RHO"], scaling, region_of_interest=ramp_region)
    model = prior.copy()
    for name in PARAMETERS:
        wiggles = 1.0 + 0.1 * rng.random((prior.n_elements, prior.n_gll))
        model.attach_field(name, prior.element_nodal_fields[name] * wiggles)
    back = mapping.map_to_simulation(mapping.map_to_inversion(model, prior), prior)
    mask = mapping.mask(prior)
    assert np.any(mask == 1.0) and np.any(mask == 0.0)
    for name in PARAMETERS:
        np.testing.assert_allclose(back.element_nodal_fields[name][mask == 1.0],
                                   model.element_nodal_fields[name][mask == 1.0], rtol=1e-13)
        np.testing.assert_array_equal(back.element_nodal_fields[name][mask == 0.0],
                                      prior.element_nodal_fields[name][mask == 0.0])


@pytest.mark.parametrize("scaling, kind", list(itertools.product(SCALINGS, ("nested_mesh", "other_mesh", "grid"))))
def test_map_to_inversion_recovers_x_on_another_discretization(prior, scaling, kind):
    """Without masks, the least-squares projection is a left inverse of the transfer."""
    rng = np.random.default_rng(10)
    mapping = Mapping(["VP", "RHO"], scaling, inversion_discretization=discretization(kind))
    x = mapping.map_to_inversion(prior, prior)
    scale = 30.0 if scaling == "absolute" else 0.05
    x = x.from_vector(x.to_vector() + scale * rng.standard_normal(x.n_dofs))
    recovered = mapping.map_to_inversion(mapping.map_to_simulation(x, prior), prior)
    np.testing.assert_allclose(recovered.to_vector(), x.to_vector(), rtol=1e-9, atol=1e-9 * scale)


def test_region_of_interest_confines_the_update(prior):
    mapping = Mapping(["VP"], "relative_deviation_from_prior", region_of_interest=lambda x, y: (x < 1500.0) * 1.0)
    x = mapping.map_to_inversion(prior, prior)
    model = mapping.map_to_simulation(x.from_vector(np.full(x.n_dofs, 0.2)), prior)
    update = model.element_nodal_fields["VP"] / prior.element_nodal_fields["VP"] - 1.0
    nodes_x = prior.get_element_nodes()[..., 0]
    assert np.all(update[nodes_x >= 1500.0] == 0.0)
    np.testing.assert_allclose(update[nodes_x < 1500.0], 0.2, rtol=1e-13)


def test_region_of_interest_on_another_mesh_is_interpolated(prior):
    region = rectangle(X_RANGE, Y_RANGE, 3, 1, tensor_order=1)
    x_vertex = region.get_element_nodes()[..., 0]
    region.attach_field("region_of_interest", x_vertex / 3000.0)  # linear in x: reproduced exactly
    mask = Mapping(["VP"], region_of_interest=region).mask(prior)
    np.testing.assert_allclose(mask, prior.get_element_nodes()[..., 0] / 3000.0, rtol=1e-12, atol=1e-14)


def test_inversion_model_on_a_grid_is_a_dataset(prior):
    mapping = Mapping(["VP"], "relative_deviation_from_prior", inversion_discretization=discretization("grid"))
    gradient = mapping.adjoint(random_gradient(prior, np.random.default_rng(0)), prior)
    assert isinstance(gradient.model, xr.Dataset) and gradient.model["VP"].dims == ("x", "y")
    assert gradient.model["VP"].shape == (8, 5) and gradient.n_dofs == 40
    np.testing.assert_array_equal(gradient.from_vector(gradient.to_vector()).to_vector(), gradient.to_vector())


def test_mapping_accepts_an_acquisition_event(prior):
    event = sf.Event(event_name="event", sources=sf.ScalarPoint2D(x=500.0, y=-500.0, f=1.0),
                     receivers=sf.ArrayPoint2D(x=np.linspace(100.0, 2900.0, 10), y=0.0, fields=["phi"]))
    mapping = Mapping(["VP"], "relative_deviation_from_prior", source_cutout_radius_in_meters=300.0,
                      receiver_cutout_radius_in_meters=100.0)
    duck = tiny_event(sources=((500.0, -500.0),), receivers=[(x, 0.0) for x in np.linspace(100.0, 2900.0, 10)])
    np.testing.assert_array_equal(mapping.mask(prior, event), mapping.mask(prior, duck))
    assert mapping.mask(prior, event).min() == 0.0


# ---------------------------------------------------------------------------------------------- transfers
def polynomial(points, degree):
    x, y = points[..., 0] / 1000.0, points[..., 1] / 1000.0
    return sum((1.0 + k) * x**k * y ** (degree - k) for k in range(degree + 1)) + 0.3 * x - 0.7


@pytest.mark.parametrize("coarse", [rectangle(X_RANGE, Y_RANGE, 3, 2, tensor_order=2),
                                    rectangle(X_RANGE, Y_RANGE, 4, 3, tensor_order=3)])
def test_mesh_transfer_reproduces_polynomials_of_the_source_order(prior, coarse):
    transfer = mesh_to_mesh(coarse, prior)
    degree = coarse.tensor_order
    values = transfer @ polynomial(coarse.get_element_nodes(), degree).ravel()
    np.testing.assert_allclose(values, polynomial(prior.get_element_nodes(), degree).ravel(), rtol=1e-11)
    np.testing.assert_allclose(transfer.sum(axis=1), 1.0, rtol=1e-12)  # partition of unity


def distorted_mesh(n_x, n_y, order, seed):
    rng = np.random.default_rng(seed)
    mesh = rectangle(X_RANGE, Y_RANGE, n_x, n_y, tensor_order=order)
    vertices = mesh.vertices.copy()
    interior = ((vertices[:, 0] > X_RANGE[0]) & (vertices[:, 0] < X_RANGE[1])
                & (vertices[:, 1] > Y_RANGE[0]) & (vertices[:, 1] < Y_RANGE[1]))
    vertices[interior] += rng.uniform(-60.0, 60.0, (interior.sum(), 2))
    return UnstructuredMesh(vertices, mesh.connectivity, order)


def test_mesh_transfer_between_distorted_meshes_reproduces_linear_fields():
    source, target = distorted_mesh(4, 3, 3, seed=1), distorted_mesh(7, 5, 4, seed=2)
    transfer = mesh_to_mesh(source, target)
    values = transfer @ polynomial(source.get_element_nodes(), 1).ravel()
    np.testing.assert_allclose(values, polynomial(target.get_element_nodes(), 1).ravel(), rtol=1e-10)


def test_mesh_transfer_keeps_each_nested_element_in_its_coarse_element(prior):
    coarse = rectangle(X_RANGE, Y_RANGE, 3, 2, tensor_order=2)
    element_value = np.repeat(np.arange(coarse.n_elements, dtype=float)[:, None], coarse.n_gll, axis=1)
    values = (mesh_to_mesh(coarse, prior) @ element_value.ravel()).reshape(prior.n_elements, prior.n_gll)
    owner, _ = coarse.locate_points(prior.get_element_centroid())
    np.testing.assert_allclose(values, np.repeat(owner[:, None].astype(float), prior.n_gll, axis=1), atol=1e-13)


def test_grid_transfer_reproduces_bilinear_fields(prior):
    grid = RegularGrid.from_xarray(discretization("grid"))
    grid_points, nodes = grid.points(), prior.get_element_nodes().reshape(-1, 2)

    def bilinear(points):
        return 2.0 + points[:, 0] / 1000.0 - 3.0 * points[:, 1] / 1000.0 + 0.5 * points[:, 0] * points[:, 1] / 1e6

    np.testing.assert_allclose(grid_to_points(grid, nodes) @ bilinear(grid_points), bilinear(nodes), rtol=1e-12)


def test_inversion_model_validates_its_parameters(prior):
    with pytest.raises(SpecfwiError, match="'parameters' must be"):
        InversionModel(prior, ("VS",))
    with pytest.raises(SpecfwiError, match="'model' must be"):
        InversionModel(np.zeros(3), ("VP",))
