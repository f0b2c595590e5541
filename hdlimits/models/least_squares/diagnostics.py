"""Closed-form diagnostics of SGD-type limits: critical learning rate, stationary risk, asymptotic rate.

They apply to mode systems with a constant effective-learning-rate factor ``a`` and a noise factor
affine in ``P`` (``b(P) = s·P + b0``): minibatch SGD and fixed-preconditioner SGD. With constant γ the
stationary point of the mode system and its stability follow from the **kernel mass**

    M(γ) = Σ_i κ_i w_i s γ / (d (2aκ_i − hγκ_i²/d)),

the integral of the Volterra kernel (docs/sgd.md §5):
the limit is stable iff ``M < 1`` and every mode rate ``2aγκ_i − hγ²κ_i²/d`` is positive; then
``P∞ = M·(b0/s)/(1 − M)`` and the risk is ``½(P∞ + E ε²)``. The *finite-d* forms keep the ``hγκ_i/d``
terms, which are exactly those of the per-step recursion (for SGD ``M`` is then the exact finite-d kernel
mass of the discrete Volterra equation); the *d → ∞* forms drop them (``h = 0``), giving for SGD
``γ_c = 2dB / tr K̃`` and ``R∞ = ½E ε² / (1 − γ tr K̃/(2dB))``.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from hdlimits.core.schedules import Schedule
from hdlimits.reductions import reduce

__all__ = ["kernel_mass", "critical_lr", "stationary_risk", "asymptotic_rate"]


def _sgd_type(problem, optimizer, lr=None):
    own = getattr(optimizer, "lr", None)
    callable_lr = callable(own) and not isinstance(own, Schedule)
    if lr is None and callable_lr:
        raise ValueError(f"{type(optimizer).__name__} has a callable learning rate; these closed forms need "
                         "a constant one: pass lr=<number> (the constant γ to evaluate them at)")
    # a callable lr is not used when lr is given: tabulate it on [0, 1] only to build the system
    system = reduce(problem, optimizer, t_max=1.0) if callable_lr else reduce(problem, optimizer)
    if not system.a_is_constant:
        raise ValueError(f"{type(optimizer).__name__}: these closed forms need a constant drift factor "
                         "a (SGD-type optimizers)")
    c = system.coef_params
    b0 = float(system.b(0.0, c))
    s = float(system.b(1.0, c)) - b0
    if abs(float(system.b(3.0, c)) - (b0 + 3 * s)) > 1e-12 * (abs(b0) + abs(s) + 1):
        raise ValueError(f"{type(optimizer).__name__}: these closed forms need b(P) affine in P")
    a = float(system.a(0.0, c))
    if lr is None:
        sched = system.schedule
        if not (isinstance(sched, Schedule) and sched.is_constant):
            raise ValueError(f"these closed forms need a constant learning rate, got the schedule {sched}; "
                             "pass lr=<number> (the constant γ to evaluate them at)")
        lr = sched.peak
    mask = system.kappa > 0
    # modes with mass m_i stand for m_i directions (docs/integrator.md §12): they weigh in the kernel
    return system, system.kappa[mask], system.weights[mask] * system.mass[mask], a, s, b0, float(lr)


def kernel_mass(problem, optimizer, lr=None, finite_d: bool = True) -> float:
    """M(γ) (inf when some mode rate is ≤ 0, i.e. a mode is unstable on its own)."""
    system, kap, w, a, s, _, g = _sgd_type(problem, optimizer, lr)
    h = system.curvature if finite_d else 0.0
    den = 2 * a * kap - h * g * kap ** 2 / system.d
    if np.any(den <= 0):
        return float("inf")
    return float(np.sum(kap * w * s * g / (system.d * den)))


def critical_lr(problem, optimizer, finite_d: bool = True) -> float:
    """The largest constant learning rate for which the limit stays bounded (``M(γ_c) = 1``).

    ``finite_d=False``: the d → ∞ value ``2da / (s Σ_i w_i)`` (SGD: ``2dB / tr K̃``).
    ``finite_d=True``: the root of ``M(γ) = 1`` with the ``γκ_i/d`` terms, capped by the largest γ at which
    every mode rate is still positive (exact for the expected per-step recursion of Gaussian SGD).
    For a dataset problem (``hd.Problem.from_dataset``) the result is a
    :class:`~hdlimits.models.dataset.diagnostics.DatasetCriticalLR`: the data-moment edge (its
    ``float()``) next to the Gaussian one (docs/datasets.md §4).
    """
    from hdlimits.models.dataset.problem import DatasetProblem
    if isinstance(problem, DatasetProblem):        # data-moment and Gaussian edges (docs/datasets.md §4)
        from hdlimits.models.dataset.diagnostics import critical_lr as dataset_critical_lr
        return dataset_critical_lr(problem, optimizer, finite_d)
    system, kap, w, a, s, _, _ = _sgd_type(problem, optimizer, lr=1.0)
    d = system.d
    g_inf = 2 * d * a / (s * np.sum(w))
    h = system.curvature
    if not finite_d or h == 0:
        return float(g_inf)
    g_max = 2 * d * a / (h * kap.max())

    def f(g):
        den = 2 * a * kap - h * g * kap ** 2 / d
        return np.sum(kap * w * s * g / (d * den)) - 1.0

    hi = g_max * (1 - 1e-12)
    if f(hi) < 0:
        return float(g_max)
    return float(brentq(f, 0.0, hi, xtol=1e-14 * g_inf, rtol=1e-14))


def stationary_risk(problem, optimizer, lr=None, finite_d: bool = True) -> float:
    """Risk ``½(P∞ + E ε²)`` of the stationary point (``inf`` if the limit diverges)."""
    system, _, _, _, s, b0, _ = _sgd_type(problem, optimizer, lr)
    M = kernel_mass(problem, optimizer, lr, finite_d)
    if not M < 1:
        return float("inf")
    P_inf = M * (b0 / s) / (1 - M)
    return 0.5 * (P_inf + system.noise_second_moment)


def asymptotic_rate(problem, optimizer, lr=None, finite_d: bool = True) -> float:
    """Exponential rate λ* at which ``P(t) − P∞`` decays (negative: growth rate of a divergence).

    λ* is the root below ``α_min = min_i α_i`` of ``Σ_i (γ²/d) s κ_i w_i / (α_i − λ) = 1`` with mode rates
    ``α_i = 2aγκ_i − hγ²κ_i²/d`` (the first pole of the Laplace transform of the Volterra resolvent).
    """
    system, kap, w, a, s, _, g = _sgd_type(problem, optimizer, lr)
    d = system.d
    h = system.curvature if finite_d else 0.0
    alpha = 2 * a * g * kap - h * g * g * kap ** 2 / d
    coeff = g * g * s * kap * w / d
    keep = coeff > 0
    alpha, coeff = alpha[keep], coeff[keep]
    amin = alpha.min()

    def f(lam):
        return np.sum(coeff / (alpha - lam)) - 1.0

    hi = amin - 1e-15 * max(abs(amin), 1.0)
    if f(hi) < 0:
        return float(amin)
    lo = min(-1.0, amin - 1.0)
    while f(lo) > 0:
        lo *= 2.0
        if lo < -1e12:
            return float("-inf")
    return float(brentq(f, lo, hi, xtol=1e-15 * max(abs(amin), 1.0), rtol=1e-14))
