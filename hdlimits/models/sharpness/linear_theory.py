"""Theory of minibatch SGD on the linear model (docs/sharpness.md §3–§5).

Agarwala & Pennington, *High dimensional analysis reveals conservative sharpening and a stochastic edge
of stability*, arXiv 2404.19261. Conventions: ``lr`` is the step η itself, time is the step count, the
loss is the sum loss ``L = ½‖z‖²`` and ``E L_t = ½ tr M_t`` with ``M_t = E[z_t z_tᵀ]``.

* :func:`exact_loss` — the exact finite-D second-moment recursion
  ``M_{t+1} = A M_t A + η² Θ N(M_t) Θ``, ``A = I − ηΘ`` (any Θ, any D; O(D³) per step, done in the
  eigenbasis of Θ with two D × D products per step);
* :func:`mode_loss` — the high-dimensional mode equations (delocalised eigenvectors, O(D) per step)
  ``m_α ← (1−ηλ_α)² m_α + η²λ_α² (c m̄ + κ m_α)``, ``m̄ = (1/D)Σ m_γ``;
* :func:`noise_kernel_norm` 𝒦 = (c/D) Σ_α ηλ_α/(2 − ηλ_α) (stochastic edge of stability at 𝒦 = 1),
  :func:`critical_lr`, :func:`critical_batch` (B_c = tr Θ/λ_max), :func:`growth_rate` (the per-step
  factor μ of E‖z‖²: the secular equation of the mode equations, or the exact operator).

``c = v − κ`` and ``κ`` are the batch-weight variance/covariance of :mod:`.batch_noise`.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize
from scipy.sparse.linalg import LinearOperator, eigsh

from hdlimits.core import validation as v
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.models.sharpness.batch_noise import check_batch, check_sampling, noise_coefficients
from hdlimits.models.sharpness.linear import LinearModel

__all__ = ["noise_kernel_norm", "critical_lr", "critical_batch", "growth_rate", "exact_loss",
           "mode_loss", "CriticalLR", "mp_density"]

#: a curve is diverged once the loss exceeds this multiple of its initial value
DIVERGENCE_FACTOR = 1e10
SPECTRA = ("empirical", "density")


def _check_model(lin):
    if not isinstance(lin, LinearModel):
        raise ValueError(f"lin must be a hdlimits.sharpness.LinearModel, got {type(lin).__name__}")
    return lin


def _coeffs(lin, batch, sampling):
    B = check_batch(batch, lin.D)
    var, cov = noise_coefficients(check_sampling(sampling), lin.D, B)
    return B, var - cov, cov


def _check_spectrum(lin, spectrum):
    if spectrum not in SPECTRA:
        raise ValueError(f"spectrum must be 'empirical' or 'density', got {spectrum!r}")
    if spectrum == "density" and lin.alpha is None:
        raise ValueError("spectrum='density' needs a Marchenko–Pastur model "
                         "(LinearModel.marchenko_pastur); this model has no density")
    return spectrum


# --- Marchenko–Pastur density -------------------------------------------------------------------
def mp_edges(alpha: float) -> tuple[float, float]:
    s = math.sqrt(alpha)
    return (1 - s) ** 2, (1 + s) ** 2


def mp_density(x, alpha: float):
    """Marchenko–Pastur density of the non-zero eigenvalues of Θ = JJᵀ, J_ip ~ N(0, 1/P), α = D/P:
    ``ρ(x) = √((b−x)(x−a)) / (2παx)`` on ``[a, b] = [(1 ∓ √α)²]``; total mass min(1, 1/α)."""
    a, b = mp_edges(alpha)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > a) & (x < b)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((b - xi) * (xi - a)) / (2 * np.pi * alpha * xi)
    return out


def _mp_mean(f, alpha: float) -> float:
    """∫ ρ(x) f(x) dx over the MP bulk (x = m + r cos θ removes the square-root edges)."""
    a, b = mp_edges(alpha)
    m, r = 0.5 * (a + b), 0.5 * (b - a)

    def g(th):
        x = m + r * math.cos(th)
        return r * r * math.sin(th) ** 2 / (2 * math.pi * alpha * x) * f(x)

    val, _ = integrate.quad(g, 0.0, math.pi, limit=400, epsabs=1e-14, epsrel=1e-12)
    return val


# --- 𝒦, thresholds -------------------------------------------------------------------------------
def noise_kernel_norm(lin, lr, batch, sampling="without_replacement", spectrum="empirical") -> float:
    """The noise-kernel norm ``𝒦(η, B) = (c/D) Σ_α ηλ_α/(2 − ηλ_α)`` (arXiv 2404.19261; docs/sharpness.md
    §4). The second moment of the mode equations grows iff 𝒦 ≥ 1 (the stochastic edge of
    stability), given ηλ_max < 2; returns ``inf`` when ηλ_max ≥ 2 (past the EOS) and B < D, and 0 for
    full-batch GD. ``lr`` is η itself. ``spectrum="density"`` replaces the sum by the integral over the
    Marchenko–Pastur density (seed-free; MP models only)."""
    lin = _check_model(lin)
    eta = v.positive("lr", lr)
    _, c, _ = _coeffs(lin, batch, sampling)
    if _check_spectrum(lin, spectrum) == "density":
        lmax = mp_edges(lin.alpha)[1]
        if eta * lmax >= 2:
            return math.inf if c > 0 else 0.0
        return c * _mp_mean(lambda x: eta * x / (2 - eta * x), lin.alpha)
    x = eta * lin.eigenvalues
    if x[-1] >= 2:
        return math.inf if c > 0 else 0.0
    return float(c / lin.D * np.sum(x / (2 - x)))


class CriticalLR(float):
    """The critical learning rate (a float) with the reasons:

    ``binding`` — ``"stochastic"`` (B < B_c: the trace of the NTK sets it, 𝒦 = 1 well below the EOS),
    ``"eos"`` (B ≥ B_c: 𝒦 = 1 within a hair of ηλ_max = 2), ``"localised"`` (Θ diagonal in the data
    basis: ηλ_max(1 + v) = 2, i.e. ηλ_max = 2β without replacement) or ``"full_batch"`` (GD: 2/λ_max);
    ``criterion`` — what the value solves; ``eos`` — 2/λ_max; ``finite_d`` — the edge of the exact
    finite-D recursion (where its growth rate crosses 1; computed with ``exact=True``, else None);
    ``critical_batch`` — B_c = tr Θ/λ_max.
    """

    def __new__(cls, value, **info):
        obj = super().__new__(cls, value)
        for k, val in info.items():
            setattr(obj, k, val)
        return obj

    def __repr__(self):
        fd = "" if self.finite_d is None else f", finite_d={float(self.finite_d):.6g}"
        return (f"CriticalLR({float(self):.6g}, binding={self.binding!r}, eos={self.eos:.6g}{fd}, "
                f"criterion={self.criterion!r})")


def critical_batch(lin, spectrum="empirical") -> float:
    """``B_c = tr Θ / λ_max(Θ)`` (the stable rank of the NTK): for B ≪ B_c the stochastic edge
    η_S ≈ 2B/((1−β) tr Θ) binds far below the EOS 2/λ_max; for B ≫ B_c, η_S λ_max → 2
    (docs/sharpness.md §4.3). With ``spectrum="density"`` (MP models): ``D / (1+√α)²``."""
    lin = _check_model(lin)
    if _check_spectrum(lin, spectrum) == "density":
        return lin.D / mp_edges(lin.alpha)[1]
    return lin.trace / lin.lambda_max


def critical_lr(lin, batch, sampling="without_replacement", spectrum="empirical", exact=False):
    """The critical learning rate η of SGD with batch ``batch`` (``lr`` = η itself), a
    :class:`CriticalLR` (a float with ``binding``, ``eos``, ``finite_d``, ``criterion``).

    The value reported is the **D → ∞ criterion** 𝒦(η, B) = 1 (root finding on (0, 2/λ_max)); with
    ``exact=True`` the edge of the exact finite-D recursion is also computed (``.finite_d``; it lies
    below by O(1/D): −1 % for MP(½) at D = 400, −3 to −5 % for a power-law NTK at D = 300,
    docs/sharpness.md §5; cost O(D³) per Lanczos step, seconds at D = 400). For a localised model
    (Θ diagonal in the data basis) the mean-field 𝒦 does not apply and the exact per-mode criterion
    ``(1−ηλ)² + vη²λ² < 1`` is reported (``binding="localised"``).
    """
    lin = _check_model(lin)
    B, c, cov = _coeffs(lin, batch, sampling)
    spectrum = _check_spectrum(lin, spectrum)
    lmax = mp_edges(lin.alpha)[1] if spectrum == "density" else lin.lambda_max
    if lmax <= 0:
        raise ValueError("the NTK is zero: every learning rate is stable")
    eos = 2.0 / lmax
    bc = critical_batch(lin, spectrum)
    var = c + cov
    if c == 0 and var == 0:
        return CriticalLR(eos, binding="full_batch", eos=eos, finite_d=eos, criterion="ηλ_max = 2",
                          critical_batch=bc, batch=B)
    if lin.localised:
        val = 2.0 / ((1.0 + var) * lmax)
        return CriticalLR(val, binding="localised", eos=eos, finite_d=val,
                          criterion="(1−ηλ_max)² + vη²λ_max² = 1 (localised modes)",
                          critical_batch=bc, batch=B)
    f = lambda eta: noise_kernel_norm(lin, eta, B, sampling, spectrum) - 1.0
    hi = eos * (1 - 1e-13)   # 𝒦 → ∞ as ηλ_max → 2⁻
    eta_s = optimize.brentq(f, eos * 1e-12, hi, xtol=1e-15, rtol=1e-13, maxiter=500)
    finite = None
    if exact:
        finite = _exact_edge(lin, B, sampling, eta_s)
    return CriticalLR(eta_s, binding="stochastic" if B < bc else "eos", eos=eos, finite_d=finite,
                      criterion="𝒦 = 1 (D → ∞)" + (" over the MP density" if spectrum == "density" else ""),
                      critical_batch=bc, batch=B)


# --- growth rates -----------------------------------------------------------------------------------
def _mode_arrays(lin, eta, c, cov):
    lam = lin.eigenvalues
    A = (1 - eta * lam) ** 2 + eta ** 2 * cov * lam ** 2
    u = eta ** 2 * c * lam ** 2
    return A, u


def _secular_rate(lin, eta, c, cov) -> float:
    A, u = _mode_arrays(lin, eta, c, cov)
    D = lin.D
    pos = u > 0
    if not np.any(pos):
        return float(A.max())
    base = float(A[~pos].max()) if np.any(~pos) else -math.inf
    Ap, up = A[pos], u[pos]
    amax = float(Ap.max())
    f = lambda mu: float(np.sum(up / (mu - Ap))) / D - 1.0
    lo = amax + 1e-14 * max(1.0, abs(amax))
    if f(lo) <= 0:
        root = amax
    else:
        hi = amax + float(up.sum()) / D + 1.0
        root = optimize.brentq(f, lo, hi, xtol=1e-15, rtol=1e-14, maxiter=500)
    return max(root, base)


def _kernel_top(lin, eta, c, cov, mu) -> float:
    """Largest eigenvalue of K(μ): d ↦ diag(U [W(μ) ∘ (Uᵀ diag(d) U)] Uᵀ), the reduction of the exact
    second-moment operator to the diagonal of M in the data basis (docs/sharpness.md §3.3)."""
    lam = lin.eigenvalues
    a = 1 - eta * lam
    G = np.outer(a, a) + eta ** 2 * cov * np.outer(lam, lam)
    num = eta ** 2 * c * np.outer(lam, lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where((num > 0) & (mu > G), num / (mu - G), 0.0)   # null modes (λ = 0) carry no noise
    U = lin.eigenvectors
    D = lin.D

    def mv(d):
        d = np.ravel(d)
        S = (U.T * d) @ U
        return np.einsum("ij,ij->i", U @ (W * S), U)

    op = LinearOperator((D, D), matvec=mv, dtype=np.float64)
    if D <= 3:
        Kmat = np.column_stack([mv(e) for e in np.eye(D)])
        return float(np.linalg.eigvalsh(0.5 * (Kmat + Kmat.T))[-1])
    val = eigsh(op, k=1, which="LA", tol=1e-9, v0=np.ones(D), return_eigenvectors=False)
    return float(val[0])


def _exact_rate(lin, eta, c, cov) -> float:
    lam = lin.eigenvalues
    if lin.localised:
        return float(np.max((1 - eta * lam) ** 2 + eta ** 2 * (c + cov) * lam ** 2))
    a = 1 - eta * lam
    gmax = float(max(np.max(np.outer(a, a) + eta ** 2 * cov * np.outer(lam, lam)), 0.0))
    if c == 0:
        return float(np.max(a * a))
    g = lambda mu: _kernel_top(lin, eta, c, cov, mu) - 1.0
    lo = gmax + 1e-12 * max(1.0, gmax)
    if g(lo) <= 0:
        return gmax
    # bracket around the secular root (the mode equations' rate), which is within a few per cent
    guess = _secular_rate(lin, eta, c, cov)
    a_, b_ = max(lo, guess - 0.02 * abs(guess)), guess + 0.02 * abs(guess)
    if g(a_) < 0:
        a_ = lo
    while g(b_) > 0:
        b_ = b_ + 2 * (b_ - gmax)
    return optimize.brentq(g, a_, b_, xtol=1e-11, rtol=1e-9)


def _exact_edge(lin, B, sampling, eta_s) -> float:
    """η where the exact recursion's growth rate crosses 1: λ_max K(1; η) = 1."""
    _, c, cov = _coeffs(lin, B, sampling)
    eos = 2.0 / lin.lambda_max
    g = lambda eta: _kernel_top(lin, eta, c, cov, 1.0) - 1.0
    lo = 0.9 * eta_s
    while g(lo) > 0:
        lo *= 0.9
    hi = min(eta_s * 1.01, eos * (1 - 1e-9))
    while g(hi) < 0:
        hi = min(hi + 0.5 * (eos - hi), eos * (1 - 1e-9))
    return optimize.brentq(g, lo, hi, xtol=1e-12, rtol=1e-8)


