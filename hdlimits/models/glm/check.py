"""The one-time check of a GLM expectations object against an independent computation (docs/glm.md §2.6).

At a fixed random positive-definite probe ``B`` (not one of the cubature's node-selection probes):

* k = 2: scipy adaptive quadrature (``dblquad``, per quadrant of the r-plane so that kinks on the axes sit on
  the borders) of ``f̄``, ``r ψ̄`` and ``(ψψᵀ)‾`` written as numpy functions by ``sympy.lambdify`` (not the
  generated numba code); J by the Stein form. Tolerance ``CHECK_TOL·max(1, |value|)`` per entry.
* k ≥ 3: Monte Carlo of the *un-averaged* loss and ψ with the label randomness drawn (``draw_xi``),
  ``MC_SAMPLES`` samples; tolerance ``MC_Z`` standard errors plus ``CHECK_TOL·max(1, |value|)``.

Returns ``(check_error, check_tolerance)``: the largest deviation and the largest allowed deviation, both
as ``|Δ| / max(1, |reference|)``; a deviation beyond its allowance raises RuntimeError.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy import integrate

from hdlimits.models.glm import cubature as cub
from hdlimits.models.glm import symbolic as S

__all__ = ["check", "CHECK_TOL", "MC_SAMPLES", "MC_Z"]

CHECK_TOL = 1e-5
MC_SAMPLES = 1_000_000
MC_Z = 5.0


def _probe(k):
    return 1.3 * cub.probe(k, 1.0, seed=977)


def _reference_quadrature(ex, B):
    model, k, m = ex.model, ex.k, ex.m
    r = model.r
    subs = dict(zip(ex.params, map(float, ex.cvals)))
    parts = ex.parts
    exprs = ([parts["fbar"]] + [r[i] * parts["psibar"][j] for i in range(k) for j in range(m)]
             + [parts["PP"][c][e] for c in range(m) for e in range(m)])
    funcs = [sp.lambdify(r, sp.sympify(e).subs(subs), modules=S.numpy_modules()) for e in exprs]
    Bi = np.linalg.inv(B)
    norm = 1.0 / (2.0 * math.pi * math.sqrt(np.linalg.det(B)))

    def dens(x, y):
        return norm * math.exp(-0.5 * (Bi[0, 0] * x * x + 2 * Bi[0, 1] * x * y + Bi[1, 1] * y * y))

    R0, R1 = 10.0 * math.sqrt(B[0, 0]), 10.0 * math.sqrt(B[1, 1])
    vals = []
    for fn in funcs:
        tot = 0.0
        for (a0, b0) in ((-R0, 0.0), (0.0, R0)):
            for (a1, b1) in ((-R1, 0.0), (0.0, R1)):
                v, _ = integrate.dblquad(lambda y, x: float(fn(x, y)) * dens(x, y), a0, b0, a1, b1,
                                         epsabs=1e-11, epsrel=1e-10)
                tot += v
        vals.append(tot)
    vals = np.array(vals)
    Er = vals[1:1 + k * m].reshape(k, m)
    ref = np.concatenate([[vals[0]], np.linalg.solve(B, Er).ravel(), vals[1 + k * m:]])
    return ref, np.zeros_like(ref)


def _reference_monte_carlo(ex, B, seed=4242):
    model, k, m = ex.model, ex.k, ex.m
    rng = np.random.default_rng(seed)
    n = MC_SAMPLES
    L = cub.factor(B)
    R = rng.standard_normal((n, k)) @ L.T
    xi = model.draw_xi(ex.noise, rng, n)
    args = list(model.r) + list(model.eps)
    cols = [R[:, i] for i in range(k)]
    if model.labels == "bernoulli":
        mean = sp.lambdify(model.r, model.label_mean, modules=S.numpy_modules())(*cols)
        cols.append((xi[:, 0] < mean).astype(float))
    else:
        cols += [xi[:, j] for j in range(len(model.eps))]

    def ev(e):
        return np.broadcast_to(np.asarray(sp.lambdify(args, e, modules=S.numpy_modules())(*cols), dtype=float),
                               (n,))
    f = ev(model.loss)
    psi = [ev(p) for p in model.psi]
    Y = R @ np.linalg.inv(B)
    samples = [f] + [Y[:, i] * psi[j] for i in range(k) for j in range(m)] + \
              [psi[c] * psi[e] for c in range(m) for e in range(m)]
    ref = np.array([s.mean() for s in samples])
    se = np.array([s.std() / math.sqrt(n) for s in samples])
    return ref, se


def check(ex):
    B = _probe(ex.k)
    h, J, I = ex.evaluate(B)
    k, m = ex.k, ex.m
    got = np.concatenate([[h], J[:, :m].ravel(), I[:m, :m].ravel()])
    if k == 2:
        ref, se = _reference_quadrature(ex, B)
        how = "scipy adaptive quadrature"
    else:
        ref, se = _reference_monte_carlo(ex, B)
        how = f"a Monte Carlo of {MC_SAMPLES} samples"
    scale = np.maximum(1.0, np.abs(ref))
    allowed = CHECK_TOL * scale + MC_Z * se
    dev = np.abs(got - ref)
    bad = np.flatnonzero(dev > allowed)
    if bad.size:
        i = int(bad[0])
        raise RuntimeError(f"the expectations of {ex.model.name} under {ex.noise.spec()} disagree with {how} at "
                           f"B = {B.round(4).tolist()}: entry {i} is {float(got[i]):.8g}, reference "
                           f"{float(ref[i]):.8g} (allowed ±{float(allowed[i]):.3g})")
    return float(np.max(dev / scale)), float(np.max(allowed / scale))
