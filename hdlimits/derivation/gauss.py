"""Closed-form Gaussian expectations of piecewise-polynomial functions, done by hand with sympy.

``gauss_expect(F, r, m, v)`` returns ``E[F(r)]`` for ``r ~ N(m, v)`` when ``F`` is piecewise polynomial in
``r`` (written with ``Piecewise``, ``Min``, ``Max``, ``sign``, ``Abs``, ``Heaviside``; breakpoints may be
symbols such as a clipping threshold). Each piece is integrated with the moment recursion

    ∫_α^β z^k φ(z) dz = [−z^{k−1} φ(z)]_α^β + (k−1) ∫_α^β z^{k−2} φ(z) dz,   r = m + √v z,

so no call to ``sympy.integrate`` is needed (fast, and exact for any symbolic breakpoints whose order
sympy can decide from the symbols' assumptions).
"""
from __future__ import annotations

import sympy as sp

__all__ = ["pieces", "gauss_expect", "Phi", "phi"]


def Phi(x):
    """Standard normal cdf (symbolic)."""
    if x is sp.oo:
        return sp.Integer(1)
    if x is -sp.oo:
        return sp.Integer(0)
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def phi(x):
    """Standard normal density (symbolic; 0 at ±∞)."""
    if x in (sp.oo, -sp.oo):
        return sp.Integer(0)
    return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _breakpoints(expr, r):
    pts = set()
    for rel in expr.atoms(sp.core.relational.Relational):
        lhs, rhs = rel.lhs, rel.rhs
        if lhs == r and not rhs.has(r):
            pts.add(rhs)
        elif rhs == r and not lhs.has(r):
            pts.add(lhs)
        elif rel.has(r):
            sol = sp.solve(sp.Eq(lhs, rhs), r)
            if len(sol) != 1:
                raise ValueError(f"cannot locate the breakpoint of condition {rel} in {r}")
            pts.add(sol[0])
    return pts


def _sorted(points):
    pts = list(points)
    out = []
    for p in pts:
        # insertion sort with sympy's assumption-based comparisons
        i = 0
        while i < len(out):
            lt = sp.simplify(p - out[i]).is_negative
            if lt is None:
                raise ValueError(f"cannot order the breakpoints {p} and {out[i]} of the nonlinearity "
                                 "(declare the symbols positive, e.g. sympy.Symbol('c', positive=True))")
            if lt:
                break
            i += 1
        out.insert(i, p)
    return out


def pieces(F, r):
    """Split ``F(r)`` into ``[(expr, lo, hi), ...]`` with ``expr`` free of Piecewise, on ordered intervals."""
    G = sp.piecewise_fold(F.rewrite(sp.Piecewise))
    if not G.has(sp.Piecewise):
        return [(sp.expand(G), -sp.oo, sp.oo)]
    pts = _sorted(_breakpoints(G, r))
    edges = [-sp.oo] + pts + [sp.oo]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo is -sp.oo:
            test = hi - 1
        elif hi is sp.oo:
            test = lo + 1
        else:
            test = (lo + hi) / 2
        out.append((sp.expand(_select(G, r, test)), lo, hi))
    return out


def _select(G, r, test):
    """The branch of the (folded) Piecewise G that is active at r = test, as an expression in r."""
    if isinstance(G, sp.Piecewise):
        for expr, cond in G.args:
            val = cond.subs(r, test)
            val = sp.simplify(val) if val not in (sp.true, sp.false) else val
            if val == sp.true:
                return _select(expr, r, test)
            if val != sp.false:
                raise ValueError(f"cannot decide the condition {cond} inside an interval")
        raise ValueError("the nonlinearity is undefined on part of the real line")
    if G.has(sp.Piecewise):
        return G.func(*[_select(a, r, test) for a in G.args])
    return G


def _z_moments(kmax, a, b):
    """[∫_a^b z^k φ(z) dz for k = 0..kmax]."""
    I = [Phi(b) - Phi(a)]
    if kmax >= 1:
        I.append(phi(a) - phi(b))
    for k in range(2, kmax + 1):
        ta = 0 if a is -sp.oo else a ** (k - 1) * phi(a)
        tb = 0 if b is sp.oo else b ** (k - 1) * phi(b)
        I.append(ta - tb + (k - 1) * I[k - 2])
    return I


def gauss_expect(F, r, m, v):
    """``E[F(r)]`` for ``r ~ N(m, v)`` (``v`` a positive symbol or expression), ``F`` piecewise polynomial."""
    z = sp.Dummy("z", real=True)
    sv = sp.sqrt(v)
    total = sp.Integer(0)
    for expr, lo, hi in pieces(F, r):
        poly = sp.Poly(sp.expand(expr.subs(r, m + sv * z)), z)
        a = lo if lo is -sp.oo else (lo - m) / sv
        b = hi if hi is sp.oo else (hi - m) / sv
        I = _z_moments(poly.degree(), a, b)
        for (k,), coef in poly.terms():
            total += coef * I[k]
    return total


def stein_a(h, r, m, v):
    """``E[h'(r)]`` for ``r ~ N(m, v)`` in the distributional sense, by Stein: ``E[(r − m) h(r)] / v``."""
    return gauss_expect((r - m) * h, r, m, v) / v