def growth_rate(lin, lr, batch, sampling="without_replacement", method="modes") -> float:
    """μ, the asymptotic per-step factor of E‖z_t‖² (``lr`` = η itself; time in steps).

    ``method="modes"``: the largest root of the secular equation of the mode equations
    ``1 = (1/D) Σ_α η²cλ_α²/(μ − A_α)``, ``A_α = (1−ηλ_α)² + κη²λ_α²`` (μ = 1 exactly at 𝒦 ≈ 1;
    needs delocalised eigenvectors). ``method="exact"``: the spectral radius of the exact second-moment
    operator M ↦ AMA + η²ΘN(M)Θ (O(D³) per Lanczos step). A localised model (Θ diagonal) always gets
    the exact value ``max_α (1−ηλ_α)² + vη²λ_α²``. Null modes (λ = 0, e.g. D > P) never move, so μ ≥ 1
    whenever Θ is singular; the edge of ``critical_lr(exact=True)`` is that of the non-null part."""
    lin = _check_model(lin)
    eta = v.positive("lr", lr)
    _, c, cov = _coeffs(lin, batch, sampling)
    if method not in ("modes", "exact"):
        raise ValueError(f"method must be 'modes' or 'exact', got {method!r}")
    if lin.localised or method == "exact":
        return _exact_rate(lin, eta, c, cov)
    return _secular_rate(lin, eta, c, cov)


