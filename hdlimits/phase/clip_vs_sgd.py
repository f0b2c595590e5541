"""Phase diagram ``clipping``: clip threshold × noise tail → best clipped / best SGD excess risk, with
the CCC = 1 contour (Marshall, Xiao, Agarwala, Paquette 2024, arXiv 2406.11733; docs/clipping.md)."""
from __future__ import annotations

import dataclasses
import functools
import math
import uuid
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.models.least_squares.diagnostics import critical_lr
from hdlimits.models.least_squares.problem import Problem
from hdlimits.optimizers import SGD
from hdlimits.phase.clip_table import tabulated_system
from hdlimits.phase.common import (PhaseResult, check_dfs, edges, figure, sweep_kwargs, tail_law,
                                   tail_ticks, write)
from hdlimits.core.schedules import as_schedule
from hdlimits.reductions import reduce
from hdlimits.solvers.solve import solve_modes
from hdlimits.sweeps import PointStatus, sweep

__all__ = ["clipping", "compute", "draw", "DEFAULT_D"]

NAME = "clipping"
#: dimension of the default problem
DEFAULT_D = 100
#: residual threshold standing for "no clipping" (μ = 1 and ν = P + E ε² to double precision)
_NO_CLIP = 1e8


def _with_tail(df, base, scale):
    """``base`` with the label noise replaced by the tail law ``df`` (module level: picklable)."""
    return Problem.from_spectrum(base.eigenvalues, base.initial_error, tail_law(df, scale), base.basis,
                                 label=f"{base.label}, noise df={df:g}")


def _clipped(c, problem):
    """ClippedSGD with the *residual* threshold ``c`` (gradient-norm threshold ``c·√tr K``); the lr is
    set by the metric."""
    from hdlimits.optimizers.clipped import ClippedSGD
    return ClippedSGD(lr=1.0, clip=c * math.sqrt(problem.trace))


def _unclipped(problem):
    """SGD as the c → ∞ member of the clipped family: the same equations as the clipped points (μ = 1,
    ν = P + E ε², finite-d term h = 2ν' = 2; ``hd.SGD``'s limit to 1e-13, docs/clipping.md §10)."""
    return _clipped(_NO_CLIP, problem)


#: relative tolerance of the integrator in the diagram (the library default is 1e-8): the final excess
#: risks then agree with rtol = 1e-10 to ≲ 1e-5 relative (docs/clipping.md, "Cost of the diagram")
RTOL = 1e-5
#: log-lr tolerance of the refinement of SGD's best lr (bounded Brent); the risk is flat at its minimum,
#: so the best risk is found to ~1e-5 relative
_LOG_LR_TOL = 1e-2
#: per worker process and tail: (token, noise spec) -> _Tail (the tail's reduced system, the parameter
#: slots of its threshold and its SGD reference)
_TAILS: dict = {}


def _final_excess(system, lr, t):
    """Excess risk at ``t`` of the mode system ``system`` run at the constant lr ``lr`` (inf if diverged:
    a diverged or failed candidate loses, it never enters as NaN). Reference implementation of
    :class:`_Runner` (through :func:`solve_modes`)."""
    cur = solve_modes(dataclasses.replace(system, schedule=as_schedule(float(lr))), [0.0, t], rtol=RTOL,
                      store_modes=False)
    x = float(cur.excess_risk[-1])
    return x if cur.status.success and math.isfinite(x) else math.inf


