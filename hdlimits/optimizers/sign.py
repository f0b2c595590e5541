"""signSGD, and Adam with its conjectured β2 → 1 limit.

signSGD (Xiao, Marshall, Agarwala, Paquette, *Exact risk curves of signSGD in high-dimensions:
quantifying preconditioning and noise-compression effects*, arXiv 2411.12135; shared/math/sgd_sign_clip.md
§4): ``u_k = sign(g_k)`` coordinate-wise, step ``γ(t)/d``, time ``t = k/d`` (CONVENTIONS.md).

Limit, for any covariance K (not only diagonal). With ``D = diag K``, ``C = D^{-1/2} K D^{-1/2}`` the
correlation matrix and ``M = D^{-1/4} K D^{-1/4} = Σ_j κ_j w_j w_jᵀ``, the variables
``D_j = E⟨w_j, D^{1/4} e⟩²`` (so that ``Σ_j κ_j D_j = eᵀKe = P`` exactly) obey

    dD_j/dt = −2 γ φ(P) κ_j D_j + (γ²/d) w_jᵀ D^{1/4} K_σ D^{1/4} w_j,     K_σ = (2/π) arcsin(C),

    φ(P) = (2/π) E_ε[exp(−ε²/(2P))] / √P = 2√(2/π)·p_{w−ε}(0),  w ~ N(0, P).

Here ``P = eᵀKe`` is twice the notes' (and the paper's) excess risk R: their ``φ(R) = (2/π)(2R)^{-1/2}
E exp(−ε²/4R)`` is the same function of the same state. The mean ``E sign(g) = φ(P) D^{-1/2} K e``
follows from ``sign(g_i) = sign(x_i)·sign(r)`` and Stein's lemma; the second moment is
``E[sign(x) sign(x)ᵀ] = K_σ`` exactly (Sheppard's arcsine law). ``D^{-1/2}K`` is not symmetric; it is
similar to ``M``, whose eigenvectors (not an SVD of ``D^{-1/2}K``, which is right only when diag K is
constant or K diagonal) give the decoupled modes. The ``O(γκ/d)`` curvature term is set to 0 (h = 0):
signSGD's finite-d correction depends on P through φ², which the generic system cannot carry.

Adam (Kingma & Ba, *Adam: a method for stochastic optimization*, ICLR 2015) — the conjecture closing
arXiv 2411.12135, in its β2 → 1 form (notes §6): Adam behaves like diagonally preconditioned, normalised
SGD, ``u = g / √(diag K·(P + E ε²))``, whose limit is the system above with ``φ(P) → (P + E ε²)^{-1/2}``
and ``K_σ → C``. :class:`AdamLimit` is that idealised algorithm (its simulator normalises with the exact
``eᵀKe``); :class:`Adam` simulates real Adam (β1, β2, ε) and predicts with the AdamLimit equation, so
``compare`` measures the gap. At fixed β2 < 1 the equation is biased (≈ 1–5% at β2 = 0.99, tens of % at
β2 = 0.9): that is the documented limit of validity, not a bug.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numba as nb
import numpy as np
import sympy as sp

from hdlimits.core import validation as v
from hdlimits.core import noise as noise_mod
from hdlimits.solvers.modes import ModeSystem
from hdlimits.models.least_squares.problem import Problem
from hdlimits.core.schedules import as_schedule
from hdlimits.optimizers.base import SimRule, check_lr as _check_lr

__all__ = ["SignSGD", "Adam", "AdamLimit", "sign_phi", "SignPhi", "sign_drift_basis",
           "arcsine_matrix"]

_TWO_OVER_PI = 2.0 / math.pi
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_PI = math.sqrt(math.pi)

# law codes of the compiled φ
_MIX, _RADEMACHER, _LAPLACE, _UNIFORM, _CAUCHY, _TABLE = range(6)


@dataclass(frozen=True, eq=False)
class StatefulSimRule(SimRule):
    """A SimRule whose kernel keeps ``state`` floats per run (in ``rbuf`` after the batch slots)."""

    state: int = 0


# ============================================================================== φ (numba)
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


@nb.njit(cache=True, nogil=True)
def a_risk_scaled(P, c):
    """a(P) = √P·φ(P) for the risk-scaled step γ·√P (``c`` = parameters of :func:`phi_eval`)."""
    return math.sqrt(max(P, 0.0)) * phi_eval(P, c)


@nb.njit(cache=True, nogil=True)
def b_risk_scaled(P, c):
    """b(P) = P for the risk-scaled step (γ² → γ²·P)."""
    return max(P, 0.0)


@nb.njit(cache=True, nogil=True)
def a_adam(P, c):
    """a(P) of the β2 → 1 Adam limit: (P + E ε²)^{-1/2}  (``c[0] = E ε²``)."""
    return 1.0 / math.sqrt(max(P + c[0], 1e-300))


@nb.njit(cache=True, nogil=True)
def b_one(P, c):
    return 1.0


# ============================================================================== φ (objects)
class SignPhi:
    """φ(P) for one noise law: ``expr`` (sympy in ``P`` or None), ``kind`` ("closed form" or
    "quadrature"), ``func`` (numba ``f(P, c)``) and ``params`` (its ``c``); ``self(P)`` evaluates.

    Same interface as ``hdlimits.derivation.expect_noise`` (the switch to the engine is one line in
    :func:`sign_phi`).
    """

    def __init__(self, expr, kind, params, name, func=None):
        self.expr = expr
        self.kind = kind
        self.func = phi_eval if func is None else func
        self.params = np.ascontiguousarray(params, dtype=np.float64)
        self.name = name
        self.source = "hdlimits.optimizers.sign"

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
    return _own_phi(noise)


def _probe_scale(noise):
    s = noise.std if math.isfinite(noise.std) else getattr(noise, "scale", 1.0)
    return s if s > 0 else 1.0


def _engine_phi(noise):
    try:
        from hdlimits.derivation import expect_noise
    except ImportError:
        try:
            from hdlimits.derivation.expect import expect_noise
        except ImportError:
            return None
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


def _own_phi(noise: noise_mod.NoiseLaw) -> SignPhi:
    """The library's own φ: stable closed forms and a tabulated quadrature.

    Closed forms (checked against quadrature in the tests; notes §4.5 with R = P/2):
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


