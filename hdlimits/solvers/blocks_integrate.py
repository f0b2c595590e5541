"""Exponential Runge–Kutta integrator of the GLM block system (docs/integrator.md §15).

The equation is :meth:`hdlimits.solvers.blocks.BlockModeSystem.rhs`: per mode ``i``

    dV_i/dt = −γλ_i (V_i M + Mᵀ V_i) + (γ²λ_i/(d B_s)) F + (γ²λ_i²/d) 𝒦(V_i),
    M = J(B) Q̄,  F = Q̄ᵀ I(B) Q̄,  𝒦(V) = Q̄ᵀ [C(V)/B_s + (1 − 1/B_s) Jᵀ V J] Q̄.

Over a step ``[t, t+h]`` the matrix ``M`` is frozen at the start of the step, and the basis ``S`` in
which ``Mᵀ = S diag(μ) S⁻¹`` (``M``'s last ``m*`` columns vanish, so ``μ`` is the spectrum of the student
block and ``m*`` zeros) turns the frozen linear part into a diagonal one: in ``Ṽ_i = S⁻¹ V_i S⁻ᵀ`` the
entry ``(p, q)`` decays at the rate ``r_ipq = γλ_i(μ_p + μ_q) − (γ²λ_i²/d) 𝒦̃_{pq,pq}`` (the diagonal of the
finite-d correction in that basis is folded in; the rest of it, the change of ``M``, ``F``, ``γ`` inside
the step and — in the fallback basis — the off-diagonal part of ``M̃``, form the explicit term ``N``).
When the eigenvector basis is ill-conditioned (defective or singular student block) a Schur basis of
the student block with ``S = blockdiag(Z, I)`` is used instead: the remaining off-diagonal part of
``M̃`` is strictly triangular, hence nilpotent, and explicit treatment stays stable.

The scheme is the three-stage ETD3RK of Cox and Matthews (2002) with the φ-functions of the
per-entry rates; the exponential midpoint rule on the same stages gives an embedded second-order
solution, and their difference controls the step. The teacher–teacher block is restored exactly.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
import scipy.linalg

from hdlimits.core.schedules import evaluate
from hdlimits.solvers.integrate import DIVERGED, OK, STEP_BUDGET, STEP_FAILED  # the scalar integrator's codes

__all__ = ["integrate_blocks", "basis_of", "OK", "DIVERGED", "STEP_FAILED", "STEP_BUDGET"]

#: largest condition number of the eigenvector basis before the Schur basis is used
MAX_BASIS_COND = 1e4

_NSER = 17
_INV_FACT4 = np.array([1.0 / math.factorial(n + 4) for n in range(_NSER + 1)])


# ----------------------------------------------------------------------------------- φ-functions
@nb.njit(cache=True, nogil=True, inline="always")
def _phis(z):
    """``(e^z, φ1(z), …, φ4(z))``, ``φ_k(z) = Σ_n z^n/(n+k)!``: a Horner series and the recurrence
    ``φ_k = z φ_{k+1} + 1/k!`` for ``|z| < 1``, the closed forms from ``e^z`` otherwise."""
    if abs(z) < 1.0:
        s = z * 0.0 + _INV_FACT4[_NSER]
        for n in range(_NSER - 1, -1, -1):
            s = s * z + _INV_FACT4[n]
        p4 = s
        p3 = z * p4 + 1.0 / 6.0
        p2 = z * p3 + 0.5
        p1 = z * p2 + 1.0
        e = z * p1 + 1.0
        return e, p1, p2, p3, p4
    e = np.exp(z)
    p1 = (e - 1.0) / z
    p2 = (p1 - 1.0) / z
    p3 = (p2 - 0.5) / z
    p4 = (p3 - 1.0 / 6.0) / z
    return e, p1, p2, p3, p4


@nb.njit(cache=True, nogil=True)
def prepare(lam, g, musum, kdiag, cK, h, R, W):
    """Per-entry rates ``R`` and the collocation weights ``W`` (n, 9, k, k) of one step: ``e^{z/2}``,
    ``e^z``, the mid-node weights ``a10, a11, a12``, the end-node weights ``a20, a21, a22`` of the
    quadratic through ``s = 0, h/2, h``, and ``h(4φ3 − 2φ2)``, ``h(6φ4 − 3φ3 + φ2/2)`` of the error
    estimates (``z = −hR``)."""
    n, k = lam.size, musum.shape[0]
    H = 0.5 * h
    for i in range(n):
        li = lam[i]
        for p in range(k):
            for q in range(k):
                r = g * li * musum[p, q] - cK * li * li * kdiag[p, q]
                R[i, p, q] = r
                z = -h * r
                eh, q1, q2, q3, _ = _phis(0.5 * z)
                e, p1, p2, p3, p4 = _phis(z)
                W[i, 0, p, q] = eh
                W[i, 1, p, q] = e
                W[i, 2, p, q] = H * (q1 - 1.5 * q2 + q3)
                W[i, 3, p, q] = H * (2.0 * q2 - 2.0 * q3)
                W[i, 4, p, q] = H * (q3 - 0.5 * q2)
                W[i, 5, p, q] = h * (p1 - 3.0 * p2 + 4.0 * p3)
                W[i, 6, p, q] = h * (4.0 * p2 - 8.0 * p3)
                W[i, 7, p, q] = h * (4.0 * p3 - p2)
                W[i, 8, p, q] = h * (4.0 * p3 - 2.0 * p2)
                W[i, 9, p, q] = h * (6.0 * p4 - 3.0 * p3 + 0.5 * p2)


@nb.njit(cache=True, nogil=True, inline="always")
def _explicit(X, li, g, Mt, Ft, Kt, cK, cF, Ri, out):
    """``N = f̃(X) + R∘X`` for one mode: the right-hand side in the basis minus the frozen diagonal part."""
    k = X.shape[0]
    a = g * li
    b = cF * li
    c = cK * li * li
    for p in range(k):
        for q in range(k):
            s = X[p, q] * 0.0
            for r in range(k):
                s += X[p, r] * Mt[r, q] + Mt[r, p] * X[r, q]
            out[p, q] = -a * s + b * Ft[p, q] + Ri[p, q] * X[p, q]
    if c != 0.0:
        for p in range(k):
            for q in range(k):
                s = X[p, q] * 0.0
                row = p * k + q
                for r in range(k):
                    for u in range(k):
                        s += Kt[row, r * k + u] * X[r, u]
                out[p, q] += c * s


@nb.njit(cache=True, nogil=True)
def node0(V, lam, g, Mt, Ft, Kt, cK, cF, R, N0):
    """``N0_i = N(V_i)`` with the coefficients at the start of the step."""
    for i in range(lam.size):
        _explicit(V[i], lam[i], g, Mt, Ft, Kt, cK, cF, R[i], N0[i])


@nb.njit(cache=True, nogil=True)
def collocate(V, U1, U2, lam, wt, g1, Mt1, Ft1, Kt1, g2, Mt2, Ft2, Kt2, cK1, cF1, cK2, cF2, R, W, N0,
              N1, N2, first, Nm, rho, has_prev):
    """One sweep of the exponential collocation: ``N1 = N(U1)``, ``N2 = N(U2)`` with the node
    coefficients (``N1 = N2 = N0`` when ``first``), then ``U1 = e^{z/2}V + Σ a1j N_j``,
    ``U2 = e^z V + Σ a2j N_j``; returns ``Σ w U1``, ``Σ w U2`` and the weighted error estimate: the
    difference with the cubic through the previous step's start ``Nm`` (at ``θ = −rho``) when
    ``has_prev``, else with the exponential trapezoid rule, ``h(4φ3 − 2φ2)(N0 − 2N1 + N2)``
    (docs/integrator.md §15)."""
    n, k = lam.size, V.shape[1]
    S1 = np.zeros((k, k), dtype=V.dtype)
    S2 = np.zeros((k, k), dtype=V.dtype)
    E = np.zeros((k, k), dtype=V.dtype)
    for i in range(n):
        if first:
            N1[i] = N0[i]
            N2[i] = N0[i]
        else:
            _explicit(U1[i], lam[i], g1, Mt1, Ft1, Kt1, cK1, cF1, R[i], N1[i])
            _explicit(U2[i], lam[i], g2, Mt2, Ft2, Kt2, cK2, cF2, R[i], N2[i])
        wi = wt[i]
        for p in range(k):
            for q in range(k):
                n0, n1, n2 = N0[i, p, q], N1[i, p, q], N2[i, p, q]
                v = V[i, p, q]
                x1 = W[i, 0, p, q] * v + W[i, 2, p, q] * n0 + W[i, 3, p, q] * n1 + W[i, 4, p, q] * n2
                x2 = W[i, 1, p, q] * v + W[i, 5, p, q] * n0 + W[i, 6, p, q] * n1 + W[i, 7, p, q] * n2
                U1[i, p, q] = x1
                U2[i, p, q] = x2
                S1[p, q] += wi * x1
                S2[p, q] += wi * x2
                if has_prev:
                    d2 = 2.0 * (n2 - 2.0 * n1 + n0)
                    dm = (2.0 * (n1 - n0) - (n0 - Nm[i, p, q]) / rho) / (0.5 + rho)
                    E[p, q] += wi * W[i, 9, p, q] * (d2 - dm) / (1.0 + rho)
                else:
                    E[p, q] += wi * W[i, 8, p, q] * (n0 - 2.0 * n1 + n2)
    return S1, S2, E


@nb.njit(cache=True, nogil=True)
def to_basis(V, Si, out):
    """``out_i = Si V_i Siᵀ``."""
    n, k = V.shape[0], V.shape[1]
    T = np.empty((k, k), dtype=out.dtype)
    for i in range(n):
        for p in range(k):
            for b in range(k):
                s = Si[p, 0] * 0.0
                for a in range(k):
                    s += Si[p, a] * V[i, a, b]
                T[p, b] = s
        for p in range(k):
            for q in range(k):
                s = Si[p, 0] * 0.0
                for b in range(k):
                    s += T[p, b] * Si[q, b]
                out[i, p, q] = s


@nb.njit(cache=True, nogil=True)
def from_basis(Vt, S, m, V0, out):
    """``out_i = Re(S Vt_i Sᵀ)``, symmetrised, with the teacher block copied from ``V0``."""
    n, k = Vt.shape[0], Vt.shape[1]
    T = np.empty((k, k), dtype=Vt.dtype)
    for i in range(n):
        for p in range(k):
            for b in range(k):
                s = Vt[i, 0, 0] * 0.0
                for a in range(k):
                    s += S[p, a] * Vt[i, a, b]
                T[p, b] = s
        for p in range(k):
            for q in range(p, k):
                if p >= m and q >= m:
                    out[i, p, q] = V0[i, p, q]
                    continue
                s1 = Vt[i, 0, 0] * 0.0
                s2 = Vt[i, 0, 0] * 0.0
                for b in range(k):
                    s1 += T[p, b] * S[q, b]
                    s2 += T[q, b] * S[p, b]
                x = 0.5 * (s1 + s2).real
                out[i, p, q] = x
                out[i, q, p] = x


# ----------------------------------------------------------------------------------- basis
def basis_of(M: np.ndarray, m: int):
    """``(S, S⁻¹, μ, kind)`` with ``S⁻¹ Mᵀ S`` diagonal (``kind = "eigen"``) or, when that basis has a
    condition number above ``MAX_BASIS_COND``, upper triangular (``"schur"``, ``S = blockdiag(Z, I)``
    with the Schur vectors ``Z`` of the student block). Real arrays when the spectrum is real.
    The last ``k − m`` rows of ``S`` and ``S⁻¹`` are exactly ``[0 | I]`` (teacher rates exactly 0)."""
    k = M.shape[0]
    A = M[:m, :m].T
    Bt = M[m:, :m].T
    if not np.all(np.isfinite(M)):
        raise FloatingPointError("non-finite coefficients")
    ev, U = np.linalg.eig(A)
    real = not np.iscomplexobj(ev) or np.all(ev.imag == 0.0)
    dt = np.float64 if real else np.complex128
    if real:
        ev, U = np.real(ev), np.real(U)
    S = np.zeros((k, k), dtype=dt)
    Si = np.zeros((k, k), dtype=dt)
    S[m:, m:] = np.eye(k - m)
    Si[m:, m:] = np.eye(k - m)
    mu = np.zeros(k, dtype=dt)
    try:
        Ui = np.linalg.inv(U)
        X = -np.linalg.solve(A, Bt) if k > m else np.zeros((m, 0))
        S[:m, :m] = U
        S[:m, m:] = X
        if np.isfinite(S).all() and np.linalg.cond(S) <= MAX_BASIS_COND:
            Si[:m, :m] = Ui
            Si[:m, m:] = -Ui @ X
            mu[:m] = ev
            return S, Si, mu, "eigen"
    except np.linalg.LinAlgError:
        pass
    T, Z = scipy.linalg.schur(A, output="real" if real else "complex")
    S[:m, :m] = Z
    S[:m, m:] = 0.0
    Si[:m, :m] = Z.conj().T
    Si[:m, m:] = 0.0
    mu[:m] = np.diag(T)
    return S, Si, mu, "schur"


# ----------------------------------------------------------------------------------- stepping
class _Coefs:
    """The model's coefficients at one state, and their images in a basis (``M̃ = SᵀMS⁻ᵀ``,
    ``F̃ = S⁻¹FS⁻ᵀ``, ``𝒦̃`` the k²×k² matrix of the correction map)."""

    def __init__(self, system, B):
        k = B.shape[0]
        risk, J, I = system.expectations.evaluate(B)
        self.risk = float(risk)
        Qb = system.Qbar(B)
        J = np.asarray(J, dtype=np.float64)
        self.M = J @ Qb
        self.F = Qb.T @ np.asarray(I, dtype=np.float64) @ Qb
        self.Qb = Qb
        self.C0 = None
        if system.finite_d:
            bs = system.batch
            C = np.asarray(system.expectations.curvature(B), dtype=np.float64).reshape(k * k, k * k)
            self.C0 = C / bs + (1.0 - 1.0 / bs) * np.kron(J, J)
        self.finite = bool(np.isfinite(self.risk) and np.isfinite(self.M).all()
                           and np.isfinite(self.F).all()
                           and (self.C0 is None or np.isfinite(self.C0).all()))

    def in_basis(self, S, Si):
        Mt = np.ascontiguousarray(S.T @ self.M @ Si.T)
        Ft = np.ascontiguousarray(Si @ self.F @ Si.T)
        k = S.shape[0]
        if self.C0 is None:
            Kt = np.zeros((k * k, k * k), dtype=S.dtype)
        else:
            L = Si @ self.Qb.T
            Kt = np.ascontiguousarray(np.kron(L, L) @ self.C0.T @ np.kron(S, S))
        return Mt, Ft, Kt


def _rel_err(dB, Bn, B0, atol, rtol):
    """``max_ab |dB_ab| / (rtol·sqrt(|B_aa B_bb|) + atol)`` with the larger of two states' scales."""
    dn = np.maximum(np.abs(np.diag(Bn)), np.abs(np.diag(B0)))
    sc = np.sqrt(np.outer(dn, dn))
    return float(np.max(np.abs(dB) / (rtol * sc + atol)))


