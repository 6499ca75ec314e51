"""Numba CPU kernels of the acoustic spectral-element solver, for one tensor order.

All kernels work on global nodal vectors (n_global_nodes,) and on the
element-to-global numbering ``ibool`` (n_elements, n_gll). Elements are
processed colour by colour (no two chunks of a colour share a node), chunks spread
over threads, so scatter-adds never race and results do not depend on the number
of threads.

Time integrator (fourth-order Lax-Wendroff / modified equation), for
M u'' + C u' + K u = F(t), per step n:

    r = F^n - K u^n,   y = r / M,   h = K y
    (M + dt C / 2) u^{n+1} = 2 M u^n - (M - dt C / 2) u^{n-1} + dt^2 r - dt^4/12 h + Q^n

with Q^n = dt^4/12 F_tt^n. The same kernel runs the discrete adjoint (F = 0,
Q = -dJ/du^k, stepping backwards) because the step is symmetric in M, C, K.

``N`` (GLL points per axis) is a module constant so that LLVM unrolls the small
loops. This file serves order 4 as it is; :mod:`specfwi.solver.kernel_modules`
makes a copy with another ``N`` for the other orders. Keep the line defining ``N``
exactly as it is: that copy rewrites it.
"""

import numpy as np
from numba import njit, prange

N = 5  # GLL points per axis (tensor order + 1)


@njit(parallel=True, cache=True, fastmath=True)
def add_stiffness(u, out, ibool, tensor, derivative, chunk_offsets, chunk_elements, color_chunk_offsets):
    """out += K u for K = sum_e sum_q tensor_eq (grad_ref, grad_ref) (tensor: (n_el, n_gll, 3))."""
    for color in range(color_chunk_offsets.shape[0] - 1):
        for chunk in prange(color_chunk_offsets[color], color_chunk_offsets[color + 1]):
            local = np.empty((N, N))
            flux_xi = np.empty((N, N))
            flux_eta = np.empty((N, N))
            for index in range(chunk_offsets[chunk], chunk_offsets[chunk + 1]):
                element = chunk_elements[index]
                for j in range(N):
                    for i in range(N):
                        local[j, i] = u[ibool[element, j * N + i]]
                for j in range(N):
                    for i in range(N):
                        d_xi = 0.0
                        d_eta = 0.0
                        for k in range(N):
                            d_xi += derivative[i, k] * local[j, k]
                            d_eta += derivative[j, k] * local[k, i]
                        q = j * N + i
                        flux_xi[j, i] = tensor[element, q, 0] * d_xi + tensor[element, q, 1] * d_eta
                        flux_eta[j, i] = tensor[element, q, 1] * d_xi + tensor[element, q, 2] * d_eta
                for j in range(N):
                    for i in range(N):
                        total = 0.0
                        for k in range(N):
                            total += derivative[k, i] * flux_xi[j, k] + derivative[k, j] * flux_eta[k, i]
                        out[ibool[element, j * N + i]] += total

@njit(parallel=True, cache=True, fastmath=True)
def apply_stiffness(u, out, ibool, tensor, derivative, chunk_offsets, chunk_elements, color_chunk_offsets):
    """out = K u."""
    for node in prange(u.shape[0]):
        out[node] = 0.0
    add_stiffness(u, out, ibool, tensor, derivative, chunk_offsets, chunk_elements, color_chunk_offsets)

