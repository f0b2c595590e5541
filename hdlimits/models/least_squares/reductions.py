"""Limits of every optimizer on streaming least squares: each pair reduces to the scalar-forced mode
system (docs/sgd.md §6)

    dD_i/dt = −(2γ a(P) κ_i − h γ² κ_i²/d) D_i + (γ²/d) b(P) w_i,    P = Σ_i κ_i D_i = eᵀKe,

and contributes ``(κ, w, D0, a, b, h)``. For an update ``x·ψ(r)`` the exact finite-d coefficient is
``h(P) = E[(ψ²)''(r)] = 2b'(P)`` (SGD: 2 = 1 + 1/B at B = 1; :mod:`hdlimits.derivation.curvature`,
docs/clipping.md §10); signSGD's update has ``u_j² = 1``, so its second moment has no such term:

| optimizer | drift basis (κ) | w | a(P) | b(P) | h |
|---|---|---|---|---|---|
| SGD (batch B) | eig K | κ/B | 1 | P + Eε² | 1 + 1/B |
| PreconditionedSGD | eig P^{1/2}KP^{1/2} | κ/B | 1 | P + Eε² | 1 + 1/B |
| ClippedSGD (B = 1) | eig K | κ | derived E[h'(r)] | derived E[h(r)²] | 2b'(P) |
| NormalizedSGD (B = 1) | eig K | κ | derived E[h'(r)] | 1/tr K | 0 = 2b'(P) |
| SignSGD (B = 1) | eig D^{-1/4}KD^{-1/4} | arcsine law | φ(P) | 1 | 0 |
| AdamLimit, Adam (B = 1) | eig D^{-1/4}KD^{-1/4} | correlation | (P+Eε²)^{-1/2} | 1 | 0 |

References: SGD — Paquette, Paquette, Adlam, Pennington, arXiv 2205.07069; clipping — Marshall, Xiao,
Agarwala, Paquette, arXiv 2406.11733 (docs/clipping.md); signSGD and Adam — Xiao, Marshall, Agarwala,
Paquette, arXiv 2411.12135 (docs/signsgd.md). Each function here is registered in
:mod:`hdlimits.reductions` by :func:`register`.
"""
from __future__ import annotations

import math

import numpy as np

from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.schedules import Schedule, as_schedule
from hdlimits.models.least_squares import coefficients as ls_coef
from hdlimits.models.least_squares.problem import Problem
from hdlimits.models.least_squares.sign_basis import sign_drift_basis
from hdlimits.optimizers import (SGD, Adam, AdamLimit, ClippedSGD, NormalizedSGD, PreconditionedSGD,
                                 RiskAdaptive, SignSGD)
from hdlimits.solvers import coefficients as coef
from hdlimits.solvers.modes import ModeSystem

__all__ = ["register", "preconditioner_matrix", "sgd_limit", "clipped_limit", "normalized_limit",
           "sign_limit", "adam_limit"]


def _c(x):
    return np.ascontiguousarray(x, dtype=np.float64)


def _batch_one(optimizer, what: str):
    """LimitNotAvailable for clipped / normalized SGD with batch > 1, which simulate() refuses too (its
    kernel clips or normalises one sample's gradient)."""
    if optimizer.batch != 1:
        raise LimitNotAvailable(
            f"{type(optimizer).__name__} with batch = {optimizer.batch}: the {what} limit covers batch 1 "
            "only — the minibatch update is not of the scalar form x·h(r) (see docs/clipping.md); "
            "simulate() does not run it either (its kernel clips or normalises one sample's gradient): "
            "use batch = 1")


def _finite_m2(problem, who):
    m2 = problem.noise_second_moment
    if not math.isfinite(m2):
        raise LimitNotAvailable(f"noise {problem.noise.spec()} has no finite second moment: the {who} "
                                "limit does not exist (ClippedSGD, NormalizedSGD and SignSGD have one)")
    return m2