def _solve_nodes(system, Vt, U1, U2, lam, wt, g1, g2, fdd, cf1, cf2, R, Wt, N0, N1, N2, S, Si, S1, S2,
                 B, atol, rtol, Nm, rho, has_prev, max_iter=30, memory=5):
    """Find the node overlaps ``(B(h/2), B(h))`` of the collocation: the fixed point of ``y ↦ Φ(y)``
    (coefficients at ``y``, one sweep over the modes, their weighted sums), by Anderson acceleration in
    the 2k²-dimensional space of ``y`` (the per-mode node states follow, one sweep behind). The loop
    ``B → F(B), M(B) → modes → B`` has a gain of order one through the stiff modes (e.g.
    ``γ tr K/(2 d B_s)`` for the noise term), so it is solved, not iterated explicitly.
    Returns ``((Σ w U2, Σ w err), iterations)`` or ``(False, iterations)``."""
    k = B.shape[0]
    dg = np.sqrt(np.abs(np.diag(B)))
    sc = np.concatenate([np.outer(dg, dg).ravel()] * 2) * rtol + atol
    y = np.concatenate([(S @ S1 @ S.T).real.ravel(), (S @ S2 @ S.T).real.ravel()])
    ys, gs = [], []
    for it in range(1, max_iter + 1):
        if not np.isfinite(y).all():
            return False, it
        B1, B2 = y[:k * k].reshape(k, k), y[k * k:].reshape(k, k)
        c1, c2 = _Coefs(system, 0.5 * (B1 + B1.T)), _Coefs(system, 0.5 * (B2 + B2.T))
        if not (c1.finite and c2.finite):
            return False, it
        M1, F1, K1 = c1.in_basis(S, Si)
        M2, F2, K2 = c2.in_basis(S, Si)
        S1, S2, Se = collocate(Vt, U1, U2, lam, wt, g1, M1, F1, K1, g2, M2, F2, K2, fdd * g1 * g1, cf1,
                               fdd * g2 * g2, cf2, R, Wt, N0, N1, N2, False, Nm, rho, has_prev)
        gy = np.concatenate([(S @ S1 @ S.T).real.ravel(), (S @ S2 @ S.T).real.ravel()])
        f = gy - y
        if not np.isfinite(f).all():
            return False, it
        if np.max(np.abs(f) / sc) <= 0.05:
            return (S2, Se), it
        ys.append(y)
        gs.append(gy)
        if len(ys) > memory + 1:
            ys.pop(0)
            gs.pop(0)
        if len(ys) == 1:
            y = gy
            continue
        Y, G = np.array(ys), np.array(gs)
        Fm = (G - Y) / sc
        dF = np.diff(Fm, axis=0).T
        dG = np.diff(G, axis=0).T
        coef = np.linalg.lstsq(dF, Fm[-1], rcond=None)[0]
        y = gy - dG @ coef
    return False, max_iter