class _Runner:
    """:func:`_final_excess` of one mode system at many constant lrs, calling its compiled integrator
    directly with the arguments :func:`solve_modes` passes (same ``h0``, tolerances, divergence
    threshold and step budget, so the same numbers bit for bit); only the lr changes between calls. The
    integrator's outcome code is read as a status: anything but OK (diverged, failed) gives inf."""

    def __init__(self, system, t):
        from hdlimits.solvers import integrate as integ
        from hdlimits.solvers import solve as solve_mod
        from hdlimits.solvers.specialize import integrator_for
        if system.param_slots or (system.P0 == 0.0 and system.noise_second_moment == 0.0):
            raise ValueError("_Runner needs a constant-coefficient system away from the noiseless optimum")
        self._f = integrator_for(system).integrate
        self._ok = integ.OK
        self._t = float(t)
        self._kmax = float(np.max(system.kappa, initial=0.0))
        self._head = (system.kappa, system.mass, system.weights, system.D0, float(system.d),
                      system.curvature_constant, system.curvature_args())
        P0 = system.P0
        self._mid = (system.coef_params, system.a_is_constant and system.curvature_state is None,
                     np.array([0.0, self._t]), np.empty(0), RTOL, 1e-14 * max(P0, 1e-300))
        self._tail = (solve_mod.divergence_threshold(P0, system.noise_second_moment), solve_mod.MAX_STEPS,
                      False, 0.0, *system.param_args())

    def __call__(self, lr):
        kind, spar = as_schedule(float(lr)).numba_args()
        rate0 = 2.0 * float(lr) * self._kmax
        h0 = min(1e-3 / rate0 if rate0 > 0 else 1e-3, max(self._t, 1e-12) * 1e-3)
        P, _, status, _, _, _ = self._f(*self._head, kind, spar, *self._mid, h0, *self._tail)
        x = 0.5 * float(P[-1])
        return x if status == self._ok and math.isfinite(x) else math.inf


def _best_sgd(system, t, lrs):
    """SGD's (best excess risk at ``t``, its lr) on its (tabulated) mode system: the grid ``lrs``, then a
    bounded Brent minimisation in ``log lr`` between the grid neighbours of the best (as
    :class:`hdlimits.sweeps.BestFinalRisk` with ``refine=True``). SGD is the ``c → ∞`` member of the
    clipped family (see :func:`clipping`)."""
    from scipy.optimize import minimize_scalar
    run = _Runner(system, t)
    lrs = np.sort(np.asarray(lrs, dtype=np.float64))
    vals = [run(lr) for lr in lrs]
    k = int(np.argmin(vals))
    if not math.isfinite(vals[k]):
        return math.inf, math.nan
    best, lr_best = vals[k], float(lrs[k])
    lo, hi = math.log(lrs[max(k - 1, 0)]), math.log(lrs[min(k + 1, lrs.size - 1)])
    if hi > lo:
        res = minimize_scalar(lambda x: run(math.exp(x)), bounds=(lo, hi),
                              method="bounded", options={"xatol": _LOG_LR_TOL})
        if res.fun < best:
            best, lr_best = float(res.fun), math.exp(float(res.x))
    return best, lr_best


@dataclass(frozen=True)
class _Tail:
    """What the points of one tail share: the clipped system reduced once (at ``c = _NO_CLIP``), the
    slots of its parameter array that hold the threshold, and SGD's best (excess risk, lr)."""

    system: object
    slots: tuple
    sgd: tuple

    def at(self, c):
        """``(exact system, tabulated system)`` at the residual threshold ``c`` (the exact one has the
        engine's quadrature ``a``, ``b``; the same parameters as :func:`reduce` gives)."""
        par = self.system.coef_params.copy()
        par[list(self.slots)] = c
        exact = dataclasses.replace(self.system, coef_params=par)
        return exact, tabulated_system(exact, c)


def _tail(problem, t, sgd_lrs, token):
    key = (token, problem.noise.spec())
    if key not in _TAILS:
        from hdlimits.derivation import derive
        from hdlimits.derivation.engine import c as c_symbol
        opt = _unclipped(problem)
        system = reduce(problem, opt, t_max=t)
        slots = derive(opt, problem.noise).parameter_slots(c_symbol)
        sgd = _best_sgd(tabulated_system(system, _NO_CLIP), t, sgd_lrs)
        _TAILS[key] = _Tail(system, slots, sgd)
    return _TAILS[key]


