"""signSGD's drift factor φ(P) for every noise law: closed forms, engine derivations and a tabulated
quadrature, compiled for numba.

φ(P) = (2/π) E_ε[exp(−ε²/(2P))]/√P = 2√(2/π)·p_{s−ε}(0) with ``s ~ N(0, P)``, ``P = eᵀKe``: the factor by
which sign(g) shrinks the gradient direction (Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135;
docs/signsgd.md). :func:`sign_phi` asks the engine (:func:`hdlimits.derivation.expect_noise`) first and
falls back on the library's own numerically stable forms (:func:`own_phi`).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numba as nb
import numpy as np
import sympy as sp

from hdlimits.core import noise as noise_mod

__all__ = ["SignPhi", "sign_phi", "own_phi", "phi_eval", "phi_quadrature", "erfcx"]

_TWO_OVER_PI = 2.0 / math.pi
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_PI = math.sqrt(math.pi)

# law codes of the compiled φ
_MIX, _RADEMACHER, _LAPLACE, _UNIFORM, _CAUCHY, _TABLE = range(6)


@nb.njit(cache=True, nogil=True)
def erfcx(x):
    """exp(x²)·erfc(x) for x ≥ 0 without overflow (asymptotic series beyond x = 26, rel. err < 1e-12)."""
    if x < 26.0:
        return math.exp(x * x) * math.erfc(x)
    y = 1.0 / (x * x)
    return (1.0 + y * (-0.5 + y * (0.75 + y * (-1.875 + y * 6.5625)))) / (x * _SQRT_PI)


@nb.njit(cache=True, nogil=True)
def phi_eval(P, c):
    """φ(P) = (2/π) E_ε[exp(−ε²/(2P))]/√P for the law encoded in ``c`` (see :func:`sign_phi`)."""
    if P <= 0.0:
        P = 1e-300
    code = int(c[0])
    if code == _MIX:                      # Σ w_k N(m_k, s_k²); no noise = one atom at 0
        n = int(c[1])
        out = 0.0
        for k in range(n):
            w, m, s2 = c[2 + 3 * k], c[3 + 3 * k], c[4 + 3 * k]
            q = P + s2
            out += w * math.exp(-0.5 * m * m / q) / math.sqrt(q)
        return _TWO_OVER_PI * out
    if code == _RADEMACHER:
        a = c[1]
        return _TWO_OVER_PI * math.exp(-0.5 * a * a / P) / math.sqrt(P)
    if code == _LAPLACE:
        b = c[1]
        return _SQRT_2_OVER_PI * erfcx(math.sqrt(0.5 * P) / b) / b
    if code == _UNIFORM:
        a = c[1]
        return _SQRT_2_OVER_PI * math.erf(a / math.sqrt(2.0 * P)) / a
    if code == _CAUCHY:
        g = c[1]
        return _TWO_OVER_PI * erfcx(g / math.sqrt(2.0 * P)) / math.sqrt(P)
    # tabulated quadrature: cubic Hermite in u = log P of log φ, with exact slopes
    n = int(c[1])
    u0, h = c[2], c[3]
    u = math.log(P)
    if u <= u0:                           # P → 0: φ → φ(P_min) (density continuous at 0)
        return math.exp(c[4])
    s = (u - u0) / h
    i = int(s)
    if i >= n - 1:                        # P → ∞: φ ≈ φ(P_max)·√(P_max/P)
        return math.exp(c[4 + n - 1] - 0.5 * (u - (u0 + (n - 1) * h)))
    x = s - i
    y0, y1 = c[4 + i], c[5 + i]
    m0, m1 = c[4 + n + i] * h, c[5 + n + i] * h
    x2 = x * x
    x3 = x2 * x
    y = ((2 * x3 - 3 * x2 + 1) * y0 + (x3 - 2 * x2 + x) * m0 + (-2 * x3 + 3 * x2) * y1
         + (x3 - x2) * m1)
    return math.exp(y)


class SignPhi:
    """φ(P) for one noise law: ``expr`` (sympy in ``P`` or None), ``kind`` ("closed form" or
    "quadrature"), ``func`` (numba ``f(P, c)``) and ``params`` (its ``c``); ``self(P)`` evaluates.

    Same interface as ``hdlimits.derivation.expect_noise`` .
    """

    def __init__(self, expr, kind, params, name, func=None):
        self.expr = expr
        self.kind = kind
        self.func = phi_eval if func is None else func
        self.params = np.ascontiguousarray(params, dtype=np.float64)
        self.name = name
        self.source = "hdlimits.derivation.sign_phi"

    def __call__(self, P):
        P = np.asarray(P, dtype=np.float64)
        out = np.array([self.func(float(p), self.params) for p in P.ravel()])
        return out.reshape(P.shape) if P.ndim else float(out[0])

    def __repr__(self):
        return f"SignPhi({self.name}, {self.kind}: {self.expr})"


_Psym = sp.Symbol("P", positive=True)


def phi_quadrature(noise: noise_mod.NoiseLaw, P) -> float:
    """φ(P) = 2√(2/π) ∫ f_ε(e) N(e; 0, P) de by adaptive quadrature (scipy), or the exact finite sum
    for discrete laws. Independent of the closed forms; used to build tables and to test them."""
    from scipy import integrate
    P = float(P)
    if noise.is_discrete:
        return sum(p * _TWO_OVER_PI * math.exp(-a * a / (2 * P)) / math.sqrt(P) for a, p in noise.atoms())
    eps = sp.Symbol("eps", real=True)
    f = _density_func(noise)
    s = math.sqrt(P)

    def g(e):
        return f(e) * math.exp(-0.5 * e * e / P) / (s * math.sqrt(2 * math.pi))
    del eps
    # split at 0 and at a few scales so quad sees the kink / peak of either factor
    scale = max(noise.std if math.isfinite(noise.std) else getattr(noise, "scale", 1.0), 1e-300)
    pts = sorted({0.0, s, scale, 10 * s, 10 * scale})
    edges = [0.0] + [p for p in pts if p > 0] + [math.inf]
    tot = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        for sgn in (1.0, -1.0):
            val, _ = integrate.quad(lambda e, sg=sgn: g(sg * e), lo, hi, epsabs=0.0, epsrel=1e-12,
                                    limit=200)
            tot += val
    return 2.0 * _SQRT_2_OVER_PI * tot


@lru_cache(maxsize=64)
def _density_func(noise):
    eps = sp.Symbol("eps", real=True)
    return sp.lambdify(eps, sp.N(noise.density(eps), 17), modules=["math"])


def _phi_dlog_quadrature(noise, P):
    """d log φ / d log P by quadrature: P·∂_P ∫ f N(·;0,P) = ∫ f N (e²/P − 1)/2."""
    from scipy import integrate
    f = _density_func(noise)
    s = math.sqrt(P)

    def base(e):
        return f(e) * math.exp(-0.5 * e * e / P) / (s * math.sqrt(2 * math.pi))

    def num(e):
        return base(e) * 0.5 * (e * e / P - 1.0)
    scale = noise.std if math.isfinite(noise.std) else getattr(noise, "scale", 1.0)
    pts = sorted({0.0, s, scale, 10 * s, 10 * scale})
    edges = [0.0] + [p for p in pts if p > 0] + [math.inf]
    A = B = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        for sgn in (1.0, -1.0):
            A += integrate.quad(lambda e, sg=sgn: base(sg * e), lo, hi, epsabs=0.0, epsrel=1e-12,
                                limit=200)[0]
            B += integrate.quad(lambda e, sg=sgn: num(sg * e), lo, hi, epsabs=0.0, epsrel=1e-12,
                                limit=200)[0]
    return math.log(2.0 * _SQRT_2_OVER_PI * A), B / A


@lru_cache(maxsize=32)
def _table(noise, n=641):
    """Cubic-Hermite table of log φ against log P on [1e-10, 1e10]·scale² (exact slopes)."""
    scale = noise.std if math.isfinite(noise.std) else getattr(noise, "scale", 1.0)
    u = np.linspace(math.log(1e-10 * scale ** 2), math.log(1e10 * scale ** 2), n)
    vals = np.empty(n)
    slopes = np.empty(n)
    for i, ui in enumerate(u):
        vals[i], slopes[i] = _phi_dlog_quadrature(noise, math.exp(ui))
    return np.concatenate([[_TABLE, n, u[0], u[1] - u[0]], vals, slopes])


@lru_cache(maxsize=64)
def sign_phi(noise: noise_mod.NoiseLaw) -> SignPhi:
    """φ(P) = (2/π) E_ε[exp(−ε²/(2P))]/√P for a noise law, ``P = eᵀKe``.

    Derived by the engine :func:`hdlimits.derivation.expect_noise` (closed form where sympy finds one,
    quadrature otherwise). The engine's compiled function is probed on ``P ∈ [1e-8, 1e8]·scale²``; if it
    is not finite there (e.g. ``exp(P/2b²)·erfc(…)`` for Laplace noise overflows at large P) — or if the
    engine is unavailable — the library's own numerically stable form below is used instead
    (``.source`` says which).
    """
    eng = _engine_phi(noise)
    if eng is not None:
        return eng
    return own_phi(noise)


def _probe_scale(noise):
    s = noise.std if math.isfinite(noise.std) else getattr(noise, "scale", 1.0)
    return s if s > 0 else 1.0


def _engine_phi(noise):
    from hdlimits.derivation.expect import expect_noise
    eps = sp.Symbol("eps", real=True)
    P = _Psym
    try:
        ph = expect_noise(2 / sp.pi * sp.exp(-eps ** 2 / (2 * P)) / sp.sqrt(P), eps, P, noise,
                          name="signSGD phi")
        s2 = _probe_scale(noise) ** 2
        probe = [ph.func(float(p) * s2, ph.params) for p in np.logspace(-8, 8, 33)]
    except (ArithmeticError, ValueError, RuntimeError):  # the engine failed its own check: use ours
        return None
    if not np.all(np.isfinite(probe)) or min(probe) < 0:
        return None
    out = SignPhi(ph.expr, ph.kind, ph.params, noise.spec(), func=ph.func)
    out.source = "hdlimits.derivation"
    return out


def own_phi(noise: noise_mod.NoiseLaw) -> SignPhi:
    """The library's own φ: stable closed forms and a tabulated quadrature.

    Closed forms (checked against quadrature in the tests; docs/signsgd.md §4):
    Gaussian N(0, s²) and mixtures ``(2/π) Σ w_k exp(−m_k²/(2(P+s_k²)))/√(P+s_k²)``; no noise
    ``(2/π)/√P``; Rademacher ±a ``(2/π) exp(−a²/(2P))/√P``; Laplace(b) ``√(2/π) erfcx(√(P/2)/b)/b``;
    uniform[−a, a] ``√(2/π) erf(a/√(2P))/a``; Cauchy(γ) ``(2/π) erfcx(γ/√(2P))/√P``.
    Any other law (Student-t with df ≠ 1, ...): adaptive quadrature tabulated in log P (cubic Hermite
    with exact slopes; relative interpolation error < 1e-8), with the asymptotes φ → φ(0+) and
    φ ~ (2/π)/√P outside ``[1e-10, 1e10]·scale²``.
    """
    P = _Psym
    two_pi = 2 / sp.pi
    if isinstance(noise, noise_mod.NoNoise) or (isinstance(noise, noise_mod.Gaussian) and noise.std_ == 0):
        return SignPhi(two_pi / sp.sqrt(P), "closed form", [_MIX, 1, 1.0, 0.0, 0.0], noise.spec())
    if isinstance(noise, noise_mod.Gaussian):
        s2 = sp.nsimplify(noise.std_) ** 2
        return SignPhi(two_pi / sp.sqrt(P + s2), "closed form", [_MIX, 1, 1.0, 0.0, noise.std_ ** 2],
                       noise.spec())
    if isinstance(noise, noise_mod.GaussianMixture):
        c = [_MIX, len(noise.weights)]
        expr = 0
        for w, m, s in zip(noise.weights, noise.means, noise.stds):
            c += [w, m, s * s]
            q = P + sp.nsimplify(s) ** 2
            expr += sp.nsimplify(w) * sp.exp(-sp.nsimplify(m) ** 2 / (2 * q)) / sp.sqrt(q)
        return SignPhi(two_pi * expr, "closed form", c, noise.spec())
    if isinstance(noise, noise_mod.Rademacher):
        a = sp.nsimplify(noise.std_)
        return SignPhi(two_pi * sp.exp(-a ** 2 / (2 * P)) / sp.sqrt(P), "closed form",
                       [_RADEMACHER, noise.std_], noise.spec())
    if isinstance(noise, noise_mod.Laplace):
        b = sp.nsimplify(noise.scale)
        x = sp.sqrt(P / 2) / b
        return SignPhi(sp.sqrt(2 / sp.pi) * sp.exp(x ** 2) * sp.erfc(x) / b, "closed form",
                       [_LAPLACE, noise.scale], noise.spec())
    if isinstance(noise, noise_mod.Uniform):
        a = sp.nsimplify(noise.half_width)
        return SignPhi(sp.sqrt(2 / sp.pi) * sp.erf(a / sp.sqrt(2 * P)) / a, "closed form",
                       [_UNIFORM, noise.half_width], noise.spec())
    if isinstance(noise, noise_mod.StudentT) and noise.df == 1.0:
        g = sp.nsimplify(noise.scale)
        x = g / sp.sqrt(2 * P)
        return SignPhi(two_pi * sp.exp(x ** 2) * sp.erfc(x) / sp.sqrt(P), "closed form",
                       [_CAUCHY, noise.scale], noise.spec())
    return SignPhi(None, "quadrature", _table(noise), noise.spec())
