"""Clipped SGD and normalized SGD (batch size 1), with limits derived by :mod:`hdlimits.derivation`.

Reference: Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip: the Dynamics of SGD with Gradient
Clipping in High-Dimensions", arXiv 2406.11733 (ICLR 2025); shared/math/sgd_sign_clip.md §5.

Threshold units (CONVENTIONS.md): ``clip`` is the threshold ``C`` on the Euclidean norm of the stochastic
gradient, ``u = g·min(1, C/‖g‖)``. Since ``‖g‖ = |r|·‖x‖`` and ``‖x‖² ≈ tr K``, the limit sees the residual
threshold ``c = C/√tr K``: ``u ≈ x·clamp(r, −c, c)``, so ``a(P) = μ_c(P) = P(|r| ≤ c)`` and
``b(P) = ν_c(P) = E[min(r², c²)]`` (``r = s − ε``, ``s ~ N(0, P)``, ``P = eᵀKe``), and in the eigenbasis
of K, with ``w_i = κ_i = λ_i``,

    dD_i/dt = −2γ μ_c(P) λ_i D_i + (γ²/d) ν_c(P) λ_i.

Batch size: only ``B = 1``. For ``B > 1`` the norm of the minibatch gradient is
``‖g‖² ≈ (tr K/B²) Σ_b r_b²``, a function of all B residuals that does not concentrate, so the update is
not of the form ``x_b·h(r_b)`` and the scalar engine does not apply; ``batch > 1`` raises ``ValueError``.

The ``γ²κ_i²D_i/d`` correction of the mode system: its exact Gaussian coefficient for ``h(r)`` is
``E[(h²)''(r)]`` (for clipping ``2μ − 2c(p_r(c) + p_r(−c))``), which depends on P, whereas the core mode
system takes a constant; clipped SGD uses 0 (the continuous limit), normalized SGD has exactly 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.solvers.modes import ModeSystem
from hdlimits.models.least_squares.problem import Problem
from hdlimits.core.schedules import as_schedule
from hdlimits.optimizers.base import SimRule, check_lr as _check_lr

__all__ = ["ClippedSGD", "NormalizedSGD", "RiskAdaptive", "risk_adaptive"]


@dataclass(frozen=True)
class RiskAdaptive:
    """The risk-adaptive threshold of [CLIP]: residual threshold ``c(t) = κ·√(P_t + E ε²)``.

    ``P_t + E ε² = E r² = 2·risk`` (the notes' ``2R + σ²`` with their excess risk R). Residual units: the
    simulator clips the gradient norm at ``κ·√(eᵀKe + E ε²)·√tr K``. Needs ``E ε² < ∞``.
    """

    kappa: float

    def __post_init__(self):
        object.__setattr__(self, "kappa", v.positive("kappa", self.kappa))

    def __str__(self):
        return f"risk_adaptive(kappa={self.kappa})"


def risk_adaptive(kappa: float) -> RiskAdaptive:
    """Threshold ``c(t) = κ·√(P_t + E ε²)`` in residual units (see :class:`RiskAdaptive`)."""
    return RiskAdaptive(kappa)


def _check_batch(batch):
    b = v.integer("batch", batch, low=1)
    if b != 1:
        raise ValueError(f"batch must be 1 for clipped / normalized SGD (the limit with batch > 1 is not "
                         f"of the scalar form x·h(r); see the module docstring), got {b}")
    return b


def _eigen(problem: Problem):
    c = problem.eigen_coordinates(problem.initial_error)
    lam = np.ascontiguousarray(problem.eigenvalues, dtype=np.float64)
    return lam, np.ascontiguousarray(c * c, dtype=np.float64)


@dataclass(frozen=True)
class ClippedSGD:
    """Clipped SGD: ``u = g·min(1, C/‖g‖₂)``, step ``γ(t)/d``, batch 1.

    Parameters
    ----------
    lr : a number, a schedule, or a callable ``t -> γ``.
    clip : the gradient-norm threshold ``C > 0`` (residual threshold ``C/√tr K`` in the limit);
        ``hd.clipping.risk_adaptive(kappa)`` for ``c(t) = κ√(P_t + E ε²)`` (residual units); or a
        schedule / callable ``t -> C(t)`` in gradient-norm units (the limit sees ``C(t)/√tr K``; an
        arbitrary callable is tabulated on a fine grid for the limit, called as is by the simulator).
    batch : must be 1.
    """

    lr: object
    clip: object
    batch: int = 1
    name: str = field(default="clipped", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", _check_batch(self.batch))
        cl = self.clip
        if not (isinstance(cl, RiskAdaptive) or callable(cl)):
            cl = v.positive("clip", cl)
        object.__setattr__(self, "clip", cl)

    #: h(r) is the same for every instance (the threshold enters as a parameter)
    rule_is_static = True

    def nonlinearity(self):
        import sympy as sp
        from hdlimits.derivation.engine import c, r
        return sp.Max(-c, sp.Min(r, c)), {c: 1.0}

    def residual_threshold(self, problem: Problem) -> float:
        """``c = C/√tr K`` for a constant threshold."""
        if isinstance(self.clip, RiskAdaptive) or callable(self.clip):
            raise ValueError("residual_threshold needs a constant clip")
        return self.clip / math.sqrt(problem.trace)

    def limit(self, problem: Problem, t_max: float | None = None) -> ModeSystem:
        from hdlimits.derivation import derive
        from hdlimits.derivation.engine import c, kappa, m2
        m2v = problem.noise_second_moment
        der = derive(self, problem.noise)
        if isinstance(self.clip, RiskAdaptive):
            if not np.isfinite(m2v):
                raise ValueError("risk_adaptive clipping needs noise with a finite second moment, "
                                 f"{problem.noise.spec()} has none")
            fa, fb, par = der.compiled({kappa: self.clip.kappa, m2: m2v}, adaptive=True)
        elif callable(self.clip):
            # a threshold schedule C(t): the same compiled coefficients, with the threshold's slots of
            # the parameter array refreshed by the integrators at every time (ModeSystem.param_*)
            sentinel = 7.654321e7
            fa, fb, par = der.compiled({c: sentinel})
            slots = tuple(int(i) for i in np.flatnonzero(par == sentinel))
            if not slots:
                raise RuntimeError("could not locate the clipping threshold in the coefficient parameters")
            sched = as_schedule(self.clip, t_max)
            scale = 1.0 / math.sqrt(problem.trace)
            par[list(slots)] = scale * float(sched(0.0))
            lam, D0 = _eigen(problem)
            return ModeSystem(kappa=lam, weights=lam.copy(), D0=D0, d=problem.d,
                              schedule=as_schedule(self.lr, t_max), a=fa, b=fb, coef_params=par,
                              curvature=0.0, noise_second_moment=m2v, a_is_constant=False,
                              exact_recursion=False, label=self.describe(), param_slots=slots,
                              param_schedule=sched, param_scale=scale)
        else:
            fa, fb, par = der.compiled({c: self.residual_threshold(problem)})
        lam, D0 = _eigen(problem)
        return ModeSystem(kappa=lam, weights=lam.copy(), D0=D0, d=problem.d,
                          schedule=as_schedule(self.lr, t_max), a=fa, b=fb, coef_params=par,
                          curvature=0.0, noise_second_moment=m2v, a_is_constant=False,
                          exact_recursion=False, label=self.describe())

    def sim_rule(self, problem: Problem) -> SimRule:
        trk = problem.trace
        if isinstance(self.clip, RiskAdaptive):
            m2v = problem.noise_second_moment
            if not np.isfinite(m2v):
                raise ValueError("risk_adaptive clipping needs noise with a finite second moment")
            if not problem.is_diagonal:
                raise ValueError("the simulator supports risk_adaptive clipping for diagonal K only "
                                 "(it needs eᵀKe at every step)")
            return SimRule("clip", None, (1.0, self.clip.kappa * math.sqrt(trk), m2v))
        if callable(self.clip):
            f = self.clip

            def aux(t):
                vals = np.asarray(np.broadcast_to(f(t), np.shape(t)), dtype=np.float64)
                if np.any(~(vals > 0)):
                    raise ValueError("the clip schedule must return thresholds in (0, inf)")
                return vals
            return SimRule("clip", None, (0.0,), aux)
        C = float(self.clip)
        return SimRule("clip", None, (0.0,), lambda t: np.full(np.shape(t), C))

    def describe(self) -> str:
        return f"ClippedSGD(lr={self.lr}, clip={self.clip})"


@dataclass(frozen=True)
class NormalizedSGD:
    """Normalized SGD: ``u = g/‖g‖₂``, step ``γ(t)/d``, batch 1.

    Limit: ``‖g‖ ≈ √tr K·|r|``, so ``u ≈ x·sign(r)/√tr K`` and the engine gives
    ``a(P) = E[h'(r)] = 2 p_r(0)/√tr K = √(2/π)·E_ε[exp(−ε²/(2P))]/√(P·tr K)`` and ``b = 1/tr K``
    (the c → 0 limit of clipping rescaled by 1/c). It does not need a finite noise variance.
    """

    lr: object
    batch: int = 1
    name: str = field(default="normalized", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", _check_batch(self.batch))

    #: h(r) is the same for every instance (the threshold enters as a parameter)
    rule_is_static = True

    def nonlinearity(self):
        import sympy as sp
        from hdlimits.derivation.engine import T, r
        return sp.sign(r) / sp.sqrt(T), {T: 1.0}

    def limit(self, problem: Problem, t_max: float | None = None) -> ModeSystem:
        from hdlimits.derivation import derive
        from hdlimits.derivation.engine import T
        der = derive(self, problem.noise)
        fa, fb, par = der.compiled({T: problem.trace})
        lam, D0 = _eigen(problem)
        return ModeSystem(kappa=lam, weights=lam.copy(), D0=D0, d=problem.d,
                          schedule=as_schedule(self.lr, t_max), a=fa, b=fb, coef_params=par,
                          curvature=0.0, noise_second_moment=problem.noise_second_moment,
                          a_is_constant=False, exact_recursion=False, label=self.describe())

    def sim_rule(self, problem: Problem) -> SimRule:
        return SimRule("clip", None, (2.0,), lambda t: np.zeros(np.shape(t)))

    def describe(self) -> str:
        return f"NormalizedSGD(lr={self.lr})"
