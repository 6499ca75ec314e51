"""Source text of the node grid's 1D stiffness operators, written out for one number of GLL points.

Along a node line, each element applies ``D^T (c * D u)`` to its N nodes (D the N x N GLL
derivative matrix, entries ``d{row}_{column}``): 2 N^2 multiply-adds on N values per element.
LLVM turns a loop over many elements (or node rows) into SIMD code only when every value of
an element is a named scalar; loops over the N points, even fully unrolled, keep them in
memory, and the loop then stays scalar (2 to 3 times slower on the node rows of S2 and S1).
These functions therefore write the loop bodies out for a given N, and
:mod:`specfwi.solver.kernels` compiles them (numba overloads): every tensor order gets its own
straight-line code.

The generated functions (P = N - 1; ``entries``: the derivative matrix row by row; ``fields``:
the (n_x, n_y) node grid):

``rows_part(fields, values, first_row, coefficients, entries, partner, products, weight, gathered, outputs)``
    values[r] = the y part of K on node row first_row + r, for every r < len(values): the sum over
    the elements e of the row of D^T (coefficients[row, :, e] * D field[e P : e P + N]) on the nodes
    e P .. e P + P (coefficients: (n_x, N, n_elements_y)). With a partner grid, also
    products[row, j, e] += weight * (D field)_j (D partner)_j. Scratch: gathered (2 N,
    n_elements_y + 1), outputs (2 N, n_elements_y); each row is first gathered into one array per GLL
    point, so that the element loop reads with unit stride.
``column_part(fields, values, column, coefficients, entries, partner, products, weight)``
    values[k, iy] += (D^T (coefficients[column, :, iy] * D fields[column P : column P + N, iy]))[k], the
    x part of element column ``column`` on its N node rows (values: (N, n_y); coefficients:
    (n_elements_x, N, n_y)); with a partner grid, also products[column, i, iy] += weight * (D fields)_i
    (D partner)_i, in the same loop (it needs more run-time overlap checks than LLVM allows by default:
    see kernel_modules.LLVM_OPTIONS).
"""

from __future__ import annotations


def _derivative_names(n_points: int) -> str:
    return ", ".join(f"d{j}_{m}" for j in range(n_points) for m in range(n_points))


def _derivative(n_points: int, j: int, value: str) -> str:
    """(D value)_j as an expression of the scalars value0 .. value{N-1}."""
    return " + ".join(f"d{j}_{m} * {value}{m}" for m in range(n_points))


def _transposed(n_points: int, k: int, value: str) -> str:
    """(D^T value)_k as an expression of the scalars value0 .. value{N-1}."""
    return " + ".join(f"d{j}_{k} * {value}{j}" for j in range(n_points))


def _element_lines(n_points: int, coefficients: str, index: str, result: str, with_products: bool = False) -> list[str]:
    """Loop body lines from the scalars f0.. : a{j} = (D f)_j, g{j} = c_j a{j}, and the results (D^T g)_k
    assigned to result.format(k=k); ``with_products``: also product[j, index] += weight a{j} (D q)_j from the
    scalars q0.. ."""
    lines = []
    for j in range(n_points):
        lines.append(f"a{j} = {_derivative(n_points, j, 'f')}")
        if with_products:
            lines.append(f"product[{j}, {index}] += weight * a{j} * ({_derivative(n_points, j, 'q')})")
        lines.append(f"g{j} = {coefficients}[{j}, {index}] * a{j}")
    return lines + [f"{result.format(k=k)} {_transposed(n_points, k, 'g')}" for k in range(n_points)]


