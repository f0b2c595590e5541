"""The data-moment limit with a constant learning rate, solved by exact propagation of its linear part
(docs/datasets.md §3, "Solver").

With constant γ and batch B the closed recursion of :mod:`hdlimits.models.dataset.limit` is, on the modes
with λ > 0,

    D_{k+1} = A D_k + f(ē_k),      A = diag(a) + c C (symmetric, positive semi-definite),
    ē_k = ρ^k ∘ ē_0,   ρ = 1 − γλ/d,   c = γ²/(d²B),

where ``f`` is the part of the forcing that does not involve ``D`` (noise, the cross term with the
residual and the mean's own fourth moments). In the eigenbasis of ``A = V diag(σ) Vᵀ`` the homogeneous
part is diagonal and exact for any number of steps: ``y = VᵀD`` obeys ``y_{k+1} = σ y_k + Vᵀ f(ē_k)``.
Over a chunk of ``L`` steps the forcing ``l ↦ Vᵀf(ē_{k+l})`` — a smooth sum of decaying exponentials once
the fast and oscillating mean components are gone — is interpolated by a polynomial of degree 4 in
``u = l/L`` through ``l = 0, L/4, L/2, 3L/4, L`` and summed exactly against ``σ^{L−1−l}``:

    y_{k+L} = σ^L y_k + Σ_m S_m(σ, L) c_m,     S_m(σ, L) = Σ_{l<L} σ^{L−1−l} (l/L)^m,

with ``S_m`` built by binary doubling (all terms ≥ 0, no cancellation). The difference to the
cubic through ``0, L/4, 3L/4, L`` is the error estimate that sets ``L`` (a conservative estimate: it
measures the cruder rule). Steps are taken one at a time while a mean component with
``ρ < ½`` (fast or oscillating) is above 2⁻⁶⁰ of its start, and before output steps closer than 16 steps.

Cost: ``O(n d² + d³)`` once (C and the eigendecomposition of A), then ``O(n d + d²)`` per forcing
evaluation — a few hundred evaluations for ``t ∈ [0, 100]`` instead of ``t·d`` steps of the per-step
recursion. The result equals the per-step recursion up to the interpolation error (tested to 1e-7).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hdlimits.core import validation as v

__all__ = ["propagate", "step_matrix", "power_sums"]

_DEG = 4
_NODES = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
# monomial coefficients (in u) of the interpolants through the nodes: c = INV @ values
_INV4 = np.linalg.inv(np.vander(_NODES, _DEG + 1, increasing=True))
_SUB = [0, 1, 3, 4]                     # the cubic of the error estimate: nodes 0, ¼, ¾, 1
_INV3 = np.linalg.inv(np.vander(_NODES[_SUB], 4, increasing=True))
_MIN_CHUNK = 16
_FAST = 0.5
_TINY = 2.0 ** -60


@nb.njit(cache=True, nogil=True)
def _combine(p1, T1, len1, p2, T2, norm, out_T, binom):
    """Sums of the concatenation of a run of ``len1`` steps followed by a run with sums ``T2`` (module
    docstring; ``(l + len1)^m`` expanded binomially, ``l`` in units of ``norm``)."""
    sh = len1 / norm
    for m in range(out_T.size):
        acc = p2 * T1[m]
        for j in range(m + 1):
            acc += binom[m, j] * sh ** (m - j) * T2[j]
        out_T[m] = acc
    return p1 * p2


@nb.njit(cache=True, nogil=True)
def _power_sums(sigma, L, norm, deg, out):
    """``out[i, m] = Σ_{l<L} σ_i^{L−1−l} (l/norm)^m`` for m ≤ deg, and ``out[i, deg+1] = σ_i^L``."""
    binom = np.zeros((deg + 1, deg + 1))
    for m in range(deg + 1):
        binom[m, 0] = 1.0
        for j in range(1, m + 1):
            binom[m, j] = binom[m - 1, j - 1] + (binom[m - 1, j] if j <= m - 1 else 0.0)
    nbits = 0
    while (L >> nbits) > 0:
        nbits += 1
    T = np.zeros(deg + 1)
    T1 = np.zeros(deg + 1)
    tmp = np.zeros(deg + 1)
    for i in range(sigma.size):
        s = sigma[i]
        one = np.zeros(deg + 1)
        one[0] = 1.0                       # a single step: Σ = σ⁰·0^m
        p, length = 1.0, 0
        for m in range(deg + 1):
            T[m] = 0.0
        for b in range(nbits - 1, -1, -1):
            # double: run followed by a copy of itself
            for m in range(deg + 1):
                T1[m] = T[m]
            p = _combine(p, T1, length, p, T1, norm, tmp, binom)
            for m in range(deg + 1):
                T[m] = tmp[m]
            length *= 2
            if (L >> b) & 1:
                p = _combine(p, T, length, s, one, norm, tmp, binom)
                for m in range(deg + 1):
                    T[m] = tmp[m]
                length += 1
        for m in range(deg + 1):
            out[i, m] = T[m]
        out[i, deg + 1] = p


def power_sums(sigma, L, norm=None, deg=_DEG):
    """``(S, σ^L)`` with ``S[i, m] = Σ_{l<L} σ_i^{L−1−l} (l/norm)^m`` for ``m ≤ deg`` (``norm`` > 0 defaults
    to ``L``; ``L`` ≥ 0 steps). ``sigma``: finite eigenvalues of the PSD step matrix; values below 0 (rounding)
    are taken as 0."""
    try:
        sigma = np.asarray(sigma, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sigma must be a 1-D array of finite real numbers") from None
    if sigma.ndim != 1 or not np.all(np.isfinite(sigma)):
        raise ValueError(f"sigma must be a 1-D array of finite real numbers, got shape {sigma.shape}")
    sigma = np.ascontiguousarray(np.maximum(sigma, 0.0))
    L = v.integer("L", L, low=0)
    norm = float(L) if norm is None else v.positive("norm", norm)
    if norm == 0.0:                      # L = 0: an empty sum, the normalisation is irrelevant
        norm = 1.0
    deg = v.integer("deg", deg, low=0)
    out = np.empty((sigma.size, deg + 2))
    _power_sums(sigma, L, norm, deg, out)
    return out[:, :deg + 1], out[:, deg + 1]


def step_matrix(lam, C, lr, d, batch):
    """``A = diag(1 − 2x + (1 − 1/B)x²) + (γ²/(d²B)) C``, ``x = γλ/d`` (module docstring)."""
    x = lr * lam / d
    A = (lr * lr / (d * d * batch)) * C
    A[np.diag_indices(lam.size)] += 1.0 - 2.0 * x + (1.0 - 1.0 / batch) * x * x
    return A


def propagate(A, forcing, ebar0, rho, lam, steps_out, D0, thr, rtol, atol, store_modes):
    """Solve ``D_{k+1} = A D_k + forcing(ē_k)``, ``ē_k = ρ^k ē_0`` (module docstring) at ``steps_out``.

    ``forcing(ebar)`` returns ``f`` (length of ``lam``). Returns ``(P, modes, k_div, info)`` with
    ``P_k = λᵀD_k``, ``modes`` the D's at the outputs (or None) and ``k_div`` the first step with
    ``P > thr`` (−1 if none). ``rtol`` > 0 and ``atol`` ≥ 0 bound the interpolation error of ``P``.
    """
    rtol = v.positive("rtol", rtol)
    atol = v.nonnegative("atol", atol)
    p = np.asarray(lam).size
    if np.shape(A) != (p, p):
        raise ValueError(f"A must be {p}×{p} (the length of lam), got shape {np.shape(A)}")
    for name, arr in (("ebar0", ebar0), ("rho", rho), ("D0", D0)):
        if np.shape(arr) != (p,):
            raise ValueError(f"{name} must have length {p} (the length of lam), got shape {np.shape(arr)}")
    steps_out = np.asarray(steps_out)
    if steps_out.ndim != 1 or steps_out.size == 0 or np.any(steps_out < 0) or np.any(np.diff(steps_out) < 0):
        raise ValueError("steps_out must be a non-empty 1-D non-decreasing array of steps ≥ 0")
    sigma, V = np.linalg.eigh(0.5 * (A + A.T))
    sigma = np.maximum(sigma, 0.0)              # A is PSD; clear rounding below zero
    ell = V.T @ lam
    y = V.T @ D0
    T = steps_out.size
    P_out = np.full(T, np.inf)
    modes = np.full((T, lam.size), np.inf) if store_modes else None
    k, io, last = 0, 0, int(steps_out[-1])
    fast = (rho < _FAST) & (ebar0 != 0)
    if np.any(fast & (np.abs(rho) >= 1.0)):
        k_fast = last                                # the mean itself is unstable: step by step
    elif np.any(fast):
        ar = np.maximum(np.abs(rho[fast]), 1e-300)
        k_fast = int(np.max(np.ceil(math.log(_TINY) / np.log(ar))))
    else:
        k_fast = 0

    def g_at(k):
        return V.T @ forcing(ebar0 * np.power(rho, float(k)))

    def risk(yv):
        return float(ell @ yv)

    k_div, n_eval, n_chunks, n_reject = -1, 0, 0, 0
    L = _MIN_CHUNK
    single = 0                                   # steps to take one at a time after a failed chunk
    g0 = None                                    # the forcing at step k (reused across chunks)
    while True:
        while io < T and steps_out[io] == k:
            P_out[io] = risk(y)
            if modes is not None:
                modes[io] = V @ y
            io += 1
        if k >= last:
            break
        nxt = int(steps_out[io])
        if g0 is None:
            g0 = g_at(k)
            n_eval += 1
        if k < k_fast or nxt - k < _MIN_CHUNK or single > 0:
            y = sigma * y + g0
            k += 1
            single = max(single - 1, 0)
            g0 = None
            if not risk(y) <= thr:
                k_div = k
                break
            continue
        while True:
            L = int(min(max(L, _MIN_CHUNK), nxt - k)) // 4 * 4
            g = [g0] + [g_at(k + (q * L) // 4) for q in (1, 2, 3, 4)]
            n_eval += 4
            G = np.stack(g)                                  # (5, p)
            c4 = _INV4 @ G
            c3 = _INV3 @ G[_SUB]
            S, sL = power_sums(sigma, L)
            y4 = sL * y + np.einsum("im,mi->i", S, c4)
            y3 = sL * y + np.einsum("im,mi->i", S[:, :4], c3)
            P4 = risk(y4)
            err = float(np.sum(np.abs(ell * (y4 - y3)))) / (atol + rtol * abs(P4))
            if err <= 1.0 or L <= _MIN_CHUNK:
                break
            n_reject += 1
            L = max(_MIN_CHUNK, int(L * max(0.2, 0.9 * err ** (-0.25))))
        if err > 1.0:                                 # even the shortest chunk fails: single steps
            n_reject += 1
            single = _MIN_CHUNK
            continue
        n_chunks += 1
        if not P4 <= thr:                             # locate the first step above the threshold
            lo, hi = 0, L
            while hi - lo > 1:
                mid = (lo + hi) // 2
                Sm, sm = power_sums(sigma, mid, norm=L)
                if risk(sm * y + np.einsum("im,mi->i", Sm, c4)) <= thr:
                    lo = mid
                else:
                    hi = mid
            k_div = k + hi
            break
        y, k, g0 = y4, k + L, g[4]
        L = int(L * min(4.0, max(0.25, 0.9 * max(err, 1e-12) ** (-0.25))))
    info = {"forcing_evaluations": n_eval, "chunks": n_chunks, "rejected": n_reject,
            "single_steps_fast": k_fast}
    return P_out, modes, k_div, info