@njit(parallel=True, cache=True, fastmath=True)
def accumulate_gradient_products(first, second, third, fourth, weight, kappa_sensitivity, ibool, geometric,
                                 derivative):
    """kappa_sensitivity[e, q] += G_eq(grad first, grad second) + weight * G_eq(grad third, grad fourth)."""
    for element in prange(ibool.shape[0]):
        local = np.empty((4, N, N))
        for j in range(N):
            for i in range(N):
                node = ibool[element, j * N + i]
                local[0, j, i] = first[node]
                local[1, j, i] = second[node]
                local[2, j, i] = third[node]
                local[3, j, i] = fourth[node]
        for j in range(N):
            for i in range(N):
                first_xi = first_eta = second_xi = second_eta = 0.0
                third_xi = third_eta = fourth_xi = fourth_eta = 0.0
                for k in range(N):
                    di = derivative[i, k]
                    dj = derivative[j, k]
                    first_xi += di * local[0, j, k]
                    first_eta += dj * local[0, k, i]
                    second_xi += di * local[1, j, k]
                    second_eta += dj * local[1, k, i]
                    third_xi += di * local[2, j, k]
                    third_eta += dj * local[2, k, i]
                    fourth_xi += di * local[3, j, k]
                    fourth_eta += dj * local[3, k, i]
                q = j * N + i
                g0 = geometric[element, q, 0]
                g1 = geometric[element, q, 1]
                g2 = geometric[element, q, 2]
                kappa_sensitivity[element, q] += (
                    g0 * first_xi * second_xi + g1 * (first_xi * second_eta + first_eta * second_xi)
                    + g2 * first_eta * second_eta
                    + weight * (g0 * third_xi * fourth_xi + g1 * (third_xi * fourth_eta + third_eta * fourth_xi)
                                + g2 * third_eta * fourth_eta))


@njit(cache=True)
def _inject(vector, nodes, weights, amplitudes, scale):
    """vector[nodes[p, q]] += scale * weights[p, q] * amplitudes[p]."""
    for p in range(nodes.shape[0]):
        for q in range(nodes.shape[1]):
            vector[nodes[p, q]] += scale * weights[p, q] * amplitudes[p]

@njit(parallel=True, cache=True, fastmath=True)
def _step(previous, current, following, residual, scaled_residual, correction, mass, damping, dirichlet_mask,
          time_step, operator, point_nodes, point_weights, force_row, direct_row):
    """One Lax-Wendroff step: following = u^{n+1} from current = u^n, previous = u^{n-1}.

    ``residual`` and ``correction`` must be zero on entry and are zero again on return;
    scaled_residual holds y = (F - K u^n) / M afterwards. ``operator`` is the tuple
    (ibool, tensor, derivative, chunk_offsets, chunk_elements, color_chunk_offsets).
    """
    dt2 = time_step * time_step
    dt4_12 = dt2 * dt2 / 12.0
    half_dt = 0.5 * time_step
    ibool, tensor, derivative, chunk_offsets, chunk_elements, color_chunk_offsets = operator
    add_stiffness(current, residual, ibool, tensor, derivative, chunk_offsets, chunk_elements, color_chunk_offsets)
    _inject(residual, point_nodes, point_weights, force_row, -1.0)
    for node in prange(current.shape[0]):
        residual[node] = -residual[node]
        scaled_residual[node] = dirichlet_mask[node] * residual[node] / mass[node]
    add_stiffness(scaled_residual, correction, ibool, tensor, derivative, chunk_offsets, chunk_elements,
                  color_chunk_offsets)
    for node in prange(current.shape[0]):
        following[node] = dirichlet_mask[node] * (
            dt2 * residual[node] - dt4_12 * correction[node] + 2.0 * mass[node] * current[node]
            - (mass[node] - half_dt * damping[node]) * previous[node]) / (mass[node] + half_dt * damping[node])
        residual[node] = 0.0
        correction[node] = 0.0
    for p in range(point_nodes.shape[0]):
        for q in range(point_nodes.shape[1]):
            node = point_nodes[p, q]
            following[node] += dirichlet_mask[node] * point_weights[p, q] * direct_row[p] / (
                mass[node] + half_dt * damping[node])