# ---------------------------------------------------------------------------------- SGD family
def preconditioner_matrix(problem: Problem, optimizer: PreconditionedSGD):
    """The preconditioner for this problem: ``("diag", vector)`` or ``("dense", matrix)``."""
    p = optimizer.preconditioner
    lam = problem.eigenvalues
    if getattr(optimizer, "output", None) is not None and not hasattr(problem, "teacher"):
        raise LimitNotAvailable("an output factor (output=) acts on a matrix-valued student (GLM and "
                                "multi-index problems); on least squares scale lr instead")
    if p is None:
        return "diag", np.ones(problem.d)
    if isinstance(p, str):
        if p in ("sqrt", "whiten") and np.any(lam <= 0):
            raise ValueError(f"preconditioner {p!r} needs K positive definite (eigenvalues in "
                             f"(0, inf)); smallest eigenvalue is {float(lam.min()):.3g}")
        if p == "diag":
            dg = problem.diagonal
            if np.any(dg <= 0):
                raise ValueError("preconditioner 'diag' needs diag(K) > 0 (range (0, inf))")
            return "diag", 1.0 / dg
        power = -0.5 if p == "sqrt" else -1.0
        if problem.is_diagonal:
            return "diag", lam ** power
        return "dense", (problem.basis * lam ** power) @ problem.basis.T
    if p.ndim == 1:
        if p.size != problem.d:
            raise ValueError(f"preconditioner must have length d = {problem.d}, got {p.size}")
        return "diag", p
    if p.shape != (problem.d, problem.d):
        raise ValueError(f"preconditioner must be {problem.d}×{problem.d}, got {p.shape}")
    return "dense", p


def _drift_preconditioned(problem: Problem, optimizer: PreconditionedSGD):
    """(κ, D0) of K̃ = P^{1/2} K P^{1/2} in its eigenbasis, ``D0_i = ⟨v_i, P^{-1/2} e_0⟩²``."""
    kind, P = preconditioner_matrix(problem, optimizer)
    lam, e0 = problem.eigenvalues, problem.initial_error
    if optimizer.preconditioner is None:
        c = problem.eigen_coordinates(e0)
        return lam, c * c
    name = optimizer.preconditioner if isinstance(optimizer.preconditioner, str) else None
    # closed forms that avoid a d×d eigendecomposition
    if name == "whiten":
        c = problem.eigen_coordinates(e0)
        return np.ones_like(lam), lam * c * c
    if name == "sqrt":
        c = problem.eigen_coordinates(e0)
        return np.sqrt(lam), np.sqrt(lam) * c * c
    if kind == "diag" and problem.is_diagonal:
        return P * lam, e0 * e0 / P
    if kind == "diag":
        sq = np.sqrt(P)
        Kt = sq[:, None] * problem.covariance * sq[None, :]
        u0 = e0 / sq
    else:
        mu, Q = np.linalg.eigh(P)
        Ph = (Q * np.sqrt(mu)) @ Q.T
        Pmh = (Q / np.sqrt(mu)) @ Q.T
        Kt = Ph @ problem.covariance @ Ph
        u0 = Pmh @ e0
    kappa, V = np.linalg.eigh(0.5 * (Kt + Kt.T))
    kappa = np.clip(kappa, 0.0, None)
    c = V.T @ u0
    return kappa, c * c


def sgd_limit(problem: Problem, optimizer: SGD, t_max=None) -> ModeSystem:
    """SGD and PreconditionedSGD (docs/sgd.md §3–§4); ``h = 1 + 1/B`` keeps the finite-d stability edge."""
    m2 = problem.noise_second_moment
    if not np.isfinite(m2):
        raise LimitNotAvailable(f"noise {problem.noise.spec()} has no finite second moment: the SGD limit "
                                "does not exist (use ClippedSGD or SignSGD for heavy tails)")
    if isinstance(optimizer, PreconditionedSGD):
        kappa, D0 = _drift_preconditioned(problem, optimizer)
    else:
        c = problem.eigen_coordinates(problem.initial_error)
        kappa, D0 = problem.eigenvalues, c * c
    B = optimizer.batch
    return ModeSystem(kappa=_c(kappa), weights=_c(kappa / B), D0=_c(D0), d=problem.d,
                      schedule=as_schedule(optimizer.lr, t_max), a=coef.one,
                      b=coef.residual_second_moment, coef_params=np.array([m2]),
                      curvature=1.0 + 1.0 / B, noise_second_moment=m2, a_is_constant=True,
                      exact_recursion=True, label=optimizer.describe())


