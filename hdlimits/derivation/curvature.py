"""The finite-d coefficient ``H`` of the least-squares mode system for residual and norm-based updates.

The mode system (docs/sgd.md §6, :mod:`hdlimits.solvers.modes`) is

    dD_i/dt = −(2γ a(P) κ_i − H κ_i²/d) D_i + (γ²/d) b(P) w_i,

with ``H = hγ²`` and ``h = 1 + 1/B`` for SGD. This module derives ``H`` for the updates of clipped,
normalized and sign SGD (docs/clipping.md §10, docs/signsgd.md §11).

**Residual updates** ``θ ← θ − (γ/d) x ψ(r)``, ``r = s − ε``, ``s = xᵀe ~ N(0, P)``, ``x ~ N(0, K)``. In
the eigen-coordinate ``i``, ``x_i = (λ_i e_i/P) s + z_i`` with ``z_i`` independent of ``s``, so

    E[x_i ψ(r)]     = λ_i e_i E[ψ'(r)]                                  (Stein: the drift, exact)
    E[x_i² ψ(r)²]   = λ_i E[ψ²] + (λ_i² e_i²/P²) E[(s² − P) ψ(s − ε)²].

Second-order Stein, ``E[(s² − P) f(s)] = P² E[f''(s)]``, and the heat equation for ``s ~ N(0, P)``,
``∂_P E[f(s − ε)] = ½ E[f''(s − ε)]`` (``ε`` independent of ``s``), give for the per-step second moment

    E[e_i'²] = (1 − 2γλ_i a/d) e_i² + (γ²/d²)(λ_i b(P) + λ_i² e_i² h(P)),   h(P) = E[(ψ²)''(r)] = 2 b'(P),

exactly, for every noise law: ``h`` is the whole coefficient (the square ``a²`` of the drift is part
of it: SGD has ``h = 2 = a² + 1``, the ``1`` from the Gaussian fourth moment). Clipping,
``ψ = clamp(r, −c, c)``: ``h = 2μ_c − 2c(p_r(c) + p_r(−c))``; for Gaussian noise ``σ``, with
``z = c/√(P + σ²)``, ``h = 2(2Φ(z) − 1) − 4zφ(z)`` (:func:`clipped_h_gaussian`, derived with sympy).
Normalization, ``ψ = sign(r)/√T``: ``ψ²`` is constant, ``h = 0``.

**The norm ``‖x‖``** (clipped SGD clips ``|r|‖x‖``, normalized SGD divides by it): Stein on the whole
vector adds ``λ_i E[∂_{‖x‖}ψ · x_i/‖x‖]`` to the drift. On the clipped part ``ψ = sign(r) C/‖x‖``, so
to leading order this is ``−(λ_i² e_i/T) c (p_r(c) + p_r(−c)) = −(λ_i² e_i/T)(a − b')``: the rate gains
``+2γ (κ_i²/T)(a − b') D_i``, i.e. ``H += γ (2d/T)(a(P) − b'(P))`` (normalized SGD: ``b' = 0``).
Left out (same order ``κ/T`` but not of the form ``κ²D``): the relative corrections
``O(Σλ²/T²)`` of ``a`` and ``b`` by the variance of ``‖x‖²``, the correction ``−2κ_i/T`` of the forcing
weight on the clipped part, and the dependence of ``a`` on ``eᵀK²e`` through ``E[‖x‖² | s]``.

**signSGD** (diagonal K, batch 1): ``u_j = sign(x_j) sign(r)`` has ``u_j² = 1``, so the second moment
of ``e_j`` has no ``e_j²`` term at all: ``H = 0`` exactly. The finite-d error of the sign limit is in
its drift, ``E[sign(x_j) sign(r)] = (2/π) arcsin(ρ_j)`` (``ε = 0``, ``ρ_j = √λ_j e_j/√P``) against the
linear ``(2/π) ρ_j`` of the limit: a cubic correction in ``e_j`` whose mean involves ``E e_j⁴``, which
the closure in ``D_i`` does not carry (:func:`sign_drift_excess`).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from hdlimits.core import validation as v
from hdlimits.solvers.modes import StateCurvature

__all__ = ["residual_curvature", "norm_curvature", "clipped_h_gaussian", "clipped_h_symbolic",
           "second_moment_coefficient", "h_from_b", "sign_drift_excess"]


def residual_curvature() -> StateCurvature:
    """``H = 2 b'(P) γ²``: the exact coefficient of a residual update ``x ψ(r)`` (module docstring)."""
    return StateCurvature(b_slope=2.0)