def integrate_blocks(system, t_out, breaks, rtol, div_threshold, max_steps, store_modes):
    """Integrate ``system`` (a BlockModeSystem) to the sorted times ``t_out``.

    Returns ``(risk (T,), overlaps (T, k, k), modes (T, n, k, k) or None, status, t_status, steps,
    rejected, node iterations)``; entries after a divergence or failure stay ``inf``. Steps end at every output time and
    at every time of ``breaks`` (kinks and jumps of the learning rate). ``status``: OK, DIVERGED (the
    largest overlap above ``div_threshold`` or not finite), STEP_FAILED, STEP_BUDGET.
    """
    lam = np.ascontiguousarray(system.lam, dtype=np.float64)
    wt = np.ascontiguousarray(system.mass * lam, dtype=np.float64)
    V0 = np.ascontiguousarray(system.V0, dtype=np.float64)
    n, k, m = lam.size, V0.shape[-1], system.m
    d, bs = float(system.d), float(system.batch)
    fd = 1.0 if system.finite_d else 0.0
    kind, spar = system.schedule.numba_args()
    T = t_out.size
    risk = np.full(T, np.inf)
    B_out = np.full((T, k, k), np.inf)
    V_out = np.full((T, n, k, k), np.inf) if store_modes else None
    V = V0.copy()
    B = wt @ V.reshape(n, k * k)
    B = B.reshape(k, k)
    atol = 1e-14 * max(float(np.max(np.abs(B))), 1e-300)
    scale_ref = max(float(np.max(np.abs(B))), div_threshold * 1e-10)
    work = {}

    def arrays(dt):
        if dt not in work:
            work[dt] = [np.empty((n, k, k), dtype=dt) for _ in range(2)] \
                + [np.empty((n, 10, k, k), dtype=dt)] + [np.empty((n, k, k), dtype=dt) for _ in range(6)]
        return work[dt]

    t, io, t_end = 0.0, 0, float(t_out[-1])
    n_steps = n_rej = n_iter = 0
    lam_max = float(np.max(lam, initial=0.0))
    h_prop = None
    state = None          # (coefs, S, Si, mu, Vt, Mt, Ft, Kt) at the current accepted state
    grew = False
    prev = None           # (rhs, state, step) at the previous step's start, original coordinates
    while True:
        if state is None:
            co = _Coefs(system, B)
            if not co.finite:
                return risk, B_out, V_out, DIVERGED if n_steps else STEP_FAILED, t, n_steps, n_rej, n_iter
            S, Si, mu, _ = basis_of(co.M, m)
            W = arrays(S.dtype)
            to_basis(V, Si, W[0])
            state = (co, S, Si, mu, W) + co.in_basis(S, Si)
        co, S, Si, mu, W, Mt0, Ft0, Kt0 = state
        while io < T and t_out[io] <= t * (1 + 1e-14):
            risk[io] = co.risk
            B_out[io] = B
            if store_modes:
                V_out[io] = V
            io += 1
        if t >= t_end or io >= T:
            return risk, B_out, V_out, OK, t, n_steps, n_rej, n_iter
        if n_steps + n_rej >= max_steps:
            return risk, B_out, V_out, STEP_BUDGET, t, n_steps, n_rej, n_iter
        if h_prop is None:
            g_pk = system.schedule.peak
            h_prop = min(1e-3 * t_end, 1e-2 / (g_pk * lam_max * (np.max(np.abs(co.M)) + 1.0) + 1e-300))
        t_stop = min(t_end, float(t_out[io]))
        nb_ = breaks[breaks > t * (1 + 1e-14) + 1e-300]
        if nb_.size:
            t_stop = min(t_stop, float(nb_[0]))
        h = min(h_prop, t_stop - t)
        clipped = h < h_prop
        tiny = min(1e-13 * max(1.0, t + h), 1e-3 * h)
        g0 = evaluate(kind, spar, t + tiny)
        g1 = evaluate(kind, spar, t + 0.5 * h)
        g2 = evaluate(kind, spar, t + h - tiny)
        Vt, R, Wt, N0, N1, N2, U1, U2, Nm = W
        musum = np.ascontiguousarray(mu[:, None] + mu[None, :])
        kdiag = np.ascontiguousarray(np.diag(Kt0).reshape(k, k))
        prepare(lam, g0, musum, kdiag, fd * g0 * g0 / d, h, R, Wt)
        node0(Vt, lam, g0, Mt0, Ft0, Kt0, fd * g0 * g0 / d, g0 * g0 / (d * bs), R, N0)
        Bn_t = Si @ B @ Si.T
        cf1, cf2 = g1 * g1 / (d * bs), g2 * g2 / (d * bs)
        S1, S2, Se = collocate(Vt, U1, U2, lam, wt, g1, Mt0, Ft0, Kt0, g2, Mt0, Ft0, Kt0, 0.0, cf1, 0.0,
                               cf2, R, Wt, N0, N1, N2, True, Nm, 1.0, False)
        if prev is not None:
            f_prev, V_prev, h_prev = prev
            Nm[...] = Si @ f_prev @ Si.T + R * (Si @ V_prev @ Si.T)
            rho = h_prev / h
        ok, its = _solve_nodes(system, Vt, U1, U2, lam, wt, g1, g2, fd / d, cf1, cf2, R, Wt, N0, N1, N2,
                               S, Si, S1, S2, B, atol, rtol, Nm, rho if prev is not None else 1.0,
                               prev is not None)
        n_iter += its
        if ok:
            Sn, Se = ok
            Bnew = (S @ Sn @ S.T).real
            dB = (S @ Se @ S.T).real
            ok = bool(np.isfinite(Bnew).all() and np.isfinite(dB).all())
        expo = 0.25 if prev is not None else 1.0 / 3.0
        if ok:
            err = max(_rel_err(dB, Bnew, B, atol, rtol), _rel_err(Se, Sn, Bn_t, atol, rtol))
            size_new = float(np.max(np.abs(Bnew)))
            size_old = max(float(np.max(np.abs(B))), scale_ref)
            if size_new > 10.0 * size_old and h > 1e-12 * max(t, 1.0):
                # more than a factor 10 in one step: only near a blow-up; resolve it so that the time of
                # the divergence is known to a step of modest growth
                grew = True
                ok = False
        else:
            err = np.inf
        if not ok or err > 1.0:
            n_rej += 1
            if ok and float(np.max(np.abs(Bnew))) > (1 + rtol) * float(np.max(np.abs(B))):
                grew = True
            h_prop = h * (max(0.2, 0.9 * err ** -expo) if ok else 0.25)
            if h_prop < 4e-15 * t or h_prop < 1e-300:
                if grew:
                    return risk, B_out, V_out, DIVERGED, t, n_steps, n_rej, n_iter
                return risk, B_out, V_out, STEP_FAILED, t, n_steps, n_rej, n_iter
            continue
        # accepted; the full right-hand side at the step's start is kept for the next error estimate
        n_steps += 1
        grew = False
        prev = (np.real(S @ (N0 - R * Vt) @ S.T), V.copy(), h)
        from_basis(U2, S, m, V0, V)
        t = t_stop if h == t_stop - t else t + h
        B = (wt @ V.reshape(n, k * k)).reshape(k, k)
        fac = min(4.0, max(0.2, 0.9 * max(err, 1e-30) ** -expo))
        if breaks.size and np.any(np.abs(breaks - t) <= 1e-14 * max(t, 1.0)):
            prev = None   # no interpolation across a kink of the schedule
        h_prop = max(h_prop, h * fac) if clipped else h * fac
        state = None
        if not np.isfinite(B).all() or float(np.max(np.abs(B))) > div_threshold:
            return risk, B_out, V_out, DIVERGED, t, n_steps, n_rej, n_iter
