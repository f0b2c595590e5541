"""signSGD: ``u_k = sign(g_k)`` coordinate-wise.

signSGD (Xiao, Marshall, Agarwala, Paquette, *Exact risk curves of signSGD in high-dimensions:
quantifying preconditioning and noise-compression effects*, arXiv 2411.12135; docs/signsgd.md): ``u_k = sign(g_k)`` coordinate-wise, step ``γ(t)/d``, time ``t = k/d`` (docs/conventions.md §3).

Limit, for any covariance K (not only diagonal). With ``D = diag K``, ``C = D^{-1/2} K D^{-1/2}`` the
correlation matrix and ``M = D^{-1/4} K D^{-1/4} = Σ_j κ_j w_j w_jᵀ``, the variables
``D_j = E⟨w_j, D^{1/4} e⟩²`` (so that ``Σ_j κ_j D_j = eᵀKe = P`` exactly) obey

    dD_j/dt = −2 γ φ(P) κ_j D_j + (γ²/d) w_jᵀ D^{1/4} K_σ D^{1/4} w_j,     K_σ = (2/π) arcsin(C),

    φ(P) = (2/π) E_ε[exp(−ε²/(2P))] / √P = 2√(2/π)·p_{w−ε}(0),  w ~ N(0, P).

Here ``P = eᵀKe`` is twice the paper's excess risk R: their ``φ(R) = (2/π)(2R)^{-1/2}
E exp(−ε²/4R)`` is the same function of the same state. The mean ``E sign(g) = φ(P) D^{-1/2} K e``
follows from ``sign(g_i) = sign(x_i)·sign(r)`` and Stein's lemma; the second moment is
``E[sign(x) sign(x)ᵀ] = K_σ`` exactly (Sheppard's arcsine law). ``D^{-1/2}K`` is not symmetric; it is
similar to ``M``, whose eigenvectors (not an SVD of ``D^{-1/2}K``, which is right only when diag K is
constant or K diagonal) give the decoupled modes. The ``O(γκ/d)`` curvature term is set to 0 (h = 0):
signSGD's finite-d correction depends on P through φ², which the generic system cannot carry.

The limit is built in :mod:`hdlimits.models.least_squares.reductions`; φ in
:mod:`hdlimits.derivation.sign_phi`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer, check_lr as _check_lr, describe_lr

__all__ = ["SignSGD"]


@dataclass(frozen=True)
class SignSGD(Optimizer):
    """signSGD: ``u_k = sign(g_k)`` coordinate-wise (``sign(0) = 0``), step ``γ(t)/d``.

    Parameters
    ----------
    lr : a positive number, a schedule, or a callable ``t -> γ``.
    batch : minibatch size B ≥ 1. The simulator runs any B (sign of the averaged gradient); the limit
        exists only for B = 1 (arXiv 2411.12135 analyses B = 1): ``predict_risk`` raises
        :class:`~hdlimits.core.errors.LimitNotAvailable` for B > 1.
    risk_scaled : if True the step is ``γ(t)·√(eᵀKe)/d`` (the √R schedule, docs/signsgd.md; an oracle
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

    def describe(self) -> str:
        extra = ", risk_scaled=True" if self.risk_scaled else ""
        return f"SignSGD(lr={describe_lr(self.lr)}, batch={self.batch}{extra})"
