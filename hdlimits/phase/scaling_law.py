"""Phase diagram ``scaling-law``: the (α, β) plane of power-law random features coloured by the fitted
compute-optimal exponent ξ of ``d* ∝ f^ξ`` (docs/phase_scaling_law.md; Paquette, Paquette, Xiao,
Pennington, *4+3 phases of compute-optimal neural scaling laws*, arXiv 2405.15074; docs/scaling.md
§4–§5).

At every grid point ``(α, β)`` the frontier of one-pass SGD on ``hd.Problem.plrf`` is computed from the
limiting equations and ξ is fitted by :func:`hdlimits.scaling.compute_optimal` (its sizes ``d``, computes
``f``, batch and learning rate — half the finite-d critical rate of each ``d`` — unless given here). The
figure shows the fitted ξ (left) and the difference fitted − heuristic (right), with the phase boundaries
``2β = 1``, ``2α = 1``, ``α = ¼``, ``α = β`` and ``2(α+β) = 1``, the phase names and contours of the
heuristic ξ of docs/scaling.md §5 (phases Ia, II, III; none elsewhere). A point whose fit has fewer than
three interior minima of ``d*(f)`` has status code ``"no_fit"`` (values NaN, drawn hatched); a point whose
evaluation raised has code ``"error"``.

:func:`heuristic_plane` is the closed-form drawing alone (no sweep; ``hdlimits scaling --diagram``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.phase.common import PhaseResult, edges, figure, sweep_kwargs, write
from hdlimits.scaling import compute_optimal, phase, theory_exponents
from hdlimits.sweeps import sweep
from hdlimits.sweeps.status import PointStatus

__all__ = ["scaling_law", "compute", "draw", "heuristic", "heuristic_plane", "PLRFPoint",
           "ComputeOptimalFit", "DEFAULT_D", "QUICK"]

NAME = "scaling-law"
#: model sizes d of the fits: None = the default sizes of :func:`hdlimits.scaling.compute_optimal`
DEFAULT_D = None
#: the ``quick=True`` setting (a 3 × 3 grid on small sizes and computes: seconds, for tests; its
#: exponents carry large finite-size errors)
QUICK = {"resolution": 3, "d": tuple(np.geomspace(8, 64, 6)), "flops": tuple(np.geomspace(1e3, 1e6, 13))}
#: default α and β ranges: the phases Ia, II, III, where the heuristic exponents are derived
ALPHA_RANGE, BETA_RANGE = (0.6, 1.6), (0.15, 1.65)
NO_FIT = "no_fit"


@dataclass(frozen=True)
class PLRFPoint:
    """One point of the plane: data exponent ``alpha`` (``D_j = j^(−2α)``), target exponent ``beta``."""

    alpha: float
    beta: float

    def describe(self) -> dict:
        return {"kind": "plrf", "alpha": self.alpha, "beta": self.beta}


def _point(alpha, beta):
    """Problem factory of the sweep (module level: picklable)."""
    return PLRFPoint(float(alpha), float(beta))


def _compute_optimal_sgd():
    """Optimizer factory of the sweep: none to build — compute_optimal runs SGD at half the finite-d
    critical learning rate of each size (docs/scaling.md §4)."""
    return None


@dataclass(frozen=True)
class ComputeOptimalFit:
    """Sweep metric: :func:`hdlimits.scaling.compute_optimal` at the point's (α, β). Values ``xi``,
    ``xi_se`` (``d* ∝ f^ξ``), ``eta``, ``eta_se`` (``𝒫* ∝ f^−η``), ``xi_theory`` (heuristic ξ, NaN
    where none is derived), ``n_interior`` (computes whose minimum over d is interior: the points of the fit).
    Status ``"no_fit"`` when fewer than 3 are interior (ξ, η NaN)."""

    d: tuple | None = None
    flops: tuple | None = None
    batch: int | None = None
    names = ("xi", "xi_se", "eta", "eta_se", "xi_theory", "n_interior")
    extra = {}

    def evaluate(self, problem, optimizer, index):
        kw = {} if self.batch is None else {"batch": self.batch}
        fr = compute_optimal(problem.alpha, problem.beta,
                             flops=None if self.flops is None else np.asarray(self.flops),
                             d=None if self.d is None else np.asarray(self.d), **kw)
        n_in = int(np.sum(fr.interior))
        xi_th = fr.theory[0]
        vals = {"xi": fr.d_exponent, "xi_se": fr.d_exponent_se, "eta": fr.loss_exponent,
                "eta_se": fr.loss_exponent_se, "xi_theory": math.nan if xi_th is None else float(xi_th),
                "n_interior": float(n_in)}
        if not (math.isfinite(fr.d_exponent) and math.isfinite(fr.d_exponent_se)):
            return vals, PointStatus(NO_FIT, f"{n_in} of {fr.flops.size} computes have an interior "
                                             "minimum over d (≥ 3 needed): no exponent fitted")
        return vals, PointStatus("ok", "ok")

    def describe(self) -> dict:
        return {"metric": "ComputeOptimalFit", "d": "compute_optimal default" if self.d is None
                else list(self.d), "flops": "compute_optimal default" if self.flops is None
                else list(self.flops), "batch": 1 if self.batch is None else self.batch}


def heuristic(alpha=(0.05, 2.0), beta=(0.0, 2.0), n=241):
    """``(α grid, β grid, ξ, names)``: the heuristic exponent ξ (NaN where none is derived) and the phase
    name on an ``n × n`` grid of the given ranges (rows β, columns α)."""
    a = np.linspace(*alpha, n)
    b = np.linspace(*beta, n)
    xi = np.full((n, n), np.nan)
    names = np.empty((n, n), dtype=object)
    for i, bb in enumerate(b):
        for j, aa in enumerate(a):
            names[i, j] = phase(aa, bb)
            x = theory_exponents(aa, bb)[0]
            xi[i, j] = np.nan if x is None else x
    return a, b, xi, names


def _grid(values, rng, n, name):
    if values is None:
        return np.linspace(*rng, n)
    arr = np.sort(np.asarray(v.vector(name, values, positive=(name == "alphas"))))
    if name == "betas" and np.any(~np.isfinite(arr)):
        raise ValueError(f"betas must be finite numbers, got {arr}")
    return arr


def compute(alphas=None, betas=None, *, resolution=None, d=DEFAULT_D, flops=None, batch=None,
            quick=False, backend="local", workers=None, client=None, progress=None) -> PhaseResult:
    """The data of :func:`scaling_law` (same arguments, no ``out``): the sweep and the heuristic ξ on a
    fine grid (``boundaries``), no figure."""
    if quick:
        resolution = QUICK["resolution"] if resolution is None else resolution
        d = QUICK["d"] if d is None else d
        flops = QUICK["flops"] if flops is None else flops
    n = 6 if resolution is None else v.integer("resolution", resolution, low=2)
    alphas = _grid(alphas, ALPHA_RANGE, n, "alphas")
    betas = _grid(betas, BETA_RANGE, n, "betas")
    if d is not None:
        d = tuple(float(x) for x in v.vector("d", d, positive=True))
        if len(d) < 3 or min(d) < 4:
            raise ValueError(f"d must hold at least 3 model sizes ≥ 4, got {list(d)}")
    if flops is not None:
        flops = tuple(float(x) for x in v.vector("flops", flops, positive=True))
        if len(flops) < 3:
            raise ValueError(f"flops must hold at least 3 computes, got {list(flops)}")
    if batch is not None:
        batch = v.integer("batch", batch, low=1)
    metric = ComputeOptimalFit(d, flops, batch)
    res = sweep(_point, _compute_optimal_sgd, {"beta": betas, "alpha": alphas}, metric,
                chunksize=1 if backend == "local" else None,
                **sweep_kwargs(backend, workers, client, progress))
    with np.errstate(invalid="ignore"):
        res.values["xi_minus_theory"] = res["xi"] - res["xi_theory"]
    pad_a = 0.5 * (alphas[-1] - alphas[0]) / max(alphas.size - 1, 1)
    pad_b = 0.5 * (betas[-1] - betas[0]) / max(betas.size - 1, 1)
    fa, fb, fxi, fnames = heuristic((alphas[0] - pad_a, alphas[-1] + pad_a),
                                    (betas[0] - pad_b, betas[-1] + pad_b), 161)
    res.metadata.update({"phase": NAME, "paper": "arXiv 2405.15074", "quick": bool(quick),
                         "phases": [[phase(a, b) for a in alphas] for b in betas]})
    return PhaseResult(NAME, res, {"alpha": fa, "beta": fb, "xi_theory": fxi, "phase": fnames})


# ------------------------------------------------------------------------------------- drawing
_PHASES = ("Ia", "Ib", "Ic", "IV", "II", "III")


def _phase_lines(ax, alo, ahi, blo, bhi):
    """The phase boundaries (docs/scaling.md §5) and the unlearnable line 2(α+β) = 1 (dashed)."""
    kw = dict(color="k", lw=1.3)
    top = max(bhi, 2.0)
    ax.plot([0.25, max(ahi, 0.25)], [0.5, 0.5], **kw)                 # 2β = 1
    ax.plot([0.5, 0.5], [0.0, top], **kw)                             # 2α = 1
    ax.plot([0.25, 0.25], [0.25, top], **kw)                          # α = ¼
    hi = max(ahi, bhi, 0.5)
    ax.plot([0.5, hi], [0.5, hi], **kw)                               # α = β (2α, 2β > 1)
    aa = np.linspace(min(alo, 0.0), 0.5, 50)
    ax.plot(aa, 0.5 - aa, "k--", lw=1.0)
    ax.set_xlim(alo, ahi)
    ax.set_ylim(blo, bhi)


def _phase_names(ax, fa, fb, names):
    """Each phase's name at the centre of its visible part (from the fine grid)."""
    A, B = np.meshgrid(fa, fb)
    for p in _PHASES + ("none",):
        sel = names == p
        if sel.sum() < 0.01 * names.size:
            continue
        x, y = float(np.median(A[sel])), float(np.median(B[sel]))
        ax.text(x, y, "no learning" if p == "none" else p, ha="center", va="center", fontsize=12,
                weight="bold", color="k", alpha=0.55)


