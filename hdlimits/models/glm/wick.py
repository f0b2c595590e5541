"""Gaussian moments of polynomials (Isserlis / Wick), docs/glm.md §2.2.

For ``r ~ N(0, B)`` the moment of a monomial follows from Stein's identity
``E[r_i g(r)] = Σ_j B_ij E[∂_j g(r)]`` applied to one factor at a time:

    E[r^n] = Σ_j B_ij (n − e_i)_j E[r^{n − e_i − e_j}],   i = first index with n_i > 0,

which sums the Wick pairings without enumerating them; odd total degree gives 0.
"""
from __future__ import annotations

import functools

import sympy as sp

__all__ = ["overlap_symbols", "gaussian_expectation", "monomial_moment"]


def overlap_symbols(k: int) -> sp.Matrix:
    """The symmetric k×k matrix of symbols ``B_ij`` (``B_ji`` is the same symbol ``B_ij``, i ≤ j, 1-based)."""
    return sp.Matrix(k, k, lambda i, j: sp.Symbol(f"B_{min(i, j) + 1}{max(i, j) + 1}", real=True))


def monomial_moment(powers: tuple, B: sp.Matrix):
    """``E[∏ r_i^{powers_i}]`` as a polynomial in the entries of ``B``."""
    return _moment(tuple(int(p) for p in powers), tuple(B))


@functools.lru_cache(maxsize=4096)
def _moment(n: tuple, Bflat: tuple):
    if sum(n) == 0:
        return sp.Integer(1)
    if sum(n) % 2:
        return sp.Integer(0)
    k = len(n)
    i = next(a for a in range(k) if n[a] > 0)
    rest = list(n)
    rest[i] -= 1
    out = sp.Integer(0)
    for j in range(k):
        if rest[j] == 0:
            continue
        nxt = list(rest)
        nxt[j] -= 1
        out += Bflat[i * k + j] * rest[j] * _moment(tuple(nxt), Bflat)
    return sp.expand(out)


def gaussian_expectation(expr, r, B: sp.Matrix):
    """``E[expr(r)]`` for ``r ~ N(0, B)`` and ``expr`` polynomial in ``r`` (other symbols are constants).

    Raises ValueError when ``expr`` is not a polynomial in ``r``."""
    expr = sp.expand(sp.sympify(expr))
    if not expr.free_symbols & set(r):
        return expr
    try:
        poly = sp.Poly(expr, *r)
    except sp.PolynomialError:
        raise ValueError(f"{expr} is not a polynomial in {r}") from None
    if any(c.has(*r) for c in poly.coeffs()):
        raise ValueError(f"{expr} is not a polynomial in {r}")
    return sp.expand(sp.Add(*[c * monomial_moment(p, B) for p, c in poly.terms()]))
