"""Phase diagram ``sign-vs-sgd``: spectrum condition number × noise tail → time-to-target ratio
signSGD / SGD, each at its best learning rate (Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135;
docs/signsgd.md)."""
from __future__ import annotations

import functools
import math

import numpy as np

from hdlimits.core import validation as v
from hdlimits.models.least_squares.problem import Problem
from hdlimits.optimizers import SGD
from hdlimits.phase.common import (PhaseResult, check_dfs, edges, figure, sweep_kwargs, tail_law,
                                   tail_ticks, write)
from hdlimits.sweeps import SpeedUp, sweep

__all__ = ["sign_vs_sgd", "compute", "draw", "DEFAULT_D"]

NAME = "sign-vs-sgd"
#: dimension of the problems swept
DEFAULT_D = 100


def _conditioned(condition, df, d, scale, seed):
    """Diagonal K with eigenvalues geometric from 1 down to 1/condition, normalised to tr K = d; e_0 a
    random direction (from ``seed``) with ``‖K^{1/2}e_0‖² = 1``; Student-t(df, scale) label noise
    (Gaussian N(0, scale²) for df = inf). Module level: picklable."""
    lam = condition ** (-np.arange(d) / max(d - 1, 1))
    lam *= d / lam.sum()
    z = np.random.default_rng(seed).standard_normal(d)
    e0 = z / math.sqrt(float(np.sum(lam * z * z)))
    return Problem.from_spectrum(lam, e0, tail_law(df, scale),
                                 label=f"geometric spectrum (d={d}, cond={condition:.3g}), df={df:g}")


def _sign(problem):
    from hdlimits.optimizers.sign import SignSGD
    return SignSGD(lr=1.0)


def compute(conditions=None, dfs=None, target=0.05, t_max=200.0, n_lrs=12, *, resolution=None,
            d=DEFAULT_D, scale=0.5, seed=0, sign_lrs=None, backend="local", workers=None, client=None,
            progress=None) -> PhaseResult:
    """The data of :func:`sign_vs_sgd` (same arguments, no ``out``): the speed-up sweep with the value
    ``ratio = T_sign / T_SGD``, no figure."""
    n = None if resolution is None else v.integer("resolution", resolution, low=2)
    if conditions is None:
        conditions = np.geomspace(1.0, 1e4, n or 8)
    conditions = np.asarray(v.vector("conditions", conditions))
    if np.any(conditions < 1):
        raise ValueError(f"conditions must be condition numbers in [1, inf), got {conditions}")
    if dfs is None:
        dfs = np.concatenate([np.geomspace(2.2, 32.0, (n or 6) - 1), [np.inf]])
    dfs = check_dfs(dfs)
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
                **sweep_kwargs(backend, workers, client, progress))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = res["time"] / res["baseline_time"]                    # T_sign / T_SGD
    res.values["ratio"] = ratio
    res.metadata.update({"phase": NAME, "d": d, "scale": scale, "target_excess_risk": target,
                         "t_max": t_max, "sign_lrs": list(sign_lrs), "sgd_lrs": list(sgd_lrs)})
    edge = {"sign_best_lr_at_grid_edge": int(np.sum(np.isin(res["lr"], [sign_lrs[0], sign_lrs[-1]]))),
            "sgd_best_lr_at_grid_edge": int(np.sum(np.isin(res["baseline_lr"],
                                                            [sgd_lrs[0], sgd_lrs[-1]])))}
    res.metadata.update(edge)
    return PhaseResult(NAME, res, {"ratio": ratio, **edge})


def draw(result: PhaseResult):
    """The figure of a :func:`compute` result: log2 time ratio and the ratio = 1 contour."""
    res = result.sweep
    dfs, conditions, ratio = res.axes["df"], res.axes["condition"], res["ratio"]
    target, scale, d = res.metadata["target_excess_risk"], res.metadata["scale"], res.metadata["d"]
    fig = figure()
    ax = fig.add_subplot()
    lr2 = np.log2(np.where(ratio > 0, ratio, np.nan))
    lim = max(float(np.nanmax(np.abs(lr2[np.isfinite(lr2)]))) if np.isfinite(lr2).any() else 1.0, 0.05)
    rows = np.arange(dfs.size)
    import matplotlib as mpl
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="0.6")
    mesh = ax.pcolormesh(edges(conditions), edges(rows, log=False), np.ma.masked_invalid(lr2),
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
    tail_ticks(ax, dfs)
    ax.set_xlabel(r"condition number $\lambda_{max}/\lambda_{min}$ of diagonal K")
    ax.set_ylabel(f"noise tail: Student-t df (scale {scale:g})")
    ax.set_title(f"signSGD vs SGD, each at its best lr (d = {d})", fontsize=9)
    return fig


def sign_vs_sgd(conditions=None, dfs=None, target=0.05, t_max=200.0, n_lrs=12, out="phase_sign_vs_sgd",
                *, resolution=None, d=DEFAULT_D, scale=0.5, seed=0, sign_lrs=None, backend="local",
                workers=None, client=None, progress=None) -> PhaseResult:
    """Spectrum condition number × noise tail → time-to-target ratio signSGD / SGD, each at its best lr.

    signSGD: Xiao, Marshall, Agarwala, Paquette, *Exact risk curves of signSGD in high-dimensions*,
    arXiv 2411.12135 (docs/signsgd.md); SGD as in docs/sgd.md. Problem: dimension ``d`` (default 100,
    :data:`DEFAULT_D`), diagonal K with eigenvalues geometric from 1 to 1/``condition`` (tr K = d),
    initial excess risk ½, Student-t(df, ``scale``) label noise (df = inf: Gaussian). For each point, the
    time for the excess risk ``½eᵀKe`` to reach ``target`` (:class:`hdlimits.sweeps.TimeToTarget`,
    ``inf`` if not before ``t_max``) is minimised over ``n_lrs`` learning rates for each optimizer: SGD
    over ``[0.002, 0.95]·2d/tr K``, signSGD over ``sign_lrs`` (default log-spaced in [0.003, 1]); the lr
    grids bound the accuracy of "best" (a factor ``(ratio of neighbouring lrs)`` in lr, much less in
    time near the optimum). Points where neither reaches the target have status code
    ``"not_reached"``.

    Colour: ``log2(T_sign / T_SGD)`` (blue: signSGD faster). Drawn: the measured ratio = 1 contour.
    ``df`` must be > 2 (SGD's limit needs a finite noise variance). Default grid 8 × 6, or
    ``resolution`` × ``resolution`` (``resolution − 1`` df log-spaced in [2.2, 32] plus the Gaussian).
    :func:`compute` and :func:`draw` do the two halves.
    """
    result = compute(conditions, dfs, target, t_max, n_lrs, resolution=resolution, d=d, scale=scale,
                     seed=seed, sign_lrs=sign_lrs, backend=backend, workers=workers, client=client,
                     progress=progress)
    return write(result, draw(result), out)