def draw(result: PhaseResult):
    """The figure of a :func:`compute` result: fitted ξ with heuristic contours (left), fitted −
    heuristic (right); phase boundaries and names on both; failed fits hatched."""
    import matplotlib as mpl
    res, bd = result.sweep, result.boundaries
    alphas, betas = res.axes["alpha"], res.axes["beta"]
    xi, se, diff, code = res["xi"], res["xi_se"], res["xi_minus_theory"], res.status_code
    ea, eb = edges(alphas, log=False), edges(betas, log=False)
    fig = figure(13.0, 5.4)
    axl, axr = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    finite = np.isfinite(xi)
    both = np.concatenate([xi[finite], bd["xi_theory"][np.isfinite(bd["xi_theory"])]])
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 0.5)
    cmap = mpl.colormaps["viridis"].with_extremes(bad="0.8")
    m1 = axl.pcolormesh(ea, eb, np.ma.masked_invalid(xi), cmap=cmap, vmin=lo, vmax=max(hi, lo + 1e-3),
                        shading="flat")
    fig.colorbar(m1, ax=axl, label="fitted ξ of d* ∝ f^ξ (colour); heuristic ξ (white contours)")
    lim = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 0.1
    cmap2 = mpl.colormaps["RdBu_r"].with_extremes(bad="0.8")
    m2 = axr.pcolormesh(ea, eb, np.ma.masked_invalid(diff), cmap=cmap2, vmin=-lim, vmax=lim,
                        shading="flat")
    fig.colorbar(m2, ax=axr, label="fitted ξ − heuristic ξ (grey: no heuristic or no fit)")
    th = bd["xi_theory"]
    if np.isfinite(th).sum() > 4 and np.nanmax(th) > np.nanmin(th):
        levels = np.round(np.linspace(np.nanmin(th), np.nanmax(th), 7)[1:-1], 3)
        cs = axl.contour(bd["alpha"], bd["beta"], th, levels=levels, colors="w", linewidths=0.9,
                         linestyles="--")
        axl.clabel(cs, fontsize=7, fmt="%.3g")
    failed = ~finite
    for ax, val in ((axl, xi), (axr, diff)):
        for i, b in enumerate(betas):
            for j, a in enumerate(alphas):
                cx, cy = 0.5 * (ea[j] + ea[j + 1]), 0.5 * (eb[i] + eb[i + 1])
                if failed[i, j]:
                    ax.add_patch(mpl.patches.Rectangle((ea[j], eb[i]), ea[j + 1] - ea[j],
                                                       eb[i + 1] - eb[i], fill=False, hatch="xx",
                                                       edgecolor="0.35", lw=0))
                    ax.text(cx, cy, str(code[i, j]), ha="center", va="center", fontsize=7, color="k")
                elif ax is axl:
                    ax.text(cx, cy, f"{xi[i, j]:.2f}\n±{se[i, j]:.2f}", ha="center", va="center",
                            fontsize=7, color="w" if xi[i, j] < lo + 0.6 * (hi - lo) else "k")
                elif np.isfinite(val[i, j]):
                    ax.text(cx, cy, f"{val[i, j]:+.2f}", ha="center", va="center", fontsize=7, color="k")
        _phase_lines(ax, ea[0], ea[-1], eb[0], eb[-1])
        _phase_names(ax, bd["alpha"], bd["beta"], bd["phase"])
        ax.set_xlabel("α (data spectrum exponent, D_j = j^(−2α))")
        ax.set_ylabel("β (target exponent, b_j = j^(−β))")
    sizes = res.metadata["metrics"][0]["d"]
    dtxt = sizes if isinstance(sizes, str) else f"{min(sizes):g}–{max(sizes):g}"
    n_bad = int(failed.sum())
    axl.set_title(f"PLRF compute-optimal exponent ξ, fitted ± se (sizes d: {dtxt})"
                  + (f"; {n_bad} point(s) without a fit" if n_bad else ""), fontsize=8)
    axr.set_title("fitted − heuristic ξ (docs/scaling.md §5; arXiv 2405.15074)", fontsize=8)
    fig.tight_layout()
    return fig