@dataclass(frozen=True)
class _ClipVersusSGD:
    """Best clipped excess risk at ``t`` over learning rates ``m·γ_SGD/μ_c(P_ref)`` (``m`` in
    ``multipliers``; ``γ_SGD/μ`` is the compensated lr of the CCC comparison), divided by the best SGD
    excess risk at ``t``; plus CCC and CSC at ``P_ref`` = the best SGD run's final ``eᵀKe``.
    SGD's best run of each tail (over ``sgd_lrs``, refined) and the tail's reduced system are computed
    by the first point of the tail that a worker evaluates and kept for the others (``token`` names
    this diagram). Each point tabulates ``μ_c``, ``ν_c`` once (:mod:`hdlimits.phase.clip_table`) and
    solves its learning rates on the tables."""

    t: float
    multipliers: tuple
    sgd_lrs: tuple
    token: str

    names = ("ratio", "best_clipped_excess_risk", "clipped_lr", "ccc", "csc", "mu",
             "sgd_best_excess_risk", "sgd_best_lr")
    extra: dict = field(default_factory=dict)

    def evaluate(self, problem, optimizer, index):
        tail = _tail(problem, self.t, self.sgd_lrs, self.token)
        sgd_excess, sgd_lr = tail.sgd
        nan = {k: math.nan for k in self.names}
        if not math.isfinite(sgd_excess):
            return ({**nan, "sgd_best_excess_risk": sgd_excess},
                    PointStatus("diverged", "SGD diverged for every lr"))
        P_ref = 2.0 * sgd_excess
        # μ_c(P) = a(P), ν_c(P) = b(P) of the clipped limit, exact (the engine's functions, as
        # hdlimits.models.least_squares.clipping.mu / nu); the solves use their tables
        exact, table = tail.at(optimizer.residual_threshold(problem))
        mu = float(exact.a(P_ref, exact.coef_params))
        nh = float(exact.b(P_ref, exact.coef_params)) / (P_ref + problem.noise_second_moment)
        best, best_lr = math.inf, math.nan
        run = _Runner(table, self.t)
        for m in self.multipliers:
            lr = m * sgd_lr / mu
            x = run(lr)
            if x < best:
                best, best_lr = x, lr
        status = (PointStatus("ok", "ok") if math.isfinite(best)
                  else PointStatus("diverged", "diverged for every lr"))
        return ({"ratio": best / sgd_excess, "best_clipped_excess_risk": best, "clipped_lr": best_lr,
                 "ccc": mu * mu / nh, "csc": mu / nh, "mu": mu, "sgd_best_excess_risk": sgd_excess,
                 "sgd_best_lr": sgd_lr}, status)

    def describe(self):
        return {"metric": "clipped vs SGD", "t": self.t, "multipliers": list(self.multipliers),
                "rtol": RTOL}


def compute(problem=None, thresholds=None, dfs=None, t=10.0, n_lrs=5, *, resolution=None,
            d=DEFAULT_D, alpha=1.0, beta=1.0, scale=0.5, backend="local", workers=None, client=None,
            progress=None) -> PhaseResult:
    """The data of :func:`clipping` (same arguments, no ``out``): the SGD reference sweep and the
    clipped sweep (ratio, CCC, CSC, μ), no figure."""
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
    dfs = check_dfs(dfs)
    kw = sweep_kwargs(backend, workers, client, progress)
    pf = functools.partial(_with_tail, base=problem, scale=scale)

    # SGD reference (best excess risk at t for each tail, its own best lr) and the clipped points in
    # one sweep: one row (tail) per task, whose first point computes the tail's SGD reference
    g_c = critical_lr(problem, SGD(lr=1.0), finite_d=True)
    sgd_lrs = tuple(g_c * np.geomspace(0.02, 0.95, 12))
    mult = (1.0,) if n_lrs == 1 else tuple(np.geomspace(1 / 3, 3.0, n_lrs))
    metric = _ClipVersusSGD(t, mult, sgd_lrs, uuid.uuid4().hex)
    res = sweep(pf, _clipped, {"df": dfs, "c": thresholds}, metric, chunksize=thresholds.size, **kw)
    res.metadata.update({"phase": NAME, "problem": problem.describe(), "t": t, "scale": scale,
                         "threshold_units": "residual c = C/sqrt(tr K)", "sgd_lrs": list(sgd_lrs),
                         "lr_multipliers": list(mult), "P_ref": "2 × best SGD excess risk at t"})
    bounds = {"ccc": res["ccc"], "csc": res["csc"]}
    return PhaseResult(NAME, res, bounds, problem=problem)


