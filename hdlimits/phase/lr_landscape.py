"""Phase diagram ``lr-time``: learning rate × time → risk heatmap for a schedule family, with the
critical learning rates of constant-γ SGD and the best learning rate at each time (docs/sgd.md)."""
from __future__ import annotations

import functools
import math

import numpy as np

from hdlimits.core import schedules as sch
from hdlimits.core import validation as v
from hdlimits.models.least_squares.diagnostics import critical_lr
from hdlimits.optimizers import SGD
from hdlimits.phase.common import (PhaseResult, check_problem, edges, figure, same, sweep_kwargs,
                                   write)
from hdlimits.sweeps import Curve, sweep

__all__ = ["lr_time", "compute", "draw", "DEFAULT_D", "SCHEDULES"]

NAME = "lr-time"
#: dimension of the default problem
DEFAULT_D = 400
SCHEDULES = ("constant", "cosine", "power_decay", "warmup")


def _scheduled_sgd(lr, schedule, horizon, batch):
    """SGD whose learning-rate schedule has peak ``lr`` (module level: picklable)."""
    if schedule == "constant":
        s = lr
    elif schedule == "cosine":
        s = sch.cosine(lr, t_max=horizon)
    elif schedule == "power_decay":
        s = sch.power_decay(lr, t0=1.0, power=1.0)
    else:  # warmup over the first 5 % of the horizon
        s = sch.linear_warmup(lr, warmup_time=0.05 * horizon)
    return SGD(lr=s, batch=batch)


def compute(problem=None, lrs=None, t=None, schedule="constant", batch=1, method="ode", *,
            d=DEFAULT_D, alpha=1.0, beta=1.0, noise="gaussian:std=0.5", backend="local", workers=None,
            client=None, progress=None) -> PhaseResult:
    """The data of :func:`lr_time` (same arguments, no ``out``): the risk sweep, the critical learning
    rates and the best lr at each time, no figure."""
    problem = check_problem(problem, d, alpha, beta, noise)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    batch = v.integer("batch", batch, low=1)
    g_fin = critical_lr(problem, SGD(lr=1.0, batch=batch), finite_d=True)
    g_inf = critical_lr(problem, SGD(lr=1.0, batch=batch), finite_d=False)
    if lrs is None or np.ndim(lrs) == 0:       # a number: that many points of the default range
        lrs = np.geomspace(g_fin / 500, 1.2 * g_fin, 40 if lrs is None else v.integer("lrs", lrs, low=2))
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    if t is None:
        t = np.geomspace(0.01, 100.0, 80)
    t = np.asarray(v.vector("t", t, nonnegative=True))
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be increasing")
    factory = functools.partial(_scheduled_sgd, schedule=schedule, horizon=float(t[-1]), batch=batch)
    res = sweep(functools.partial(same, problem), factory, {"lr": lrs}, Curve(t, source=method),
                **sweep_kwargs(backend, workers, client, progress))
    risk = res["risk"]                                           # lr × t
    finite = np.where(np.isfinite(risk), risk, np.inf)
    best = np.array([lrs[np.argmin(finite[:, j])] if np.isfinite(finite[:, j]).any() else np.nan
                     for j in range(t.size)])
    bounds = {"critical_lr_finite_d": g_fin, "critical_lr_d_inf": g_inf, "t": t, "best_lr": best}
    res.metadata.update({"phase": NAME, "problem": problem.describe(), "schedule": schedule,
                         "batch": batch, "method": method, "critical_lr_finite_d": g_fin,
                         "critical_lr_d_inf": g_inf})
    return PhaseResult(NAME, res, bounds, problem=problem)


def draw(result: PhaseResult):
    """The figure of a :func:`compute` result: log10 risk heatmap, critical lrs, best lr per time."""
    res, bounds, problem = result.sweep, result.boundaries, result.problem
    lrs, t, risk = res.axes["lr"], bounds["t"], res["risk"]
    g_fin, g_inf, best = bounds["critical_lr_finite_d"], bounds["critical_lr_d_inf"], bounds["best_lr"]
    schedule, batch = res.metadata["schedule"], res.metadata["batch"]
    fig = figure()
    ax = fig.add_subplot()
    log_r = np.ma.masked_invalid(np.log10(np.where(np.isfinite(risk), risk, np.nan)))
    import matplotlib as mpl
    cmap = mpl.colormaps["viridis"].with_extremes(bad="0.55", over="#f4a582")
    r0 = 0.5 * (2 * problem.initial_excess_risk + problem.noise_second_moment)
    vmax = math.log10(3 * r0)
    pos_t = t > 0
    mesh = ax.pcolormesh(edges(t[pos_t]), edges(lrs), log_r[:, pos_t], cmap=cmap, shading="flat",
                         vmin=min(float(log_r.min()), vmax - 1), vmax=vmax)
    cb = fig.colorbar(mesh, ax=ax, extend="max")
    cb.set_label(r"$\log_{10}$ risk  $\frac{1}{2}(e^TKe+E\varepsilon^2)$"
                 "\n(pink: above 3× initial risk; grey: diverged)")
    ax.axhline(g_fin, color="w", lw=1.8, label=f"critical γ, finite d ({g_fin:.3g})")
    ax.axhline(g_inf, color="w", lw=1.2, ls="--", label=rf"critical γ, $d\to\infty$ ({g_inf:.3g})")
    ax.plot(t[pos_t], best[pos_t], color="orange", lw=1.8, label="best γ at each time")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time t (steps / d)")
    ax.set_ylabel(rf"peak learning rate $\gamma$ ({schedule} schedule, B = {batch})")
    ax.set_title(f"SGD risk landscape — {problem.label}", fontsize=9)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.8)
    return fig


def lr_time(problem=None, lrs=None, t=None, schedule="constant", batch=1, method="ode",
            out="phase_lr_time", *, d=DEFAULT_D, alpha=1.0, beta=1.0, noise="gaussian:std=0.5",
            backend="local", workers=None, client=None, progress=None) -> PhaseResult:
    """Learning rate × time → risk: the risk landscape of a schedule choice.

    ``schedule``: ``"constant"`` (γ), ``"cosine"`` (γ → 0 at the last time), ``"power_decay"``
    (γ/(1 + t)), ``"warmup"`` (linear warm-up over 5 % of the horizon, then γ); the grid value is the peak
    γ. Colour: log10 of the risk ``½(eᵀKe + E ε²)``, capped at 3× the initial risk (pink above);
    grey cells have diverged. Drawn on top: the finite-d
    and d → ∞ critical learning rates of constant-γ SGD, and the best peak γ at each time.

    ``problem`` defaults to ``Problem.power_law(d, alpha, beta, noise)`` with ``d = 400``
    (:data:`DEFAULT_D`); ``lrs`` to 40 log-spaced values from 1/500 to 1.2 times the finite-d critical
    lr; ``t`` to 80 log-spaced times from 0.01 to 100. :func:`compute` and :func:`draw` do the two
    halves.
    """
    result = compute(problem, lrs, t, schedule, batch, method, d=d, alpha=alpha, beta=beta,
                     noise=noise, backend=backend, workers=workers, client=client, progress=progress)
    return write(result, draw(result), out)