def scaling_law(alphas=None, betas=None, out="phase_scaling_law", *, resolution=None, d=DEFAULT_D,
                flops=None, batch=None, quick=False, backend="local", workers=None, client=None,
                progress=None) -> PhaseResult:
    """(α, β) plane of PLRF → fitted compute-optimal exponent ξ of ``d* ∝ f^ξ``, with the phases.

    Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074 (docs/scaling.md §4–§5,
    docs/phase_scaling_law.md). Grid: ``resolution × resolution`` (default 6 × 6) points with α in
    [0.6, 1.6] and β in [0.15, 1.65] (phases Ia, II, III, where heuristic exponents exist), or the given
    ``alphas``/``betas``. At each point :func:`hdlimits.scaling.compute_optimal` (one-pass SGD, batch
    ``batch``, learning rate half the finite-d critical rate, loss 𝒫 = 2·risk) on its default sizes and
    computes, or on ``d`` (model sizes) and ``flops``. ``quick=True``: :data:`QUICK` (3 × 3 on d ≤ 64,
    f ≤ 1e6; seconds). Status code ``"no_fit"`` where fewer than three computes have an interior optimum.
    Writes ``out.png`` and the data (``None``: nothing). :func:`compute` and :func:`draw` do the halves.
    """
    result = compute(alphas, betas, resolution=resolution, d=d, flops=flops, batch=batch, quick=quick,
                     backend=backend, workers=workers, client=client, progress=progress)
    return write(result, draw(result), out)


