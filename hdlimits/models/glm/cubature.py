"""Cubature of Gaussian expectations ``E[g(r)]``, ``r ~ N(0, B)`` (docs/glm.md §2.4).

``B = U diag(s) Uᵀ`` (eigen-decomposition, so a singular B — e.g. a student started at 0 — works) and
``r = L z`` with ``L = U diag(√s)``, ``z ~ N(0, I_k)``.

* smooth integrands: tensor-product Gauss–Hermite in ``z`` (n nodes per axis);
* integrands with kinks or jumps on hyperplanes ``a·r + a0 = 0`` (relu, step): Gauss–Hermite over the first
  ``k − 1`` axes of ``z`` and, along the last axis, Gauss–Legendre on each piece of ``[−R, R]`` between the
  hyperplanes' crossings (R = 10), so the discontinuities fall on piece boundaries.

The node count is chosen once per integrand set (:func:`choose_levels`): at a probe ``B = s·B_0`` for the
scales ``s`` of :data:`SCALES` the count grows along :data:`LEVELS` until two successive counts agree to a
stated tolerance; ``evaluate`` then uses the count of the smallest probe scale ≥ ``max_i B_ii`` (a confident
logistic teacher with ``B_22 = 16`` needs far more nodes than ``B_22 = 1``).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import hermite_e, legendre

from hdlimits.models.glm import symbolic as S

__all__ = ["LEVELS", "SCALES", "R_CUT", "factor", "point_source", "compile_integrand", "Cubature"]

LEVELS = (6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
SCALES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
R_CUT = 10.0
MAX_POINTS = 400_000

_DRIVERS = """

@njit(cache=True, nogil=True)
def _matvec(L, z, r):
    k = L.shape[0]
    for a in range(k):
        s = 0.0
        for b in range(k):
            s += L[a, b] * z[b]
        r[a] = s


@njit(cache=True, nogil=True)
def f(L, Zo, wo, gx, gw, A, cpar_, acc, piecewise):
    k = L.shape[0]
    nv = acc.shape[0]
    p = A.shape[0]
    r = np.empty(k)
    z = np.empty(k)
    buf = np.empty(nv)
    for i in range(nv):
        acc[i] = 0.0
    if not piecewise:
        for n in range(Zo.shape[0]):
            for a in range(k):
                z[a] = Zo[n, a]
            _matvec(L, z, r)
            point(r, cpar_, buf)
            for i in range(nv):
                acc[i] += wo[n] * buf[i]
        return
    AL = np.zeros((p, k))
    for j in range(p):
        for b in range(k):
            s = 0.0
            for a in range(k):
                s += A[j, a] * L[a, b]
            AL[j, b] = s
    br = np.empty(p + 2)
    R = %(R)r
    for n in range(Zo.shape[0]):
        for a in range(k - 1):
            z[a] = Zo[n, a]
        nb = 0
        br[nb] = -R
        nb += 1
        for j in range(p):
            alpha = A[j, k]
            for b in range(k - 1):
                alpha += AL[j, b] * z[b]
            beta = AL[j, k - 1]
            if abs(beta) > 1e-300:
                t = -alpha / beta
                if t > -R and t < R:
                    br[nb] = t
                    nb += 1
        br[nb] = R
        nb += 1
        br[:nb].sort()
        for sgm in range(nb - 1):
            half = 0.5 * (br[sgm + 1] - br[sgm])
            if half <= 0.0:
                continue
            mid = 0.5 * (br[sgm + 1] + br[sgm])
            for q in range(gx.shape[0]):
                zz = mid + half * gx[q]
                z[k - 1] = zz
                wt = wo[n] * half * gw[q] * math.exp(-0.5 * zz * zz) / %(S2P)r
                _matvec(L, z, r)
                point(r, cpar_, buf)
                for i in range(nv):
                    acc[i] += wt * buf[i]
