"""Tests of specfwi.testing: the helpers must pass correct gradients/adjoints and catch wrong ones."""

import re

import numpy as np
import pytest

from specfwi.errors import SpecfwiError
from specfwi.testing import assert_adjoint, check_gradient


def smooth_function(x):
    return float(np.sum(np.sin(x) * x**2) + 0.5 * np.sum(x) ** 2)


def smooth_gradient(x):
    return np.cos(x) * x**2 + 2.0 * x * np.sin(x) + np.sum(x)


@pytest.fixture
def point_and_direction():
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 3)), rng.standard_normal((4, 3))


def test_check_gradient_passes_a_correct_gradient_with_second_order_remainder(point_and_direction):
    x, direction = point_and_direction
    result = check_gradient(smooth_function, x, direction, smooth_gradient(x))
    assert result.best_relative_error < 1e-9
    assert result.remainder_slope == pytest.approx(2.0, abs=0.1)
    assert result.passed(1e-8, minimum_slope=1.8)
    assert result.value == smooth_function(x)
    assert result.directional_derivative == pytest.approx(np.sum(smooth_gradient(x) * direction), rel=1e-15)
    assert np.all(np.diff(result.steps) < 0.0) and result.steps.size == 8


def test_check_gradient_catches_a_wrong_gradient(point_and_direction):
    x, direction = point_and_direction
    wrong = smooth_gradient(x) * 1.001
    result = check_gradient(smooth_function, x, direction, wrong)
    assert result.best_relative_error > 5e-4
    assert not result.passed(1e-4)
    assert result.remainder_slope == pytest.approx(1.0, abs=0.1)
    assert not result.passed(1.0, minimum_slope=1.8)


def test_check_gradient_catches_a_gradient_wrong_in_one_entry(point_and_direction):
    x, direction = point_and_direction
    wrong = smooth_gradient(x)
    wrong[2, 1] += 0.1
    assert not check_gradient(smooth_function, x, direction, wrong).passed(1e-4)


def test_check_gradient_of_a_linear_function_has_no_measurable_remainder(point_and_direction):
    x, direction = point_and_direction
    weights = np.arange(12.0).reshape(4, 3)
    result = check_gradient(lambda z: float(np.sum(weights * z)), x, direction, weights)
    assert np.isnan(result.remainder_slope)
    assert result.passed(1e-8, minimum_slope=1.8)


def test_check_gradient_uses_given_steps_and_prints_a_table(point_and_direction):
    x, direction = point_and_direction
    steps = [1e-2, 1e-3, 1e-4]
    result = check_gradient(smooth_function, x, direction, smooth_gradient(x), steps=steps)
    np.testing.assert_array_equal(result.steps, steps)
    central = [(smooth_function(x + h * direction) - smooth_function(x - h * direction)) / (2 * h) for h in steps]
    np.testing.assert_allclose(result.finite_differences, central, rtol=1e-15)
    table = str(result)
    assert "remainder slope" in table and len(table.splitlines()) == 2 + len(steps)


@pytest.mark.parametrize("kwargs, name", [
    ({"direction": np.ones(3)}, "direction, gradient"),
    ({"gradient": np.ones((3, 4))}, "direction, gradient"),
    ({"direction": np.zeros((4, 3))}, "direction"),
    ({"steps": [1e-3, -1e-4]}, "steps"),
    ({"function": lambda z: z}, "function(x)"),
    ({"function": lambda z: np.nan}, "function(x)"),
])
def test_check_gradient_rejects_bad_input(point_and_direction, kwargs, name):
    x, direction = point_and_direction
    arguments = {"function": smooth_function, "x": x, "direction": direction, "gradient": smooth_gradient(x)}
    arguments.update(kwargs)
    with pytest.raises(SpecfwiError, match=re.escape(f"'{name}' must be")):
        check_gradient(**arguments)


# ---------------------------------------------------------------- assert_adjoint
@pytest.fixture
def matrix():
    return np.random.default_rng(1).standard_normal((5, 4, 3))


def test_assert_adjoint_passes_an_exact_transpose(matrix):
    result = assert_adjoint(lambda u: np.tensordot(matrix, u, axes=2), lambda v: np.tensordot(v, matrix, axes=1),
                            input_shape=(4, 3), output_shape=5)
    assert result.relative_errors.shape == (3,) and np.all(result.relative_errors < 1e-13)
    np.testing.assert_allclose(result.forward_products, result.adjoint_products, rtol=1e-13)
    again = assert_adjoint(lambda u: np.tensordot(matrix, u, axes=2), lambda v: np.tensordot(v, matrix, axes=1),
                           input_shape=(4, 3), output_shape=5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.forward_products, result.forward_products)


def test_assert_adjoint_catches_a_wrong_adjoint_and_names_both_products(matrix):
    perturbed = matrix.copy()
    perturbed[0, 0, 0] += 1e-6
    with pytest.raises(AssertionError, match=r"<F u, v> = .*<u, F\^T v> = .*relative mismatch"):
        assert_adjoint(lambda u: np.tensordot(matrix, u, axes=2), lambda v: np.tensordot(v, perturbed, axes=1),
                       input_shape=(4, 3), output_shape=5, rng=7)


def test_assert_adjoint_catches_a_wrong_output_shape(matrix):
    with pytest.raises(AssertionError, match="shapes"):
        assert_adjoint(lambda u: np.tensordot(matrix, u, axes=2), lambda v: np.tensordot(v, matrix, axes=1).ravel(),
                       input_shape=(4, 3), output_shape=5)
