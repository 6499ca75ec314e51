"""Tests of the smoothing preconditioners: self-adjointness, definiteness, constants, kernel width."""

import numpy as np
import pytest
import xarray as xr

from specfwi.errors import SpecfwiError
from specfwi.mapping import ConstantSmoothing, InversionModel, Mapping, WavelengthSmoothing
from specfwi.mapping.smoothing import SmoothingSpace
from specfwi.mesh import AbsorbingLayers, rectangle
from specfwi.testing import assert_adjoint

SPIKE_CENTER = (2000.0, -2000.0)


def quantity_on(mesh, parameters=("VP", "RHO"), fill=0.0) -> InversionModel:
    model = mesh.copy()
    model.element_nodal_fields = {}
    for name in parameters:
        model.attach_field(name, np.full((mesh.n_elements, mesh.n_gll), fill))
    return InversionModel(model, parameters)


def quantity_on_grid(x, y, parameters=("VP",), fill=0.0) -> InversionModel:
    return InversionModel(xr.Dataset({name: (("x", "y"), np.full((len(x), len(y)), fill)) for name in parameters},
                                     coords={"x": x, "y": y}), parameters)


def prior_on(mesh, velocity):
    prior = mesh.copy()
    nodes = prior.get_element_nodes()
    prior.attach_field("VP", velocity(nodes[..., 0], nodes[..., 1]))
    prior.attach_field("RHO", np.full((mesh.n_elements, mesh.n_gll), 1000.0))
    return prior


@pytest.fixture(scope="module")
def spike_mesh():
    return rectangle((0.0, 4000.0), (-4000.0, 0.0), 40, 40, tensor_order=4)


@pytest.fixture
def small_mesh():
    return rectangle((0.0, 1000.0), (-800.0, 0.0), 5, 4, tensor_order=3)


def node_coordinates(quantity: InversionModel) -> np.ndarray:
    if isinstance(quantity.model, xr.Dataset):
        xx, yy = np.meshgrid(quantity.model["x"].values, quantity.model["y"].values, indexing="ij")
        return np.column_stack([xx.ravel(), yy.ravel()])
    return quantity.model.get_element_nodes().reshape(-1, 2)


def spike_gradient(quantity: InversionModel, center) -> InversionModel:
    """A unit gradient entry at the dof nearest to ``center`` (first parameter only)."""
    nodes = node_coordinates(quantity)
    vector = np.zeros(quantity.n_dofs)
    vector[np.argmin(np.hypot(nodes[:, 0] - center[0], nodes[:, 1] - center[1]))] = 1.0
    return quantity.from_vector(vector)


def moments(quantity: InversionModel, values: np.ndarray):
    """Integral, mean (2,) and standard deviations (2,) of a field, integrated with the dof weights W."""
    weights = SmoothingSpace.of(quantity).weights
    nodes = node_coordinates(quantity)
    total = np.sum(weights * values)
    mean = np.sum((weights * values)[:, None] * nodes, axis=0) / total
    variance = np.sum((weights * values)[:, None] * (nodes - mean) ** 2, axis=0) / total
    return total, mean, np.sqrt(variance)


def first_parameter(quantity: InversionModel) -> np.ndarray:
    return quantity.values(quantity.parameters[0])


# ---------------------------------------------------------------------------------------------- kernel width
@pytest.mark.parametrize("lengths", [300.0, (300.0, 150.0)])
@pytest.mark.parametrize("n_diffusion_steps", [1, 4])
def test_a_point_load_spreads_into_a_bump_of_the_documented_standard_deviation(spike_mesh, lengths, n_diffusion_steps):
    quantity = quantity_on(spike_mesh, ("VP",))
    smoothing = ConstantSmoothing({"VP": lengths}, n_diffusion_steps=n_diffusion_steps)
    bump = first_parameter(smoothing.precondition(spike_gradient(quantity, SPIKE_CENTER)))
    total, mean, standard_deviation = moments(quantity, bump)
    assert total == pytest.approx(1.0, rel=1e-10)  # the load's integral is kept
    np.testing.assert_allclose(mean, SPIKE_CENTER, rtol=1e-10)
    np.testing.assert_allclose(standard_deviation, np.broadcast_to(lengths, 2), rtol=0.01)
    assert np.all(bump > -1e-12 * bump.max())


