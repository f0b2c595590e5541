"""``predict_risk``: the risk curve from the limiting equations (no sampling) — the family's limit
(:func:`hdlimits.reductions.reduce`) solved by :func:`hdlimits.solvers.solve.solve_modes`."""
from __future__ import annotations

from hdlimits.core.results import RiskCurve
from hdlimits.reductions import check_pair, reduce
from hdlimits.solvers.blocks import BlockModeSystem
from hdlimits.solvers.solve import DIVERGENCE_FACTOR, check_times, divergence_threshold, solve_modes

__all__ = ["predict_risk", "check_times", "divergence_threshold", "DIVERGENCE_FACTOR"]


def predict_risk(problem, optimizer, t, method: str | None = None, rtol: float = 1e-8,
                 store_modes: bool | None = None, fixed_step: float | None = None,
                 moments: str | None = None) -> RiskCurve:
    """Risk curve of ``optimizer`` on ``problem`` predicted by the limiting equations.

    Parameters
    ----------
    problem : Problem
    optimizer : SGD, PreconditionedSGD, ClippedSGD, SignSGD, ... — any optimizer whose pair with the
        problem has a limit in :mod:`hdlimits.reductions` (else :class:`~hdlimits.LimitNotAvailable`).
    t : 1-D non-decreasing times in units of d steps (t = k/d).
    method : ``"ode"`` — the continuous-time limit, integrated by the exponential collocation
        integrator of :mod:`hdlimits.solvers.integrate` to relative accuracy ``rtol``;
        ``"recursion"`` — the expected per-step recursion at the problem's finite d (exact for SGD on
        Gaussian data), evaluated at steps ``round(t·d)``.
    store_modes : keep the per-mode ``D_i`` at every output time (default: when it takes ≤ 2·10⁷ numbers).
    moments : dataset problems only (``hd.Problem.from_dataset``, docs/datasets.md): ``"data"`` (the
        default there) — the data-moment limit, the second-moment recursion with the data's fourth
        moments; ``"gaussian"`` — the Gaussian limit of the same K and label second moment. For a
        dataset problem ``method`` is ``"auto"`` (default; ``"ode"`` is served by it: the exact
        propagator for a constant lr, else the per-step recursion), ``"propagator"``, ``"recursion"`` or
        ``"exact"`` (full second moment, no closure, small d); ``rtol`` sets the propagator's accuracy.
    fixed_step : ``"ode"`` only — switch step control off and take steps of this length (for studies
        of the integrator's order; the default adaptive control is what you want otherwise).

    Returns a :class:`RiskCurve`; a divergence shows in ``.status`` (a
    :class:`~hdlimits.core.status.Status` with code ``diverged`` and its time ``t_event``) and the
    curves hold ``inf`` from then on. A risk growing without bound inside the horizon raises an
    :class:`~hdlimits.core.status.UnstableWarning` (and is listed in ``.warnings``).
    """
    check_pair(problem, optimizer)
    from hdlimits.models.dataset.problem import DatasetProblem
    if isinstance(problem, DatasetProblem):
        from hdlimits.models.dataset.limit import predict_dataset
        if moments == "gaussian" and method in (None, "ode", "recursion"):
            return predict_risk(problem.gaussian(), optimizer, t, method=method or "ode", rtol=rtol,
                                store_modes=store_modes, fixed_step=fixed_step)
        # the data-moment limit is defined by its per-step recursion: "ode" is served by it
        method = "auto" if method in (None, "ode") else method
        return predict_dataset(problem, optimizer, t, moments=moments or "data", method=method,
                               store_modes=store_modes, rtol=rtol, warn_stacklevel=4)
    if moments is not None:
        raise ValueError(f"moments applies to dataset problems (hd.Problem.from_dataset) only, got "
                         f"moments={moments!r} for {type(problem).__name__}")
    method = "ode" if method is None else method
    t = check_times(t)
    system = reduce(problem, optimizer, t_max=float(t[-1]))
    if isinstance(system, BlockModeSystem):
        if method != "ode":
            raise ValueError(f"method must be 'ode' for {type(problem).__name__} (the block limit has no "
                             f"exact finite-d recursion), got {method!r}")
        if fixed_step is not None:
            raise ValueError("fixed_step is not available for the block system of GLM problems")
        from hdlimits.solvers.blocks_solve import solve_blocks
        return solve_blocks(system, t, rtol=rtol, store_modes=store_modes, problem=problem,
                            optimizer=optimizer, warn_stacklevel=4)
    return solve_modes(system, t, method=method, rtol=rtol, store_modes=store_modes,
                       fixed_step=fixed_step, problem=problem, optimizer=optimizer, warn_stacklevel=4)
