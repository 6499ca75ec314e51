"""The node grid's generated 1D operators alone, on one thread: the row and the column parts of one
stiffness product over a whole grid, plain and with the adjoint's products, on the node lines of S1 and S2.

The parts are compiled from specfwi/solver/unrolled.py as the solver compiles them (numba, fast flags),
and fed random fields shaped as the scenario's node grid (its coefficients, its derivative matrix).
The cases run round robin; printed per scenario: the median time of each part, in ns per node, and the
median over the rounds of the ratio with products / plain.

python benchmarks/grid_parts.py [--repeats 9] [--quick] [--dtype float64]
"""

import functools
import statistics

import numba
import numpy as np

from common import s1_scenario, s2_scenario, time_repeats
from measurement import benchmark_parser

from specfwi.solver import SimulationSetup, SolverOptions, unrolled


@numba.njit
def _all_rows(rows_part, fields, values, coefficients, entries, partners, products, weights, outputs):
    rows_part(fields, values, 0, coefficients, entries, partners, products, weights, outputs)


@numba.njit
def _all_columns(column_part, fields, values, coefficients, entries, partners, products, weights, outputs):
    for column in range(coefficients.shape[0]):
        column_part(fields, values, column, coefficients, entries, partners, products, weights, outputs)


def measure(scenario, dtype: str, repeats: int) -> None:
    setup = SimulationSetup.build(scenario.mesh, scenario.events[0], wavelet=scenario.wavelet,
                                  end_time_in_seconds=0.01, options=SolverOptions(dtype=dtype, progress=False))
    operator = setup.operator
    n_points = scenario.mesh.tensor_order + 1
    grid_shape = (operator.coefficient_inner.shape[0], operator.coefficient_outer.shape[2])
    rng = np.random.default_rng(0)
    fields, *partners = (rng.standard_normal(grid_shape).astype(dtype) for _ in range(4))
    time_step = setup.dtype.type(setup.time_step_in_seconds)
    weights = (time_step**2, time_step**4 / setup.dtype.type(12.0))
    products_outer, products_inner = setup.layout.sensitivity_buffer()
    outputs = np.zeros((4 * n_points, grid_shape[1]), dtype)
    parts = {  # part: (generator of its code, function name, driver over the grid, values, coefficients, products)
        "row": (unrolled.rows_part_source, "rows_part", _all_rows, np.zeros(grid_shape, dtype),
                operator.coefficient_inner, products_inner),
        "column": (unrolled.column_part_source, "column_part", _all_columns,
                   np.zeros((n_points, grid_shape[1]), dtype), operator.coefficient_outer, products_outer),
    }
    cases = {}
    for part, (source, name, driver, values, coefficients, products) in parts.items():
        for with_products in (False, True):
            compiled = numba.njit(fastmath=True)(unrolled.compiled_source(source(n_points, with_products), name))
            paired = (tuple(partners), products, weights) if with_products else (None, None, None)
            cases[part, with_products] = functools.partial(driver, compiled, fields, values, coefficients,
                                                           operator.entries, *paired, outputs)
    for case in cases.values():
        case()  # compiles
    seconds = {key: [] for key in cases}
    for _ in range(repeats):  # round robin, so that a slow phase of the machine hits every case
        for key, case in cases.items():
            seconds[key].append(time_repeats(case, 1)[0].median)
    n_nodes = grid_shape[0] * grid_shape[1]
    print(f"{scenario.name}: node grid {grid_shape[0]} x {grid_shape[1]} (order {n_points - 1}), {dtype}, one thread, "
          f"medians of {repeats} rounds")
    for part in ("row", "column"):
        plain, with_products = (statistics.median(seconds[part, paired]) for paired in (False, True))
        ratio = statistics.median(np.array(seconds[part, True]) / np.array(seconds[part, False]))
        print(f"  {part:6s} part: plain {plain * 1e3:7.3f} ms ({plain / n_nodes * 1e9:5.2f} ns per node), "
              f"with products {with_products * 1e3:7.3f} ms ({with_products / n_nodes * 1e9:5.2f} ns per node), "
              f"ratio with / without products {ratio:.2f} (median of the rounds' ratios)")


if __name__ == "__main__":
    arguments = benchmark_parser(__doc__.splitlines()[0], default_repeats=9, dtype_option=True).parse_args()
    for build in (s1_scenario, s2_scenario):
        measure(build(quick=arguments.quick), arguments.dtype, arguments.repeats)
