"""The four effects of signSGD as numbers, and its stationary risk.

Xiao, Marshall, Agarwala, Paquette, *Exact risk curves of signSGD in high-dimensions: quantifying
preconditioning and noise-compression effects*, arXiv 2411.12135 (docs/signsgd.md §5–§6).
Conventions: ``P = eᵀKe`` (= 2R in the paper's notation, R its excess risk), step ``γ/d``, ``t = k/d``.

1. **Effective learning rate** ``γ_eff(t) = γ(t)·φ(P(t))``: signSGD drifts like SGD preconditioned by
   ``D^{-1/2}`` (``D = diag K``) with learning rate γφ(P).
2. **Noise compression** ``ρ(P) = 1/(φ(P)²(P + E ε²))``: signSGD's noise over the noise of the
   drift-matched preconditioned SGD. ``π²/4`` for Gaussian noise at every P; below 1 for heavy tails
   (0 when E ε² = ∞), where signSGD beats SGD.
3. **Diagonal preconditioning**: drift spectrum ``eig(D^{-1/4} K D^{-1/4})`` instead of ``eig(K)``
   (√λ for diagonal K: the condition number is square-rooted; no gain under a random rotation of K).
4. **Noise reshaping**: noise matrix ``(2/π) arcsin(C)`` (C the correlation matrix) instead of SGD's
   ``(P + E ε²) K``: off-diagonal correlations shrink, the diagonal is 1.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from hdlimits.core import noise as noise_mod
from hdlimits.derivation.sign_phi import sign_phi
from hdlimits.models.least_squares.sign_basis import arcsine_matrix, sign_drift_basis
from hdlimits.optimizers.sign import SignSGD
from hdlimits.predict import predict_risk

__all__ = ["SignEffects", "sign_effects", "sign_stationary_excess_risk", "compression_ratio"]


def compression_ratio(P, noise) -> np.ndarray:
    """ρ(P) = 1/(φ(P)²·(P + E ε²)) (0 when E ε² = ∞). Gaussian noise: π²/4 for every P."""
    ph = sign_phi(noise)
    P = np.asarray(P, dtype=np.float64)
    m2 = noise.second_moment
    if not math.isfinite(m2):
        return np.zeros_like(P)
    f = ph(P)
    return 1.0 / (f * f * (P + m2))


def sign_stationary_excess_risk(problem, lr: float) -> float:
    """Stationary excess risk ``½P∞`` of signSGD at constant ``lr``, any K and any noise law.

    The paper's ``R∞·φ_R(R∞) = η Σ_i √K_ii/(4d)`` (R = ½eᵀKe, φ_R(R) = φ(2R)) reads here
    ``P∞·φ(P∞) = γ Σ_i √K_ii/(2d)``: from ``dD_j/dt = 0``, ``D_j = γ w_j/(2φκ_j d)`` and
    ``Σ_j w_j = tr(D^{1/2} K_σ) = Σ_i √K_ii``. ``Pφ(P)`` is increasing, so the root is unique, and it
    exists for every γ > 0: **no divergence threshold**. Off-diagonal structure of K plays no role.
    Gaussian N(0, σ²): ``½P∞ = c² + c√(c² + σ²)``, ``c = πγΣ√K_ii/(8d)``.
    """
    lr = float(lr)
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must lie in (0, inf), got {lr!r}")
    target = lr * float(np.sqrt(problem.diagonal).sum()) / (2.0 * problem.d)
    ph = sign_phi(problem.noise)

    def g(u):
        P = math.exp(u)
        return math.log(P * ph.func(P, ph.params)) - math.log(target)
    lo, hi = -60.0, 60.0
    if g(lo) > 0:
        return 0.5 * math.exp(lo)
    return 0.5 * math.exp(brentq(g, lo, hi, xtol=1e-14, rtol=1e-14))


def _cond(x):
    x = np.asarray(x)
    pos = x[x > 1e-14 * x.max()] if x.size and x.max() > 0 else x
    return float(pos.max() / pos.min()) if pos.size else math.nan


def _offdiag(A):
    return A[~np.eye(A.shape[0], dtype=bool)]


@dataclass(eq=False)
class SignEffects:
    """The four effects of signSGD on one problem (see the module docstring). Arrays over ``t``:
    ``P`` (predicted eᵀKe), ``effective_lr`` (γφ(P)), ``compression`` (ρ(P)). Spectra: ``sgd_spectrum``
    (eig K), ``sign_spectrum`` (eig D^{-1/4}KD^{-1/4}) and their condition numbers. Noise matrices:
    ``correlation_offdiag_rms`` (C, the shape of SGD's noise (P+Eε²)K after the same diagonal scaling)
    and ``arcsine_offdiag_rms`` ((2/π)arcsin C); ``sign_noise_weights``/``sgd_noise_weights`` their
    diagonals in the respective drift bases (per unit γ²/d; SGD's times P + E ε²)."""

    t: np.ndarray
    P: np.ndarray
    effective_lr: np.ndarray
    compression: np.ndarray
    sgd_spectrum: np.ndarray
    sign_spectrum: np.ndarray
    sgd_condition: float
    sign_condition: float
    sgd_noise_weights: np.ndarray
    sign_noise_weights: np.ndarray
    correlation_offdiag_rms: float
    arcsine_offdiag_rms: float
    stationary_excess_risk: float
    compression_gaussian: float = math.pi ** 2 / 4
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"effective_lr_start": float(self.effective_lr[0]),
                "effective_lr_end": float(self.effective_lr[-1]),
                "compression_start": float(self.compression[0]),
                "compression_end": float(self.compression[-1]),
                "compression_gaussian": self.compression_gaussian,
                "sgd_condition": self.sgd_condition, "sign_condition": self.sign_condition,
                "correlation_offdiag_rms": self.correlation_offdiag_rms,
                "arcsine_offdiag_rms": self.arcsine_offdiag_rms,
                "stationary_excess_risk": self.stationary_excess_risk}


def sign_effects(problem, noise=None, lr=1.0, t=None) -> SignEffects:
    """The four effects of signSGD (arXiv 2411.12135) for ``problem`` (with ``noise`` replacing the
    problem's noise law if given), along the trajectory predicted at learning rate ``lr`` (a number;
    times ``t``, default 0…10 in 41 points). Dense d×d work: meant for d up to a few thousand."""
    if noise is not None:
        if not isinstance(noise, noise_mod.NoiseLaw):
            raise ValueError(f"noise must be a NoiseLaw from hdlimits.core.noise, got {type(noise).__name__}")
        problem = dataclasses.replace(problem, noise=noise)
    lr = float(lr)
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must lie in (0, inf), got {lr!r}")
    t = np.linspace(0.0, 10.0, 41) if t is None else np.asarray(t, dtype=np.float64)
    curve = predict_risk(problem, SignSGD(lr), t)
    P = 2.0 * curve.excess_risk
    ph = sign_phi(problem.noise)
    kappa, _, w = sign_drift_basis(problem, "arcsine")
    lam = problem.eigenvalues
    dg = problem.diagonal
    if problem.is_diagonal:
        c_rms = a_rms = 0.0
    else:
        sd = np.sqrt(dg)
        C = problem.covariance / np.outer(sd, sd)
        np.fill_diagonal(C, 1.0)
        c_rms = float(np.sqrt(np.mean(_offdiag(C) ** 2)))
        a_rms = float(np.sqrt(np.mean(_offdiag(arcsine_matrix(C)) ** 2)))
    return SignEffects(t=t, P=P, effective_lr=lr * ph(P), compression=compression_ratio(P, problem.noise),
                       sgd_spectrum=np.sort(lam)[::-1], sign_spectrum=np.sort(kappa)[::-1],
                       sgd_condition=_cond(lam), sign_condition=_cond(kappa),
                       sgd_noise_weights=np.sort(lam)[::-1], sign_noise_weights=w,
                       correlation_offdiag_rms=c_rms, arcsine_offdiag_rms=a_rms,
                       stationary_excess_risk=sign_stationary_excess_risk(problem, lr),
                       info={"phi_kind": ph.kind, "phi_source": getattr(ph, "source", ""),
                             "status": curve.status})
