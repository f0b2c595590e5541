"""Compute-optimal scaling laws of SGD on power-law random features (docs/scaling.md §4–§5).

Setting (Paquette, Paquette, Xiao, Pennington, "4+3 phases of compute-optimal neural scaling laws",
arXiv 2405.15074): a PLRF problem with ``d`` parameters (``hd.Problem.plrf``), one-pass SGD with batch
``B``; compute ``f = B·d·r`` after ``r`` steps (one multiply-add per parameter and sample). The loss is the
paper's ``𝒫 = 2·risk`` (no ½, 𝒫* included). For each compute ``f``, the compute-optimal size is
``d*(f) = argmin_d 𝒫(d, r = f/(Bd))`` and the frontier ``𝒫*(f) = 𝒫(d*(f), f)``; power laws
``d* ∝ f^{ξ}``, ``𝒫* ∝ f^{−η}`` are fitted by least squares in log–log with standard errors.

Learning rate: the paper's step ``γ_p`` (sum over the batch; ``γ = γ_p·B·tr K`` in hdlimits units,
docs/conventions.md §6); by default half the finite-d critical learning rate of each ``d``
(``hd.critical_lr``), since with a steep spectrum the top mode alone can make a fixed ``γ_p`` unstable
at small ``d``.

The phases (``phase(α, β)``) and the heuristic exponents of docs/scaling.md §5 (Ia, II, III; derived by
balancing the dominant terms; the other phases have none here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v

__all__ = ["loss_vs_compute", "compute_optimal", "phase", "theory_exponents", "ScalingCurves", "Frontier"]


def phase(alpha, beta) -> str:
    """The phase of (α, β) (docs/scaling.md §5): Ia (2β < 1, α > ½), Ib (2β < 1, ¼ < α < ½,
    2(α+β) > 1), Ic (2β > 1, α < ¼), II (2α > 1, 2β > 1, β < α), III (2α > 1, β > α), IV (2β > 1,
    ¼ < α < ½; IVa/IVb not separated here), or "none" (2(α+β) ≤ 1: the target is not learnable)."""
    a, b = v.real("alpha", alpha), v.real("beta", beta)
    if 2 * (a + b) <= 1:
        return "none"
    if 2 * b < 1:
        if a > 0.5:
            return "Ia"
        return "Ib" if a > 0.25 else "Ic"
    if a < 0.25:
        return "Ic"
    if a < 0.5:
        return "IV"
    return "II" if b < a else "III"


def theory_exponents(alpha, beta):
    """``(ξ, η)`` with ``d* ∝ f^ξ``, ``𝒫* ∝ f^{−η}`` in phases Ia, II, III (docs/scaling.md §5), else
    ``(None, None)``."""
    a, b = v.real("alpha", alpha), v.real("beta", beta)
    p = phase(a, b)
    if p == "Ia":
        return 1 / (2 * a + 1), (2 * a + 2 * b - 1) / (2 * a + 1)
    if p == "II":
        return b / (a + b), (2 * a + 2 * b - 1) / (2 * (a + b))
    if p == "III":
        return 0.5, 1 - 1 / (4 * a)
    return None, None


@dataclass
class ScalingCurves:
    """``loss[i, k]``: the paper's loss 𝒫 at size ``d[i]`` after compute ``flops[k]`` (nan where
    ``r = f/(Bd) < 1``, i.e. less than one step)."""
    alpha: float
    beta: float
    d: np.ndarray
    flops: np.ndarray
    loss: np.ndarray
    batch: int
    lr_paper: np.ndarray
    methods: list = field(default_factory=list)


def loss_vs_compute(alpha, beta, d, flops, batch: int = 1, v_ratio: float = 4.0, lr=None, method="auto",
                    seed: int = 0) -> ScalingCurves:
    """𝒫(d, f) on the grid ``d × flops`` from the limit of SGD on ``hd.Problem.plrf(v = v_ratio·d, d, …)``
    (``method`` as there: explicit draws for small ``v·d``, the deterministic equivalent above).
    ``lr``: the paper's ``γ_p`` (default: half the finite-d critical learning rate of each d)."""
    from hdlimits.models.least_squares.problem import Problem
    from hdlimits.predict import predict_risk
    alpha = v.real("alpha", alpha, low=0.0, low_open=True)
    beta = v.real("beta", beta)
    ds = np.unique(np.round(np.atleast_1d(v.vector("d", np.atleast_1d(d), positive=True))).astype(np.int64))
    fl = np.sort(v.vector("flops", np.atleast_1d(flops), positive=True))
    if ds.size < 2 or np.any(ds < 4):
        raise ValueError("d must hold at least two sizes ≥ 4")
    batch = v.integer("batch", batch, low=1)
    v_ratio = v.real("v_ratio", v_ratio, low=1.0, low_open=True)
    if lr is not None:
        lr = v.positive("lr", lr)
    loss = np.full((ds.size, fl.size), np.nan)
    lrs, methods = np.empty(ds.size), []
    for i, di in enumerate(ds):
        prob = Problem.plrf(v=int(math.ceil(v_ratio * di)), d=int(di), alpha=alpha, beta=beta, batch=batch,
                            method=method, seed=seed)
        setup = prob.plrf
        if lr is None:   # half the finite-d critical rate (docs/sgd.md §5), in the paper's units
            from hdlimits.models.least_squares.diagnostics import critical_lr
            from hdlimits.optimizers import SGD
            g = 0.5 * critical_lr(prob, SGD(1.0, batch=batch)) / (batch * setup.trace)
        else:
            g = float(lr)
        lrs[i] = g
        methods.append(setup.method)
        steps = fl / (batch * di)
        ok = steps >= 1
        if not np.any(ok):
            continue
        curve = predict_risk(prob, setup.sgd(g), setup.time(steps[ok]), rtol=1e-7)
        loss[i, ok] = setup.paper_loss(curve.risk)
    return ScalingCurves(alpha, beta, ds.astype(np.float64), fl, loss, batch, lrs, methods)


