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
* :func:`clipping` — clip threshold × noise tail → best clipped / best SGD excess risk, with the CCC = 1
  contour (Marshall, Xiao, Agarwala, Paquette 2024, arXiv 2406.11733).
* :func:`sign_vs_sgd` — spectrum condition number × noise tail → time-to-target ratio signSGD / SGD,
  each at its best learning rate (Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hdlimits.core import validation as v
from hdlimits.reductions import reduce
from hdlimits.core import noise as noise_mod
from hdlimits.core import schedules as sch
from hdlimits.models.least_squares.diagnostics import critical_lr
from hdlimits.optimizers import SGD
from hdlimits.models.least_squares.problem import Problem
from hdlimits.sweep import Curve, Divergence, SweepResult, sweep

__all__ = ["PhaseResult", "sgd_stability", "lr_time", "clipping", "sign_vs_sgd", "NAMES"]


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

    ``problem`` defaults to ``Problem.power_law(d, alpha, beta, noise)``; ``lrs`` (an array, or a number of points) to 48 log-spaced values
    from 0.1× to 3× the largest d → ∞ boundary on the grid.
    """
    problem = _check_problem(problem, d, alpha, beta, noise)
    batches = np.array(sorted({v.integer("batches", b, low=1) for b in batches}), dtype=np.int64)
    g_inf = np.array([2 * problem.d * b / problem.trace for b in batches])
    if lrs is None or np.ndim(lrs) == 0:       # a number: that many points of the default range
        g_lo = 0.1 * 2 * problem.d / problem.trace
        lrs = np.geomspace(g_lo, 3.0 * g_inf.max(), 48 if lrs is None else v.integer("lrs", lrs, low=2))
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
    if lrs is None or np.ndim(lrs) == 0:       # a number: that many points of the default range
        lrs = np.geomspace(g_fin / 500, 1.2 * g_fin, 40 if lrs is None else v.integer("lrs", lrs, low=2))
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


# ------------------------------------------------------------------------------ clipping
def _tail_law(df, scale):
    """Student-t(df, scale), or the Gaussian N(0, scale²) (its df → ∞ limit) for df = inf."""
    return noise_mod.gaussian(scale) if math.isinf(df) else noise_mod.student_t(df, scale)


def _with_tail(df, base, scale):
    """``base`` with the label noise replaced by the tail law ``df`` (module level: picklable)."""
    return Problem.from_spectrum(base.eigenvalues, base.initial_error, _tail_law(df, scale), base.basis,
                                 label=f"{base.label}, noise df={df:g}")


def _clipped(c, problem):
    """ClippedSGD with the *residual* threshold ``c`` (gradient-norm threshold ``c·√tr K``); the lr is
    set by the metric."""
    from hdlimits.optimizers.clipped import ClippedSGD
    return ClippedSGD(lr=1.0, clip=c * math.sqrt(problem.trace))


#: residual threshold standing for "no clipping" (μ = 1 and ν = P + E ε² to double precision)
_NO_CLIP = 1e8


def _unclipped(problem):
    """SGD as the c → ∞ member of the clipped family (same limiting equation, without the finite-d
    ``γκ/d`` term that the clipped limit does not carry)."""
    return _clipped(_NO_CLIP, problem)


@dataclass(frozen=True)
class _ClipVersusSGD:
    """Best clipped excess risk at ``t`` over learning rates ``m·γ_SGD/μ_c(P_ref)`` (``m`` in
    ``multipliers``; ``γ_SGD/μ`` is the compensated lr of the CCC comparison), divided by the best SGD
    excess risk at ``t``; plus CCC and CSC at ``P_ref`` = the best SGD run's final ``eᵀKe``.
    ``reference``: ``noise spec -> (best SGD excess risk, its lr)``."""

    t: float
    multipliers: tuple
    reference: dict

    names = ("ratio", "best_clipped_excess_risk", "clipped_lr", "ccc", "csc", "mu")
    extra: dict = field(default_factory=dict)

    def evaluate(self, problem, optimizer, index):
        from hdlimits.sweep import with_lr
        sgd_excess, sgd_lr = self.reference[problem.noise.spec()]
        P_ref = 2.0 * sgd_excess
        # μ_c(P) = a(P) and ν_c(P) = b(P) of the clipped limit (hdlimits.models.least_squares.clipping.mu / nu compute the
        # same functions; reading them off the mode system avoids re-deriving per call)
        system = reduce(problem, optimizer)
        mu = float(system.a(P_ref, system.coef_params))
        nh = float(system.b(P_ref, system.coef_params)) / (P_ref + problem.noise_second_moment)
        best, best_lr = math.inf, math.nan
        for m in self.multipliers:
            lr = m * sgd_lr / mu
            from hdlimits.predict import predict_risk
            cur = predict_risk(problem, with_lr(optimizer, lr), [0.0, self.t], store_modes=False)
            x = float(cur.excess_risk[-1])
            if x < best:
                best, best_lr = x, lr
        status = "ok" if math.isfinite(best) else "diverged for every lr"
        return ({"ratio": best / sgd_excess, "best_clipped_excess_risk": best, "clipped_lr": best_lr,
                 "ccc": mu * mu / nh, "csc": mu / nh, "mu": mu}, status)

    def describe(self):
        return {"metric": "clipped vs SGD", "t": self.t, "multipliers": list(self.multipliers)}


def clipping(problem=None, thresholds=None, dfs=None, t=10.0, n_lrs=5, out="phase_clipping", *,
             resolution=None, d=100, alpha=1.0, beta=1.0, scale=0.5, backend="local", workers=None,
             client=None, progress=None) -> PhaseResult:
    """Clip threshold × noise tail → best clipped excess risk / best SGD excess risk, with CCC = 1.

    Marshall, Xiao, Agarwala, Paquette, *To clip or not to clip*, arXiv 2406.11733
    (shared/math/sgd_sign_clip.md §5). Noise: Student-t with ``df`` degrees of freedom and scale
    ``scale`` (``df = inf``: the Gaussian N(0, scale²)); ``df`` must be > 2 so that SGD's limit exists.
    Threshold axis: the residual threshold ``c = C/√tr K`` (``C`` the gradient-norm threshold).

    For each tail, SGD's best excess risk at time ``t`` (12 learning rates in ``[0.02, 0.95]·γ_c``,
    :func:`hdlimits.critical_lr`, then refined by a bounded minimisation in log lr) is the reference, and ``P_ref = eᵀKe`` at its end.
    SGD is evaluated as the ``c → ∞`` member of the clipped family (``μ = 1``, ``ν = P + E ε²``): the
    clipped limit omits the finite-d ``γ²κ_i²D_i/d`` term that ``hd.SGD``'s limit keeps, and comparing
    across the two would bias the ratio (by ≈ 13 % at d = 100, γ = 1 on the default spectrum) rather
    than measure clipping;
    for each (threshold, tail) clipped SGD is run at ``n_lrs`` learning rates ``m·γ_SGD/μ_c(P_ref)``,
    ``m ∈ [1/3, 3]`` log-spaced (``n_lrs = 1``: ``m = 1``, the compensated lr of the paper's CCC), and the
    best is kept. Colour: ``log2`` of the ratio (blue: clipping better). Drawn: the contour
    ``CCC(P_ref) = μ²/ν̂ = 1`` (clipping helps where CCC > 1) and the measured ratio = 1.

    ``resolution``: number of thresholds and of tails (``resolution − 1`` Student-t df log-spaced in
    [2.2, 32] plus the Gaussian) when ``thresholds``/``dfs`` are not given (default 24 × 8). Beyond
    df ≈ 40 the Student-t law is within a few % of the Gaussian row (and the derivation engine's self-check
    currently rejects those laws; such points get an ``error`` status).
    Cost: each new noise law is derived and checked once per worker process by the derivation engine.
    """
    from hdlimits.sweep import BestFinalRisk
    if problem is None:
        problem = Problem.power_law(d=v.integer("d", d, low=2), alpha=alpha, beta=beta, seed=0)
    elif not isinstance(problem, Problem):
        raise ValueError(f"problem must be a hdlimits Problem, got {type(problem).__name__}")
    scale = v.positive("scale", scale)
    t = v.positive("t", t)
    n_lrs = v.integer("n_lrs", n_lrs, low=1)
    n_c, n_df = (24, 8) if resolution is None else (v.integer("resolution", resolution, low=2),) * 2
    if thresholds is None:
        thresholds = np.geomspace(0.03, 30.0, n_c) * scale / 0.5
    thresholds = np.asarray(v.vector("thresholds", thresholds, positive=True))
    if dfs is None:
        dfs = np.concatenate([np.geomspace(2.2, 32.0, n_df - 1), [np.inf]])
    dfs = np.array(dfs, dtype=np.float64)
    if dfs.ndim != 1 or dfs.size == 0 or np.any(~(dfs > 2)):
        raise ValueError(f"dfs must be Student-t degrees of freedom in (2, inf] (inf: Gaussian), got {dfs}")
    dfs = np.sort(dfs)
    kw = _sweep_kwargs(backend, workers, client, progress)
    pf = functools.partial(_with_tail, base=problem, scale=scale)

    # SGD reference: best excess risk at t for each tail (its own best lr)
    g_c = critical_lr(problem, SGD(lr=1.0), finite_d=True)
    sgd_lrs = tuple(g_c * np.geomspace(0.02, 0.95, 12))
    ref = sweep(pf, _unclipped, {"df": dfs},
                BestFinalRisk(t, sgd_lrs, quantity="excess_risk", refine=True), **kw)
    reference = {_tail_law(df, scale).spec(): (float(ref["best_final_risk"][i]), float(ref["best_lr"][i]))
                 for i, df in enumerate(dfs)}
    mult = (1.0,) if n_lrs == 1 else tuple(np.geomspace(1 / 3, 3.0, n_lrs))
    metric = _ClipVersusSGD(t, mult, reference)
    res = sweep(pf, _clipped, {"df": dfs, "c": thresholds}, metric, chunksize=thresholds.size, **kw)
    res.values["sgd_best_excess_risk"] = np.repeat(ref["best_final_risk"][:, None], thresholds.size, 1)
    res.values["sgd_best_lr"] = np.repeat(ref["best_lr"][:, None], thresholds.size, 1)
    res.metadata.update({"phase": "clipping", "problem": problem.describe(), "t": t, "scale": scale,
                         "threshold_units": "residual c = C/sqrt(tr K)", "sgd_lrs": list(sgd_lrs),
                         "lr_multipliers": list(mult), "P_ref": "2 × best SGD excess risk at t"})
    bounds = {"ccc": res["ccc"], "csc": res["csc"]}

    fig = _figure()
    ax = fig.add_subplot()
    ratio = res["ratio"]                                           # df × c
    lr2 = np.log2(np.where(ratio > 0, ratio, np.nan))
    lim = max(float(np.nanmax(np.abs(lr2))) if np.isfinite(lr2).any() else 1.0, 0.05)
    rows = np.arange(dfs.size)
    mesh = ax.pcolormesh(_edges(thresholds), _edges(rows, log=False), np.ma.masked_invalid(lr2),
                         cmap="RdBu_r", vmin=-lim, vmax=lim, shading="flat")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label(rf"$\log_2$(best clipped / best SGD excess risk) at t = {t:g}" "\n(blue: clipping better)")
    C, Rw = np.meshgrid(thresholds, rows)
    if dfs.size > 1 and thresholds.size > 1:
        # where the threshold is never reached (μ = 1 to 1e-4) CCC and the ratio are 1 up to rounding:
        # no contour there (it would trace rounding noise)
        active = res["mu"] < 1 - 1e-4
        ccc = np.where(active, res["ccc"], np.nan)
        rat = np.where(active, ratio, np.nan)
        if np.isfinite(ccc).any() and np.nanmin(ccc) < 1 < np.nanmax(ccc):
            ax.contour(C, Rw, ccc, levels=[1.0], colors="k", linewidths=2)
        if np.isfinite(rat).any() and np.nanmin(rat) < 1 < np.nanmax(rat):
            ax.contour(C, Rw, rat, levels=[1.0], colors="0.3", linewidths=1.2, linestyles="--")
    from matplotlib.lines import Line2D
    ax.legend([Line2D([], [], color="k", lw=2), Line2D([], [], color="0.3", lw=1.2, ls="--")],
              [r"CCC $=\mu^2/\hat\nu = 1$ at the SGD end state", "measured ratio = 1"],
              fontsize=7, loc="upper left", framealpha=0.85)
    ax.set_xscale("log")
    step = max(1, dfs.size // 10)
    ticks = rows[::step] if rows[-1] in rows[::step] else np.append(rows[::step], rows[-1])
    ax.set_yticks(ticks, ["Gauss" if math.isinf(dfs[i]) else f"{dfs[i]:.3g}" for i in ticks])
    ax.set_xlabel(r"residual clip threshold $c = C/\sqrt{\mathrm{tr}K}$")
    ax.set_ylabel(f"noise tail: Student-t df (scale {scale:g})")
    ax.set_title(f"clipped vs SGD, each at its best lr — {problem.label}", fontsize=9)
    return _write("clipping", PhaseResult("clipping", res, bounds), fig, out)


# ------------------------------------------------------------------------------ sign-vs-sgd
def _conditioned(condition, df, d, scale, seed):
    """Diagonal K with eigenvalues geometric from 1 down to 1/condition, normalised to tr K = d; e_0 a
    random direction (from ``seed``) with ``‖K^{1/2}e_0‖² = 1``; Student-t(df, scale) label noise
    (Gaussian N(0, scale²) for df = inf). Module level: picklable."""
    lam = condition ** (-np.arange(d) / max(d - 1, 1))
    lam *= d / lam.sum()
    z = np.random.default_rng(seed).standard_normal(d)
    e0 = z / math.sqrt(float(np.sum(lam * z * z)))
    return Problem.from_spectrum(lam, e0, _tail_law(df, scale),
                                 label=f"geometric spectrum (d={d}, cond={condition:.3g}), df={df:g}")


def _sign(problem):
    from hdlimits.optimizers.sign import SignSGD
    return SignSGD(lr=1.0)


def sign_vs_sgd(conditions=None, dfs=None, target=0.05, t_max=200.0, n_lrs=12, out="phase_sign_vs_sgd",
                *, resolution=None, d=100, scale=0.5, seed=0, sign_lrs=None, backend="local",
                workers=None, client=None, progress=None) -> PhaseResult:
    """Spectrum condition number × noise tail → time-to-target ratio signSGD / SGD, each at its best lr.

    signSGD: Xiao, Marshall, Agarwala, Paquette, *Exact risk curves of signSGD in high-dimensions*,
    arXiv 2411.12135 (shared/math/sgd_sign_clip.md §4); SGD as in §2. Problem: diagonal K with
    eigenvalues geometric from 1 to 1/``condition`` (tr K = d), initial excess risk ½, Student-t(df,
    ``scale``) label noise (df = inf: Gaussian). For each point, the time for the excess risk ``½eᵀKe`` to
    reach ``target`` (:class:`hdlimits.sweep.TimeToTarget`, ``inf`` if not before ``t_max``) is minimised
    over ``n_lrs`` learning rates for each optimizer: SGD over ``[0.002, 0.95]·2d/tr K``, signSGD over
    ``sign_lrs`` (default log-spaced in [0.003, 1]); the lr grids bound the accuracy of "best"
    (a factor ``(ratio of neighbouring lrs)`` in lr, much less in time near the optimum).

    Colour: ``log2(T_sign / T_SGD)`` (blue: signSGD faster). Drawn: the measured ratio = 1 contour.
    ``df`` must be > 2 (SGD's limit needs a finite noise variance). Default grid 8 × 6, or
    ``resolution`` × ``resolution`` (``resolution − 1`` df log-spaced in [2.2, 32] plus the Gaussian).
    """
    from hdlimits.sweep import SpeedUp
    n = None if resolution is None else v.integer("resolution", resolution, low=2)
    if conditions is None:
        conditions = np.geomspace(1.0, 1e4, n or 8)
    conditions = np.asarray(v.vector("conditions", conditions))
    if np.any(conditions < 1):
        raise ValueError(f"conditions must be condition numbers in [1, inf), got {conditions}")
    if dfs is None:
        dfs = np.concatenate([np.geomspace(2.2, 32.0, (n or 6) - 1), [np.inf]])
    dfs = np.sort(np.array(dfs, dtype=np.float64))
    if dfs.ndim != 1 or dfs.size == 0 or np.any(~(dfs > 2)):
        raise ValueError(f"dfs must be Student-t degrees of freedom in (2, inf] (inf: Gaussian), got {dfs}")
    n_lrs = v.integer("n_lrs", n_lrs, low=1)
    if sign_lrs is None:
        sign_lrs = np.geomspace(0.003, 1.0, n_lrs)
    sign_lrs = tuple(v.vector("sign_lrs", sign_lrs, positive=True))
    sgd_lrs = tuple(2.0 * np.geomspace(0.002, 0.95, n_lrs))          # × 2d/tr K, tr K = d here
    metric = SpeedUp(v.positive("target", target), v.positive("t_max", t_max), SGD, sgd_lrs,
                     lrs=sign_lrs, quantity="excess_risk", n_times=300)
    pf = functools.partial(_conditioned, d=v.integer("d", d, low=2), scale=v.positive("scale", scale),
                           seed=seed)
    res = sweep(pf, _sign, {"df": dfs, "condition": conditions}, metric, chunksize=conditions.size,
                **_sweep_kwargs(backend, workers, client, progress))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = res["time"] / res["baseline_time"]                    # T_sign / T_SGD
    res.values["ratio"] = ratio
    res.metadata.update({"phase": "sign-vs-sgd", "d": d, "scale": scale, "target_excess_risk": target,
                         "t_max": t_max, "sign_lrs": list(sign_lrs), "sgd_lrs": list(sgd_lrs)})
    edge = {"sign_best_lr_at_grid_edge": int(np.sum(np.isin(res["lr"], [sign_lrs[0], sign_lrs[-1]]))),
            "sgd_best_lr_at_grid_edge": int(np.sum(np.isin(res["baseline_lr"],
                                                            [sgd_lrs[0], sgd_lrs[-1]])))}
    res.metadata.update(edge)

    fig = _figure()
    ax = fig.add_subplot()
    lr2 = np.log2(np.where(ratio > 0, ratio, np.nan))
    lim = max(float(np.nanmax(np.abs(lr2[np.isfinite(lr2)]))) if np.isfinite(lr2).any() else 1.0, 0.05)
    rows = np.arange(dfs.size)
    import matplotlib as mpl
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="0.6")
    mesh = ax.pcolormesh(_edges(conditions), _edges(rows, log=False), np.ma.masked_invalid(lr2),
                         cmap=cmap, vmin=-lim, vmax=lim, shading="flat")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label(r"$\log_2(T_{sign}/T_{SGD})$, time to excess risk " f"{target:g}"
                 "\n(blue: signSGD faster; grey: target not reached)")
    if dfs.size > 1 and conditions.size > 1 and np.nanmin(ratio) < 1 < np.nanmax(ratio):
        C, Rw = np.meshgrid(conditions, rows)
        ax.contour(C, Rw, np.where(np.isfinite(ratio), ratio, np.nan), levels=[1.0], colors="k",
                   linewidths=2)
        from matplotlib.lines import Line2D
        ax.legend([Line2D([], [], color="k", lw=2)], ["equal speed (ratio = 1)"], fontsize=7,
                  loc="upper left", framealpha=0.85)
    ax.set_xscale("log")
    step = max(1, dfs.size // 10)
    ticks = rows[::step] if rows[-1] in rows[::step] else np.append(rows[::step], rows[-1])
    ax.set_yticks(ticks, ["Gauss" if math.isinf(dfs[i]) else f"{dfs[i]:.3g}" for i in ticks])
    ax.set_xlabel(r"condition number $\lambda_{max}/\lambda_{min}$ of diagonal K")
    ax.set_ylabel(f"noise tail: Student-t df (scale {scale:g})")
    ax.set_title(f"signSGD vs SGD, each at its best lr (d = {d})", fontsize=9)
    return _write("sign-vs-sgd", PhaseResult("sign-vs-sgd", res, {"ratio": ratio, **edge}), fig, out)


#: phase diagrams by CLI name
NAMES = {"sgd-stability": sgd_stability, "lr-time": lr_time, "clipping": clipping,
         "sign-vs-sgd": sign_vs_sgd}
