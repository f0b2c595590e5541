"""Built-in phase diagrams: sweeps of the limiting equations drawn with their theoretical boundaries.

Each function runs a :func:`hdlimits.sweep.sweep`, writes a PNG (matplotlib, Agg canvas) and the data
(``.npz`` + ``.csv`` + ``.json``, reloadable with :meth:`hdlimits.sweep.SweepResult.load`) under
``out`` (a path stem; ``None`` writes nothing), and returns a :class:`PhaseResult`.

Conventions (CONVENTIONS.md): step ``γ/d`` with minibatch ``B``, time ``t = steps/d``, risk
``½(eᵀKe + E ε²)``. Default problems use ``Problem.power_law`` (``tr K = d``, mean eigenvalue 1).

* :func:`sgd_stability` — learning rate × batch size → converges / diverges, with the d → ∞ boundary
  ``γ tr K/(2dB) = 1`` (kernel mass of the Volterra equation = 1; shared/math/sgd_sign_clip.md §2,
  preconditioned.md §2.3), the finite-d boundary (exact kernel mass of the per-step recursion = 1) and
  the deterministic limit ``γ < 2d/((1+1/B) λ_max)``, which sets the critical batch size
  ``B_crit = tr K/λ_max`` (Lee, Cheng, Paquette, Paquette 2022).
* :func:`lr_time` — learning rate × time → risk heatmap for a schedule family, with the critical
  learning rates and the best learning rate at each time.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _validate as v
from . import noise as noise_mod
from . import schedules as sch
from .limits.diagnostics import critical_lr
from .optimizers import SGD
from .problem import Problem
from .sweep import Curve, Divergence, SweepResult, sweep

__all__ = ["PhaseResult", "sgd_stability", "lr_time", "NAMES"]


@dataclass(eq=False)
class PhaseResult:
    """A phase diagram: the sweep, the boundary curves drawn on it and the files written."""

    name: str
    sweep: SweepResult
    boundaries: dict = field(default_factory=dict)
    figure: str | None = None
    data: dict = field(default_factory=dict)

    def __repr__(self):
        return f"PhaseResult({self.name}, {self.sweep!r}, figure={self.figure})"


# ------------------------------------------------------------------------------ helpers
def _same(problem):
    """Problem factory that returns a fixed problem (picklable)."""
    return problem


def _default_problem(d, alpha, beta, noise, seed=0):
    return Problem.power_law(d=d, alpha=alpha, beta=beta, noise=noise, seed=seed)


def _check_problem(problem, d, alpha, beta, noise):
    if problem is None:
        if isinstance(noise, str):
            noise = noise_mod.parse(noise)
        return _default_problem(v.integer("d", d, low=2), alpha, beta, noise)
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a hdlimits Problem, got {type(problem).__name__}")
    return problem


def _figure(width=6.4, height=4.8):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _write(name, result, fig, out):
    """Save the figure and the data under the stem ``out``; fill ``result.figure``/``result.data``."""
    if out is None:
        return result
    stem = Path(out)
    if stem.suffix == ".png":
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = str(stem) + ".png"
    fig.savefig(png, bbox_inches="tight")
    result.figure = png
    result.data = result.sweep.save(stem)
    return result


def _edges(x, log=True):
    """Cell edges for pcolormesh around (log-)spaced centres."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 1:
        return np.array([x[0] / 1.5, x[0] * 1.5]) if log else np.array([x[0] - 0.5, x[0] + 0.5])
    y = np.log(x) if log else x
    mid = 0.5 * (y[1:] + y[:-1])
    e = np.concatenate([[y[0] - (mid[0] - y[0])], mid, [y[-1] + (y[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _sweep_kwargs(backend, workers, client, progress):
    return dict(backend=backend, workers=workers, client=client, progress=progress)


# ------------------------------------------------------------------------------ sgd-stability
def _finite_d_boundary(problem, B):
    return critical_lr(problem, SGD(lr=1.0, batch=int(B)), finite_d=True)


def sgd_stability(problem=None, lrs=None, batches=(1, 2, 4, 8, 16, 32, 64), t_max=400.0,
                  method="ode", out="phase_sgd_stability", *, d=400, alpha=1.0, beta=1.0,
                  noise="gaussian:std=0.5", backend="local", workers=None, client=None,
                  progress=None) -> PhaseResult:
    """Learning rate × batch size → does minibatch SGD's limit converge or diverge?

    Each point integrates the limiting equations (``method="ode"``; ``"recursion"``: the exact expected
    per-step recursion) with constant γ up to ``t_max`` and records whether they diverged
    (:class:`hdlimits.sweep.Divergence`; divergences slower than ``≈ 23/t_max`` per unit time are not
    seen). Drawn on top:

    * d → ∞ boundary ``γ = 2dB / tr K`` (kernel mass ``γ tr K/(2dB) = 1``);
    * finite-d boundary: root of ``Σ_i γλ_i / (B d (2 − (1+1/B)γλ_i/d)) = 1``
      (:func:`hdlimits.critical_lr`), which the equations integrated here obey;
    * deterministic limit ``γ = 2d / ((1+1/B) λ_max)`` and the critical batch ``B_crit = tr K/λ_max``.

    ``problem`` defaults to ``Problem.power_law(d, alpha, beta, noise)``; ``lrs`` to 48 log-spaced values
    from 0.1× to 3× the largest d → ∞ boundary on the grid.
    """
    problem = _check_problem(problem, d, alpha, beta, noise)
    batches = np.array(sorted({v.integer("batches", b, low=1) for b in batches}), dtype=np.int64)
    g_inf = np.array([2 * problem.d * b / problem.trace for b in batches])
    if lrs is None:
        g_lo = 0.1 * 2 * problem.d / problem.trace
        lrs = np.geomspace(g_lo, 3.0 * g_inf.max(), 48)
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    metric = Divergence(v.positive("t_max", t_max), source=method)
    res = sweep(functools.partial(_same, problem), SGD, {"lr": lrs, "batch": batches}, metric,
                **_sweep_kwargs(backend, workers, client, progress))
    lam_max = float(problem.eigenvalues.max())
    b_fine = np.unique(np.round(np.geomspace(batches.min(), batches.max(), 60)).astype(int))
    bounds = {
        "batch": b_fine,
        "d_inf": 2 * problem.d * b_fine / problem.trace,
        "finite_d": np.array([_finite_d_boundary(problem, b) for b in b_fine]),
        "deterministic": 2 * problem.d / ((1 + 1 / b_fine) * lam_max),
        "B_crit": problem.trace / lam_max,
    }
    res.metadata.update({"phase": "sgd-stability", "problem": problem.describe(), "t_max": t_max,
                         "method": method, "B_crit": bounds["B_crit"]})

    fig = _figure()
    ax = fig.add_subplot()
    div = res["diverged"]                                     # lr × batch
    from matplotlib.colors import ListedColormap
    cmap = ListedColormap(["#9ecae1", "#ef6548"])
    mesh = ax.pcolormesh(_edges(batches), _edges(lrs), div, cmap=cmap, vmin=-0.5, vmax=1.5,
                         shading="flat")
    cb = fig.colorbar(mesh, ax=ax, ticks=[0, 1])
    cb.ax.set_yticklabels(["converges", "diverges"])
    cb.set_label(f"limit at t = {t_max:g} ({method})")
    ax.plot(bounds["batch"], bounds["d_inf"], "k--", lw=1.5, label=r"$d\to\infty$: $\gamma\,\mathrm{tr}K/(2dB)=1$")
    ax.plot(bounds["batch"], bounds["finite_d"], "k-", lw=2, label="finite d: exact kernel mass = 1")
    ax.plot(bounds["batch"], bounds["deterministic"], ":", color="0.2", lw=1.5,
            label=r"$\gamma=2d/((1+1/B)\lambda_{max})$")
    ax.axvline(bounds["B_crit"], color="purple", lw=1, ls="-.",
               label=rf"$B_{{crit}}=\mathrm{{tr}}K/\lambda_{{max}}$ = {bounds['B_crit']:.3g}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(_edges(batches)[[0, -1]])
    ax.set_ylim(_edges(lrs)[[0, -1]])
    ax.set_xlabel("batch size B")
    ax.set_ylabel(r"learning rate $\gamma$ (step $\gamma/d$)")
    ax.set_title(f"SGD stability — {problem.label}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return _write("sgd-stability", PhaseResult("sgd-stability", res, bounds), fig, out)


# ------------------------------------------------------------------------------ lr-time
_SCHEDULES = ("constant", "cosine", "power_decay", "warmup")


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


def lr_time(problem=None, lrs=None, t=None, schedule="constant", batch=1, method="ode",
            out="phase_lr_time", *, d=400, alpha=1.0, beta=1.0, noise="gaussian:std=0.5",
            backend="local", workers=None, client=None, progress=None) -> PhaseResult:
    """Learning rate × time → risk: the risk landscape of a schedule choice.

    ``schedule``: ``"constant"`` (γ), ``"cosine"`` (γ → 0 at the last time), ``"power_decay"``
    (γ/(1 + t)), ``"warmup"`` (linear warm-up over 5 % of the horizon, then γ); the grid value is the peak
    γ. Colour: log10 of the risk ``½(eᵀKe + E ε²)``, capped at 3× the initial risk (pink above);
    grey cells have diverged. Drawn on top: the finite-d
    and d → ∞ critical learning rates of constant-γ SGD, and the best peak γ at each time.

    ``lrs`` defaults to 40 log-spaced values from 1/500 to 1.2 times the finite-d critical lr; ``t`` to
    80 log-spaced times from 0.01 to 100.
    """
    problem = _check_problem(problem, d, alpha, beta, noise)
    if schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")
    batch = v.integer("batch", batch, low=1)
    g_fin = critical_lr(problem, SGD(lr=1.0, batch=batch), finite_d=True)
    g_inf = critical_lr(problem, SGD(lr=1.0, batch=batch), finite_d=False)
    if lrs is None:
        lrs = np.geomspace(g_fin / 500, 1.2 * g_fin, 40)
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    if t is None:
        t = np.geomspace(0.01, 100.0, 80)
    t = np.asarray(v.vector("t", t, nonnegative=True))
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be increasing")
    factory = functools.partial(_scheduled_sgd, schedule=schedule, horizon=float(t[-1]), batch=batch)
    res = sweep(functools.partial(_same, problem), factory, {"lr": lrs}, Curve(t, source=method),
                **_sweep_kwargs(backend, workers, client, progress))
    risk = res["risk"]                                           # lr × t
    finite = np.where(np.isfinite(risk), risk, np.inf)
    best = np.array([lrs[np.argmin(finite[:, j])] if np.isfinite(finite[:, j]).any() else np.nan
                     for j in range(t.size)])
    bounds = {"critical_lr_finite_d": g_fin, "critical_lr_d_inf": g_inf, "t": t, "best_lr": best}
    res.metadata.update({"phase": "lr-time", "problem": problem.describe(), "schedule": schedule,
                         "batch": batch, "method": method, "critical_lr_finite_d": g_fin,
                         "critical_lr_d_inf": g_inf})

    fig = _figure()
    ax = fig.add_subplot()
    log_r = np.ma.masked_invalid(np.log10(np.where(np.isfinite(risk), risk, np.nan)))
    import matplotlib as mpl
    cmap = mpl.colormaps["viridis"].with_extremes(bad="0.55", over="#f4a582")
    r0 = 0.5 * (2 * problem.initial_excess_risk + problem.noise_second_moment)
    vmax = math.log10(3 * r0)
    pos_t = t > 0
    mesh = ax.pcolormesh(_edges(t[pos_t]), _edges(lrs), log_r[:, pos_t], cmap=cmap, shading="flat",
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
    return _write("lr-time", PhaseResult("lr-time", res, bounds), fig, out)


#: phase diagrams by CLI name
NAMES = {"sgd-stability": sgd_stability, "lr-time": lr_time}
