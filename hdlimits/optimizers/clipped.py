"""Clipped SGD and normalized SGD; their limits are derived by :mod:`hdlimits.derivation` and built in
:mod:`hdlimits.models.least_squares.reductions`.

Reference: Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip: the Dynamics of SGD with Gradient
Clipping in High-Dimensions", arXiv 2406.11733 (ICLR 2025); docs/clipping.md.

Threshold units (docs/conventions.md §4): ``clip`` is the threshold ``C`` on the Euclidean norm of the stochastic
gradient, ``u = g·min(1, C/‖g‖)``. Since ``‖g‖ = |r|·‖x‖`` and ``‖x‖² ≈ tr K``, the limit sees the residual
threshold ``c = C/√tr K``: ``u ≈ x·clamp(r, −c, c)``, so ``a(P) = μ_c(P) = P(|r| ≤ c)`` and
``b(P) = ν_c(P) = E[min(r², c²)]`` (``r = s − ε``, ``s ~ N(0, P)``, ``P = eᵀKe``), and in the eigenbasis
of K, with ``w_i = κ_i = λ_i``,

    dD_i/dt = −2γ μ_c(P) λ_i D_i + (γ²/d) ν_c(P) λ_i.

Batch size: the limit covers ``B = 1``. For ``B > 1`` the norm of the minibatch gradient is
``‖g‖² ≈ (tr K/B²) Σ_b r_b²``, a function of all B residuals that does not concentrate, so the update is
not of the form ``x_b·h(r_b)`` and the scalar engine does not apply: ``predict_risk`` raises
:class:`~hdlimits.core.errors.LimitNotAvailable` (and the simulator's kernels run B = 1 only).

The ``γ²κ_i²D_i/d`` correction of the mode system: its exact Gaussian coefficient for ``h(r)`` is
``E[(h²)''(r)]`` (for clipping ``2μ − 2c(p_r(c) + p_r(−c))``), which depends on P, whereas the core mode
system takes a constant; clipped SGD uses 0 (the continuous limit), normalized SGD has exactly 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer, check_lr as _check_lr, describe_lr

__all__ = ["ClippedSGD", "NormalizedSGD", "RiskAdaptive", "risk_adaptive"]


@dataclass(frozen=True)
class RiskAdaptive:
    """The risk-adaptive threshold of arXiv 2406.11733: residual threshold ``c(t) = κ·√(P_t + E ε²)``.

    ``P_t + E ε² = E r² = 2·risk``. Residual units: the simulator clips the gradient norm at
    ``κ·√(eᵀKe + E ε²)·√tr K``. Needs ``E ε² < ∞``.
    """

    kappa: float

    def __post_init__(self):
        object.__setattr__(self, "kappa", v.positive("kappa", self.kappa))

    def __str__(self):
        return f"risk_adaptive(kappa={self.kappa})"


def risk_adaptive(kappa: float) -> RiskAdaptive:
    """Threshold ``c(t) = κ·√(P_t + E ε²)`` in residual units (see :class:`RiskAdaptive`)."""
    return RiskAdaptive(kappa)


@dataclass(frozen=True)
class ClippedSGD(Optimizer):
    """Clipped SGD: ``u = g·min(1, C/‖g‖₂)``, step ``γ(t)/d``.

    Parameters
    ----------
    lr : a number, a schedule, or a callable ``t -> γ``.
    clip : the gradient-norm threshold ``C > 0`` (residual threshold ``C/√tr K`` in the limit);
        ``hd.clipping.risk_adaptive(kappa)`` for ``c(t) = κ√(P_t + E ε²)`` (residual units); or a
        schedule / callable ``t -> C(t) > 0`` in gradient-norm units (the limit sees ``C(t)/√tr K``; an
        arbitrary callable is tabulated on a fine grid for the limit, called as is by the simulator).
    batch : minibatch size; the limit and the simulator's kernels cover 1 (see the module docstring).
    """

    lr: object
    clip: object
    batch: int = 1
    name: str = field(default="clipped", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))
        cl = self.clip
        if not (isinstance(cl, RiskAdaptive) or callable(cl)):
            cl = v.positive("clip", cl)
        object.__setattr__(self, "clip", cl)

    #: h(r) is the same for every instance (the threshold enters as a parameter)
    rule_is_static = True

    def residual_threshold(self, problem) -> float:
        """``c = C/√tr K`` for a constant threshold."""
        if isinstance(self.clip, RiskAdaptive) or callable(self.clip):
            raise ValueError("residual_threshold needs a constant clip")
        return self.clip / math.sqrt(problem.trace)

    def describe(self) -> str:
        clip = self.clip if isinstance(self.clip, (float, RiskAdaptive)) else describe_lr(self.clip)
        extra = f", batch={self.batch}" if self.batch != 1 else ""
        return f"ClippedSGD(lr={describe_lr(self.lr)}, clip={clip}{extra})"


@dataclass(frozen=True)
class NormalizedSGD(Optimizer):
    """Normalized SGD: ``u = g/‖g‖₂`` (``u = 0`` when ``g = 0``), step ``γ(t)/d``.

    Limit (batch 1): ``‖g‖ ≈ √tr K·|r|``, so ``u ≈ x·sign(r)/√tr K`` and the engine gives
    ``a(P) = E[h'(r)] = 2 p_r(0)/√tr K = √(2/π)·E_ε[exp(−ε²/(2P))]/√(P·tr K)`` and ``b = 1/tr K``
    (the c → 0 limit of clipping rescaled by 1/c). It does not need a finite noise variance.
    """

    lr: object
    batch: int = 1
    name: str = field(default="normalized", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))

    #: h(r) is the same for every instance
    rule_is_static = True

    def describe(self) -> str:
        extra = f", batch={self.batch}" if self.batch != 1 else ""
        return f"NormalizedSGD(lr={describe_lr(self.lr)}{extra})"