def norm_curvature(trace: float, d: int) -> StateCurvature:
    """``H = 2 b'(P) γ² + γ (2d/T)(a(P) − b'(P))``: a residual update whose threshold or normalisation
    uses ``‖x‖`` (clipped and normalized SGD, ``T = tr K`` > 0, dimension ``d`` ≥ 1)."""
    T = v.positive("trace", trace)
    d = v.integer("d", d, low=1)
    g = 2.0 * float(d) / T
    return StateCurvature(b_slope=2.0, drift_a=g, drift_b=-g)


def clipped_h_symbolic():
    """``(h, P, c, σ)``: ``h = 2 ∂_P E[min(r², c²)]`` for ``r ~ N(0, P + σ²)``, differentiated by sympy
    and simplified (``2(2Φ(z) − 1) − 4zφ(z)``, ``z = c/√(P + σ²)``)."""
    P, c, s = sp.symbols("P c sigma", positive=True)
    V = P + s ** 2
    z = c / sp.sqrt(V)
    Phi = (1 + sp.erf(z / sp.sqrt(2))) / 2
    phi = sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)
    # E[min(r², c²)] = E[r² 1{|r| ≤ c}] + c² P(|r| > c), r ~ N(0, V)
    b = V * (2 * Phi - 1) - 2 * c * sp.sqrt(V) * phi + c ** 2 * (2 - 2 * Phi)
    return sp.simplify(2 * sp.diff(b, P)), P, c, s


def clipped_h_gaussian(P, c, sigma):
    """``h(P) = 2(2Φ(z) − 1) − 4zφ(z)``, ``z = c/√(P + σ²)``: clipping at residual threshold ``c`` with
    Gaussian noise of standard deviation ``σ`` (vectorised over ``P``; ``P`` ≥ 0 finite, ``c`` > 0 finite,
    ``σ`` ≥ 0, ``P + σ²`` > 0)."""
    from scipy.special import erf
    c = v.positive("c", c)
    sigma = v.nonnegative("sigma", sigma)
    try:
        P = np.asarray(P, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("P must be real numbers in [0, inf)") from None
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError("P must be real numbers in [0, inf)")
    if sigma == 0.0 and np.any(P == 0):
        raise ValueError("P must be > 0 when sigma = 0 (h is undefined at P + σ² = 0)")
    z = c / np.sqrt(P + sigma * sigma)
    return 2.0 * erf(z / math.sqrt(2.0)) - 4.0 * z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def h_from_b(b, params, P) -> float:
    """``2 b'(P)`` of a compiled ``b(P, c)`` by central differences (what the integrators evaluate),
    ``P`` > 0."""
    P = v.positive("P", P)
    e = 1e-4 * P
    return float((b(P + e, params) - b(P - e, params)) / e)


def second_moment_coefficient(psi, noise, P, n=1_000_000, seed=0):
    """Monte Carlo of the defining expectation ``h = E[(s²/P − 1) ψ(s − ε)²]/P``, ``s ~ N(0, P)``:
    ``(mean, standard error)`` over ``n`` ≥ 2 samples (``P`` > 0); ``psi`` a vectorised numpy function."""
    P = v.positive("P", P)
    n = v.integer("n", n, low=2)
    rng = np.random.default_rng(v.seed("seed", seed))
    s = math.sqrt(P) * rng.standard_normal(n)
    eps = np.asarray(noise.sample(rng, n), dtype=np.float64)
    vals = (s * s / P - 1.0) * psi(s - eps) ** 2 / P
    return float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(n))


def sign_drift_excess(rho) -> np.ndarray:
    """Relative error of the sign limit's linear drift per coordinate (``ε = 0``):
    ``arcsin(ρ)/ρ − 1`` (≈ ρ²/6), ``ρ = √λ_j e_j/√P`` the correlation of ``x_j`` with ``r`` (in [−1, 1])."""
    try:
        rho = np.asarray(rho, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("rho must be correlations in [-1, 1]") from None
    if not np.all(np.abs(rho) <= 1.0):               # also refuses NaN
        raise ValueError("rho must be correlations in [-1, 1]")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rho == 0, 0.0, np.arcsin(rho) / np.where(rho == 0, 1.0, rho) - 1.0)