# ============================================================================== geometry
def arcsine_matrix(C: np.ndarray) -> np.ndarray:
    """K_σ = (2/π)·arcsin(C) entrywise (unit diagonal): E[sign(x) sign(x)ᵀ] for x ~ N(0, K)."""
    return _TWO_OVER_PI * np.arcsin(np.clip(C, -1.0, 1.0))


def sign_drift_basis(problem: Problem, noise_matrix: str = "arcsine"):
    """``(κ, D0, w)`` of the signSGD (``"arcsine"``) or β2→1 Adam (``"correlation"``) mode system.

    κ = eig(M), M = D^{-1/4} K D^{-1/4}; ``D0_j = ⟨w_j, D^{1/4} e_0⟩²``; ``w_j = w_jᵀ D^{1/4} N D^{1/4} w_j``
    with N = (2/π)arcsin(C) or C. Diagonal K: κ = √λ, D0 = √λ e_0², w = √λ (no d×d work).
    """
    if problem.is_diagonal:
        lam = problem.eigenvalues
        q = np.sqrt(lam)
        return q.copy(), q * problem.initial_error ** 2, q.copy()
    dg = problem.diagonal
    if np.any(dg <= 0):
        raise ValueError("signSGD/Adam limits need diag(K) > 0 for a dense K (range: (0, inf)); "
                         f"smallest diagonal entry is {dg.min():.3g}")
    K = problem.covariance
    q4 = dg ** 0.25
    M = K / np.outer(q4, q4)
    kappa, W = np.linalg.eigh(0.5 * (M + M.T))
    kappa = np.clip(kappa, 0.0, None)
    A = q4[:, None] * W                                  # columns D^{1/4} w_j
    sd = np.sqrt(dg)
    C = K / np.outer(sd, sd)
    np.fill_diagonal(C, 1.0)        # exactly: arcsin is √-sensitive at 1
    N = arcsine_matrix(C) if noise_matrix == "arcsine" else C
    w = np.einsum("ij,ij->j", A, N @ A)
    D0 = (A.T @ problem.initial_error) ** 2
    return kappa, D0, np.clip(w, 0.0, None)


