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
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["measure_gauss", "merge_system"]


def measure_gauss(x, mu, q: int):
    """``q``-node Gauss rule of the discrete measure ``Σ_j mu_j δ_{x_j}`` (Lanczos with full
    re-orthogonalisation on the points scaled to [−1, 1]); the points themselves when there are ≤ q."""
    x = np.asarray(x, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    keep = mu > 0
    x, mu = x[keep], mu[keep]
    tot = float(mu.sum())
    if x.size <= q or tot == 0.0:
        return x, mu
    c, h = 0.5 * (x.max() + x.min()), 0.5 * (x.max() - x.min())
    if h == 0.0:
        return np.array([x[0]]), np.array([tot])
    y = (x - c) / h
    Q = np.zeros((q, x.size))
    v = np.sqrt(mu / tot)
    al, be = np.zeros(q), np.zeros(q)
    Q[0] = v
    for k in range(q):
        u = y * Q[k]
        al[k] = u @ Q[k]
        u -= al[k] * Q[k]
        if k > 0:
            u -= be[k - 1] * Q[k - 1]
        u -= Q[:k + 1].T @ (Q[:k + 1] @ u)       # re-orthogonalise
        if k + 1 < q:
            be[k] = np.linalg.norm(u)
            if be[k] < 1e-14:
                q = k + 1
                al, be, Q = al[:q], be[:q], Q[:q]
                break
            Q[k + 1] = u / be[k]
    T = np.diag(al) + np.diag(be[:q - 1], 1) + np.diag(be[:q - 1], -1)
    z, V = np.linalg.eigh(T)
    return c + h * z, tot * V[0] ** 2


def _bins(kappa_sorted, ratio):
    """Start indices of greedy bins with max/min ≤ ratio (kappa sorted decreasingly)."""
    starts = [0]
    top = kappa_sorted[0]
    for i in range(1, kappa_sorted.size):
        if top > ratio * kappa_sorted[i]:
            starts.append(i)
            top = kappa_sorted[i]
    return starts


def merge_system(system, merge_rtol: float, t_max: float, q: int = 3, ratio: float | None = None):
    """A :class:`~hdlimits.solvers.modes.ModeSystem` with the same risk to ``merge_rtol`` on ``[0, t_max]``
    (see the module doc); returns ``(merged, info)`` with ``info = {"modes": n, "merged_modes": …,
    "test_error": measured relative error on the test family, "bins": …}``."""
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
    order = np.argsort(-kap[live], kind="stable")
    k = kap[live][order]
    mu1 = (m * kap * system.D0)[live][order]
    mu2 = (m * kap * system.weights)[live][order]
    rate = 2 * gam * a0 * k - h * gam * gam * k * k / d
    taus = np.concatenate([[0.0], np.geomspace(1e-4 / max(rate.max(), 1e-300), max(t_max, 1e-12), 28)])
    ss = np.geomspace(1e-4 / k.max(), max(2 * gam * a0 * t_max, 1e-12), 12)

    def fam(kk, rr):
        return np.concatenate([np.exp(-np.outer(taus, rr)), np.exp(-np.outer(ss, kk))])

    def rate_of(kk):
        return 2 * gam * a0 * kk - h * gam * gam * kk * kk / d

    if k.size * (taus.size + ss.size) <= 4_000_000:
        # prefix sums of the exact test-family values: a bin's exact sum is a difference of two columns
        # (the cancellation error is ≤ eps·total, and errors are measured relative to the total)
        Fall = fam(k, rate)
        C1 = np.concatenate([np.zeros((Fall.shape[0], 1)), np.cumsum(Fall * mu1, axis=1)], axis=1)
        C2 = np.concatenate([np.zeros((Fall.shape[0], 1)), np.cumsum(Fall * mu2, axis=1)], axis=1)
        del Fall

        def exact(sl):
            return C1[:, sl.stop] - C1[:, sl.start], C2[:, sl.stop] - C2[:, sl.start]
    else:
        def exact(sl):
            F = fam(k[sl], rate[sl])
            return F @ mu1[sl], F @ mu2[sl]

    def merged(sl):
        x1, W1 = measure_gauss(k[sl], mu1[sl], q)
        x2, W2 = measure_gauss(k[sl], mu2[sl], q)
        return x1, W1, x2, W2

    def bin_error(sl, parts):
        e1, e2 = exact(sl)
        x1, W1, x2, W2 = parts
        return np.abs(fam(x1, rate_of(x1)) @ W1 - e1), np.abs(fam(x2, rate_of(x2)) @ W2 - e2), e1, e2

    starts = _bins(k, ratio) + [k.size]
    todo = [(a, b) for a, b in zip(starts, starts[1:])]
    done = {}
    while True:
        for a, b in todo:
            parts = merged(slice(a, b))
            done[(a, b)] = (parts, *bin_error(slice(a, b), parts))
        tot1 = sum(v[3] for v in done.values())
        tot2 = sum(v[4] for v in done.values())
        err1 = sum(v[1] for v in done.values()) / np.maximum(tot1, 1e-300)
        err2 = sum(v[2] for v in done.values()) / np.maximum(tot2, 1e-300)
        worst = max(float(np.max(err1)), float(np.max(err2)))
        if worst <= 0.25 * merge_rtol:
            break
        i1, i2 = int(np.argmax(err1)), int(np.argmax(err2))
        share = {key: max(v[1][i1] / max(tot1[i1], 1e-300), v[2][i2] / max(tot2[i2], 1e-300))
                 for key, v in done.items() if key[1] - key[0] > q}
        if not share:
            break
        cut = max(share.values()) * 0.25
        todo = []
        for key, sh in share.items():
            if sh >= cut:
                a, b = key
                del done[key]
                mid = (a + b) // 2
                todo += [(a, mid), (mid, b)]
    nk, nD0, nw = [], [], []
    for (x1, W1, x2, W2), *_ in done.values():
        nk += [x1, x2]
        nD0 += [W1 / x1, np.zeros(x2.size)]
        nw += [np.zeros(x1.size), W2 / x2]
    nk, nD0, nw = np.concatenate(nk), np.concatenate(nD0), np.concatenate(nw)
    o = np.argsort(-nk, kind="stable")
    out = dataclasses.replace(system, kappa=np.ascontiguousarray(nk[o]), D0=np.ascontiguousarray(nD0[o]),
                              weights=np.ascontiguousarray(nw[o]), mass=None)
    return out, {"modes": int(kap.size), "merged_modes": int(nk.size), "bins": len(done),
                 "test_error": worst, "merge_rtol": float(merge_rtol), "t_max": float(t_max)}
