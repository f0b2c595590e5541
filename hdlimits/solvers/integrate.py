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
are found by a scalar Newton solve (the per-mode work is linear in the node values of ``b``).
The local error is estimated by the difference with a cubic interpolant that also uses the previous
node; steps grow geometrically when the solution is smooth, so long horizons cost O(log t) steps.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hdlimits.core.schedules import evaluate

# The coefficient pair this copy of the module is compiled for (see hdlimits/limits/specialize.py,
# which writes copies of this file with these two lines replaced). Absolute imports only.
from hdlimits.solvers.coefficients import one as _A  # specialize: a
from hdlimits.solvers.coefficients import residual_second_moment as _B  # specialize: b

OK, DIVERGED, STEP_FAILED, STEP_BUDGET = 0, 1, 2, 3


_NSER = 22
_INV_FACT4 = np.array([1.0 / math.factorial(n + 4) for n in range(_NSER)])


@nb.njit(cache=True, nogil=True, inline="always")
def _phi4(z, out):
    """out[0..4] = e^z, φ1(z) .. φ4(z), with φ_k(z) = Σ_n z^n/(n+k)!.

    |z| < 2: a Horner series for φ4 and the stable upward recurrence φ_k = z φ_{k+1} + 1/k!;
    otherwise the closed forms from e^z (no cancellation worth a digit there).
    """
    if abs(z) < 2.0:
        acc = 0.0
        for n in range(_NSER - 1, -1, -1):
            acc = acc * z + _INV_FACT4[n]
        out[4] = acc
        out[3] = z * acc + 1.0 / 6.0
        out[2] = z * out[3] + 0.5
        out[1] = z * out[2] + 1.0
        out[0] = z * out[1] + 1.0
    else:
        ez = math.exp(z)
        out[0] = ez
        out[1] = (ez - 1.0) / z
        out[2] = (out[1] - 1.0) / z
        out[3] = (out[2] - 0.5) / z
        out[4] = (out[3] - 1.0 / 6.0) / z


@nb.njit(cache=True, nogil=True, inline="always")
def _weights3(c, phi2, te, ph, out):
    """Weights ``out[j] = ∫_0^{θe} e^{−φ2(θe−θ)} L_j(θ) φ2 dθ`` for the quadratic Lagrange basis on the
    clock nodes (0, c, 1); ``ph`` holds the φ-functions at ``z = −φ2·θe``."""
    J0 = ph[1]
    J1 = te * ph[2]
    J2 = te * te * 2.0 * ph[3]
    f = phi2 * te
    out[0] = f * (J2 / c - (1.0 + c) / c * J1 + J0)
    cc = c * (c - 1.0)
    out[1] = f * (J2 - J1) / cc
    out[2] = f * (J2 - c * J1) / (1.0 - c)


@nb.njit(cache=True, nogil=True, inline="always")
def _quad_integral(f0, f1, f2, h, sig):
    """∫_0^{σh} of the quadratic through (0, f0), (h/2, f1), (h, f2)."""
    s2 = sig * sig
    s3 = s2 * sig
    return h * (f0 * (sig - 1.5 * s2 + 2.0 * s3 / 3.0) + f1 * (2.0 * s2 - 4.0 * s3 / 3.0)
                + f2 * (-0.5 * s2 + 2.0 * s3 / 3.0))


#: a mode whose decay rate 2γκa − hγ²κ²/d is this close to cancelling (relative to its two terms), or
#: zero, is stepped in time by Simpson's rule instead of in its own clock (docs/integrator.md §14)
NEAR_ZERO_RATE = 1e-2