def _c(x):
    return np.ascontiguousarray(x, dtype=np.float64)


# ============================================================================== optimizers
@dataclass(frozen=True)
class SignSGD:
    """signSGD: ``u_k = sign(g_k)`` coordinate-wise (``sign(0) = 0``), step ``γ(t)/d``.

    Parameters
    ----------
    lr : a positive number, a schedule, or a callable ``t -> γ``.
    batch : minibatch size B ≥ 1. The simulator runs any B (sign of the averaged gradient); the limit
        exists only for B = 1 (arXiv 2411.12135 analyses B = 1; notes §1) and ``limit`` raises
        ValueError for B > 1.
    risk_scaled : if True the step is ``γ(t)·√(eᵀKe)/d`` (the √R schedule, notes §4.8; an oracle
        schedule that reads the current excess risk). For K = I and no noise, γ = 2/π gives the fastest
        decay ``P(t) = P(0) e^{−4t/π²}``.

    Limit: see the module docstring; ``a(P) = φ(P)`` (``√P φ(P)`` when risk-scaled), ``b = 1``
    (``P``), ``κ = eig(D^{-1/4}KD^{-1/4})``, ``w`` the arcsine-law matrix in that basis, h = 0.
    Works for every noise law with a density (or atoms), including infinite variance.
    """

    lr: object
    batch: int = 1
    risk_scaled: bool = False
    name: str = field(default="sign", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))
        if not isinstance(self.risk_scaled, (bool, np.bool_)):
            raise ValueError(f"risk_scaled must be True or False, got {self.risk_scaled!r}")

    def phi(self, noise) -> SignPhi:
        return sign_phi(noise)

    def limit(self, problem: Problem, t_max: float | None = None) -> ModeSystem:
        if self.batch != 1:
            raise ValueError(f"batch must be 1 for the signSGD limit (range: 1; got {self.batch}): the "
                             "sign of an averaged minibatch gradient is not covered by the theory "
                             "(arXiv 2411.12135 treats B = 1); simulate() runs it")
        kappa, D0, w = sign_drift_basis(problem, "arcsine")
        if self.risk_scaled:       # module-level compiled a(P) = √P φ(P) on the library's own φ
            ph = _own_phi(problem.noise)
            a, b = a_risk_scaled, b_risk_scaled
        else:
            ph = sign_phi(problem.noise)
            a, b = ph.func, b_one
        return ModeSystem(kappa=_c(kappa), weights=_c(w), D0=_c(D0), d=problem.d,
                          schedule=as_schedule(self.lr, t_max), a=a, b=b, coef_params=_c(ph.params),
                          curvature=0.0, noise_second_moment=problem.noise_second_moment,
                          a_is_constant=False, exact_recursion=False, label=self.describe())

    def sim_rule(self, problem: Problem) -> SimRule:
        params = [1.0 if self.risk_scaled else 0.0]
        if self.risk_scaled and not problem.is_diagonal:
            params = np.concatenate([params, problem.covariance.ravel()])
        return SimRule("sign", None, tuple(params) if isinstance(params, list) else params)

    def describe(self) -> str:
        extra = ", risk_scaled=True" if self.risk_scaled else ""
        return f"SignSGD(lr={self.lr}, batch={self.batch}{extra})"


def _finite_m2(problem, who):
    m2 = problem.noise_second_moment
    if not math.isfinite(m2):
        raise ValueError(f"noise {problem.noise.spec()} has no finite second moment: the {who} limit "
                         "(normalisation by √(eᵀKe + E ε²)) does not exist")
    return m2


