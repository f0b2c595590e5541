"""Phase diagram ``sgd-stability``: learning rate × batch size → does minibatch SGD's limit converge?

Boundaries (docs/sgd.md): the d → ∞ boundary ``γ tr K/(2dB) = 1`` (kernel mass of the Volterra
equation = 1), the finite-d boundary (exact kernel mass of the per-step recursion = 1) and the
deterministic limit ``γ < 2d/((1+1/B) λ_max)``, which sets the critical batch size
``B_crit = tr K/λ_max`` (Lee, Cheng, Paquette, Paquette 2022).
"""
from __future__ import annotations

import functools

import numpy as np

from hdlimits.core import validation as v
from hdlimits.models.least_squares.diagnostics import critical_lr
from hdlimits.optimizers import SGD
from hdlimits.phase.common import (PhaseResult, batch_lr_axes, check_problem, edges, figure, same,
                                   sweep_kwargs,
                                   write)
from hdlimits.sweeps import Divergence, sweep

__all__ = ["sgd_stability", "compute", "draw", "DEFAULT_D"]

NAME = "sgd-stability"
#: dimension of the default problem
DEFAULT_D = 400


def _finite_d_boundary(problem, B):
    return critical_lr(problem, SGD(lr=1.0, batch=int(B)), finite_d=True)


def compute(problem=None, lrs=None, batches=(1, 2, 4, 8, 16, 32, 64), t_max=400.0, method="ode", *,
            d=DEFAULT_D, alpha=1.0, beta=1.0, noise="gaussian:std=0.5", backend="local",
            workers=None, client=None, progress=None) -> PhaseResult:
    """The data of :func:`sgd_stability` (same arguments, no ``out``): the sweep and the boundaries,
    no figure."""
    problem = check_problem(problem, d, alpha, beta, noise)
    batches = np.array(sorted({v.integer("batches", b, low=1) for b in batches}), dtype=np.int64)
    g_inf = np.array([2 * problem.d * b / problem.trace for b in batches])
    if lrs is None or np.ndim(lrs) == 0:       # a number: that many points of the default range
        g_lo = 0.1 * 2 * problem.d / problem.trace
        lrs = np.geomspace(g_lo, 3.0 * g_inf.max(), 48 if lrs is None else v.integer("lrs", lrs, low=2))
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    metric = Divergence(v.positive("t_max", t_max), source=method)
    res = sweep(functools.partial(same, problem), SGD, {"lr": lrs, "batch": batches}, metric,
                **sweep_kwargs(backend, workers, client, progress))
    lam_max = float(problem.eigenvalues.max())
    b_fine = np.unique(np.round(np.geomspace(batches.min(), batches.max(), 60)).astype(int))
    bounds = {
        "batch": b_fine,
        "d_inf": 2 * problem.d * b_fine / problem.trace,
        "finite_d": np.array([_finite_d_boundary(problem, b) for b in b_fine]),
        "deterministic": 2 * problem.d / ((1 + 1 / b_fine) * lam_max),
        "B_crit": problem.trace / lam_max,
    }
    res.metadata.update({"phase": NAME, "problem": problem.describe(), "t_max": t_max,
                         "method": method, "B_crit": bounds["B_crit"]})
    return PhaseResult(NAME, res, bounds, problem=problem)


def draw(result: PhaseResult):
    """The figure of a :func:`compute` result: converges/diverges cells and the boundary curves."""
    res, bounds = result.sweep, result.boundaries
    lrs, batches = res.axes["lr"], res.axes["batch"]
    t_max, method = res.metadata["t_max"], res.metadata["method"]
    fig = figure()
    ax = fig.add_subplot()
    div = res["diverged"]                                     # lr × batch
    from matplotlib.colors import ListedColormap
    cmap = ListedColormap(["#9ecae1", "#ef6548"])
    mesh = ax.pcolormesh(edges(batches), edges(lrs), div, cmap=cmap, vmin=-0.5, vmax=1.5,
                         shading="flat")
    cb = fig.colorbar(mesh, ax=ax, ticks=[0, 1])
    cb.ax.set_yticklabels(["converges", "diverges"])
    cb.set_label(f"limit at t = {t_max:g} ({method})")
    ax.plot(bounds["batch"], bounds["d_inf"], "k--", lw=1.5,
            label=r"$d\to\infty$: $\gamma\,\mathrm{tr}K/(2dB)=1$")
    ax.plot(bounds["batch"], bounds["finite_d"], "k-", lw=2, label="finite d: exact kernel mass = 1")
    ax.plot(bounds["batch"], bounds["deterministic"], ":", color="0.2", lw=1.5,
            label=r"$\gamma=2d/((1+1/B)\lambda_{max})$")
    ax.axvline(bounds["B_crit"], color="purple", lw=1, ls="-.",
               label=rf"$B_{{crit}}=\mathrm{{tr}}K/\lambda_{{max}}$ = {bounds['B_crit']:.3g}")
    batch_lr_axes(ax, batches, lrs, r"learning rate $\gamma$ (step $\gamma/d$)")
    ax.set_title(f"SGD stability — {result.problem.label}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return fig


def sgd_stability(problem=None, lrs=None, batches=(1, 2, 4, 8, 16, 32, 64), t_max=400.0,
                  method="ode", out="phase_sgd_stability", *, d=DEFAULT_D, alpha=1.0, beta=1.0,
                  noise="gaussian:std=0.5", backend="local", workers=None, client=None,
                  progress=None) -> PhaseResult:
    """Learning rate × batch size → does minibatch SGD's limit converge or diverge?

    Each point integrates the limiting equations (``method="ode"``; ``"recursion"``: the exact expected
    per-step recursion) with constant γ up to ``t_max`` and records whether they diverged
    (:class:`hdlimits.sweeps.Divergence`; divergences slower than ``≈ 23/t_max`` per unit time are not
    seen). Drawn on top:

    * d → ∞ boundary ``γ = 2dB / tr K`` (kernel mass ``γ tr K/(2dB) = 1``);
    * finite-d boundary: root of ``Σ_i γλ_i / (B d (2 − (1+1/B)γλ_i/d)) = 1``
      (:func:`hdlimits.critical_lr`), which the equations integrated here obey;
    * deterministic limit ``γ = 2d / ((1+1/B) λ_max)`` and the critical batch ``B_crit = tr K/λ_max``.

    ``problem`` defaults to ``Problem.power_law(d, alpha, beta, noise)`` with ``d = 400``
    (:data:`DEFAULT_D`); ``lrs`` (an array, or a number of points) to 48 log-spaced values from 0.1× to
    3× the largest d → ∞ boundary on the grid. Writes ``out.png`` and the data (see
    :mod:`hdlimits.phase`); :func:`compute` and :func:`draw` do the two halves.
    """
    result = compute(problem, lrs, batches, t_max, method, d=d, alpha=alpha, beta=beta, noise=noise,
                     backend=backend, workers=workers, client=client, progress=progress)
    return write(result, draw(result), out)