def test_the_kernel_peak_matches_the_analytic_value_of_n_implicit_steps(spike_mesh):
    """n backward-Euler steps have the Fourier symbol (1 + sigma^2 k^2 / 2n)^-n; in 2D its peak is
    n / (n - 1) times the peak 1 / (2 pi sigma^2) of the Gaussian of the same standard deviation."""
    sigma, n_steps = 300.0, 4
    quantity = quantity_on(spike_mesh, ("VP",))
    bump = first_parameter(ConstantSmoothing({"VP": sigma}, n_diffusion_steps=n_steps).precondition(
        spike_gradient(quantity, SPIKE_CENTER)))
    assert bump.max() * 2.0 * np.pi * sigma**2 == pytest.approx(n_steps / (n_steps - 1), rel=0.02)


def test_grid_smoothing_has_the_documented_standard_deviation():
    quantity = quantity_on_grid(np.linspace(0.0, 4000.0, 81), np.linspace(-4000.0, 0.0, 81))
    smoothing = ConstantSmoothing({"VP": (250.0, 400.0)})
    bump = first_parameter(smoothing.precondition(spike_gradient(quantity, SPIKE_CENTER)))
    total, mean, standard_deviation = moments(quantity, bump)
    assert total == pytest.approx(1.0, rel=1e-10)
    np.testing.assert_allclose(standard_deviation, [250.0, 400.0], rtol=0.01)


def test_wavelength_smoothing_length_follows_the_local_velocity(spike_mesh):
    frequency, n_wavelengths = 5.0, 0.6

    def velocity(x, y):
        return 1500.0 - 0.5 * y  # 1500 m/s at the surface, 3500 m/s at the bottom

    prior = prior_on(spike_mesh, velocity)
    quantity = quantity_on(spike_mesh, ("VP",))
    smoothing = WavelengthSmoothing({"VP": n_wavelengths}, reference_frequency_in_hertz=frequency)
    for center in [(2000.0, -1200.0), (2000.0, -2800.0)]:
        bump = first_parameter(smoothing.precondition(spike_gradient(quantity, center), prior=prior))
        _, _, standard_deviation = moments(quantity, bump)
        expected = n_wavelengths * velocity(*center) / frequency
        np.testing.assert_allclose(standard_deviation, expected, rtol=0.1)


def test_wavelength_smoothing_in_a_homogeneous_prior_equals_constant_smoothing(small_mesh):
    prior = prior_on(small_mesh, lambda x, y: np.full_like(x, 2000.0))
    quantity = quantity_on(small_mesh).from_vector(np.random.default_rng(0).standard_normal(2 * 20 * 16))
    by_wavelength = WavelengthSmoothing({"VP": 0.5, "RHO": (0.25, 0.5)}, reference_frequency_in_hertz=10.0)
    constant = ConstantSmoothing({"VP": 100.0, "RHO": (50.0, 100.0)})
    np.testing.assert_allclose(by_wavelength.smooth(quantity, prior=prior).to_vector(),
                               constant.smooth(quantity).to_vector(), rtol=1e-10)


def test_wavelength_smoothing_of_a_coarse_inversion_mesh_interpolates_the_prior(small_mesh):
    prior = prior_on(small_mesh, lambda x, y: np.full_like(x, 2000.0))
    coarse = quantity_on(rectangle((0.0, 1000.0), (-800.0, 0.0), 3, 2, tensor_order=2), fill=3.0)
    by_wavelength = WavelengthSmoothing({"VP": 0.5, "RHO": None}, reference_frequency_in_hertz=10.0)
    smoothed = by_wavelength.smooth(coarse, prior=prior)
    np.testing.assert_allclose(smoothed.to_vector(), 3.0, rtol=1e-12)
    reference = ConstantSmoothing({"VP": 100.0, "RHO": None}).smooth(
        coarse.from_vector(np.arange(coarse.n_dofs, dtype=float)))
    by_wavelength = by_wavelength.smooth(
        coarse.from_vector(np.arange(coarse.n_dofs, dtype=float)), prior=prior)
    np.testing.assert_allclose(by_wavelength.to_vector(), reference.to_vector(), rtol=1e-10)


