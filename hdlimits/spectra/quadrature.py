"""Quadrature rules that turn a spectrum into a few weighted modes (docs/spectra.md §2–§3).

Two rules, both with an error that is *measured* on the functions the risk is made of:

* :func:`power_sum_rule` — nodes ``x_i`` and weights ``ω_i`` with ``Σ_{j=1}^{N} g(j) ≈ Σ_i ω_i g(x_i)`` for
  the smooth summands ``g(j) = j^{−p}·exp(−s·j^{−α})`` of a power-law spectrum. The first ``J0`` indices
  are kept exactly (weight 1); the tail is the midpoint (Euler–Maclaurin) integral
  ``∫_{J0+½}^{N+½} g(x) dx``, whose error is ``≈ p(p+1)/(24 J0²)`` relative, computed by Gauss–Legendre
  panels in ``u = log x`` (where ``exp(−s·e^{−αu})`` is a translated double exponential, so one panel
  width serves every ``s``) with panels graded geometrically towards the last index.
* :func:`density_rule` — Gauss–Legendre panels on a support ``[a, b]``, graded geometrically towards both
  ends (square-root edges, integrable singularities and the long-time behaviour at the lower edge).

The number of nodes per panel is doubled until the rule and a rule with twice the nodes agree on the test
family ``λ^q·e^{−sλ}`` (weights of the forcing and of the noise kernel, ``s`` from ``0`` to ``1e12/λ_max``)
to the requested relative tolerance; the cost is independent of the dimension ``d``.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy.linalg import eigh_tridiagonal

__all__ = ["gauss_panels", "power_sum_rule", "density_rule", "harmonic", "head_size"]

_MAX_NODES = 64


def gauss_panels(edges, n: int):
    """Gauss–Legendre nodes and weights with ``n`` nodes on each panel ``[edges[k], edges[k+1]]``."""
    g, w = np.polynomial.legendre.leggauss(int(n))
    e = np.asarray(edges, dtype=np.float64)
    lo, hi = e[:-1, None], e[1:, None]
    half = 0.5 * (hi - lo)
    return (lo + half * (g[None, :] + 1.0)).ravel(), (half * w[None, :]).ravel()


def harmonic(n, s: float) -> float:
    """``H_n(s) = Σ_{k=1}^{n} k^{−s}`` for any real ``s`` without an O(n) array: an exact sum up to 2000,
    then the Euler–Maclaurin formula (4 Bernoulli terms; relative error < 1e-15 for |s| ≤ 10)."""
    n = int(n)
    m = min(n, 2000)
    k = np.arange(1, m + 1, dtype=np.float64)
    total = math.fsum(k ** (-s))
    if n == m:
        return total

    def f(x, order):   # order-th derivative of x^(−s)
        c = 1.0
        for i in range(order):
            c *= (-s - i)
        return c * x ** (-s - order)

    a, b = float(m), float(n)
    integral = math.log(b / a) if s == 1.0 else (b ** (1 - s) - a ** (1 - s)) / (1 - s)
    tail = integral + 0.5 * (f(b, 0) + f(a, 0))
    for k2, bern in ((2, 1 / 6), (4, -1 / 30), (6, 1 / 42), (8, -1 / 30)):
        tail += bern / math.factorial(k2) * (f(b, k2 - 1) - f(a, k2 - 1))
    # the sum over (m, n]: the Euler–Maclaurin sum over [m, n] minus the term at m
    return total + tail - f(a, 0)


def head_size(p_max: float, rtol: float, n: int) -> int:
    """Indices kept exactly so that the midpoint error of the tail ``≈ p(p+1)/(24 J0²)`` is below rtol/10."""
    p = max(abs(p_max), 1.0)
    j0 = int(math.ceil(math.sqrt(p * (p + 1) / (24 * 0.1 * rtol))))
    return int(min(max(j0, 64), n))


def _tail_edges(lo: float, hi: float, width: float) -> np.ndarray:
    """Panel edges in u on [lo, hi]: uniform of the given width, then halving towards hi down to 1e-9."""
    span = hi - lo
    if span <= 0:
        return np.array([lo, hi])
    grade = [hi - width * 0.5 ** k for k in range(1, 60) if width * 0.5 ** k > 1e-9 * max(1.0, hi)]
    grade = [x for x in grade if x > lo]
    body_end = grade[0] if grade else hi
    nb = max(1, int(math.ceil((body_end - lo) / width)))
    body = np.linspace(lo, body_end, nb + 1)
    return np.unique(np.concatenate([body, grade, [hi]]))


def _check_family(values_n, values_2n, total):
    """Largest relative disagreement over the test family (columns: members)."""
    scale = np.maximum(np.abs(total), 1e-300)
    return float(np.max(np.abs(values_n - values_2n) / scale))


def discrete_gauss(first: int, count: int, n: int):
    """Gauss rule for the uniform measure on the integers ``first, …, first+count−1``: ``n`` nodes (or all
    the points when ``count ≤ n``), positive weights summing to ``count``, exact for polynomials of degree
    ``≤ 2n − 1`` (Golub–Welsch on the recurrence of the discrete Chebyshev polynomials)."""
    if count <= n:
        return first + np.arange(count, dtype=np.float64), np.ones(count)
    y, w = _unit_discrete_gauss(int(count) if count < 10 ** 7 else 0, int(n))
    c = float(count)
    if count >= 10 ** 7:    # (k/count)² < 1e-11: the Gauss–Legendre limit, shifted by the half-spacing
        y = y - 0.5 / c
    return first + c * y, c * w


@functools.lru_cache(maxsize=4096)
def _unit_discrete_gauss(count: int, n: int):
    """Nodes on [0, 1) and weights summing to 1 of the n-point rule for ``count`` equispaced points
    (``count = 0``: the continuum limit on [0, 1] shifted by half a spacing, the caller's job)."""
    k = np.arange(1, n, dtype=np.float64)
    ratio = 0.0 if count == 0 else (k / count) ** 2
    beta = k * k * (1.0 - ratio) / (4.0 * (4.0 * k * k - 1.0))   # scaled by 1/count²
    diag = np.full(n, 0.5 if count == 0 else 0.5 * (count - 1) / count)
    y, V = eigh_tridiagonal(diag, np.sqrt(beta))
    if count == 0:
        y = y + 0.0
    w = V[0] ** 2
    y.setflags(write=False)
    w.setflags(write=False)
    return y, w


def _blocks(N: int, ratio: float):
    """Consecutive integer blocks covering 1..N: sizes growing geometrically (factor ``ratio``) from 1,
    then halving towards N (the last index is where the long-time behaviour sits)."""
    starts = []
    j = 1
    while j <= N:
        starts.append(j)
        j = max(j + 1, int(math.floor(j * ratio)))
    starts = [s for s in starts if s <= N]
    # grade the last block towards N
    out = []
    for a, b in zip(starts, starts[1:] + [N + 1]):
        out.append((a, b - a))
    a, m = out.pop()
    while m > 8:
        h = m // 2
        out.append((a, h))
        a, m = a + h, m - h
    out.append((a, m))
    return out


def power_sum_rule(N: int, alpha: float, powers, rtol: float = 1e-9):
    """Nodes ``x`` (real indices) and positive weights ``ω`` with ``Σ_{j≤N} g(j) ≈ Σ_i ω_i g(x_i)``.

    The indices are split into blocks growing geometrically (ratio 2^{1/2}, then halving towards N);
    each block gets the discrete Gauss rule of :func:`discrete_gauss` (exact for polynomials of degree
    2n − 1 on its integers, so there is no midpoint error and the first indices are kept exactly).
    ``powers``: the exponents ``p`` of the test summands ``j^{−p}·e^{−s j^{−α}}`` (e.g. ``α+β`` for the
    forcing, ``2α`` for the noise kernel); ``n`` is doubled until the rule and the rule with ``2n`` nodes
    agree on them to ``rtol/10`` relative for every ``s``. Returns ``(x, ω, info)``.
    """
    N = int(N)
    powers = np.atleast_1d(np.asarray(powers, dtype=np.float64))
    blocks = _blocks(N, math.sqrt(2.0))
    a = max(alpha, 1e-3)
    s_grid = np.concatenate([[0.0], np.exp(np.linspace(-3.0, a * math.log(N + 1.0) + 8, 60))])

    def rule(n):
        xs, ws = zip(*(discrete_gauss(f, c, n) for f, c in blocks))
        return np.concatenate(xs), np.concatenate(ws)

    def family(x, w):
        E = np.exp(-np.outer(s_grid, x ** (-alpha)))
        return np.concatenate([E @ (w * x ** (-p)) for p in powers])

    n = 3
    while True:
        x1, w1 = rule(n)
        x2, w2 = rule(2 * n)
        f2 = family(x2, w2)
        err = _check_family(family(x1, w1), f2, f2)
        if err <= 0.1 * rtol or 2 * n >= _MAX_NODES:
            break
        n *= 2
    return x2, w2, {"blocks": len(blocks), "nodes_per_block": 2 * n, "error": err}


def density_rule(f, a: float, b: float, weight_fns, rtol: float = 1e-9, levels: int = 40):
    """Nodes and weights for ``∫_a^b g(λ) f(λ) dλ`` (``f`` a density, vectorised), graded towards both ends.

    ``weight_fns``: callables ``λ ↦ q(λ)`` of the test family ``q(λ)·e^{−sλ}`` (``s`` from 0 to
    ``1e12/b``). Returns ``(λ, ω, info)`` where ``ω`` already includes ``f``.
    """
    a, b = float(a), float(b)
    g = [0.5 ** k for k in range(1, levels + 1)]
    inner = np.array(sorted(set([0.0, 1.0] + g + [1.0 - x for x in g[:levels // 2]]
                                + list(np.linspace(0.0, 1.0, 9)))))
    edges = a + (b - a) * inner
    s_grid = np.concatenate([[0.0], np.geomspace(1e-2 / b, 1e12 / b, 57)])

    def family(lam, w):
        E = np.exp(-np.outer(s_grid, lam))
        return np.concatenate([E @ (w * q(lam)) for q in weight_fns])

    n = 4
    while True:
        l1, w1 = gauss_panels(edges, n)
        l2, w2 = gauss_panels(edges, 2 * n)
        w1 = w1 * f(l1)
        w2 = w2 * f(l2)
        f1, f2 = family(l1, w1), family(l2, w2)
        err = _check_family(f1, f2, f2)
        if err <= 0.1 * rtol or 2 * n > _MAX_NODES:
            break
        n *= 2
    keep = w2 > 0
    return l2[keep], w2[keep], {"nodes_per_panel": 2 * n, "panels": edges.size - 1, "error": err}
