"""Gauss-Lobatto-Legendre (GLL) points, weights and Lagrange derivative matrices.

Reference interval [-1, 1]; ``order`` N gives N + 1 points, and the quadrature is
exact for polynomials of degree up to 2N - 1.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import legendre

from ..errors import invalid

MIN_ORDER = 1
MAX_ORDER = 10


def check_order(order) -> int:
    """Validate a tensor order (an integer in [MIN_ORDER, MAX_ORDER])."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not (
        MIN_ORDER <= order <= MAX_ORDER
    ):
        raise invalid("tensor_order", order, f"an integer from {MIN_ORDER} to {MAX_ORDER}")
    return int(order)


@lru_cache(maxsize=None)
def _points_and_weights(order: int) -> tuple[np.ndarray, np.ndarray]:
    coefficients = np.zeros(order + 1)
    coefficients[-1] = 1.0  # P_N
    interior = legendre.legroots(legendre.legder(coefficients)) if order > 1 else np.array([])
    points = np.concatenate([[-1.0], np.sort(interior.real), [1.0]])
    p_n = legendre.legval(points, coefficients)
    weights = 2.0 / (order * (order + 1) * p_n**2)
    points.setflags(write=False)
    weights.setflags(write=False)
    return points, weights


def gll_points(order: int) -> np.ndarray:
    """GLL points on [-1, 1], shape (order + 1,), ascending."""
    return _points_and_weights(check_order(order))[0]


def gll_weights(order: int) -> np.ndarray:
    """GLL quadrature weights, shape (order + 1,), summing to 2."""
    return _points_and_weights(check_order(order))[1]


def lagrange_basis(points: np.ndarray, x) -> np.ndarray:
    """Values of the Lagrange polynomials through ``points`` at ``x``.

    Returns shape (len(x), len(points)): row k holds l_j(x_k) for every j.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    n = len(points)
    values = np.ones((len(x), n))
    for j in range(n):
        for m in range(n):
            if m != j:
                values[:, j] *= (x - points[m]) / (points[j] - points[m])
    return values


def lagrange_derivative_basis(points: np.ndarray, x) -> np.ndarray:
    """Derivatives l_j'(x_k) of the Lagrange polynomials through ``points``; shape (len(x), len(points))."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    n = len(points)
    derivatives = np.zeros((len(x), n))
    for j in range(n):
        for skip in range(n):
            if skip == j:
                continue
            term = np.full(len(x), 1.0 / (points[j] - points[skip]))
            for m in range(n):
                if m != j and m != skip:
                    term *= (x - points[m]) / (points[j] - points[m])
            derivatives[:, j] += term
    return derivatives


@lru_cache(maxsize=None)
def _derivative_matrix(order: int) -> np.ndarray:
    points = gll_points(order)
    matrix = lagrange_derivative_basis(points, points)
    matrix.setflags(write=False)
    return matrix


def derivative_matrix(order: int) -> np.ndarray:
    """D[i, j] = l_j'(x_i) on the GLL points, shape (order + 1, order + 1)."""
    return _derivative_matrix(check_order(order))