def test_wavelength_smoothing_of_a_grid_wider_than_the_prior_mesh(small_mesh):
    prior = prior_on(small_mesh, lambda x, y: np.full_like(x, 2000.0))
    grid = quantity_on_grid(np.linspace(-100.0, 1100.0, 13), np.linspace(-900.0, 50.0, 9))
    field = grid.from_vector(np.random.default_rng(6).standard_normal(grid.n_dofs))
    by_wavelength = WavelengthSmoothing({"VP": 0.5}, reference_frequency_in_hertz=10.0).smooth(field, prior=prior)
    np.testing.assert_allclose(by_wavelength.to_vector(), ConstantSmoothing({"VP": 100.0}).smooth(field).to_vector(),
                               rtol=1e-10)


# ---------------------------------------------------------------------------------------------- algebra
SMOOTHINGS = {
    "constant": lambda: ConstantSmoothing({"VP": 120.0, "RHO": (60.0, 200.0)}),
    "wavelength": lambda: WavelengthSmoothing({"VP": (0.5, 0.3), "RHO": 0.4}, reference_frequency_in_hertz=8.0),
}


def velocity_with_gradient(x, y):
    return 1500.0 - 0.8 * y + 0.1 * x


def smoothing_case(small_mesh, kind: str, name: str):
    """(quantity on the mesh or on a grid, prior with a velocity gradient, smoothing) of one parametrized case."""
    quantity = quantity_on(small_mesh) if kind == "mesh" else quantity_on_grid(
        np.linspace(0.0, 1000.0, 11), np.linspace(-800.0, 0.0, 9), ("VP", "RHO"))
    return quantity, prior_on(small_mesh, velocity_with_gradient), SMOOTHINGS[name]()