@dataclass(frozen=True)
class AdamLimit:
    """The β2 → 1 Adam conjecture (end of arXiv 2411.12135; notes §6): diagonally preconditioned,
    normalised SGD, ``u = g / √(diag K·(eᵀKe + E ε²))``, step ``γ(t)/d``.

    Limit: ``dD_j/dt = −2γ κ_j D_j/√(P + E ε²) + (γ²/d) w_jᵀD^{1/4} C D^{1/4} w_j`` with the signSGD
    basis (κ = eig(D^{-1/4}KD^{-1/4})) and the correlation matrix C as noise matrix; h = 0.
    Needs E ε² < ∞ and B = 1. Its simulator runs exactly that idealised update (the normalisation
    reads the exact current eᵀKe); use :class:`Adam` to simulate real Adam against this limit.
    """

    lr: object
    name: str = field(default="adam_limit", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))

    @property
    def batch(self) -> int:
        return 1

    def limit(self, problem: Problem, t_max: float | None = None) -> ModeSystem:
        m2 = _finite_m2(problem, "Adam (β2 → 1)")
        kappa, D0, w = sign_drift_basis(problem, "correlation")
        return ModeSystem(kappa=_c(kappa), weights=_c(w), D0=_c(D0), d=problem.d,
                          schedule=as_schedule(self.lr, t_max), a=a_adam, b=b_one,
                          coef_params=np.array([m2]), curvature=0.0, noise_second_moment=m2,
                          a_is_constant=False, exact_recursion=False, label=self.describe())

    def sim_rule(self, problem: Problem) -> SimRule:
        m2 = _finite_m2(problem, "Adam (β2 → 1)")
        dg = problem.diagonal
        if np.any(dg <= 0):
            raise ValueError("AdamLimit needs diag(K) > 0 (range: (0, inf)); smallest diagonal entry "
                             f"is {dg.min():.3g}")
        params = np.concatenate([[m2], dg])
        if not problem.is_diagonal:
            params = np.concatenate([params, problem.covariance.ravel()])
        return SimRule("normsgd", None, params)

    def describe(self) -> str:
        return f"AdamLimit(lr={self.lr})"


@dataclass(frozen=True)
class Adam:
    """Real Adam (Kingma & Ba 2015, bias-corrected) on streaming least squares, step ``γ(t)/d``:
    ``m ← β1 m + (1−β1) g``, ``v ← β2 v + (1−β2) g²``, ``u = m̂/(√v̂ + eps)``, ``m = v = 0`` at start.

    ``simulate`` runs this algorithm; ``limit`` is the β2 → 1 conjecture (:class:`AdamLimit`), which
    ignores β1, β2 and eps. The gap is the measured limit of validity: ≈ 1% at β2 = 0.999, a persistent
    few-% bias at β2 = 0.99 and a large one at β2 = 0.9 (notes §6; tests/optimizers/test_sign.py).

    Parameters: ``lr`` (number, schedule or callable), ``beta1 ∈ [0, 1)``, ``beta2 ∈ [0, 1)``,
    ``eps ≥ 0``, ``batch ≥ 1`` (simulation only; the limit needs 1).
    """

    lr: object
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    batch: int = 1
    name: str = field(default="adam", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "beta1", v.real("beta1", self.beta1, low=0.0, high=1.0, high_open=True))
        object.__setattr__(self, "beta2", v.real("beta2", self.beta2, low=0.0, high=1.0, high_open=True))
        object.__setattr__(self, "eps", v.nonnegative("eps", self.eps))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))

    def limit(self, problem: Problem, t_max: float | None = None) -> ModeSystem:
        if self.batch != 1:
            raise ValueError(f"batch must be 1 for the Adam limit (range: 1; got {self.batch})")
        return AdamLimit(self.lr).limit(problem, t_max)

    def sim_rule(self, problem: Problem) -> SimRule:
        d = problem.d
        return StatefulSimRule("adam", None, (self.beta1, self.beta2, self.eps),
                               aux=lambda t: np.round(np.asarray(t) * d) + 1.0, state=2 * d)

    def describe(self) -> str:
        return (f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
                f"batch={self.batch})")
