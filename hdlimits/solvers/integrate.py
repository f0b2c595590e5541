"""Numba integrator for the generic mode system (see :mod:`hdlimits.solvers.modes`).

Scheme: exponential collocation in each mode's own clock.
Over a step ``[t, t+h]`` with nodes ``s = 0, h/2, h`` the per-mode rate is
``ρ_i(s) = κ_i A(s) − κ_i² H(s)/d`` with the scalars ``A = 2γa(P)``, ``H = hγ²``; both are interpolated
quadratically through the nodes and integrated exactly, which gives each mode its clock
``φ_i(s) = ∫ρ_i``. In the clock variable the equation is ``dD_i/dφ = −D_i + G_i`` with the forcing per
unit clock ``G_i = γ b(P) w_i / (d (2κ_i a − hγκ_i²/d))``; ``G_i`` is interpolated quadratically in the
clock through the three nodes and the convolution with ``e^{−φ}`` is done in closed form with the
φ-functions ``φ_k(z) = Σ z^n/(n+k)!``. Stiff modes are therefore exact whatever the step, and the only
approximation is the smoothness of scalar functions of time; the unknown node values ``P(h/2), P(h)``
are found by a 2×2 chord solve inside an a(P) fixed-point loop (the per-mode work is linear in the node
values of ``b``). The per-mode pieces live in :mod:`hdlimits.solvers.collocation`.
The local error is estimated by the difference with a cubic interpolant that also uses the previous
node; steps grow geometrically when the solution is smooth, so long horizons cost O(log t) steps.
When ``a`` depends on ``P`` the node values are found by Newton with the analytic sensitivity of the
clocks (docs/integrator.md §16): about two passes over the modes per step instead of three to four.
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

from hdlimits.solvers.collocation import _dense_state, _mode_pass, _quad_integral

OK, DIVERGED, STEP_FAILED, STEP_BUDGET = 0, 1, 2, 3


@nb.njit(cache=True, nogil=True, inline="always")
def _set_params(cp, slots, p_kind, p_par, p_scale, t):
    """Time-dependent coefficient parameters: ``cp[slots] = scale·schedule(t)``."""
    if slots.size:
        v = p_scale * evaluate(p_kind, p_par, t)
        for k in range(slots.size):
            cp[slots[k]] = v


@nb.njit(cache=True, nogil=True, inline="always")
def _b_slope(P, cp):
    """``b'(P)`` by central differences (one-sided next to 0); ``2b'`` is the Gaussian finite-d
    coefficient of a residual update (docs/integrator.md §17)."""
    e = 1e-4 * abs(P) + 1e-300
    if P > e:
        return (_B(P + e, cp) - _B(P - e, cp)) / (2.0 * e)
    return (_B(P + e, cp) - _B(P, cp)) / e


@nb.njit(cache=True, nogil=True, inline="always")
def _curv_node(j, P, cp, g, curv, hs, h_var, Hn, hg):
    """The finite-d coefficient at node ``j``: ``Hn[j]`` multiplies ``κ²/d`` in the rate and
    ``hg[j] = Hn[j]/γ``. Constant: ``Hn = h γ²``. State-dependent (``hs`` = b_slope, func, drift_a,
    drift_b, a_weight; :class:`~hdlimits.solvers.modes.StateCurvature`):
    ``Hn = γ²(h + hs0·b'(P) + hs1·H(P) + hs4·a(P)) + γ(hs2·a(P) + hs3·b'(P))``."""
    if not h_var:
        Hn[j] = curv * g ** 2
        hg[j] = curv * g
        return
    x = curv
    y = 0.0
    if hs[0] != 0.0 or hs[3] != 0.0:
        bs = _b_slope(P, cp)
        x += hs[0] * bs
        y += hs[3] * bs
    if hs[1] != 0.0:
        x += hs[1] * _H(P, cp)
    if hs[2] != 0.0 or hs[4] != 0.0:
        av = _A(P, cp)
        x += hs[4] * av
        y += hs[2] * av
    hg[j] = g * x + y
    Hn[j] = g * hg[j]


@nb.njit(cache=True, nogil=True)
def _solve_nodes(c_mid, c_end, S, b0, P1, P2, cp1, cp2):
    """Solve ``P_k = c_k + b0 S_k0 + b(P1) S_k1 + b(P2) S_k2`` (k = mid, end) for ``(P1, P2)``.

    Chord method: the Jacobian (``b'`` by central differences) is formed once at the starting guess,
    so each further iteration costs two evaluations of ``b`` (which may itself be a quadrature); it is
    re-formed if the iteration stops contracting. Exact in one iteration when ``b`` is affine (SGD).
    """
    b1 = _B(P1, cp1)
    b2 = _B(P2, cp2)
    F1 = P1 - c_mid - b0 * S[0, 0] - b1 * S[0, 1] - b2 * S[0, 2]
    F2 = P2 - c_end - b0 * S[1, 0] - b1 * S[1, 1] - b2 * S[1, 2]
    have_jac = False
    j11 = j12 = j21 = j22 = det = 0.0
    prev = np.inf
    for _ in range(60):
        if not have_jac:
            e1 = 1e-7 * (abs(P1) + 1e-300)
            e2 = 1e-7 * (abs(P2) + 1e-300)
            db1 = (_B(P1 + e1, cp1) - _B(P1 - e1, cp1)) / (2 * e1) if P1 > e1 else \
                (_B(P1 + e1, cp1) - b1) / e1
            db2 = (_B(P2 + e2, cp2) - _B(P2 - e2, cp2)) / (2 * e2) if P2 > e2 else \
                (_B(P2 + e2, cp2) - b2) / e2
            j11 = 1.0 - db1 * S[0, 1]
            j12 = -db2 * S[0, 2]
            j21 = -db1 * S[1, 1]
            j22 = 1.0 - db2 * S[1, 2]
            det = j11 * j22 - j12 * j21
            if det == 0.0 or not math.isfinite(det):
                return P1, P2, False
            have_jac = True
        d1 = (F1 * j22 - F2 * j12) / det
        d2 = (j11 * F2 - j21 * F1) / det
        P1 -= d1
        P2 -= d2
        if not (math.isfinite(P1) and math.isfinite(P2)):
            return P1, P2, False
        if abs(d1) <= 1e-14 * abs(P1) + 1e-300 and abs(d2) <= 1e-14 * abs(P2) + 1e-300:
            return P1, P2, True
        b1 = _B(P1, cp1)
        b2 = _B(P2, cp2)
        F1 = P1 - c_mid - b0 * S[0, 0] - b1 * S[0, 1] - b2 * S[0, 2]
        F2 = P2 - c_end - b0 * S[1, 0] - b1 * S[1, 1] - b2 * S[1, 2]
        size = abs(F1) + abs(F2)
        if size > 0.5 * prev:
            have_jac = False          # slow contraction: refresh the Jacobian
        prev = size
    return P1, P2, True


@nb.njit(cache=True, nogil=True, inline="always")
def _extrapolate(p0, p1, p2, hp, s):
    """The quadratic through ``(−hp, p0), (−hp/2, p1), (0, p2)`` at ``s``."""
    x = s / hp
    return (p0 * (x + 0.5) * x * 2.0 - p1 * (x + 1.0) * x * 4.0 + p2 * (x + 1.0) * (x + 0.5) * 2.0)


@nb.njit(cache=True, nogil=True)
def _newton(x1, x2, g1, g2, S, SA, gam, cp1, cp2, J):
    """A Newton step for the node values ``x = G(x)`` of the ``a(P)`` iteration.

    ``G`` solves ``P_k = c_k(A) + Σ_j b(P_j) S_kj`` for given node values of ``A = 2γa``;
    ``dG/dA = (I − S'_b)⁻¹ SA`` (``S'_b`` the chord Jacobian's b-part at ``g``, ``SA`` from the mode
    pass) and ``dA_j/dx_j = 2γ_j a'(x_j)`` (central differences). Returns
    ``(x1', x2', est1, est2, ok)`` with ``x' = x + (I − J)⁻¹ f``, ``f = g − x``, and ``est = J (I − J)⁻¹ f``
    the estimated distance of ``g`` from the fixed point.
    """
    e1 = 1e-6 * abs(g1) + 1e-300
    e2 = 1e-6 * abs(g2) + 1e-300
    db1 = (_B(g1 + e1, cp1) - _B(max(g1 - e1, 0.0), cp1)) / (g1 + e1 - max(g1 - e1, 0.0))
    db2 = (_B(g2 + e2, cp2) - _B(max(g2 - e2, 0.0), cp2)) / (g2 + e2 - max(g2 - e2, 0.0))
    k1 = 1e-6 * abs(x1) + 1e-300
    k2 = 1e-6 * abs(x2) + 1e-300
    da1 = 2.0 * gam[1] * (_A(x1 + k1, cp1) - _A(max(x1 - k1, 0.0), cp1)) / (x1 + k1 - max(x1 - k1, 0.0))
    da2 = 2.0 * gam[2] * (_A(x2 + k2, cp2) - _A(max(x2 - k2, 0.0), cp2)) / (x2 + k2 - max(x2 - k2, 0.0))
    # (I − S'_b)
    m11 = 1.0 - db1 * S[0, 1]
    m12 = -db2 * S[0, 2]
    m21 = -db1 * S[1, 1]
    m22 = 1.0 - db2 * S[1, 2]
    det = m11 * m22 - m12 * m21
    if det == 0.0 or not math.isfinite(det):
        return x1, x2, 0.0, 0.0, False
    # J = (I − S'_b)⁻¹ SA diag(da)
    for c in range(2):
        da = da1 if c == 0 else da2
        r1 = SA[0, c] * da
        r2 = SA[1, c] * da
        J[0, c] = (m22 * r1 - m12 * r2) / det
        J[1, c] = (m11 * r2 - m21 * r1) / det
    f1 = g1 - x1
    f2 = g2 - x2
    n11 = 1.0 - J[0, 0]
    n12 = -J[0, 1]
    n21 = -J[1, 0]
    n22 = 1.0 - J[1, 1]
    dn = n11 * n22 - n12 * n21
    if dn == 0.0 or not math.isfinite(dn):
        return x1, x2, 0.0, 0.0, False
    s1 = (n22 * f1 - n12 * f2) / dn
    s2 = (n11 * f2 - n21 * f1) / dn
    y1 = x1 + s1
    y2 = x2 + s2
    est1 = J[0, 0] * s1 + J[0, 1] * s2
    est2 = J[1, 0] * s1 + J[1, 1] * s2
    if not (y1 > 0.0 and y2 > 0.0 and math.isfinite(y1) and math.isfinite(y2)):
        return x1, x2, 0.0, 0.0, False
    return y1, y2, est1, est2, True


@nb.njit(cache=True, nogil=True)
def _anderson(x1, x2, g1, g2, hist, n_hist):
    """One Anderson step for the fixed point ``x = G(x)`` in two unknowns (``g = G(x)``).

    With the residuals ``f = g − x`` of this and up to two earlier iterates, the mixing coefficients
    minimise ``‖f_k − ΔF γ‖`` (``ΔF`` the residual differences); the next iterate is ``g_k − ΔG γ``.
    With two differences in two unknowns this is the secant (exact for an affine G). Returns
    ``(x1', x2', n_hist')``; falls back to the plain iterate ``g`` when the differences are degenerate
    or the mixed iterate is not positive. ``hist`` rows: ``(x1, x2, g1, g2)``, most recent first.
    """
    f1 = g1 - x1
    f2 = g2 - x2
    n1 = g1
    n2 = g2
    m = n_hist
    if m >= 1:
        a11 = f1 - (hist[0, 2] - hist[0, 0])
        a21 = f2 - (hist[0, 3] - hist[0, 1])
        if m >= 2:
            a12 = f1 - (hist[1, 2] - hist[1, 0])
            a22 = f2 - (hist[1, 3] - hist[1, 1])
            det = a11 * a22 - a12 * a21
            scale = (abs(a11) + abs(a21)) * (abs(a12) + abs(a22))
            if det != 0.0 and abs(det) > 1e-10 * scale:
                c1 = (f1 * a22 - f2 * a12) / det
                c2 = (a11 * f2 - a21 * f1) / det
                n1 = g1 - c1 * (g1 - hist[0, 2]) - c2 * (g1 - hist[1, 2])
                n2 = g2 - c1 * (g2 - hist[0, 3]) - c2 * (g2 - hist[1, 3])
                m = 1                  # restart from the last pair: keeps the secant well conditioned
            else:
                m = 1
        if m == 1 and n1 == g1 and n2 == g2:
            nn = a11 * a11 + a21 * a21
            if nn > 0.0:
                c1 = (a11 * f1 + a21 * f2) / nn
                n1 = g1 - c1 * (g1 - hist[0, 2])
                n2 = g2 - c1 * (g2 - hist[0, 3])
    hist[1, :] = hist[0, :]
    hist[0, 0] = x1
    hist[0, 1] = x2
    hist[0, 2] = g1
    hist[0, 3] = g2
    if not (n1 > 0.0 and n2 > 0.0 and math.isfinite(n1) and math.isfinite(n2)):
        n1 = g1
        n2 = g2
    return n1, n2, min(m + 1, 2)


@nb.njit(cache=True, nogil=True)
def integrate(kappa, mass, w, D_init, d, curv, hs, s_kind, s_par, cpar, a_const,
              t_out, breaks, rtol, atol, h_init, div_threshold, max_steps, store_modes,
              fixed_step, p_slots, p_kind, p_par, p_scale):
    """Integrate the mode system; return ``(P_out, D_out, status, t_status, n_steps, n_rejected)``.

    ``t_out`` sorted, ≥ 0. ``breaks``: times where the schedule has kinks or jumps (steps stop there).
    ``fixed_step > 0`` switches step control off (every step has that length; used to measure the order).
    ``p_slots, p_kind, p_par, p_scale``: coefficient parameters that follow a schedule (see ModeSystem).
    ``mass``: the multiplicities m_i of the modes; ``P = Σ m_i κ_i D_i`` (ones: the plain sum).
    ``curv, hs``: the constant finite-d coefficient and the four coefficients of its state-dependent
    part (all zero: constant, the original scheme bit for bit; see :func:`_curv_node`).
    ``status``: 0 ok, 1 diverged (P above ``div_threshold`` or not finite), 2 step size underflow.
    """
    n = kappa.size
    n_out = t_out.size
    P_out = np.full(n_out, np.inf)
    D_out = np.zeros((n_out if store_modes else 0, n))
    mk = np.empty(n)
    for i in range(n):
        mk[i] = mass[i] * kappa[i]
    D = D_init.copy()
    Dn = np.empty(n)
    E2 = np.empty(n)
    GW = np.empty((n, 3))
    S = np.empty((2, 3))
    Scub = np.empty(4)
    Slin = np.empty(2)
    gam = np.empty(3)
    hist = np.empty((2, 4))       # Anderson history of the a(P) iteration: rows (x1, x2, g1, g2)
    SA = np.zeros((2, 2))         # sensitivity of the node values to the node values of A = 2γa
    JN = np.zeros((2, 2))
    aval = np.empty(3)
    bval = np.empty(3)
    Hn = np.empty(3)              # node values of the finite-d coefficient times γ² (see _curv_node)
    hg = np.empty(3)              # the same divided by γ
    h_var = False
    for k in range(hs.size):
        if hs[k] != 0.0:
            h_var = True
    cp0 = cpar.copy()
    cp1 = cpar.copy()
    cp2 = cpar.copy()
    P = 0.0
    for i in range(n):
        P += mk[i] * D[i]
    t = 0.0
    io = 0
    while io < n_out and t_out[io] <= 0.0:
        P_out[io] = P
        if store_modes:
            D_out[io, :] = D
        io += 1
    if io == n_out:
        return P_out, D_out, OK, 0.0, 0, 0
    t_end = t_out[n_out - 1]
    ib = 0
    h = h_init
    has_prev = False
    Up = Vp = gam_m = a_m = b_m = hg_m = 0.0
    n_steps = 0
    n_rej = 0
    P1 = P
    P2 = P
    slope = 0.0
    h_p = P_pp = P_pm = 0.0   # the previous accepted step: its length, P at its start and midpoint
    grew = False          # a rejected trial since the last accepted step had P rising beyond rtol
    while t < t_end:
        if n_steps + n_rej >= max_steps:
            return P_out, D_out, STEP_BUDGET, t, n_steps, n_rej
        while ib < breaks.size and breaks[ib] <= t * (1 + 1e-14) + 1e-300:
            ib += 1
        if fixed_step > 0.0:
            h = fixed_step
        h = min(h, t_end - t)
        if ib < breaks.size:
            h = min(h, breaks[ib] - t)
        # schedules are sampled just inside the step so that a jump at t or t+h is seen from the right
        # side; the offset must stay far below h, or the end node lands before the step (a step that
        # sees the old learning rate at its end never meets the tolerance, and h collapses)
        tiny = min(1e-13 * max(1.0, t + h), 1e-3 * h)
        gam[0] = evaluate(s_kind, s_par, t + tiny)
        gam[1] = evaluate(s_kind, s_par, t + 0.5 * h)
        gam[2] = evaluate(s_kind, s_par, t + h - tiny)
        _set_params(cp0, p_slots, p_kind, p_par, p_scale, t + tiny)
        _set_params(cp1, p_slots, p_kind, p_par, p_scale, t + 0.5 * h)
        _set_params(cp2, p_slots, p_kind, p_par, p_scale, t + h - tiny)
        aval[0] = _A(P, cp0)
        bval[0] = _B(P, cp0)
        _curv_node(0, P, cp0, gam[0], curv, hs, h_var, Hn, hg)
        # predictor for the node values
        P1 = P + 0.5 * h * slope
        P2 = P + h * slope
        if has_prev and not a_const and h <= 2.0 * h_p:
            # the quadratic through the previous step's nodes (−h_p, −h_p/2, 0): the a(P) iteration then
            # often starts within its tolerance (docs/integrator.md §16)
            P1 = _extrapolate(P_pp, P_pm, P, h_p, 0.5 * h)
            P2 = _extrapolate(P_pp, P_pm, P, h_p, h)
        if P1 < 0.0 or P2 < 0.0:
            P1 = P
            P2 = P
        ok = True
        n_hist = 0
        for it in range(30):
            aval[1] = _A(P1, cp1)
            aval[2] = _A(P2, cp2)
            A0, A1, A2 = 2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2]
            _curv_node(1, P1, cp1, gam[1], curv, hs, h_var, Hn, hg)
            _curv_node(2, P2, cp2, gam[2], curv, hs, h_var, Hn, hg)
            H0, H1, H2 = Hn[0], Hn[1], Hn[2]
            U1 = _quad_integral(A0, A1, A2, h, 0.5)
            U2 = _quad_integral(A0, A1, A2, h, 1.0)
            V1 = _quad_integral(H0, H1, H2, h, 0.5)
            V2 = _quad_integral(H0, H1, H2, h, 1.0)
            if not a_const:
                bval[1] = _B(P1, cp1)
                bval[2] = _B(P2, cp2)
            c_mid, c_end = _mode_pass(kappa, mk, w, D, d, Hn, hg, gam, aval, U1, U2, V1, V2, has_prev,
                                      Up, Vp, gam_m, a_m, hg_m, h, True, E2, GW, S, Scub, Slin, bval, SA)
            P1n, P2n, ok = _solve_nodes(c_mid, c_end, S, bval[0], P1, P2, cp1, cp2)
            if not ok:
                break
            # a(P) is re-evaluated at the new node values until they move by less than a thousandth of
            # the step tolerance (the solve is exact when a is constant: one pass)
            ftol = 0.05 * rtol
            conv = abs(P1n - P1) <= ftol * abs(P1n) + atol and abs(P2n - P2) <= ftol * abs(P2n) + atol
            if a_const or conv:
                P1 = P1n
                P2 = P2n
                break
            # Newton on x = G(x) (x = the node values, G = the solve above) with the analytic
            # sensitivity J = dG/dx of the clocks (docs/integrator.md §16); the state of this pass is
            # accepted when its estimated distance to the fixed point, |J (I − J)⁻¹ (G(x) − x)|, is
            # within half the tolerance above
            nx1, nx2, e1, e2, jok = _newton(P1, P2, P1n, P2n, S, SA, gam, cp1, cp2, JN)
            if jok and abs(e1) <= 0.5 * (ftol * abs(P1n) + atol) and abs(e2) <= 0.5 * (ftol * abs(P2n) + atol):
                P1 = P1n
                P2 = P2n
                break
            if jok:
                P1 = nx1
                P2 = nx2
            else:
                P1, P2, n_hist = _anderson(P1, P2, P1n, P2n, hist, n_hist)
        bval[1] = _B(P1, cp1)
        bval[2] = _B(P2, cp2)
        if ok:
            ok = math.isfinite(P2) and P1 >= -1e-12 * abs(P) and P2 >= -1e-12 * abs(P)
        if ok:
            if has_prev:
                Pcub = P2 + b_m * Scub[0] + bval[0] * Scub[1] + bval[1] * Scub[2] + bval[2] * Scub[3]
            else:
                Pcub = c_end + bval[0] * Slin[0] + bval[2] * Slin[1]
            err = abs(Pcub - P2) / (atol + rtol * abs(P2))
        else:
            err = 1e300
        if P2 > div_threshold or not math.isfinite(P2):
            if ok or h < 1e-12 * max(t, 1.0):
                # genuine blow-up: report the first time P crosses the threshold
                while io < n_out:
                    io += 1
                return P_out, D_out, DIVERGED, t + h, n_steps, n_rej
        if err > 1.0 and fixed_step <= 0.0:
            n_rej += 1
            h *= max(0.2, 0.9 * err ** -0.25) if ok else 0.25
            # evidence of blow-up in the rejected trial: the solved P rises beyond the tolerance, or the
            # free evolution alone (c_end = Σ m κ e^{-φ} D, no forcing) does, i.e. some mode is
            # anti-damped (clock φ < 0) — then the solve itself may have overflowed
            if (ok and P2 - P > rtol * P) or c_end - P > rtol * P:
                grew = True
            # underflow: h no longer resolves t (a few ulps of t; relative, not absolute: near t = 0 a
            # learning rate of 1e6 has time scale 1e-12, which steps of 1e-15 follow accurately)
            if h < 4e-15 * t or h < 1e-300:
                if grew:
                    # P rises beyond the tolerance within a few ulps of t: at that rate (≥ ~1e11/t) it
                    # crosses the threshold (≤ 23 e-folds away) within ~1e-10·t, i.e. at t
                    return P_out, D_out, DIVERGED, t, n_steps, n_rej
                return P_out, D_out, STEP_FAILED, t, n_steps, n_rej
            continue
        # accepted: outputs inside (t, t+h]
        while io < n_out and t_out[io] <= t + h * (1 + 1e-14):
            sig = (t_out[io] - t) / h
            if sig >= 1.0 - 1e-12:
                for i in range(n):
                    Dn[i] = E2[i] * D[i] + bval[0] * GW[i, 0] + bval[1] * GW[i, 1] + bval[2] * GW[i, 2]
            else:
                _dense_state(kappa, w, D, d, Hn, hg, gam, aval, bval, h, sig, Dn)
            Ps = 0.0
            for i in range(n):
                Ps += mk[i] * Dn[i]
            P_out[io] = Ps
            if store_modes:
                D_out[io, :] = Dn
            io += 1
        for i in range(n):
            D[i] = E2[i] * D[i] + bval[0] * GW[i, 0] + bval[1] * GW[i, 1] + bval[2] * GW[i, 2]
        Pn = 0.0
        for i in range(n):
            Pn += mk[i] * D[i]
        slope = (Pn - P) / h
        h_p = h
        P_pp = P
        P_pm = P1
        # previous node = this step's start
        Up = _quad_integral(2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2], h, 1.0)
        Vp = _quad_integral(Hn[0], Hn[1], Hn[2], h, 1.0)
        gam_m = gam[0]
        hg_m = hg[0]
        a_m = aval[0]
        b_m = bval[0]
        has_prev = True
        grew = False
        P = Pn
        t = t + h
        n_steps += 1
        if ib < breaks.size and t >= breaks[ib] * (1 - 1e-14):
            has_prev = False  # do not interpolate across a kink of the schedule
            slope = 0.0
        h = h * min(4.0, max(0.2, 0.9 * max(err, 1e-30) ** -0.25))
        if not math.isfinite(P) or P > div_threshold:
            return P_out, D_out, DIVERGED, t, n_steps, n_rej
    return P_out, D_out, OK, t, n_steps, n_rej
