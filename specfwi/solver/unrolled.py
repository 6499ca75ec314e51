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
the (n_outer, n_inner) node grid in memory order, see :mod:`specfwi.solver.node_grid`):

**Node lines in runs.** A node line of E elements (its E P + 1 nodes in the order of the
mesh: node e P + m is local point m of element e) is stored as P runs, one per local point:
run 0 holds the E + 1 nodes that elements share (e P, for e = 0 .. E), run m > 0 the nodes e P + m
(position m E + 1 + e). So an element's N values are field[e], field{m}[e] (the runs) and
field[e + 1]: every load and store of the element loop has unit stride, and LLVM vectorises it
with no gather (the earlier layout gathered each row into runs first, with scalar code: the row part
is 1.25 times faster on S1's node lines and 1.7 times on S2's, alone, with the same results bit for bit).

``rows_part(fields, values, first_row, coefficients, entries, partners, products, weights, outputs)``
    values[r] = the inner part of K on node row first_row + r, for every r < len(values): the sum over
    the elements e of the row of D^T (coefficients[row, :, e] * D u_e) on the element's nodes
    (coefficients: (n_outer, N, n_elements_inner)). With partner grids (the adjoint's products, see below),
    also products[row, j, e] += the product at point j. Scratch: outputs (4 N, >= n_elements_inner).
``column_part(fields, values, column, coefficients, entries, partners, products, weights, outputs)``
    values[k, inner] += (D^T (coefficients[column, :, inner] * D fields[column P : column P + N, inner]))[k], the
    outer part of element column ``column`` on its N node rows (values: (N, n_inner); coefficients:
    (n_elements_outer, N, n_inner)); with partner grids, also products[column, i, inner] += the product at point i.
    Scratch: outputs (4 N, >= n_inner).

**The adjoint's products.** ``partners`` = (mu, u, y) (three grids shaped as ``fields``) and
``weights`` = (a, b) give, at each point j of an element's line, with f the product's own field,

    (D u)_j (a (D mu)_j + b (D f)_j) + b (D mu)_j (D y)_j

the kappa part of one adjoint step, G(grad mu, grad (a u + b y)) + b G(grad f, grad u), along one axis
(:func:`specfwi.solver.kernels.adjoint_steps`; the geometric weights apply after the last step).
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


def _element_lines(n_points: int, coefficients: str, index: str, results: list[str]) -> list[str]:
    """Loop body lines from the scalars f0.. : a{j} = (D f)_j, g{j} = c_j a{j}, and the results (D^T g)_k
    assigned by results[k] (such as "values[k, inner] +=")."""
    lines = []
    for j in range(n_points):
        lines += [f"a{j} = {_derivative(n_points, j, 'f')}", f"g{j} = {coefficients}[{j}, {index}] * a{j}"]
    return lines + [f"{result} {_transposed(n_points, k, 'g')}" for k, result in enumerate(results)]


#: The fields of the adjoint's products after the product's own field f, as (name of the grid, prefix of
#: its scalars): mu, u, y of the module docstring.
_PARTNERS = (("adjoint", "m"), ("state", "s"), ("residual", "r"))


def _product_lines(n_points: int, indent: str, index: str, count: str, loads_of) -> list[str]:
    """Loops adding the adjoint's products (module docstring) to product[j, index] for index < count.

    First one loop per field (f, then the partners) writes its derivatives (D field)_j to the scratch rows
    outputs[k N + j] (k: the field's place); then one loop per point j adds its product. Written as one
    loop, with its ten streams, LLVM left it scalar: 3 to 8 times the time of the plain part instead of
    about 3 (S2's node lines, alone). ``loads_of(name, prefix)``: (lines binding the field's grid, loop lines
    reading its scalars {prefix}0.. of one element); name "own" is the product's own field.
    """
    n = n_points
    lines = []
    for k, (name, prefix) in enumerate((("own", "f"),) + _PARTNERS):
        bindings, loads = loads_of(name, prefix)
        lines += bindings + [f"{indent}for {index} in range({count}):"] + loads
        lines += [f"{indent}    outputs[{k * n + j}, {index}] = {_derivative(n, j, prefix)}" for j in range(n)]
    for j in range(n):
        f, m, s, r = (f"outputs[{k * n + j}, {index}]" for k in range(4))
        lines += [f"{indent}product_row = product[{j}]", f"{indent}for {index} in range({count}):",
                  f"{indent}    product_row[{index}] += {s} * (state_weight * {m} + residual_weight * {f}) "
                  f"+ residual_weight * {m} * {r}"]
    return lines


def _line_runs(n_points: int, line: str) -> list[str]:
    """Lines binding {line}{m} to run m (0 < m < N - 1) of the node line ``line`` (see the module docstring)."""
    return [f"        {line}{m} = {line}[{m} * n_elements + 1:{m + 1} * n_elements + 1]" for m in range(1, n_points - 1)]


def _line_loads(n_points: int, name: str, line: str) -> list[str]:
    """Loop lines reading the scalars {name}0 .. of element e: from run 0 of ``line`` and its runs {line}{m}."""
    p = n_points - 1
    return ([f"            {name}0 = {line}[e]"] + [f"            {name}{m} = {line}{m}[e]" for m in range(1, p)]
            + [f"            {name}{p} = {line}[e + 1]"])


def _partner_lines(indent: str) -> list[str]:
    """Lines naming the partner grids and the weights of the adjoint's products."""
    return [f"{indent}adjoint, state, residual = partners", f"{indent}state_weight, residual_weight = weights"]


def rows_part_source(n_points: int, with_partners: bool) -> str:
    """Source of ``rows_part`` (see the module docstring) for N = n_points."""
    n, p = n_points, n_points - 1
    body = ["def rows_part(fields, values, first_row, coefficients, entries, partners, products, weights, outputs):",
            f"    {_derivative_names(n)} = entries",
            "    n_elements = coefficients.shape[2]",
            "    first_ends, last_ends = outputs[0], outputs[1]"]
    if with_partners:
        body += _partner_lines("    ")
    body += ["    for r in range(values.shape[0]):",
             "        row = first_row + r",
             "        field, value, coefficient = fields[row], values[r], coefficients[row]"]
    body += _line_runs(n, "field") + _line_runs(n, "value")
    body += ["        for e in range(n_elements):"] + _line_loads(n, "f", "field")
    results = ["first_ends[e] ="] + [f"value{k}[e] =" for k in range(1, p)] + ["last_ends[e] ="]
    body += ["            " + line for line in _element_lines(n, "coefficient", "e", results)]
    body += ["        value[0] = first_ends[0]",
             "        for e in range(1, n_elements):  # run 0: the nodes that two elements share",
             "            value[e] = first_ends[e] + last_ends[e - 1]",
             "        value[n_elements] = last_ends[n_elements - 1]"]
    if with_partners:  # outputs is free again

        def loads_of(name, prefix):
            if name == "own":
                return [], _line_loads(n, prefix, "field")
            line = f"{name}_line"
            return [f"        {line} = {name}[row]"] + _line_runs(n, line), _line_loads(n, prefix, line)

        body.append("        product = products[row]")
        body += _product_lines(n, "        ", "e", "n_elements", loads_of)
    return "\n".join(body) + "\n"


def column_part_source(n_points: int, with_partners: bool) -> str:
    """Source of ``column_part`` (see the module docstring) for N = n_points."""
    n, p = n_points, n_points - 1
    body = ["def column_part(fields, values, column, coefficients, entries, partners, products, weights, outputs):",
            f"    {_derivative_names(n)} = entries",
            f"    rows, coefficient = fields[column * {p}:column * {p} + {n}], coefficients[column]",
            "    n_inner = fields.shape[1]",
            "    for inner in range(n_inner):"] + [f"        f{m} = rows[{m}, inner]" for m in range(n)]
    results = [f"values[{k}, inner] +=" for k in range(n)]
    body += ["        " + line for line in _element_lines(n, "coefficient", "inner", results)]
    if with_partners:

        def loads_of(name, prefix):
            grid = "rows" if name == "own" else f"{name}_rows"
            bindings = [] if name == "own" else [f"    {grid} = {name}[column * {p}:column * {p} + {n}]"]
            return bindings, [f"        {prefix}{m} = {grid}[{m}, inner]" for m in range(n)]

        body += _partner_lines("    ") + ["    product = products[column]"]
        body += _product_lines(n, "    ", "inner", "n_inner", loads_of)
    return "\n".join(body) + "\n"


def compiled_source(source: str, name: str):
    """The function ``name`` defined by ``source`` (for numba to compile)."""
    namespace: dict = {}
    exec(compile(source, f"<specfwi.solver.unrolled {name}>", "exec"), namespace)  # noqa: S102 (generated above)
    return namespace[name]
