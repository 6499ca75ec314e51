"""The written-out 1D operators of the node grid (specfwi/solver/unrolled.py), run as plain Python
against a dense element-by-element reference, for every tensor order the GLL module serves."""

from pathlib import Path

import numpy as np
import pytest

from specfwi.mesh.gll import derivative_matrix
from specfwi.solver import unrolled


WEIGHTS = (0.7, 0.3)  # (a, b) of the adjoint's products


def _element_operator(derivative, coefficients, values):
    """D^T (coefficients * D values) for one element's N values."""
    return derivative.T @ (coefficients * (derivative @ values))


def _adjoint_products(derivative, values, partners):
    """(D u)(a D mu + b D f) + b (D mu)(D y) for one element's N values f and partners (mu, u, y)."""
    (a, b), (mu, u, y) = WEIGHTS, (derivative @ partner for partner in partners)
    return u * (a * mu + b * (derivative @ values)) + b * mu * y


@pytest.mark.parametrize("tensor_order", range(1, 11))
@pytest.mark.parametrize("with_partner", [False, True])
def test_rows_part_is_the_sum_of_the_element_operators_along_each_row(tensor_order, with_partner):
    rng = np.random.default_rng(tensor_order)
    n, p = tensor_order + 1, tensor_order
    n_rows, n_elements = 3, 4
    derivative = derivative_matrix(tensor_order)
    fields = rng.standard_normal((n_rows + 1, n_elements * p + 1))
    partners = tuple(rng.standard_normal(fields.shape) for _ in range(3)) if with_partner else None
    coefficients = rng.random((n_rows + 1, n, n_elements)) + 0.5
    products = rng.standard_normal((n_rows + 1, n, n_elements)) if with_partner else None
    expected_products = None if products is None else products.copy()
    values = np.full((n_rows, fields.shape[1]), np.nan)  # every entry must be written
    # node e p + m of a line is stored in the run of its local point m: run 0 (e = 0 .. n_elements) first
    element, local = np.divmod(np.arange(fields.shape[1]), p)
    stored_at = np.where(local == 0, element, local * n_elements + 1 + element)
    assert np.array_equal(np.sort(stored_at), np.arange(fields.shape[1]))
    in_runs = np.empty_like(fields)
    in_runs[:, stored_at] = fields
    partners_in_runs = None
    if with_partner:
        partners_in_runs = tuple(np.empty_like(partner) for partner in partners)
        for partner, partner_in_runs in zip(partners, partners_in_runs):
            partner_in_runs[:, stored_at] = partner
    rows_part = unrolled.compiled_source(unrolled.rows_part_source(n, with_partner), "rows_part")
    rows_part(in_runs, values, 1, coefficients, tuple(derivative.ravel()), partners_in_runs, products, WEIGHTS,
              np.zeros((4 * n, n_elements)))
    values = values[:, stored_at]

    expected = np.zeros_like(values)
    for r in range(n_rows):
        for e in range(n_elements):
            nodes = slice(e * p, e * p + n)
            expected[r, nodes] += _element_operator(derivative, coefficients[r + 1, :, e], fields[r + 1, nodes])
            if with_partner:
                expected_products[r + 1, :, e] += _adjoint_products(
                    derivative, fields[r + 1, nodes], [partner[r + 1, nodes] for partner in partners])
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    if with_partner:
        np.testing.assert_allclose(products, expected_products, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("tensor_order", range(1, 11))
@pytest.mark.parametrize("with_partner", [False, True])
def test_column_part_adds_the_element_operators_of_one_element_column(tensor_order, with_partner):
    rng = np.random.default_rng(100 + tensor_order)
    n, p = tensor_order + 1, tensor_order
    n_columns, n_y, column = 3, 5, 1
    derivative = derivative_matrix(tensor_order)
    fields = rng.standard_normal((n_columns * p + 1, n_y))
    partners = tuple(rng.standard_normal(fields.shape) for _ in range(3)) if with_partner else None
    coefficients = rng.random((n_columns, n, n_y)) + 0.5
    products = rng.standard_normal((n_columns, n, n_y)) if with_partner else None
    expected_products = None if products is None else products.copy()
    values = rng.standard_normal((n, n_y))
    expected = values.copy()
    column_part = unrolled.compiled_source(unrolled.column_part_source(n, with_partner), "column_part")
    column_part(fields, values, column, coefficients, tuple(derivative.ravel()), partners, products, WEIGHTS,
                np.zeros((4 * n, n_y)))

    rows = slice(column * p, column * p + n)
    for iy in range(n_y):
        expected[:, iy] += _element_operator(derivative, coefficients[column, :, iy], fields[rows, iy])
        if with_partner:
            expected_products[column, :, iy] += _adjoint_products(derivative, fields[rows, iy],
                                                                  [partner[rows, iy] for partner in partners])
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    if with_partner:
        np.testing.assert_allclose(products, expected_products, rtol=1e-12, atol=1e-12)


def test_a_change_of_the_generated_code_gives_new_kernel_modules(tmp_path, monkeypatch):
    """numba keys its disk cache on a kernel module's own file: the module of an order must change with
    unrolled.py too, or code compiled for the old generator would be loaded."""
    from specfwi.solver import kernel_modules

    monkeypatch.setenv("SPECFWI_CACHE_DIR", str(tmp_path / "cache"))
    first = kernel_modules.kernels_for_order.__wrapped__(3)
    changed = tmp_path / "unrolled.py"
    changed.write_text(Path(unrolled.__file__).read_text() + "\n# changed\n")
    monkeypatch.setattr(unrolled, "__file__", str(changed))
    second = kernel_modules.kernels_for_order.__wrapped__(3)
    assert first.__name__ != second.__name__
    assert Path(first.__file__).parent == Path(second.__file__).parent == tmp_path / "cache"
