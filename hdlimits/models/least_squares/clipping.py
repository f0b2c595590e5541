"""Clipping analysis: reduction factors, CSC / CCC, optimal threshold, stationary risk, critical lr.

Reference: Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip: the Dynamics of SGD with Gradient
Clipping in High-Dimensions", arXiv 2406.11733; docs/clipping.md.

Units: ``P = eᵀKe`` (twice the excess risk, the paper's ``2R``) and the *residual* threshold ``c``
(``c = C/√tr K`` for a gradient-norm threshold C, docs/conventions.md §4). With ``r = s − ε``, ``s ~ N(0, P)``:

* descent reduction factor ``μ_c(P) = P(|r| ≤ c)``;
* variance reduction factor ``ν_c(P) = E[min(r², c²)]`` (raw) and ``ν̂_c = ν_c/(P + E ε²)``;
* CSC (clipping improves stability) ``μ/ν̂ > 1``; CCC (clipping improves speed) ``μ²/ν̂ > 1``.

All functions accept any noise law of :mod:`hdlimits.core.noise`; they use the engine's compiled
coefficients (closed form or quadrature) and are vectorised over ``P``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from hdlimits.core import validation as v
from hdlimits.optimizers.clipped import RiskAdaptive, risk_adaptive

__all__ = ["mu", "nu", "nu_hat", "csc", "ccc", "max_ccc_threshold", "compensated_lr",
           "stationary_excess_risk", "critical_lr", "risk_adaptive", "RiskAdaptive"]


def _funcs(noise, c):
    from hdlimits.derivation import derive
    from hdlimits.derivation.engine import c as csym, r
    import sympy as sp
    der = derive(sp.Max(-csym, sp.Min(r, csym)), _law(noise))
    return der.compiled({csym: v.positive("c", c)})


def _law(noise):
    from hdlimits.core import noise as _noise
    return _noise.parse(noise) if isinstance(noise, str) else noise


def _vec(f, P, par):
    P = np.asarray(P, dtype=np.float64)
    if np.any(~(P > 0)) or np.any(~np.isfinite(P)):
        raise ValueError("P must lie in (0, inf)")
    out = np.array([f(float(p), par) for p in P.reshape(-1)])
    return out.reshape(P.shape) if P.ndim else float(out[0])


def mu(P, c, noise):
    """Descent reduction factor ``μ_c(P) = P(|r| ≤ c)``."""
    fa, _, par = _funcs(noise, c)
    return _vec(fa, P, par)


def nu(P, c, noise):
    """Raw variance reduction factor ``ν_c(P) = E[min(r², c²)]``."""
    _, fb, par = _funcs(noise, c)
    return _vec(fb, P, par)


def _m2(noise):
    m2 = _law(noise).second_moment
    if not np.isfinite(m2):
        raise ValueError(f"ν̂ = ν/(P + E ε²) needs a finite noise second moment; {_law(noise).spec()} has "
                         "none (use nu)")
    return m2


def nu_hat(P, c, noise):
    """Normalised variance reduction factor ``ν̂ = ν_c(P)/(P + E ε²)`` (≤ 1)."""
    return nu(P, c, noise) / (np.asarray(P, dtype=np.float64) + _m2(noise))


def csc(P, c, noise):
    """Clipped stability criterion ``μ/ν̂`` (clipping raises the maximal stable lr iff > 1)."""
    return mu(P, c, noise) / nu_hat(P, c, noise)


def ccc(P, c, noise):
    """Clipping speed-up criterion ``μ²/ν̂`` (clipping with the compensated lr beats SGD iff > 1)."""
    return mu(P, c, noise) ** 2 / nu_hat(P, c, noise)


def max_ccc_threshold(P, noise, c_range=(1e-3, 1e3)):
    """``(c*, CCC(c*))``: the residual threshold maximising ``μ²/ν̂`` at ``P`` (search over ``log c``).

    Note that a → ∞ gives CCC → 1 (no clipping), so CCC(c*) ≥ 1 up to the search range.
    """
    P = v.positive("P", P)
    lo, hi = (math.log(v.positive("c_range[0]", c_range[0])), math.log(v.positive("c_range[1]", c_range[1])))
    grid = np.linspace(lo, hi, 121)
    vals = [ccc(P, math.exp(g), noise) for g in grid]
    k = int(np.argmax(vals))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(lambda g: -ccc(P, math.exp(g), noise), bounds=(a, b), method="bounded",
                          options={"xatol": 1e-10})
    cs = math.exp(res.x)
    return cs, float(ccc(P, cs, noise))


def compensated_lr(lr, P, c, noise):
    """``γ/μ_c(P)``: with it, clipped SGD has the drift of SGD at ``γ`` (CCC comparison)."""
    return v.positive("lr", lr) / mu(P, c, noise)


def stationary_excess_risk(lr, c, noise, trace_over_d=1.0):
    """Stationary excess risk ``½P∞`` of clipped SGD (constant γ and residual threshold c).

    From the limit ``dD_i/dt = −2γμλ_iD_i + (γ²/d)νλ_i``: ``D_i∞ = γν/(2dμ)``, so
    ``P∞ = γ (tr K/d) ν_c(P∞)/(2 μ_c(P∞))`` (docs/clipping.md §6, ``4μR = ην`` for K = I).
    """
    lr = v.positive("lr", lr)
    q = v.positive("trace_over_d", trace_over_d)
    g = lambda P: P - lr * q * nu(P, c, noise) / (2 * mu(P, c, noise))  # noqa: E731
    hi = 1.0
    while g(hi) < 0:
        hi *= 4
        if hi > 1e12:
            raise ValueError("no stationary point below P = 1e12")
    return 0.5 * brentq(g, 1e-14, hi, xtol=1e-15, rtol=1e-13)


def critical_lr(P, c, noise, trace_over_d=1.0):
    """Largest stable lr with the factors frozen at ``P``: ``γ < 2 d μ / (ν̂ tr K)`` (unclipped: 2d/tr K)."""
    q = v.positive("trace_over_d", trace_over_d)
    return 2.0 * mu(P, c, noise) / (nu_hat(P, c, noise) * q)