@nb.njit(cache=True, nogil=True, inline="always")
def _near_zero_mode(i, ka, mka, wi, Di, d, gam, h, phi1, phi2, phiq, has_prev, store, E2, GW, S, Scub,
                    Slin):
    """A mode whose clock hardly advances or is degenerate (rate ≈ 0: the dividing forcing per unit
    clock is ill-conditioned). In time, ``D(h) = e^{−φ(h)}D(0) + ∫_0^h e^{−(φ(h)−φ(s))} f(s) ds`` with
    ``f = γ² b w/d``; the integral is taken by Simpson's rule on the step's nodes (and on [0, h/2] with
    f interpolated at h/4 for the midpoint node). Its error estimate is the trapezoid-minus-Simpson
    difference (conservative). Adds the mode's forcing weights to ``S`` and the estimate sums."""
    f0 = gam[0] * gam[0] * wi / d
    f1 = gam[1] * gam[1] * wi / d
    f2 = gam[2] * gam[2] * wi / d
    e_end0 = math.exp(-phi2)             # e^{-(φ(h) - φ(0))}
    e_end1 = math.exp(-(phi2 - phi1))    # e^{-(φ(h) - φ(h/2))}
    w10 = h / 6.0 * f0 * e_end0
    w11 = 4.0 * h / 6.0 * f1 * e_end1
    w12 = h / 6.0 * f2
    S[1, 0] += mka * w10
    S[1, 1] += mka * w11
    S[1, 2] += mka * w12
    # midpoint node: Simpson on [0, h/2], f(h/4) = 3/8 f0 + 3/4 f1 − 1/8 f2
    m0 = math.exp(-phi1)
    mq = math.exp(-(phi1 - phiq))
    S[0, 0] += mka * h / 12.0 * f0 * (m0 + 4.0 * mq * 0.375)
    S[0, 1] += mka * h / 12.0 * f1 * (4.0 * mq * 0.75 + 1.0)
    S[0, 2] += mka * h / 12.0 * f2 * (4.0 * mq * -0.125)
    # error estimates: the trapezoid rule on the step's end points
    t0 = h / 2.0 * f0 * e_end0
    t2 = h / 2.0 * f2
    Slin[0] += mka * t0
    Slin[1] += mka * t2
    if has_prev:
        Scub[1] += mka * (t0 - w10)
        Scub[2] += mka * (-w11)
        Scub[3] += mka * (t2 - w12)
    if store:
        E2[i] = e_end0
        GW[i, 0] = w10
        GW[i, 1] = w11
        GW[i, 2] = w12


@nb.njit(cache=True, nogil=True)
def _mode_pass(kappa, mk, w, D0, d, curv, gam, aval, U1, U2, V1, V2, has_prev, Up, Vp, gam_m, a_m,
               h, store, E2, GW, S, Scub, Slin):
    """One pass over the modes for fixed node scalars.

    ``mk[i] = m_i κ_i`` is the weight of mode i in ``P`` (mass times eigenvalue; see ModeSystem).
    Fills ``S[k, j]`` (k = 0: node h/2, k = 1: node h; j = forcing node 0, 1, 2) with
    ``Σ_i m_i κ_i g_ij W^{(k)}_ij`` where ``G_ij = b_j g_ij``, and returns the free decays
    ``(c_mid, c_end)``. ``Scub`` (j = −1..2) holds the end-of-step sums of the cubic-minus-quadratic
    correction and ``Slin`` (j = 0, 2) those of the linear interpolant (error estimates). With ``store``, per-mode end weights go to
    ``E2`` and ``GW`` (for the state update).
    """
    n = kappa.size
    ph = np.empty(5)
    ph1 = np.empty(5)
    wq = np.empty(4)
    wc = np.empty(4)
    g = np.empty(4)
    for k in range(2):
        for j in range(3):
            S[k, j] = 0.0
    for j in range(4):
        Scub[j] = 0.0
    Slin[0] = 0.0
    Slin[1] = 0.0
    c_mid = 0.0
    c_end = 0.0
    # clock integrals at h/4 (only the near-zero-rate branch below uses them)
    Uq = _quad_integral(2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2], h, 0.25)
    Vq = _quad_integral(curv * gam[0] ** 2, curv * gam[1] ** 2, curv * gam[2] ** 2, h, 0.25)
    for i in range(n):
        ka = kappa[i]
        phi1 = ka * U1 - ka * ka * V1 / d
        phi2 = ka * U2 - ka * ka * V2 / d
        near_zero = ka == 0.0 or phi2 == 0.0
        if not near_zero:
            for j in range(3):
                drift = 2.0 * ka * aval[j]
                curv_term = curv * gam[j] * ka * ka / d
                den = drift - curv_term
                if abs(den) <= NEAR_ZERO_RATE * (abs(drift) + abs(curv_term)):
                    near_zero = True
                    break
                g[j] = gam[j] * w[i] / (d * den)
        if near_zero:
            _near_zero_mode(i, ka, mk[i], w[i], D0[i], d, gam, h, phi1, phi2, ka * Uq - ka * ka * Vq / d,
                            has_prev, store, E2, GW, S, Scub, Slin)
            c_mid += mk[i] * math.exp(-phi1) * D0[i]
            c_end += mk[i] * math.exp(-phi2) * D0[i]
            continue
        _phi4(-phi1, ph1)
        _phi4(-phi2, ph)
        e1 = ph1[0]
        e2 = ph[0]
        mka = mk[i]
        c_mid += mka * e1 * D0[i]
        c_end += mka * e2 * D0[i]
        c = phi1 / phi2
        # end of step, quadratic
        _weights3(c, phi2, 1.0, ph, wq)
        for j in range(3):
            S[1, j] += mka * g[j] * wq[j]
        if store:
            E2[i] = e2
            for j in range(3):
                GW[i, j] = g[j] * wq[j]
        # midpoint, quadratic
        _weights3(c, phi2, c, ph1, wc)
        for j in range(3):
            S[0, j] += mka * g[j] * wc[j]
        # linear estimate (nodes 0 and 1 in θ)
        Slin[0] += mka * g[0] * phi2 * (ph[1] - ph[2])
        Slin[1] += mka * g[2] * phi2 * ph[2]
        if has_prev:
            # cubic minus quadratic interpolant = G[m, 0, c, 1]·θ(θ−c)(θ−1) with the previous node
            # m < 0; its convolution with e^{−φ2(1−θ)} is φ2 (J3 − (1+c) J2 + c J1)
            phip = ka * Up - ka * ka * Vp / d
            denm = 2.0 * ka * a_m - curv * gam_m * ka * ka / d
            gm = gam_m * w[i] / (d * denm) if denm != 0.0 else 0.0
            m = -phip / phi2
            corr = mka * phi2 * (6.0 * ph[4] - (1.0 + c) * 2.0 * ph[3] + c * ph[2])
            Scub[0] += corr * gm / (m * (m - c) * (m - 1.0))
            Scub[1] += corr * g[0] * (-1.0 / (m * c))
            Scub[2] += corr * g[1] / ((c - m) * c * (c - 1.0))
            Scub[3] += corr * g[2] / ((1.0 - m) * (1.0 - c))
    return c_mid, c_end


