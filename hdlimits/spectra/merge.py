"""Merging close eigenvalues of an explicit spectrum into a few weighted modes (docs/spectra.md §4).

Given ``P(t)``, the per-direction solution of the mode equation (docs/sgd.md §6) is linear in the initial
value and in the noise weight: ``D_j(t) = D0_j·A(κ_j, t) + w_j·B(κ_j, t)``, with ``A`` and ``B`` smooth in
``κ`` (mixtures of ``exp(−τ·r(κ))``, ``r(κ) = 2γaκ − hγ²κ²/d``). So

    P(t) = Σ_j m_j κ_j D_j(t) = ∫ A(κ, t) dμ₁(κ) + ∫ B(κ, t) dμ₂(κ),
    μ₁ = Σ_j m_j κ_j D0_j δ_{κ_j}   (forcing),   μ₂ = Σ_j m_j κ_j w_j δ_{κ_j}   (noise kernel).

The eigenvalues are cut into bins of nearby ``κ`` and, in each bin, ``μ₁`` and ``μ₂`` are replaced by their
``q``-node Gauss rules (exact for polynomials of degree ``2q − 1`` in ``κ``): a ``μ₁`` node becomes a mode
with ``w = 0`` and ``D0 = W/κ``, a ``μ₂`` node a mode with ``D0 = 0`` and ``w = W/κ`` (mass 1). The error is
measured, not assumed: on the test family ``exp(−τ r(κ))`` and ``exp(−sκ)``, ``τ ∈ [0, t_max]``,
``s ∈ [0, 2γ_peak·t_max]``, the merged and exact sums of every bin are compared, and the bins with the
largest share of the worst relative error are split until it is below ``merge_rtol/4``. The risk error is
that test-family error amplified at most by the Volterra factor ``1/(1 − M)`` (``M`` the kernel mass).

Cost (docs/spectra.md §4): the test family is evaluated once on every eigenvalue (one vectorised
``exp`` of a ``41 × n`` array); the refinement loop — per-bin exact sums, Gauss rules (Lanczos, Jacobi on
the q × q matrix), merged sums, splitting — is compiled (numba) and recomputes only the new bins of each
round, so a merge of 10⁴ modes takes a few milliseconds.
"""
from __future__ import annotations

import dataclasses
import math

import numba as nb
import numpy as np

from hdlimits.core import validation as v

__all__ = ["measure_gauss", "merge_system"]

# above this many (eigenvalue, test function) pairs the family is not stored: each bin's exact sums are
# computed from its own eigenvalues (same values, more exponentials when bins are split)
_STORE_LIMIT = 4_000_000
# sums may be reordered (vectorised); no assumption on NaN or inf
_REASSOC = {"reassoc", "contract"}