def _row_product_lines(n_points: int, loads: list[str]) -> list[str]:
    """The row part's loops that add weight (D f)_j (D q)_j to product[j, e] (``loads``: lines reading the
    scalars f0.. and q0.. of element e): first (D f)_j and (D q)_j into rows j and N + j of ``outputs``,
    then one loop per j on the row view product[j]. With LLVM's default limit on run-time overlap checks,
    one loop stayed scalar (3 times slower); with kernel_modules.LLVM_OPTIONS one loop vectorises, but on
    node rows it is no faster than these (measured on S1 and S2), unlike the column part."""
    lines = ["        for e in range(n_elements):"] + loads
    lines += [f"            outputs[{j}, e] = {_derivative(n_points, j, 'f')}" for j in range(n_points)]
    lines += [f"            outputs[{n_points + j}, e] = {_derivative(n_points, j, 'q')}" for j in range(n_points)]
    for j in range(n_points):
        lines += [f"        product_row = product[{j}]", "        for e in range(n_elements):",
                  f"            product_row[e] += weight * outputs[{j}, e] * outputs[{n_points + j}, e]"]
    return lines


def rows_part_source(n_points: int, with_partner: bool) -> str:
    """Source of ``rows_part`` (see the module docstring) for N = n_points."""
    n, p = n_points, n_points - 1
    body = ["def rows_part(fields, values, first_row, coefficients, entries, partner, products, weight, gathered,",
            "              outputs):",
            f"    {_derivative_names(n)} = entries",
            "    n_elements = coefficients.shape[2]",
            "    for r in range(values.shape[0]):",
            "        row = first_row + r",
            "        field, value, coefficient = fields[row], values[r], coefficients[row]"]
    if with_partner:
        body.append("        partner_field, product = partner[row], products[row]")
    body.append("        for e in range(n_elements):  # an array per GLL point but the last (the next element's first)")
    body += [f"            gathered[{m}, e] = field[e * {p} + {m}]" for m in range(p)]
    if with_partner:
        body += [f"            gathered[{n + m}, e] = partner_field[e * {p} + {m}]" for m in range(p)]
    body.append(f"        gathered[0, n_elements] = field[n_elements * {p}]")
    if with_partner:
        body.append(f"        gathered[{n}, n_elements] = partner_field[n_elements * {p}]")
    loads = [f"            f{m} = gathered[{m}, e]" for m in range(p)] + [f"            f{p} = gathered[0, e + 1]"]
    body += ["        for e in range(n_elements):"] + loads
    body += ["            " + line for line in _element_lines(n, "coefficient", "e", "outputs[{k}, e] =")]
    body += [f"        value[{k}] = outputs[{k}, 0]" for k in range(p)]
    body += ["        for e in range(1, n_elements):",
             f"            value[e * {p}] = outputs[0, e] + outputs[{p}, e - 1]"]
    body += [f"            value[e * {p} + {k}] = outputs[{k}, e]" for k in range(1, p)]
    body.append(f"        value[n_elements * {p}] = outputs[{p}, n_elements - 1]")
    if with_partner:  # outputs is free again: it holds the derivatives
        partner_loads = [f"            q{m} = gathered[{n + m}, e]" for m in range(p)]
        body += _row_product_lines(n, loads + partner_loads + [f"            q{p} = gathered[{n}, e + 1]"])
    return "\n".join(body) + "\n"


def column_part_source(n_points: int, with_partner: bool) -> str:
    """Source of ``column_part`` (see the module docstring) for N = n_points."""
    n, p = n_points, n_points - 1
    body = ["def column_part(fields, values, column, coefficients, entries, partner, products, weight):",
            f"    {_derivative_names(n)} = entries",
            f"    rows, coefficient = fields[column * {p}:column * {p} + {n}], coefficients[column]"]
    loads = [f"        f{m} = rows[{m}, iy]" for m in range(n)]
    if with_partner:
        body.append(f"    partner_rows, product = partner[column * {p}:column * {p} + {n}], products[column]")
        loads += [f"        q{m} = partner_rows[{m}, iy]" for m in range(n)]
    body += ["    for iy in range(fields.shape[1]):"] + loads
    body += ["        " + line for line in _element_lines(n, "coefficient", "iy", "values[{k}, iy] +=", with_partner)]
    return "\n".join(body) + "\n"


def compiled_source(source: str, name: str):
    """The function ``name`` defined by ``source`` (for numba to compile)."""
    namespace: dict = {}
    exec(compile(source, f"<specfwi.solver.unrolled {name}>", "exec"), namespace)  # noqa: S102 (generated above)
    return namespace[name]