@nb.njit(cache=True, nogil=True)
def _dense_state(kappa, w, D0, d, curv, gam, aval, bval, h, sig, out):
    """Per-mode state at ``t + σh`` inside an accepted step (same interpolants as the step)."""
    n = kappa.size
    A0, A1, A2 = 2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2]
    H0, H1, H2 = curv * gam[0] ** 2, curv * gam[1] ** 2, curv * gam[2] ** 2
    U1 = _quad_integral(A0, A1, A2, h, 0.5)
    U2 = _quad_integral(A0, A1, A2, h, 1.0)
    Us = _quad_integral(A0, A1, A2, h, sig)
    V1 = _quad_integral(H0, H1, H2, h, 0.5)
    V2 = _quad_integral(H0, H1, H2, h, 1.0)
    Vs = _quad_integral(H0, H1, H2, h, sig)
    ph = np.empty(5)
    wq = np.empty(3)
    for i in range(n):
        ka = kappa[i]
        phi1 = ka * U1 - ka * ka * V1 / d
        phi2 = ka * U2 - ka * ka * V2 / d
        phis = ka * Us - ka * ka * Vs / d
        ok = ka != 0.0 and phi2 != 0.0
        g0 = g1 = g2 = 0.0
        if ok:
            for j in range(3):
                drift = 2.0 * ka * aval[j]
                curv_term = curv * gam[j] * ka * ka / d
                if abs(drift - curv_term) <= NEAR_ZERO_RATE * (abs(drift) + abs(curv_term)):
                    ok = False
        if ok:
            g0 = gam[0] * w[i] * bval[0] / (d * (2.0 * ka * aval[0] - curv * gam[0] * ka * ka / d))
            g1 = gam[1] * w[i] * bval[1] / (d * (2.0 * ka * aval[1] - curv * gam[1] * ka * ka / d))
            g2 = gam[2] * w[i] * bval[2] / (d * (2.0 * ka * aval[2] - curv * gam[2] * ka * ka / d))
        if not ok:
            # as in _near_zero_mode: Simpson in time on [0, σh] with f on the step's quadratic
            f0 = w[i] * gam[0] ** 2 * bval[0] / d
            f1 = w[i] * gam[1] ** 2 * bval[1] / d
            f2 = w[i] * gam[2] ** 2 * bval[2] / d
            x = 0.5 * sig                                  # the midpoint of [0, σh] in units of h
            fx = f0 * (x - 0.5) * (x - 1.0) * 2.0 - f1 * x * (x - 1.0) * 4.0 + f2 * x * (x - 0.5) * 2.0
            fs = f0 * (sig - 0.5) * (sig - 1.0) * 2.0 - f1 * sig * (sig - 1.0) * 4.0 \
                + f2 * sig * (sig - 0.5) * 2.0
            phix = ka * _quad_integral(A0, A1, A2, h, x) - ka * ka * _quad_integral(H0, H1, H2, h, x) / d
            out[i] = (math.exp(-phis) * D0[i] + sig * h / 6.0 * (math.exp(-phis) * f0
                      + 4.0 * math.exp(-(phis - phix)) * fx + fs))
            continue
        _phi4(-phis, ph)
        _weights3(phi1 / phi2, phi2, phis / phi2, ph, wq)
        out[i] = ph[0] * D0[i] + g0 * wq[0] + g1 * wq[1] + g2 * wq[2]