def draw(result: PhaseResult):
    """The figure of a :func:`compute` result: log2 ratio, the CCC = 1 and measured ratio = 1 contours."""
    res = result.sweep
    dfs, thresholds = res.axes["df"], res.axes["c"]
    t, scale = res.metadata["t"], res.metadata["scale"]
    fig = figure()
    ax = fig.add_subplot()
    ratio = res["ratio"]                                           # df × c
    lr2 = np.log2(np.where(ratio > 0, ratio, np.nan))
    lim = max(float(np.nanmax(np.abs(lr2))) if np.isfinite(lr2).any() else 1.0, 0.05)
    rows = np.arange(dfs.size)
    mesh = ax.pcolormesh(edges(thresholds), edges(rows, log=False), np.ma.masked_invalid(lr2),
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
    tail_ticks(ax, dfs)
    ax.set_xlabel(r"residual clip threshold $c = C/\sqrt{\mathrm{tr}K}$")
    ax.set_ylabel(f"noise tail: Student-t df (scale {scale:g})")
    ax.set_title(f"clipped vs SGD, each at its best lr — {result.problem.label}", fontsize=9)
    return fig


def clipping(problem=None, thresholds=None, dfs=None, t=10.0, n_lrs=5, out="phase_clipping", *,
             resolution=None, d=DEFAULT_D, alpha=1.0, beta=1.0, scale=0.5, backend="local",
             workers=None, client=None, progress=None) -> PhaseResult:
    """Clip threshold × noise tail → best clipped excess risk / best SGD excess risk, with CCC = 1.

    Marshall, Xiao, Agarwala, Paquette, *To clip or not to clip*, arXiv 2406.11733 (docs/clipping.md).
    Noise: Student-t with ``df`` degrees of freedom and scale ``scale`` (``df = inf``: the Gaussian
    N(0, scale²)); ``df`` must be > 2 so that SGD's limit exists. Threshold axis: the residual threshold
    ``c = C/√tr K`` (``C`` the gradient-norm threshold). ``problem`` defaults to
    ``Problem.power_law(d, alpha, beta)`` with ``d = 100`` (:data:`DEFAULT_D`).

    For each tail, SGD's best excess risk at time ``t`` (12 learning rates in ``[0.02, 0.95]·γ_c``,
    :func:`hdlimits.critical_lr`, then refined by a bounded minimisation in log lr) is the reference, and
    ``P_ref = eᵀKe`` at its end. SGD is evaluated as the ``c → ∞`` member of the clipped family
    (``μ = 1``, ``ν = P + E ε²``, ``h = 2ν' = 2``), so that both sides of the ratio solve the same
    equations and share the same tabulation (it equals ``hd.SGD``'s limit to 1e-13, docs/clipping.md
    §10);
    for each (threshold, tail) clipped SGD is run at ``n_lrs`` learning rates ``m·γ_SGD/μ_c(P_ref)``,
    ``m ∈ [1/3, 3]`` log-spaced (``n_lrs = 1``: ``m = 1``, the compensated lr of the paper's CCC), and the
    best is kept. Colour: ``log2`` of the ratio (blue: clipping better). Drawn: the contour
    ``CCC(P_ref) = μ²/ν̂ = 1`` (clipping helps where CCC > 1) and the measured ratio = 1.

    ``resolution``: number of thresholds and of tails (``resolution − 1`` Student-t df log-spaced in
    [2.2, 32] plus the Gaussian) when ``thresholds``/``dfs`` are not given (default 24 × 8). Beyond
    df ≈ 40 the Student-t law is within a few % of the Gaussian row.
    Cost: the Student-t family is derived once (each df only recomputes quadrature nodes), each tail is
    reduced once, each point tabulates ``μ_c``, ``ν_c`` once on a log-P grid
    (:mod:`hdlimits.phase.clip_table`, interpolation error ≤ 1e-6) and its learning rates are solved on
    the tables at ``rtol = 1e-5`` (:data:`RTOL`): excess risks within 1e-5 of ``predict_risk`` at
    ``rtol = 1e-10`` (docs/clipping.md, "Cost of the diagram").
    :func:`compute` and :func:`draw` do the two halves.
    """
    result = compute(problem, thresholds, dfs, t, n_lrs, resolution=resolution, d=d, alpha=alpha,
                     beta=beta, scale=scale, backend=backend, workers=workers, client=client,
                     progress=progress)
    return write(result, draw(result), out)
