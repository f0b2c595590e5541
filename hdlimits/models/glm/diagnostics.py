"""Learning-rate thresholds of SGD on GLM problems (docs/glm.md §6).

Three numbers, each labelled for what it is:

* ``least_squares`` — exact, for the least-squares model only: the largest constant γ for which the mode
  system stays bounded (:func:`hdlimits.critical_lr` of the equivalent least-squares problem; d → ∞
  value ``2d·B_s/tr K̃``);
* ``heuristic`` — the curvature bound ``γ < 2d·B_s / (tr K̃ · L)``, ``L`` the largest eigenvalue of the
  symmetrised student block of ``J(B_0)·Q_out`` (the mean curvature of the loss at the start). It is a
  heuristic: the noise term ``I(B)`` of a non-quadratic loss may grow faster than its curvature (for phase
  retrieval it is ~4× too optimistic), so it is never used as the edge;
* ``measured`` — the edge of the limiting equations themselves, found by bisection on γ: a run counts as
  unstable when the limit diverges before ``t_max`` or its risk at ``t_max`` exceeds ``growth`` times
  its largest value over the first half of the horizon. The bracket ``[stable, unstable]`` is returned
  with it. Near the edge growth is slow, so the measured edge depends (weakly) on ``t_max``.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.status import StatusCode, UnstableWarning

__all__ = ["GLMCriticalLR", "critical_lr", "curvature_heuristic"]


@dataclass(frozen=True)
class GLMCriticalLR:
    """Learning-rate thresholds (module docstring): ``measured`` (bisection on the limit, within
    ``bracket``), ``heuristic`` (curvature bound, labelled so), ``least_squares`` (exact, or None for other
    models), and the horizon ``t_max`` and ``growth`` factor of the measurement."""

    measured: float
    bracket: tuple
    heuristic: float
    least_squares: float | None
    t_max: float
    growth: float

    def __str__(self):
        ls = "" if self.least_squares is None else f", least-squares exact {self.least_squares:.6g}"
        return (f"measured edge γ ≈ {self.measured:.6g} (bracket [{self.bracket[0]:.6g}, "
                f"{self.bracket[1]:.6g}], t_max = {self.t_max:g}); curvature heuristic "
                f"{self.heuristic:.6g} (a heuristic){ls}")


def _with_lr(optimizer, lr):
    return dataclasses.replace(optimizer, lr=lr) if dataclasses.is_dataclass(optimizer) else None


def curvature_heuristic(problem, optimizer) -> float:
    """``2d·B_s / (tr K̃ · L)`` with ``L = λ_max(sym(J_ss(B_0) Q_out))`` (module docstring)."""
    from hdlimits.reductions import reduce
    system = reduce(problem, optimizer, t_max=1.0)
    B0 = system.B0
    _, J, _ = system.expectations.evaluate(B0)
    Q = system.Qbar(B0)
    m = system.m
    S = (J @ Q)[:m, :m]
    L = float(np.linalg.eigvalsh(0.5 * (S + S.T)).max())
    tr = float(np.dot(system.mass, system.lam))
    if not L > 0:
        return float("inf")
    return 2.0 * system.d * system.batch / (tr * L)


def _unstable(problem, optimizer, lr, t_max, growth) -> bool:
    from hdlimits.predict import predict_risk
    t = np.linspace(0.0, t_max, 41)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnstableWarning)
        res = predict_risk(problem, _with_lr(optimizer, lr), t, rtol=1e-6)
    if res.status.code == StatusCode.DIVERGED:
        return True
    if res.status.code != StatusCode.OK:
        raise RuntimeError(f"the limit failed at lr = {lr:g}: {res.status}")
    r = res.risk
    return not r[-1] <= growth * np.max(r[: r.size // 2 + 1])


def critical_lr(problem, optimizer, t_max: float = 20.0, growth: float = 10.0, rel_tol: float = 1e-3,
                lr_max: float | None = None) -> GLMCriticalLR:
    """The learning-rate thresholds of ``optimizer`` (SGD or PreconditionedSGD; its ``lr`` is replaced) on
    a GLM ``problem`` — see the module docstring. ``rel_tol`` is the relative width of the final bracket;
    ``lr_max`` the upper end of the search (default 64× the heuristic, doubled until unstable)."""
    from hdlimits.models.glm import catalog
    t_max = v.positive("t_max", t_max)
    growth = v.real("growth", growth, low=1.0, low_open=True)
    rel_tol = v.real("rel_tol", rel_tol, low=1e-8, high=0.5)
    heur = curvature_heuristic(problem, _with_lr(optimizer, 1.0))
    ls = None
    if isinstance(problem.model, catalog.GLMModel) and problem.model.name == "least_squares" and \
            getattr(optimizer, "output", None) is None:
        ls = _least_squares_edge(problem, optimizer)
    start = heur if np.isfinite(heur) else 1.0
    lo, hi = 0.0, (v.positive("lr_max", lr_max) if lr_max is not None else start)
    while not _unstable(problem, optimizer, hi, t_max, growth):
        lo = hi
        hi *= 2.0
        if hi > 1e6 * start:
            raise RuntimeError(f"no unstable learning rate found below {hi:g}")
    if lo == 0.0:
        lo = hi / 2.0
        while _unstable(problem, optimizer, lo, t_max, growth):
            hi = lo
            lo /= 2.0
            if lo < 1e-9 * start:
                raise RuntimeError("every learning rate tried is unstable")
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if _unstable(problem, optimizer, mid, t_max, growth):
            hi = mid
        else:
            lo = mid
    return GLMCriticalLR(measured=0.5 * (lo + hi), bracket=(lo, hi), heuristic=heur, least_squares=ls,
                         t_max=t_max, growth=growth)


def _least_squares_edge(problem, optimizer) -> float:
    """The exact edge of the equivalent least-squares problem (``e_0 = x_0 − x*``)."""
    from hdlimits.models.least_squares.diagnostics import critical_lr as ls_critical_lr
    from hdlimits.models.least_squares.problem import Problem
    e0 = (problem.initial - problem.teacher)[:, 0]
    ls_prob = Problem.from_spectrum(problem.eigenvalues, e0, problem.noise, problem.basis)
    return float(ls_critical_lr(ls_prob, _with_lr(optimizer, 1.0)))