@nb.njit(cache=True, nogil=True, inline="always")
def _set_params(cp, slots, p_kind, p_par, p_scale, t):
    """Time-dependent coefficient parameters: ``cp[slots] = scale·schedule(t)``."""
    if slots.size:
        v = p_scale * evaluate(p_kind, p_par, t)
        for k in range(slots.size):
            cp[slots[k]] = v


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


@nb.njit(cache=True, nogil=True)
def integrate(kappa, mass, w, D_init, d, curv, s_kind, s_par, cpar, a_const,
              t_out, breaks, rtol, atol, h_init, div_threshold, max_steps, store_modes,
              fixed_step, p_slots, p_kind, p_par, p_scale):
    """Integrate the mode system; return ``(P_out, D_out, status, t_status, n_steps, n_rejected)``.

    ``t_out`` sorted, ≥ 0. ``breaks``: times where the schedule has kinks or jumps (steps stop there).
    ``fixed_step > 0`` switches step control off (every step has that length; used to measure the order).
    ``p_slots, p_kind, p_par, p_scale``: coefficient parameters that follow a schedule (see ModeSystem).
    ``mass``: the multiplicities m_i of the modes; ``P = Σ m_i κ_i D_i`` (ones: the plain sum).
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
    aval = np.empty(3)
    bval = np.empty(3)
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
    Up = Vp = gam_m = a_m = b_m = 0.0
    n_steps = 0
    n_rej = 0
    P1 = P
    P2 = P
    slope = 0.0
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
        # predictor for the node values
        P1 = P + 0.5 * h * slope
        P2 = P + h * slope
        if P1 < 0.0 or P2 < 0.0:
            P1 = P
            P2 = P
        ok = True
        for it in range(30):
            aval[1] = _A(P1, cp1)
            aval[2] = _A(P2, cp2)
            A0, A1, A2 = 2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2]
            H0, H1, H2 = curv * gam[0] ** 2, curv * gam[1] ** 2, curv * gam[2] ** 2
            U1 = _quad_integral(A0, A1, A2, h, 0.5)
            U2 = _quad_integral(A0, A1, A2, h, 1.0)
            V1 = _quad_integral(H0, H1, H2, h, 0.5)
            V2 = _quad_integral(H0, H1, H2, h, 1.0)
            c_mid, c_end = _mode_pass(kappa, mk, w, D, d, curv, gam, aval, U1, U2, V1, V2, has_prev,
                                      Up, Vp, gam_m, a_m, h, True, E2, GW, S, Scub, Slin)
            P1n, P2n, ok = _solve_nodes(c_mid, c_end, S, bval[0], P1, P2, cp1, cp2)
            if not ok:
                break
            # a(P) is re-evaluated at the new node values until they move by less than a thousandth of
            # the step tolerance (the solve is exact when a is constant: one pass)
            ftol = 0.05 * rtol
            conv = abs(P1n - P1) <= ftol * abs(P1n) + atol and abs(P2n - P2) <= ftol * abs(P2n) + atol
            P1 = P1n
            P2 = P2n
            if a_const or conv:
                break
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
                _dense_state(kappa, w, D, d, curv, gam, aval, bval, h, sig, Dn)
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
        # previous node = this step's start
        Up = _quad_integral(2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2], h, 1.0)
        Vp = _quad_integral(curv * gam[0] ** 2, curv * gam[1] ** 2, curv * gam[2] ** 2, h, 1.0)
        gam_m = gam[0]
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