# --- loss curves --------------------------------------------------------------------------------
def _finish(loss, t_div):
    """inf after the divergence step (never NaN)."""
    if t_div is not None:
        loss[t_div:] = np.inf
    return loss, t_div


def exact_loss(lin, lr, batch, steps, sampling="without_replacement"):
    """``E L_t = ½ tr M_t`` for t = 0..steps from the exact recursion; returns ``(loss, t_div)`` with
    ``t_div`` the first step whose loss exceeds 1e10 × the initial loss (None if none)."""
    lin = _check_model(lin)
    eta = v.positive("lr", lr)
    _, c, cov = _coeffs(lin, batch, sampling)
    steps = v.integer("steps", steps, low=0)
    lam = lin.eigenvalues
    a = 1 - eta * lam
    G = np.outer(a, a) + eta ** 2 * cov * np.outer(lam, lam)
    L2 = eta ** 2 * c * np.outer(lam, lam)
    zt = lin.to_eigenbasis(lin.residual0)
    M = np.outer(zt, zt)
    U = lin.eigenvectors
    loss = np.empty(steps + 1)
    loss[0] = 0.5 * np.trace(M)
    limit = DIVERGENCE_FACTOR * max(loss[0], 1e-300)
    for t in range(1, steps + 1):
        if lin.localised:
            S = np.diag(np.diag(M))
        else:
            d = np.einsum("ij,ij->i", U @ M, U)
            X = U * np.sqrt(np.clip(d, 0.0, None))[:, None]
            S = X.T @ X                  # Uᵀ diag(d) U (d ≥ 0: M is PSD), a symmetric rank-k product
        M = G * M + L2 * S
        M = 0.5 * (M + M.T)
        loss[t] = 0.5 * np.trace(M)
        if not (loss[t] <= limit):
            return _finish(loss, t)
    return loss, None


def mode_loss(lin, lr, batch, steps, sampling="without_replacement"):
    """``E L_t = ½ Σ_α m_α(t)`` from the mode equations (delocalised eigenvectors; O(D) per step);
    returns ``(loss, t_div)`` as :func:`exact_loss`. Raises LimitNotAvailable for a localised model."""
    lin = _check_model(lin)
    if lin.localised:
        raise LimitNotAvailable("the mode equations assume delocalised eigenvectors ((u_α)_i² ≈ 1/D); "
                                "this model's NTK is diagonal in the data basis — use method='exact'")
    eta = v.positive("lr", lr)
    _, c, cov = _coeffs(lin, batch, sampling)
    steps = v.integer("steps", steps, low=0)
    A, u = _mode_arrays(lin, eta, c, cov)
    m = lin.to_eigenbasis(lin.residual0) ** 2
    D = lin.D
    loss = np.empty(steps + 1)
    loss[0] = 0.5 * m.sum()
    limit = DIVERGENCE_FACTOR * max(loss[0], 1e-300)
    for t in range(1, steps + 1):
        m = A * m + u * (m.sum() / D)
        loss[t] = 0.5 * m.sum()
        if not (loss[t] <= limit):
            return _finish(loss, t)
    return loss, None