def heuristic_plane(out=None, fits=None, alpha=(0.05, 2.0), beta=(0.0, 2.0), n=241):
    """The closed-form plane alone: colour = heuristic ξ (grey where none is derived), the phase
    boundaries and names, and optional fitted points ``fits = [(α, β, ξ, se), …]`` (from
    :func:`hdlimits.scaling.compute_optimal`). ``out`` a path (``.png`` appended if missing) or None.
    Returns the figure (used by ``hdlimits scaling --diagram``)."""
    a, b, xi, names = heuristic(alpha, beta, n)
    fig = figure(7, 6)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("0.85")
    im = ax.pcolormesh(a, b, xi, shading="auto", cmap="viridis", vmin=0.2, vmax=0.55)
    fig.colorbar(im, ax=ax, label="heuristic exponent ξ of d* ∝ f^ξ")
    _phase_lines(ax, alpha[0], alpha[1], beta[0], beta[1])
    _phase_names(ax, a, b, names)
    for x, y, val, err in fits or []:
        ax.plot([x], [y], "o", color="red", ms=5)
        ax.annotate(f"{val:.2f}±{err:.2f}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8,
                    color="red")
    ax.set_xlabel("α (data spectrum exponent, D_j = j^(−2α))")
    ax.set_ylabel("β (target exponent, b_j = j^(−β))")
    ax.set_title("PLRF compute-optimal phases (arXiv 2405.15074); grey: no exponent derived here", fontsize=9)
    fig.tight_layout()
    if out is not None:
        path = str(out) if str(out).endswith(".png") else f"{out}.png"
        fig.savefig(path)
    return fig