@njit(parallel=True, cache=True, fastmath=True)
def forward_steps(first_step, last_step, previous, current, following, work, mass, damping, dirichlet_mask,
                  time_step, operator, source_nodes, source_weights, force_series, direct_series,
                  receiver_nodes, receiver_weights, traces, stored_states, stored_residuals, first_stored_step):
    """Steps n = first_step .. last_step - 1 (u^{n+1} from u^n, u^{n-1}); returns the rotated buffers.

    traces (n_receivers, n_samples) gets column n + 1 when it has columns (column 0 is the initial state).
    If stored_states has rows: stored_states[n + 2 - first_stored_step] = u^{n+1} and
    stored_residuals[n - first_stored_step] = y^n = (F^n - K u^n) / M.
    work: (3, n_nodes) scratch.
    """
    for step in range(first_step, last_step):
        _step(previous, current, following, work[0], work[1], work[2], mass, damping, dirichlet_mask, time_step,
              operator, source_nodes, source_weights, force_series[step], direct_series[step])
        if traces.shape[1] > 0:
            for r in range(receiver_nodes.shape[0]):
                total = 0.0
                for q in range(receiver_nodes.shape[1]):
                    total += receiver_weights[r, q] * following[receiver_nodes[r, q]]
                traces[r, step + 1] = total
        if stored_states.shape[0] > 0:
            for node in prange(current.shape[0]):
                stored_states[step + 2 - first_stored_step, node] = following[node]
                stored_residuals[step - first_stored_step, node] = work[1, node]
        previous, current, following = current, following, previous
    return previous, current, following

@njit(parallel=True, cache=True, fastmath=True)
def adjoint_steps(first_step, last_step, final_step, following_adjoint, current_adjoint, previous_adjoint, work,
                  mass, damping, dirichlet_mask, time_step, operator, geometric, receiver_nodes, receiver_weights,
                  zero_series, adjoint_series, stored_states, stored_residuals, first_stored_step,
                  mass_sensitivity, damping_sensitivity, kappa_sensitivity):
    """Adjoint steps k = last_step - 1 down to first_step, accumulating the material sensitivities.

    current_adjoint holds mu^k, following_adjoint mu^{k+1}; each step computes lambda^{k-1} into
    previous_adjoint (the same update as forward with F = 0 and Q^k = -dJ/du^k = adjoint_series[k]) and,
    for k < final_step, adds mu^k . dPhi^k/d(M, C, kappa) using the stored forward states
    stored_states[k + 1 - first_stored_step] = u^k and stored_residuals[k - first_stored_step] = y^k.
    work: (4, n_nodes) scratch. Returns the rotated buffers (following, current, previous).
    """
    dt2 = time_step * time_step
    dt4_12 = dt2 * dt2 / 12.0
    half_dt = 0.5 * time_step
    ibool = operator[0]
    derivative = operator[2]
    for k in range(last_step - 1, first_step - 1, -1):
        _step(following_adjoint, current_adjoint, previous_adjoint, work[0], work[1], work[2], mass, damping,
              dirichlet_mask, time_step, operator, receiver_nodes, receiver_weights, zero_series[k], adjoint_series[k])
        if k < final_step:
            row = k + 1 - first_stored_step
            u_before = stored_states[row - 1]
            u_now = stored_states[row]
            u_after = stored_states[row + 1]
            y_now = stored_residuals[k - first_stored_step]
            combined = work[3]
            for node in prange(current_adjoint.shape[0]):
                mu = current_adjoint[node]
                mass_sensitivity[node] += mu * (u_after[node] - 2.0 * u_now[node] + u_before[node]) \
                    + dt4_12 * work[1, node] * y_now[node]
                damping_sensitivity[node] += half_dt * mu * (u_after[node] - u_before[node])
                combined[node] = dt2 * u_now[node] + dt4_12 * y_now[node]
            accumulate_gradient_products(current_adjoint, combined, work[1], u_now, dt4_12, kappa_sensitivity, ibool,
                                         geometric, derivative)
        following_adjoint, current_adjoint, previous_adjoint = current_adjoint, previous_adjoint, following_adjoint
    return following_adjoint, current_adjoint, previous_adjoint