""" % {"R": R_CUT, "S2P": math.sqrt(2.0 * math.pi)}


def point_source(exprs, r, params) -> str:
    """Source of ``point(r, cpar_, out)`` writing ``out[i] = exprs[i](r)`` (params[j] ↦ cpar_[j])."""
    import sympy as sp
    names = {s: sp.Symbol(f"v{i}") for i, s in enumerate(r)}
    lines = "".join(f"    v{i} = r[{i}]\n" for i in range(len(r)))
    lines += "".join(f"    {p} = cpar_[{j}]\n" for j, p in enumerate(params))
    body = S.assignments([sp.sympify(e).xreplace(names) for e in exprs], [f"out[{i}]" for i in range(len(exprs))])
    return "@njit(cache=True, nogil=True)\ndef point(r, cpar_, out):\n" + lines + body + "    return\n"


def compile_integrand(exprs, r, params):
    """The numba cubature driver ``f(L, Zo, wo, gx, gw, A, cpar_, acc, piecewise)`` of ``exprs``."""
    return S.compile_module(point_source(exprs, r, params) + _DRIVERS, "gq")


def factor(B) -> np.ndarray:
    """``L`` with ``L Lᵀ = B`` from the eigen-decomposition (negative round-off eigenvalues set to 0)."""
    s, U = np.linalg.eigh(B)
    return U * np.sqrt(np.clip(s, 0.0, None))


_GH: dict = {}
_GL: dict = {}


def hermite_tensor(n: int, dim: int):
    """Tensor Gauss–Hermite nodes (n^dim, dim) and weights summing to 1 for ``z ~ N(0, I_dim)``."""
    key = (n, dim)
    if key not in _GH:
        x, w = hermite_e.hermegauss(n)
        w = w / w.sum()
        if dim == 0:
            Z, W = np.zeros((1, 0)), np.ones(1)
        else:
            grids = np.meshgrid(*([x] * dim), indexing="ij")
            Z = np.stack([g.ravel() for g in grids], axis=1)
            W = np.ones(Z.shape[0])
            for wg in np.meshgrid(*([w] * dim), indexing="ij"):
                W = W * wg.ravel()
        _GH[key] = (np.ascontiguousarray(Z), W)
    return _GH[key]


def legendre_nodes(q: int):
    if q not in _GL:
        _GL[q] = legendre.leggauss(q)
    return _GL[q]


def probe(k: int, scale: float, seed: int = 20240611) -> np.ndarray:
    """A fixed positive-definite probe ``scale·B_0`` with unit-diagonal ``B_0``."""
    rng = np.random.default_rng(seed + k)
    G = rng.standard_normal((k, k + 2))
    B0 = G @ G.T
    dg = np.sqrt(np.diag(B0))
    return scale * B0 / np.outer(dg, dg)


class Cubature:
    """Cubature of a fixed list of integrands; ``__call__(B, cvals) -> (nv,)`` expectations."""

    def __init__(self, exprs, r, params, kinks=None):
        self.k = len(r)
        self.nv = len(exprs)
        self.kinks = np.zeros((0, self.k + 1)) if kinks is None else np.ascontiguousarray(kinks, dtype=float)
        self.piecewise = self.kinks.shape[0] > 0
        self.func = compile_integrand(exprs, r, params)
        self.levels = None      # per scale: node level
        self.node_error = math.nan

    def _cost(self, n):
        if self.piecewise:
            return n ** (self.k - 1) * (self.kinks.shape[0] + 1) * n
        return n ** self.k

    def run(self, B, cvals, n):
        L = factor(np.asarray(B, dtype=np.float64))
        acc = np.empty(self.nv)
        if self.piecewise:
            Zo, wo = hermite_tensor(n, self.k - 1)
            gx, gw = legendre_nodes(n)
        else:
            Zo, wo = hermite_tensor(n, self.k)
            gx, gw = legendre_nodes(2)
        self.func(L, Zo, wo, gx, gw, self.kinks, cvals, acc, self.piecewise)
        return acc

    def choose_levels(self, cvals, tol: float):
        """Node count per probe scale: grow along LEVELS until two successive counts agree to ``tol``
        (max |Δ| ≤ tol·max(1, max |value|)); stores the worst agreement reached in ``node_error``."""
        levels, worst = [], 0.0
        allowed = [n for n in LEVELS if self._cost(n) <= MAX_POINTS]
        for s in SCALES:
            B = probe(self.k, s)
            prev, chosen, err = None, allowed[-1], math.inf
            i0 = max(0, allowed.index(levels[-1]) - 1) if levels else 0
            for n in allowed[i0:]:
                val = self.run(B, cvals, n)
                if prev is not None:
                    err = float(np.max(np.abs(val - prev)) / max(1.0, float(np.max(np.abs(val)))))
                    if err <= tol:
                        chosen = n
                        break
                prev = val
            levels.append(chosen)
            worst = max(worst, err)
        self.levels = tuple(levels)
        self.node_error = worst
        return self.levels

    def level_for(self, B) -> int:
        s = float(np.max(np.diag(B)))
        for scale, n in zip(SCALES, self.levels):
            if s <= scale:
                return n
        return self.levels[-1]

    def __call__(self, B, cvals):
        return self.run(B, cvals, self.level_for(B))