@pytest.mark.parametrize("kind", ["mesh", "grid"])
@pytest.mark.parametrize("name", SMOOTHINGS)
def test_smoothing_preserves_constants_and_integrals(small_mesh, kind, name):
    quantity, prior, smoothing = smoothing_case(small_mesh, kind, name)
    constant = quantity.from_vector(np.repeat([3.5, -2.0], quantity.n_dofs // 2))
    np.testing.assert_allclose(smoothing.smooth(constant, prior=prior).to_vector(), constant.to_vector(), rtol=1e-12)
    weights = SmoothingSpace.of(quantity).weights
    field = quantity.from_vector(np.random.default_rng(1).standard_normal(quantity.n_dofs))
    smoothed = smoothing.smooth(field, prior=prior)
    for parameter in quantity.parameters:
        assert np.sum(weights * smoothed.values(parameter)) == pytest.approx(
            np.sum(weights * field.values(parameter)), rel=1e-11)


@pytest.mark.parametrize("kind", ["mesh", "grid"])
@pytest.mark.parametrize("name", SMOOTHINGS)
def test_smooth_is_self_adjoint_in_the_weighted_inner_product_and_precondition_is_symmetric(small_mesh, kind, name):
    quantity, prior, smoothing = smoothing_case(small_mesh, kind, name)
    weights = np.tile(SmoothingSpace.of(quantity).weights, len(quantity.parameters))

    def smooth(vector):
        return smoothing.smooth(quantity.from_vector(vector), prior=prior).to_vector()

    def precondition(vector):
        return smoothing.precondition(quantity.from_vector(vector), prior=prior).to_vector()

    rng = np.random.default_rng(2)
    # <S a, b>_W = <a, S b>_W  <=>  S^T = W S W^{-1}
    assert_adjoint(smooth, lambda v: weights * smooth(v / weights), quantity.n_dofs, quantity.n_dofs, rtol=1e-10,
                   rng=rng)
    assert_adjoint(precondition, precondition, quantity.n_dofs, quantity.n_dofs, rtol=1e-10, rng=rng)
    gradient = rng.standard_normal(quantity.n_dofs)
    np.testing.assert_allclose(precondition(gradient), smooth(gradient / weights), rtol=1e-10)


def random_continuous_field(mesh, seed):
    """Random values at the global nodes, as a flat element-nodal vector (equal at shared nodes)."""
    return np.random.default_rng(seed).standard_normal(mesh.n_global_nodes)[mesh.global_node_index].ravel()


def dense(operator, size):
    return np.column_stack([operator(column) for column in np.eye(size)])


def test_smoothing_is_positive_definite_on_continuous_fields_with_the_jumps_as_null_space(small_mesh):
    quantity = quantity_on(small_mesh, ("VP",))
    smoothing = ConstantSmoothing({"VP": 150.0})
    weights = SmoothingSpace.of(quantity).weights
    preconditioner = dense(lambda v: smoothing.precondition(quantity.from_vector(v)).to_vector(), quantity.n_dofs)
    np.testing.assert_allclose(preconditioner, preconditioner.T, rtol=0.0, atol=1e-12 * np.abs(preconditioner).max())
    # S in the W inner product, symmetrised: W^(1/2) S W^(-1/2) = W^(1/2) P W^(1/2)
    symmetric = np.sqrt(weights)[:, None] * preconditioner * np.sqrt(weights)[None, :]
    eigenvalues = np.linalg.eigvalsh(0.5 * (symmetric + symmetric.T))
    n_continuous = small_mesh.n_global_nodes
    assert np.all(eigenvalues > -1e-12) and np.all(eigenvalues < 1.0 + 1e-12)
    assert np.all(eigenvalues[-n_continuous:] > 1e-6)  # positive definite on the continuous fields
    assert np.all(np.abs(eigenvalues[:-n_continuous]) < 1e-12)  # one null direction per duplicated node
    assert eigenvalues[-1] == pytest.approx(1.0, rel=1e-12)  # the constant
    continuous = random_continuous_field(small_mesh, seed=3)
    smoothed = smoothing.smooth(quantity.from_vector(continuous)).to_vector()
    assert np.sum(weights * continuous * smoothed) > 0.0


def test_grid_smoothing_is_positive_definite():
    quantity = quantity_on_grid(np.linspace(0.0, 1000.0, 9), np.array([-300.0, -200.0, -50.0, 0.0]))
    smoothing = ConstantSmoothing({"VP": (200.0, 80.0)})
    preconditioner = dense(lambda v: smoothing.precondition(quantity.from_vector(v)).to_vector(), quantity.n_dofs)
    eigenvalues = np.linalg.eigvalsh(0.5 * (preconditioner + preconditioner.T))
    assert eigenvalues.min() > 1e-6 * eigenvalues.max()


def test_parameters_not_listed_are_left_alone_by_smooth_and_made_densities_by_precondition(small_mesh):
    quantity = quantity_on(small_mesh)
    vector = np.random.default_rng(4).standard_normal(quantity.n_dofs)
    field = quantity.from_vector(vector)
    smoothing = ConstantSmoothing({"VP": 100.0, "RHO": None})
    np.testing.assert_array_equal(smoothing.smooth(field).values("RHO"), field.values("RHO"))
    assert not np.allclose(smoothing.smooth(field).values("VP"), field.values("VP"))
    np.testing.assert_allclose(smoothing.precondition(field).values("RHO"),
                               field.values("RHO") / small_mesh.quadrature_weights.ravel(), rtol=1e-15)


def test_zero_length_smooths_only_across_element_jumps(small_mesh):
    quantity = quantity_on(small_mesh, ("VP",))
    continuous = random_continuous_field(small_mesh, seed=5)
    smoothed = ConstantSmoothing({"VP": 0.0}).smooth(quantity.from_vector(continuous)).to_vector()
    np.testing.assert_allclose(smoothed, continuous, rtol=1e-12)


def test_smoothing_a_mapped_gradient_keeps_its_sign_structure(small_mesh):
    """End to end: a smooth positive raw gradient stays positive after mapping and preconditioning."""
    prior = prior_on(small_mesh, velocity_with_gradient)
    raw = prior.copy()
    raw.attach_field("VP", small_mesh.quadrature_weights * 1e-3)
    raw.attach_field("RHO", small_mesh.quadrature_weights * 1e-3)
    gradient = Mapping(["VP"], "relative_deviation_from_prior").adjoint(raw, prior)
    direction = ConstantSmoothing({"VP": 100.0}).precondition(gradient).values("VP")
    assert np.all(direction > 0.0)


# ---------------------------------------------------------------------------------------------- high-pass and depth
SHAPED = {
    "constant": lambda: ConstantSmoothing({"VP": 120.0, "RHO": 60.0}, high_pass_lengths_in_meters={"VP": 300.0},
                                          depth_exponent=1.5),
    "wavelength": lambda: WavelengthSmoothing({"VP": 0.5, "RHO": None}, reference_frequency_in_hertz=8.0,
                                              high_pass_lengths_in_meters={"VP": (300.0, 150.0), "RHO": 200.0},
                                              depth_exponent=2.0),
}


@pytest.mark.parametrize("kind", ["mesh", "grid"])
@pytest.mark.parametrize("name", SHAPED)
def test_high_pass_and_depth_weighting_keep_precondition_symmetric_positive_semidefinite(kind, name):
    mesh = rectangle((0.0, 1000.0), (-800.0, 0.0), 4, 3, tensor_order=2)
    quantity = quantity_on(mesh) if kind == "mesh" else quantity_on_grid(
        np.linspace(0.0, 1000.0, 8), np.linspace(-800.0, 0.0, 6), ("VP", "RHO"))
    prior = prior_on(mesh, velocity_with_gradient)
    smoothing = SHAPED[name]()

    def precondition(vector):
        return smoothing.precondition(quantity.from_vector(vector), prior=prior).to_vector()

    assert_adjoint(precondition, precondition, quantity.n_dofs, quantity.n_dofs, rtol=1e-10, rng=7)
    matrix = dense(precondition, quantity.n_dofs)
    eigenvalues = np.linalg.eigvalsh(0.5 * (matrix + matrix.T))
    assert eigenvalues.min() > -1e-10 * eigenvalues.max()


@pytest.mark.parametrize("kind", ["mesh", "grid"])
def test_a_high_passed_direction_has_no_constant_part(small_mesh, kind):
    """H 1 = 0: a gradient whose density is constant (W c) gives the zero direction; without the high-pass it
    gives the constant c itself."""
    quantity, prior, _ = smoothing_case(small_mesh, kind, "constant")
    weights = np.tile(SmoothingSpace.of(quantity).weights, 2)
    density = np.repeat([2.0, -1.0], quantity.n_dofs // 2)
    gradient = quantity.from_vector(weights * density)
    plain = ConstantSmoothing({"VP": 120.0, "RHO": 60.0}).precondition(gradient).to_vector()
    np.testing.assert_allclose(plain, density, rtol=1e-10)
    high_passed = ConstantSmoothing({"VP": 120.0, "RHO": 60.0}, high_pass_lengths_in_meters={"VP": 300.0})
    direction = high_passed.precondition(gradient)
    np.testing.assert_allclose(direction.values("VP"), 0.0, atol=1e-10)
    np.testing.assert_allclose(direction.values("RHO"), -1.0, rtol=1e-10)  # no entry: not high-passed


def test_a_high_pass_keeps_short_scales_and_removes_long_ones(spike_mesh):
    """The direction of a point load keeps most of its peak; a load spread over 1 km keeps little of it."""
    quantity = quantity_on(spike_mesh, ("VP",))
    smoothing = ConstantSmoothing({"VP": 50.0})
    high_passed = ConstantSmoothing({"VP": 50.0}, high_pass_lengths_in_meters={"VP": 300.0})
    spike = spike_gradient(quantity, SPIKE_CENTER)
    assert first_parameter(high_passed.precondition(spike)).max() > 0.9 * first_parameter(
        smoothing.precondition(spike)).max()
    nodes = node_coordinates(quantity)
    wide = quantity.from_vector(spike_mesh.quadrature_weights.ravel() * np.exp(
        -((nodes[:, 0] - SPIKE_CENTER[0]) ** 2 + (nodes[:, 1] - SPIKE_CENTER[1]) ** 2) / (2 * 1000.0**2)))
    assert np.abs(first_parameter(high_passed.precondition(wide))).max() < 0.1 * first_parameter(
        smoothing.precondition(wide)).max()


def test_depth_weighting_scales_a_point_load_by_depth_to_the_exponent():
    """At the loaded dof the direction is (z / z_max)^p times the unweighted one (D applied on both sides)."""
    quantity = quantity_on(rectangle((0.0, 4000.0), (-4000.0, 0.0), 10, 10, tensor_order=4), ("VP",))
    plain_smoothing = ConstantSmoothing({"VP": 100.0})
    for exponent in (1.0, 2.0):
        weighted_smoothing = ConstantSmoothing({"VP": 100.0}, depth_exponent=exponent)
        for center in (SPIKE_CENTER, (2000.0, -500.0)):
            spike = spike_gradient(quantity, center)
            loaded = np.argmax(first_parameter(spike))
            plain = first_parameter(plain_smoothing.precondition(spike))[loaded]
            weighted = first_parameter(weighted_smoothing.precondition(spike))[loaded]
            depth = -node_coordinates(quantity)[loaded, 1]
            assert weighted == pytest.approx(plain * (depth / 4000.0) ** exponent, rel=1e-12)


def test_the_depth_is_measured_from_the_top_of_the_box_not_of_an_absorbing_layer():
    mesh = rectangle((0.0, 1000.0), (-800.0, 200.0), 5, 5, tensor_order=3)
    mesh.absorbing_layers = AbsorbingLayers((0.0, 1000.0, -800.0, 0.0), {"y1": 200.0}, 2000.0)
    quantity = quantity_on(mesh, ("VP",))
    center = (400.0, -400.0)  # a node of the mesh: depth 400 m of the 800 m below the box's top
    spike = spike_gradient(quantity, center)
    loaded = np.argmax(first_parameter(spike))
    assert np.allclose(node_coordinates(quantity)[loaded], center)
    plain = first_parameter(ConstantSmoothing({"VP": 50.0}).precondition(spike))
    weighted = first_parameter(ConstantSmoothing({"VP": 50.0}, depth_exponent=1.0).precondition(spike))
    assert weighted[loaded] == pytest.approx(0.5 * plain[loaded], rel=1e-12)
    in_top_layer = node_coordinates(quantity)[:, 1] >= 0.0
    np.testing.assert_array_equal(weighted[in_top_layer], 0.0)


# ---------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("build, name", [
    (lambda: ConstantSmoothing({}), "lengths_in_meters"),
    (lambda: ConstantSmoothing({"VS": 100.0}), r"lengths_in_meters\[VS\]"),
    (lambda: ConstantSmoothing({"VP": -1.0}), r"lengths_in_meters\[VP\]"),
    (lambda: ConstantSmoothing({"VP": (1.0, 2.0, 3.0)}), r"lengths_in_meters\[VP\]"),
    (lambda: ConstantSmoothing({"VP": float("inf")}), r"lengths_in_meters\[VP\]"),
    (lambda: ConstantSmoothing([100.0]), "lengths_in_meters"),
    (lambda: ConstantSmoothing({"VP": 100.0}, n_diffusion_steps=0), "n_diffusion_steps"),
    (lambda: WavelengthSmoothing({"VP": 1.0}, reference_frequency_in_hertz=0.0), "reference_frequency_in_hertz"),
    (lambda: WavelengthSmoothing({"VP": -1.0}, reference_frequency_in_hertz=5.0), r"n_wavelengths\[VP\]"),
    (lambda: ConstantSmoothing({"VP": 1.0}, high_pass_lengths_in_meters={"VP": 0.0}),
     r"high_pass_lengths_in_meters\[VP\]"),
    (lambda: ConstantSmoothing({"VP": 1.0}, high_pass_lengths_in_meters=[300.0]), "high_pass_lengths_in_meters"),
    (lambda: ConstantSmoothing({"VP": 1.0}, depth_exponent=-1.0), "depth_exponent"),
    (lambda: WavelengthSmoothing({"VP": 1.0}, reference_frequency_in_hertz=5.0, depth_exponent=True), "depth_exponent"),
])
def test_bad_smoothing_arguments_raise_specfwi_errors(build, name):
    with pytest.raises(SpecfwiError, match=f"'{name}' must be"):
        build()


def test_smoothing_needs_an_inversion_model_and_wavelength_smoothing_a_prior(small_mesh):
    with pytest.raises(SpecfwiError, match="'quantity' must be an InversionModel"):
        ConstantSmoothing({"VP": 10.0}).smooth(small_mesh)
    with pytest.raises(SpecfwiError, match="'prior' must be"):
        WavelengthSmoothing({"VP": 1.0, "RHO": None}, reference_frequency_in_hertz=5.0).smooth(quantity_on(small_mesh))