# ---------------------------------------------------------------------------------- clipping
def _eigen(problem: Problem):
    c = problem.eigen_coordinates(problem.initial_error)
    return _c(problem.eigenvalues), _c(c * c)


def _clip_schedule(clip, t_max) -> Schedule:
    """A clip-threshold schedule C(t) > 0 on [0, t_max] (gradient-norm units)."""
    sched = as_schedule(clip, t_max, name="clip", positive=True)
    if not hasattr(sched, "func"):   # a library Schedule: check it is positive on the horizon
        tt = np.linspace(0.0, max(float(t_max or 0.0), 1e-12), 4097)
        vals = np.array([float(sched(x)) for x in tt])
        if not np.all(np.isfinite(vals) & (vals > 0)):
            k = int(np.flatnonzero(~(np.isfinite(vals) & (vals > 0)))[0])
            raise ValueError(f"clip schedule must return thresholds in (0, inf) for t in [0, t_max]; got "
                             f"{float(vals[k])!r} at t = {float(tt[k]):g}")
    return sched


def clipped_limit(problem: Problem, optimizer: ClippedSGD, t_max=None) -> ModeSystem:
    """Clipped SGD (docs/clipping.md): a = μ_c(P) = E[1{|r| ≤ c}], b = ν_c(P) = E[min(r², c²)],
    c = C/√tr K; risk-adaptive or scheduled thresholds enter as (time-dependent) coefficient parameters.

    Finite-d coefficient (docs/clipping.md §10): ``h(P) = 2∂_Pν_c(P) = 2μ_c − 2c(p_r(c) + p_r(−c))`` at
    the threshold in force, i.e. ``2b'(P)``; with the risk-adaptive threshold ``c = κ√(P + E ε²)`` the
    compiled ``b`` also moves ``c``, and ``2∂_Pν_c = 2b'(P) − 2κ²(1 − a(P))``."""
    from hdlimits.derivation import derive
    from hdlimits.derivation.curvature import residual_curvature
    from hdlimits.derivation.engine import c, kappa, m2
    from hdlimits.solvers.modes import StateCurvature
    _batch_one(optimizer, "clipped-SGD")
    m2v = problem.noise_second_moment
    der = derive(optimizer, problem.noise)
    lam, D0 = _eigen(problem)
    common = dict(kappa=lam, weights=lam.copy(), D0=D0, d=problem.d,
                  schedule=as_schedule(optimizer.lr, t_max), noise_second_moment=m2v,
                  a_is_constant=False, exact_recursion=False, label=optimizer.describe())
    clip = optimizer.clip
    if isinstance(clip, RiskAdaptive):
        if not np.isfinite(m2v):
            raise LimitNotAvailable("risk_adaptive clipping needs noise with a finite second moment, "
                                    f"{problem.noise.spec()} has none")
        fa, fb, par = der.compiled({kappa: clip.kappa, m2: m2v}, adaptive=True)
        k2 = float(clip.kappa) ** 2
        return ModeSystem(a=fa, b=fb, coef_params=par, curvature=0.0, curvature_state=StateCurvature(
            b_slope=2.0, a_weight=2.0 * k2, constant=-2.0 * k2), **common)
    common.update(curvature=0.0, curvature_state=residual_curvature())
    if callable(clip):
        # a threshold schedule C(t): the same compiled coefficients, with the threshold's slot of the
        # parameter array refreshed by the integrators at every time (ModeSystem.param_*)
        sched = _clip_schedule(clip, t_max)
        scale = 1.0 / math.sqrt(problem.trace)
        fa, fb, par = der.compiled({c: scale * float(sched(0.0))})
        slots = der.parameter_slots(c)
        return ModeSystem(a=fa, b=fb, coef_params=par, param_slots=slots, param_schedule=sched,
                          param_scale=scale, **common)
    fa, fb, par = der.compiled({c: optimizer.residual_threshold(problem)})
    return ModeSystem(a=fa, b=fb, coef_params=par, **common)