def measure_gauss(x, mu, q: int):
    """``q``-node Gauss rule of the discrete measure ``Σ_j mu_j δ_{x_j}`` (Lanczos with full
    re-orthogonalisation on the points scaled to [−1, 1]); the points themselves when there are ≤ q.
    Returns ``(nodes, weights)``; points with ``mu_j = 0`` are dropped."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    mu = np.ascontiguousarray(mu, dtype=np.float64)
    q = v.integer("q", q, low=1)
    if x.shape != mu.shape or x.ndim != 1:
        raise ValueError("x and mu must be 1-d arrays of the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(mu))):
        raise ValueError("x and mu must contain only finite values")
    if np.any(mu < 0):
        raise ValueError(f"mu must be ≥ 0 entrywise (a measure; range [0, inf)), min is {float(mu.min()):g}")
    nodes, weights = np.zeros(q), np.zeros(q)
    work = np.empty((q, max(x.size, 1)))
    _gauss_rule(x, mu, 0, x.size, q, nodes, weights, work)
    keep = weights > 0
    return nodes[keep], weights[keep]


@nb.njit(cache=True, nogil=True, fastmath=_REASSOC)
def _gauss_rule(x, mu, a, b, q, nodes, weights, Q):
    """The rule of ``measure_gauss`` for the points ``x[a:b]`` into ``nodes``, ``weights`` (length q;
    unused entries get weight 0). ``Q`` is a (q, ≥ b − a) work array."""
    nodes[:] = 0.0
    weights[:] = 0.0
    cnt = 0
    tot = 0.0
    lo, hi = np.inf, -np.inf
    for j in range(a, b):
        if mu[j] > 0:
            cnt += 1
            tot += mu[j]
            lo = min(lo, x[j])
            hi = max(hi, x[j])
    if cnt == 0 or tot == 0.0:
        return
    if cnt <= q:
        i = 0
        for j in range(a, b):
            if mu[j] > 0:
                nodes[i] = x[j]
                weights[i] = mu[j]
                i += 1
        return
    c, h = 0.5 * (hi + lo), 0.5 * (hi - lo)
    if h == 0.0:
        nodes[0] = lo
        weights[0] = tot
        return
    # Lanczos on y = (x − c)/h with the start vector √(mu/tot), over the points with mu > 0
    y = np.empty(cnt)
    i = 0
    for j in range(a, b):
        if mu[j] > 0:
            y[i] = (x[j] - c) / h
            Q[0, i] = math.sqrt(mu[j] / tot)
            i += 1
    al = np.zeros(q)
    be = np.zeros(q)
    u = np.empty(cnt)
    m = q
    for k in range(q):
        s = 0.0
        for i in range(cnt):
            u[i] = y[i] * Q[k, i]
            s += u[i] * Q[k, i]
        al[k] = s
        for i in range(cnt):
            u[i] -= s * Q[k, i]
        if k > 0:
            for i in range(cnt):
                u[i] -= be[k - 1] * Q[k - 1, i]
        for l in range(k + 1):          # re-orthogonalise against every Lanczos vector so far
            p = 0.0
            for i in range(cnt):
                p += Q[l, i] * u[i]
            for i in range(cnt):
                u[i] -= p * Q[l, i]
        if k + 1 < q:
            nrm = 0.0
            for i in range(cnt):
                nrm += u[i] * u[i]
            nrm = math.sqrt(nrm)
            be[k] = nrm
            if nrm < 1e-14:
                m = k + 1
                break
            for i in range(cnt):
                Q[k + 1, i] = u[i] / nrm
    T = np.zeros((m, m))
    for k in range(m):
        T[k, k] = al[k]
        if k + 1 < m:
            T[k, k + 1] = be[k]
            T[k + 1, k] = be[k]
    V = np.eye(m)
    _jacobi(T, V)
    for k in range(m):
        nodes[k] = c + h * T[k, k]
        weights[k] = tot * V[0, k] ** 2


@nb.njit(cache=True, nogil=True)
def _jacobi(A, V):
    """Cyclic Jacobi rotations: ``A`` (small, symmetric) is overwritten by a diagonal matrix of its
    eigenvalues and ``V`` (identity on entry) by the eigenvectors (columns). For the q×q Jacobi matrices
    of the Gauss rules a LAPACK call costs more than the rotations."""
    m = A.shape[0]
    scale = 0.0
    for i in range(m):
        for j in range(m):
            scale += A[i, j] * A[i, j]
    for _ in range(60):
        off = 0.0
        for p in range(m):
            for r in range(p + 1, m):
                off += A[p, r] * A[p, r]
        if off <= 1e-34 * scale:
            return
        for p in range(m - 1):
            for r in range(p + 1, m):
                apr = A[p, r]
                if apr == 0.0:
                    continue
                theta = (A[r, r] - A[p, p]) / (2.0 * apr)
                t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                if theta < 0:
                    t = -t
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for i in range(m):
                    aip, air = A[i, p], A[i, r]
                    A[i, p] = c * aip - s * air
                    A[i, r] = s * aip + c * air
                for i in range(m):
                    api, ari = A[p, i], A[r, i]
                    A[p, i] = c * api - s * ari
                    A[r, i] = s * api + c * ari
                for i in range(m):
                    vip, vir = V[i, p], V[i, r]
                    V[i, p] = c * vip - s * vir
                    V[i, r] = s * vip + c * vir


@nb.njit(cache=True, nogil=True, fastmath=_REASSOC)
def _round(k, mu1, mu2, F, taus, ss, rate_a, rate_h, which, starts, ends, q,
           X1, W1, X2, W2, S1, S2, M1, M2):
    """For the bins ``b in which`` (eigenvalues ``[starts[b], ends[b])``): their Gauss rules (rows of
    ``X·, W·``, shape (·, q)), exact test-family sums ``S·`` and merged sums ``M·`` (rows of shape
    (·, n_test)). ``F`` is the stored family (n_test, n), or a (0, 0) array to evaluate it per bin (rate
    ``rate_a·κ − rate_h·κ²``)."""
    nt, ns = taus.size, ss.size
    width = 1
    for b in which:
        width = max(width, ends[b] - starts[b])
    Q = np.empty((q, width))
    stored = F.shape[0] > 0
    for b in which:
        a0, b0 = starts[b], ends[b]
        _gauss_rule(k, mu1, a0, b0, q, X1[b], W1[b], Q)
        _gauss_rule(k, mu2, a0, b0, q, X2[b], W2[b], Q)
        S1[b, :] = 0.0
        S2[b, :] = 0.0
        M1[b, :] = 0.0
        M2[b, :] = 0.0
        if stored:                      # F is (n_test, n): contiguous over the eigenvalues of the bin
            for i in range(nt + ns):
                s1 = 0.0
                s2 = 0.0
                for j in range(a0, b0):
                    s1 += mu1[j] * F[i, j]
                    s2 += mu2[j] * F[i, j]
                S1[b, i] = s1
                S2[b, i] = s2
        else:
            for j in range(a0, b0):
                m1, m2 = mu1[j], mu2[j]
                r = rate_a * k[j] - rate_h * k[j] * k[j]
                for i in range(nt):
                    e = math.exp(-taus[i] * r)
                    S1[b, i] += m1 * e
                    S2[b, i] += m2 * e
                for i in range(ns):
                    e = math.exp(-ss[i] * k[j])
                    S1[b, nt + i] += m1 * e
                    S2[b, nt + i] += m2 * e
        for l in range(q):
            for X, W, M in ((X1, W1, M1), (X2, W2, M2)):
                w = W[b, l]
                if w > 0:
                    x = X[b, l]
                    r = rate_a * x - rate_h * x * x
                    for i in range(nt):
                        M[b, i] += w * math.exp(-taus[i] * r)
                    for i in range(ns):
                        M[b, nt + i] += w * math.exp(-ss[i] * x)


@nb.njit(cache=True, nogil=True)
def _refine(k, mu1, mu2, F, taus, ss, rate_a, rate_h, edges, q, target):
    """The refinement loop of :func:`merge_system` on the initial bins ``edges`` (start indices plus
    ``k.size``): measure the relative error of the merged test-family sums (all bins, worst member), stop
    at ``≤ target``, else halve every bin of more than ``q`` eigenvalues whose share of the worst error of
    μ₁ or μ₂ is ≥ ¼ of the largest share, and recompute only the new halves. Returns
    ``(starts, ends, X1, W1, X2, W2, worst)`` of the final bins."""
    nf = taus.size + ss.size
    nb = edges.size - 1
    cap = 2 * nb + 64
    st = np.empty(cap, dtype=np.int64)
    en = np.empty(cap, dtype=np.int64)
    X1, W1, X2, W2 = np.zeros((cap, q)), np.zeros((cap, q)), np.zeros((cap, q)), np.zeros((cap, q))
    S1, S2, M1, M2 = np.empty((cap, nf)), np.empty((cap, nf)), np.empty((cap, nf)), np.empty((cap, nf))
    st[:nb] = edges[:-1]
    en[:nb] = edges[1:]
    _round(k, mu1, mu2, F, taus, ss, rate_a, rate_h, np.arange(nb), st, en, q,
           X1, W1, X2, W2, S1, S2, M1, M2)
    tot1, tot2 = np.zeros(nf), np.zeros(nf)      # the exact totals (the bins partition the eigenvalues)
    for b in range(nb):
        for i in range(nf):
            tot1[i] += S1[b, i]
            tot2[i] += S2[b, i]
    for i in range(nf):
        tot1[i] = max(tot1[i], 1e-300)
        tot2[i] = max(tot2[i], 1e-300)
    err1, err2 = np.empty(nf), np.empty(nf)
    share = np.empty(cap)
    while True:
        err1[:] = 0.0
        err2[:] = 0.0
        for b in range(nb):
            for i in range(nf):
                err1[i] += abs(M1[b, i] - S1[b, i])
                err2[i] += abs(M2[b, i] - S2[b, i])
        i1, i2 = 0, 0
        worst = 0.0
        for i in range(nf):
            err1[i] /= tot1[i]
            err2[i] /= tot2[i]
            if err1[i] > err1[i1]:
                i1 = i
            if err2[i] > err2[i2]:
                i2 = i
        worst = max(err1[i1], err2[i2])
        if worst <= target:
            break
        top = -1.0
        for b in range(nb):
            if en[b] - st[b] <= q:
                share[b] = -1.0
            else:
                share[b] = max(abs(M1[b, i1] - S1[b, i1]) / tot1[i1], abs(M2[b, i2] - S2[b, i2]) / tot2[i2])
            top = max(top, share[b])
        if top < 0:
            break
        n_split = 0
        for b in range(nb):
            if share[b] >= 0.25 * top:
                n_split += 1
        if nb + n_split > cap:                 # grow the bin arrays
            cap = 2 * (nb + n_split)
            st, en = _grow(st, cap), _grow(en, cap)
            X1, W1, X2, W2 = _grow(X1, cap), _grow(W1, cap), _grow(X2, cap), _grow(W2, cap)
            S1, S2, M1, M2 = _grow(S1, cap), _grow(S2, cap), _grow(M1, cap), _grow(M2, cap)
            share = _grow(share, cap)
        which = np.empty(2 * n_split, dtype=np.int64)
        j = 0
        for b in range(nb):
            if share[b] >= 0.25 * top:
                mid = (st[b] + en[b]) // 2
                new = nb + j // 2
                st[new], en[new] = mid, en[b]
                en[b] = mid
                which[j], which[j + 1] = b, new
                j += 2
        nb += n_split
        _round(k, mu1, mu2, F, taus, ss, rate_a, rate_h, which, st, en, q,
               X1, W1, X2, W2, S1, S2, M1, M2)
    return st[:nb], en[:nb], X1[:nb], W1[:nb], X2[:nb], W2[:nb], worst


@nb.njit(cache=True, nogil=True)
def _grow(a, cap):
    out = np.zeros((cap,) + a.shape[1:], dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@nb.njit(cache=True, nogil=True)
def _greedy_bins(k, ratio):
    """Start indices of greedy bins with max/min ≤ ratio (k sorted decreasingly), plus ``k.size``."""
    out = np.empty(k.size + 1, dtype=np.int64)
    out[0] = 0
    n = 1
    top = k[0]
    for i in range(1, k.size):
        if top > ratio * k[i]:
            out[n] = i
            n += 1
            top = k[i]
    out[n] = k.size
    return out[:n + 1].copy()


def merge_system(system, merge_rtol: float, t_max: float, q: int = 3, ratio: float | None = None):
    """A :class:`~hdlimits.solvers.modes.ModeSystem` with the same risk to ``merge_rtol`` on ``[0, t_max]``
    (see the module doc); returns ``(merged, info)`` with ``info = {"modes": n, "merged_modes": …,
    "test_error": measured relative error on the test family, "bins": …}``. Ranges: ``merge_rtol`` in
    [1e-14, 0.1], ``t_max`` > 0, ``q`` ≥ 1 Gauss nodes per bin, ``ratio`` > 1 (initial bin width)."""
    merge_rtol = v.real("merge_rtol", merge_rtol, low=1e-14, high=0.1)
    t_max = v.positive("t_max", t_max)
    q = v.integer("q", q, low=1)
    if ratio is not None:
        ratio = v.real("ratio", ratio, low=1.0, low_open=True)
    if ratio is None:     # initial bins: Gauss error ∝ (width)^(2q), refined below where it is not enough
        ratio = 1.0 + 2.0 * merge_rtol ** (1.0 / (2 * q))
    if not system.a_is_constant:
        raise ValueError("merge_rtol needs an optimizer whose drift factor a is constant (SGD, "
                         "PreconditionedSGD); this limit's a(P) depends on the risk")
    kap = np.asarray(system.kappa, dtype=np.float64)
    m = system.mass
    a0 = float(system.a(0.0, system.coef_params))
    gam = float(system.schedule.peak)
    h, d = float(system.curvature), float(system.d)
    live = kap > 0
    k = kap[live]
    mu1 = (m * kap * system.D0)[live]
    mu2 = (m * kap * system.weights)[live]
    if k.size == 0:                     # no direction enters the risk: nothing to merge
        return system, {"modes": int(kap.size), "merged_modes": int(kap.size), "bins": 0, "test_error": 0.0,
                        "merge_rtol": float(merge_rtol), "t_max": float(t_max)}
    if k.size > 1 and not np.all(k[:-1] >= k[1:]):
        order = np.argsort(-k, kind="stable")
        k, mu1, mu2 = k[order], mu1[order], mu2[order]
    k, mu1, mu2 = (np.ascontiguousarray(z) for z in (k, mu1, mu2))
    ra, rh = 2 * gam * a0, h * gam * gam / d
    rate = ra * k - rh * k * k
    taus = np.concatenate([[0.0], np.geomspace(1e-4 / max(rate.max(), 1e-300), max(t_max, 1e-12), 28)])
    ss = np.geomspace(1e-4 / k.max(), max(2 * gam * a0 * t_max, 1e-12), 12)
    nt, nf = taus.size, taus.size + ss.size

    if k.size * nf <= _STORE_LIMIT:     # the test family on every eigenvalue, one vectorised exp
        F = np.empty((nf, k.size))
        np.multiply.outer(-taus, rate, out=F[:nt])
        np.multiply.outer(-ss, k, out=F[nt:])
        np.exp(F, out=F)
    else:
        F = np.zeros((0, 0))

    edges = _greedy_bins(k, float(ratio))
    st, en, X1, W1, X2, W2, worst = _refine(k, mu1, mu2, F, taus, ss, ra, rh, edges, int(q),
                                            0.25 * merge_rtol)
    k1, k2 = W1 > 0, W2 > 0
    x1, w1, x2, w2 = X1[k1], W1[k1], X2[k2], W2[k2]
    nk = np.concatenate([x1, x2])
    nD0 = np.concatenate([w1 / x1, np.zeros(x2.size)])
    nw = np.concatenate([np.zeros(x1.size), w2 / x2])
    o = np.argsort(-nk, kind="stable")
    out = dataclasses.replace(system, kappa=np.ascontiguousarray(nk[o]), D0=np.ascontiguousarray(nD0[o]),
                              weights=np.ascontiguousarray(nw[o]), mass=None)
    return out, {"modes": int(kap.size), "merged_modes": int(nk.size), "bins": int(st.size),
                 "test_error": worst, "merge_rtol": float(merge_rtol), "t_max": float(t_max)}
