"""The expected per-step recursion of the mode variables (finite d, steps of 1/d in time).

For minibatch SGD on Gaussian data (and fixed-preconditioner SGD, which is SGD on ``K̃``) Wick's
formula closes the diagonal of ``E[e eᵀ]`` in the eigenbasis, so

    D_i ← (1 − 2γκ_i/d + (1 + 1/B) γ² κ_i² / d²) D_i + (γ² / (B d²)) κ_i (P + E ε²)

is the *exact* mean at every finite d (docs/sgd.md §2). For
the generic system it is the step ``D_i ← D_i + (1/d)·rhs`` with the coefficients frozen at the step.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hdlimits.core.schedules import evaluate

# The coefficient functions this copy of the module is compiled for (see hdlimits/solvers/specialize.py,
# which writes copies of this file with these lines replaced). Absolute imports only.
from hdlimits.solvers.coefficients import one as _A  # specialize: a
from hdlimits.solvers.coefficients import residual_second_moment as _B  # specialize: b
from hdlimits.solvers.coefficients import zero as _H  # specialize: h


@nb.njit(cache=True, nogil=True)
def recurse(kappa, mass, w, D_init, d, curv, hs, s_kind, s_par, cpar, steps_out,
            div_threshold, store_modes, p_slots, p_kind, p_par, p_scale):
    """Run ``steps_out[-1]`` steps; return ``(P_out, D_out, status, step_status)``.

    ``mass``: the multiplicities m_i of the modes; ``P = Σ m_i κ_i D_i`` (ones: the plain sum).
    ``curv, hs``: the constant finite-d coefficient h and the coefficients (b_slope, func, drift_a,
    drift_b, a_weight) of its state-dependent part: the ``κ²`` term of a step is
    ``(γ²(h + hs0·b'(P) + hs1·H(P) + hs4·a(P)) + γ(hs2·a(P) + hs3·b'(P)))/d²`` (all zero: constant h).
    """
    h_var = False
    for k in range(hs.size):
        if hs[k] != 0.0:
            h_var = True
    n = kappa.size
    mk = np.empty(n)
    for i in range(n):
        mk[i] = mass[i] * kappa[i]
    n_out = steps_out.size
    P_out = np.full(n_out, np.inf)
    D_out = np.zeros((n_out if store_modes else 0, n))
    D = D_init.copy()
    P = 0.0
    for i in range(n):
        P += mk[i] * D[i]
    cp = cpar.copy()
    io = 0
    k = 0
    last = steps_out[n_out - 1] if n_out else 0
    while True:
        while io < n_out and steps_out[io] == k:
            P_out[io] = P
            if store_modes:
                D_out[io, :] = D
            io += 1
        if k >= last:
            break
        g = evaluate(s_kind, s_par, k / d)
        if p_slots.size:
            v = p_scale * evaluate(p_kind, p_par, k / d)
            for j in range(p_slots.size):
                cp[p_slots[j]] = v
        a = _A(P, cp)
        fb = g * g * _B(P, cp) / (d * d)
        c1 = 2.0 * g * a / d
        if h_var:
            x = curv
            y = 0.0
            if hs[0] != 0.0 or hs[3] != 0.0:
                e = 1e-4 * abs(P) + 1e-300
                if P > e:
                    bs = (_B(P + e, cp) - _B(P - e, cp)) / (2.0 * e)
                else:
                    bs = (_B(P + e, cp) - _B(P, cp)) / e
                x += hs[0] * bs
                y += hs[3] * bs
            if hs[1] != 0.0:
                x += hs[1] * _H(P, cp)
            x += hs[4] * a
            y += hs[2] * a
            c2 = (g * g * x + g * y) / (d * d)
        else:
            c2 = curv * g * g / (d * d)
        Pn = 0.0
        for i in range(n):
            ka = kappa[i]
            Di = D[i] * (1.0 - ka * (c1 - c2 * ka)) + fb * w[i]
            D[i] = Di
            Pn += mk[i] * Di
        P = Pn
        k += 1
        if not math.isfinite(P) or P > div_threshold:
            return P_out, D_out, 1, k
    return P_out, D_out, 0, k