@dataclass
class Frontier:
    """The compute-optimal frontier: ``d_star[k]``, ``loss_star[k]`` at ``flops[k]`` (nan where the
    minimum lies on the edge of the d grid), the fitted exponents with standard errors, the phase and
    the heuristic exponents."""
    flops: np.ndarray
    d_star: np.ndarray
    loss_star: np.ndarray
    d_exponent: float
    d_exponent_se: float
    loss_exponent: float
    loss_exponent_se: float
    phase: str
    theory: tuple
    interior: np.ndarray

    def table(self) -> str:
        rows = [f"phase {self.phase}; fitted d* ∝ f^{self.d_exponent:.3f} ± {self.d_exponent_se:.3f}, "
                f"loss* ∝ f^-{self.loss_exponent:.3f} ± {self.loss_exponent_se:.3f}"
                + (f" (heuristic {self.theory[0]:.3f}, {self.theory[1]:.3f})" if self.theory[0] else ""),
                f"{'flops':>12} {'d*':>12} {'loss*':>12}"]
        for f, dd, ll, ok in zip(self.flops, self.d_star, self.loss_star, self.interior):
            rows.append(f"{f:12.4g} {dd:12.4g} {ll:12.4g}" + ("" if ok else "  (edge of the d grid)"))
        return "\n".join(rows)


def _fit(x, y):
    """Slope of y on x and its standard error (ordinary least squares)."""
    if x.size < 3:
        return math.nan, math.nan
    A = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ coef
    s2 = float(r @ r) / (x.size - 2)
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(math.sqrt(cov[0, 0]))


def compute_optimal(alpha, beta, flops=None, d=None, curves: ScalingCurves | None = None, **kw) -> Frontier:
    """The frontier from :func:`loss_vs_compute` (given as ``curves`` or computed on ``d × flops``):
    for each f the minimum over d of log 𝒫, refined by a parabola in log d through the three grid points
    around it; only interior minima enter the fits."""
    alpha = v.real("alpha", alpha, low=0.0, low_open=True)
    beta = v.real("beta", beta)
    if curves is not None and not isinstance(curves, ScalingCurves):
        raise ValueError(f"curves must be a ScalingCurves (from loss_vs_compute) or None, got "
                         f"{type(curves).__name__}")
    if curves is None:
        if d is None:
            d = np.geomspace(16, 512, 11)
        if flops is None:
            flops = np.geomspace(1e4, 1e9, 26)
        curves = loss_vs_compute(alpha, beta, d, flops, **kw)
    ld = np.log(curves.d)
    L = np.log(curves.loss)
    nf = curves.flops.size
    dstar, lstar, interior = np.full(nf, np.nan), np.full(nf, np.nan), np.zeros(nf, dtype=bool)
    for k in range(nf):
        col = L[:, k]
        if np.all(np.isnan(col)):
            continue
        i = int(np.nanargmin(col))
        if 0 < i < ld.size - 1 and np.all(np.isfinite(col[i - 1:i + 2])):
            c = np.polyfit(ld[i - 1:i + 2], col[i - 1:i + 2], 2)
            x = -c[1] / (2 * c[0]) if c[0] > 0 else ld[i]
            dstar[k], lstar[k], interior[k] = math.exp(x), math.exp(np.polyval(c, x)), True
        else:
            dstar[k], lstar[k] = curves.d[i], math.exp(col[i])
    lf = np.log(curves.flops)
    xi, xi_se = _fit(lf[interior], np.log(dstar[interior]))
    eta, eta_se = _fit(lf[interior], np.log(lstar[interior]))
    return Frontier(curves.flops, dstar, lstar, xi, xi_se, -eta, eta_se, phase(alpha, beta),
                    theory_exponents(alpha, beta), interior)
