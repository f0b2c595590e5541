"""The per-mode pieces of the exponential-collocation step (docs/integrator.md §2–§6, §14): φ-functions,
collocation weights in each mode's clock, one pass over the modes for given node scalars, dense output,
and the time-stepped (Simpson) treatment of modes whose decay rate vanishes.

They do not depend on the coefficient pair ``(a, b)``; :mod:`hdlimits.solvers.integrate` (one compiled
copy per pair, see :mod:`hdlimits.solvers.specialize`) drives them.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

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


@nb.njit(cache=True, nogil=True, inline="always")
def _clock_moments(D0, D1, Phi, eP, ph, p1, p2, int1, q1, q2, int2):
    """``∫_0^1 e^{−Φ(1−θ)} L_j(θ) D(θ) dθ`` for the two quadratics ``L_1 = p1 θ + p2 θ²``,
    ``L_2 = q1 θ + q2 θ²`` (``int1``, ``int2`` their integrals over [0, 1]), with ``D(θ)`` the clock
    relaxation ``e^{−Φθ} D0 + (1 − e^{−Φθ}) G`` through ``D(1) = D1`` (linear in θ when Φ < 10⁻³).
    ``ph`` holds ``e^{−Φ}, φ_1..φ_4`` at ``−Φ``; the moments are ``∫ e^{−Φ(1−θ)} θ^k = k! φ_{k+1}(−Φ)``."""
    M1 = ph[2]
    M2 = 2.0 * ph[3]
    if Phi >= 1e-3:
        G = (D1 - eP * D0) / (Phi * ph[1])            # 1 − e^{−Φ} = Φ φ_1(−Φ)
        K1 = p1 * M1 + p2 * M2
        K2 = q1 * M1 + q2 * M2
        return eP * (D0 - G) * int1 + G * K1, eP * (D0 - G) * int2 + G * K2
    M3 = 6.0 * ph[4]
    dD = D1 - D0
    # D linear: (p1 θ + p2 θ²)(D0 + dD θ)
    I1 = p1 * D0 * M1 + (p2 * D0 + p1 * dD) * M2 + p2 * dD * M3
    I2 = q1 * D0 * M1 + (q2 * D0 + q1 * dD) * M2 + q2 * dD * M3
    return I1, I2


@nb.njit(cache=True, nogil=True)
def _mode_pass(kappa, mk, w, D0, d, Hn, hg, gam, aval, U1, U2, V1, V2, has_prev, Up, Vp, gam_m, a_m,
               hg_m, h, store, E2, GW, S, Scub, Slin, bcur, SA):
    """One pass over the modes for fixed node scalars.

    ``mk[i] = m_i κ_i`` is the weight of mode i in ``P`` (mass times eigenvalue; see ModeSystem).
    ``Hn[j]``: the finite-d coefficient at node j (the rate is ``2γ_jκa_j − κ²Hn[j]/d``; ``hγ_j²`` for a
    constant h), ``hg[j] = Hn[j]/γ_j``; ``hg_m`` the latter at the previous node.
    Fills ``S[k, j]`` (k = 0: node h/2, k = 1: node h; j = forcing node 0, 1, 2) with
    ``Σ_i m_i κ_i g_ij W^{(k)}_ij`` where ``G_ij = b_j g_ij``, and returns the free decays
    ``(c_mid, c_end)``. ``Scub`` (j = −1..2) holds the end-of-step sums of the cubic-minus-quadratic
    correction and ``Slin`` (j = 0, 2) those of the linear interpolant (error estimates). With ``store``, per-mode end weights go to
    ``E2`` and ``GW`` (for the state update).

    ``SA[k, j]`` receives the sensitivity of the node value ``P_k`` (k = 0: h/2, 1: h) to the node
    value ``A_{j+1}`` of ``A = 2γa`` at fixed forcing (docs/integrator.md §16): the linearisation
    ``δD_i(s) = −κ_i ∫ e^{−(φ_i(s)−φ_i(u))} δA(u) D_i(u) du`` with the clock taken uniform over the
    interval and ``D_i`` relaxing exponentially in it between its end values (those with ``b`` at the
    guesses ``bcur``), summed over the modes (near-zero-rate modes are left out).
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
    SA[0, 0] = SA[0, 1] = SA[1, 0] = SA[1, 1] = 0.0
    c_mid = 0.0
    c_end = 0.0
    # clock integrals at h/4 (only the near-zero-rate branch below uses them)
    Uq = _quad_integral(2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2], h, 0.25)
    Vq = _quad_integral(Hn[0], Hn[1], Hn[2], h, 0.25)
    for i in range(n):
        ka = kappa[i]
        phi1 = ka * U1 - ka * ka * V1 / d
        phi2 = ka * U2 - ka * ka * V2 / d
        near_zero = ka == 0.0 or phi2 == 0.0
        if not near_zero:
            for j in range(3):
                drift = 2.0 * ka * aval[j]
                curv_term = hg[j] * ka * ka / d
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
        # sensitivities to the node values A1, A2 (see the docstring): θ^k moments of e^{−Φ(1−θ)}
        D0i = D0[i]
        Dh = e2 * D0i + bcur[0] * g[0] * wq[0] + bcur[1] * g[1] * wq[1] + bcur[2] * g[2] * wq[2]
        Dm = e1 * D0i + bcur[0] * g[0] * wc[0] + bcur[1] * g[1] * wc[1] + bcur[2] * g[2] * wc[2]
        fk = -mka * ka * h
        I1, I2 = _clock_moments(D0i, Dh, phi2, e2, ph, 4.0, -4.0, 2.0 / 3.0, -1.0, 2.0, 1.0 / 6.0)
        SA[1, 0] += fk * I1
        SA[1, 1] += fk * I2
        I1, I2 = _clock_moments(D0i, Dm, phi1, e1, ph1, 2.0, -1.0, 2.0 / 3.0, -0.5, 0.5, -1.0 / 12.0)
        SA[0, 0] += 0.5 * fk * I1
        SA[0, 1] += 0.5 * fk * I2
        # linear estimate (nodes 0 and 1 in θ)
        Slin[0] += mka * g[0] * phi2 * (ph[1] - ph[2])
        Slin[1] += mka * g[2] * phi2 * ph[2]
        if has_prev:
            # cubic minus quadratic interpolant = G[m, 0, c, 1]·θ(θ−c)(θ−1) with the previous node
            # m < 0; its convolution with e^{−φ2(1−θ)} is φ2 (J3 − (1+c) J2 + c J1)
            phip = ka * Up - ka * ka * Vp / d
            denm = 2.0 * ka * a_m - hg_m * ka * ka / d
            gm = gam_m * w[i] / (d * denm) if denm != 0.0 else 0.0
            m = -phip / phi2
            corr = mka * phi2 * (6.0 * ph[4] - (1.0 + c) * 2.0 * ph[3] + c * ph[2])
            Scub[0] += corr * gm / (m * (m - c) * (m - 1.0))
            Scub[1] += corr * g[0] * (-1.0 / (m * c))
            Scub[2] += corr * g[1] / ((c - m) * c * (c - 1.0))
            Scub[3] += corr * g[2] / ((1.0 - m) * (1.0 - c))
    return c_mid, c_end


@nb.njit(cache=True, nogil=True)
def _dense_state(kappa, w, D0, d, Hn, hg, gam, aval, bval, h, sig, out):
    """Per-mode state at ``t + σh`` inside an accepted step (same interpolants as the step)."""
    n = kappa.size
    A0, A1, A2 = 2 * gam[0] * aval[0], 2 * gam[1] * aval[1], 2 * gam[2] * aval[2]
    H0, H1, H2 = Hn[0], Hn[1], Hn[2]
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
                curv_term = hg[j] * ka * ka / d
                if abs(drift - curv_term) <= NEAR_ZERO_RATE * (abs(drift) + abs(curv_term)):
                    ok = False
        if ok:
            g0 = gam[0] * w[i] * bval[0] / (d * (2.0 * ka * aval[0] - hg[0] * ka * ka / d))
            g1 = gam[1] * w[i] * bval[1] / (d * (2.0 * ka * aval[1] - hg[1] * ka * ka / d))
            g2 = gam[2] * w[i] * bval[2] / (d * (2.0 * ka * aval[2] - hg[2] * ka * ka / d))
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