def normalized_limit(problem: Problem, optimizer: NormalizedSGD, t_max=None) -> ModeSystem:
    """Normalized SGD: a(P) = √(2/π)·E_ε[exp(−ε²/(2P))]/√(P·tr K), b = 1/tr K (docs/clipping.md).

    Finite-d coefficient: ``h = 2b'(P) = 0`` exactly (ψ² = 1/tr K is constant). The leading ``‖x‖``
    drift term ``γ(2d/tr K)a(P)`` (:func:`hdlimits.derivation.curvature.norm_curvature`) is not
    included: alone it moves the prediction away from simulation (docs/clipping.md §10)."""
    from hdlimits.derivation import derive
    from hdlimits.derivation.engine import T
    _batch_one(optimizer, "normalized-SGD")
    der = derive(optimizer, problem.noise)
    fa, fb, par = der.compiled({T: problem.trace})
    lam, D0 = _eigen(problem)
    return ModeSystem(kappa=lam, weights=lam.copy(), D0=D0, d=problem.d,
                      schedule=as_schedule(optimizer.lr, t_max), a=fa, b=fb, coef_params=par,
                      curvature=0.0, noise_second_moment=problem.noise_second_moment,
                      a_is_constant=False, exact_recursion=False, label=optimizer.describe())


# ---------------------------------------------------------------------------------- sign and Adam
def sign_limit(problem: Problem, optimizer: SignSGD, t_max=None) -> ModeSystem:
    """signSGD (docs/signsgd.md): a = φ(P) (√P·φ(P) when risk-scaled), b = 1 (P), arcsine-law w, h = 0.

    ``h = 0`` is exact for the second moment: ``u_j = sign(x_j)·sign(r)`` has ``u_j² = 1`` (docs/signsgd.md
    §11); the finite-d error sits in the drift (:func:`hdlimits.derivation.curvature.sign_drift_excess`)."""
    from hdlimits.derivation.sign_phi import own_phi, sign_phi
    if optimizer.batch != 1:
        raise LimitNotAvailable(
            f"SignSGD with batch = {optimizer.batch}: the sign of an averaged minibatch gradient is not "
            "covered by the theory (arXiv 2411.12135 treats batch 1); simulate() runs it")
    kappa, D0, w = sign_drift_basis(problem, "arcsine")
    if optimizer.risk_scaled:       # module-level compiled a(P) = √P φ(P) on the library's own φ
        ph = own_phi(problem.noise)
        a, b = ls_coef.a_risk_scaled, ls_coef.b_risk_scaled
    else:
        ph = sign_phi(problem.noise)
        a, b = ph.func, ls_coef.b_one
    return ModeSystem(kappa=_c(kappa), weights=_c(w), D0=_c(D0), d=problem.d,
                      schedule=as_schedule(optimizer.lr, t_max), a=a, b=b, coef_params=_c(ph.params),
                      curvature=0.0, noise_second_moment=problem.noise_second_moment,
                      a_is_constant=False, exact_recursion=False, label=optimizer.describe())


def adam_limit(problem: Problem, optimizer, t_max=None) -> ModeSystem:
    """Adam's β2 → 1 limit (AdamLimit, and real Adam predicted by it; docs/signsgd.md)."""
    if optimizer.batch != 1:
        raise LimitNotAvailable(f"Adam with batch = {optimizer.batch}: the β2 → 1 limit covers batch 1; "
                                "simulate() runs it")
    m2 = _finite_m2(problem, "Adam (β2 → 1)")
    kappa, D0, w = sign_drift_basis(problem, "correlation")
    return ModeSystem(kappa=_c(kappa), weights=_c(w), D0=_c(D0), d=problem.d,
                      schedule=as_schedule(optimizer.lr, t_max), a=ls_coef.a_adam, b=ls_coef.b_one,
                      coef_params=np.array([m2]), curvature=0.0, noise_second_moment=m2,
                      a_is_constant=False, exact_recursion=False, label=optimizer.describe())


def register() -> None:
    """Enter the least-squares limits in :mod:`hdlimits.reductions`."""
    from hdlimits.reductions import register_limit
    for opt_type, fn in ((SGD, sgd_limit), (ClippedSGD, clipped_limit), (NormalizedSGD, normalized_limit),
                         (SignSGD, sign_limit), (AdamLimit, adam_limit), (Adam, adam_limit)):
        register_limit(Problem, opt_type, fn)
    from hdlimits.models.least_squares import spectral_problem   # lazy spectra (docs/spectra.md)
    spectral_problem.register()
