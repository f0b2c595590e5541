"""Solving the scalar-forced mode system (:class:`~hdlimits.solvers.modes.ModeSystem`) into a result.

:func:`solve_modes` runs the exponential-collocation integrator (``method="ode"``) or the exact per-step
recursion (``method="recursion"``) on a system, maps the solver's outcome to a
:class:`~hdlimits.core.status.Status`, and returns a :class:`~hdlimits.core.results.RiskCurve`.
:func:`hdlimits.predict_risk` is ``reduce`` (the family's limit, :mod:`hdlimits.reductions`) followed by
this function; a hand-built system can be solved directly. See docs/integrator.md.
"""
from __future__ import annotations

import time

import numpy as np

from hdlimits.core import schedules as sch
from hdlimits.core import validation as v
from hdlimits.core.results import RiskCurve
from hdlimits.core.status import Status, check_growth
from hdlimits.solvers import integrate as integ
from hdlimits.solvers.specialize import integrator_for, recursion_for

__all__ = ["solve_modes", "solver_status", "check_times", "divergence_threshold", "DIVERGENCE_FACTOR", "METHODS"]

#: a run (or the limit) has diverged when eᵀKe exceeds this factor times its initial scale
DIVERGENCE_FACTOR = 1e10
#: the two ways of solving a mode system
METHODS = ("ode", "recursion")
#: the integrator's step budget (steps + rejections) per call
MAX_STEPS = 10_000_000


def check_times(t) -> np.ndarray:
    try:
        t = np.array(t, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError):
        raise ValueError(f"t must be a non-empty 1-D array of times in [0, inf), got {type(t).__name__}") \
            from None
    if t.ndim != 1 or t.size == 0:
        raise ValueError("t must be a non-empty 1-D array of times")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("t must contain finite times in [0, inf)")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    return t


def _breaks_of(system) -> np.ndarray:
    """Kinks and jumps of the learning rate and of any coefficient schedule (steps stop there)."""
    parts = [_breaks(system.schedule)]
    if system.param_schedule is not None:
        parts.append(_breaks(system.param_schedule))
    return np.unique(np.concatenate(parts))


def _breaks(schedule: sch.Schedule) -> np.ndarray:
    p = schedule.params
    if schedule.kind == sch.WARMUP:
        return np.array([p[1]])
    if schedule.kind == sch.COSINE:
        return np.array([p[1]])
    if schedule.kind == sch.STEP:
        return np.unique(np.array(p[2:], dtype=np.float64))
    return np.empty(0)


def solver_status(code: int, t_stat: float, budget: int | None = None) -> Status:
    """The :class:`Status` of an integrator's outcome code (the codes of :mod:`hdlimits.solvers.integrate`,
    shared by the block integrator), the time it stopped at and its step budget (default
    :data:`MAX_STEPS`, read at call time)."""
    if code == integ.OK:
        return Status.ok()
    if code == integ.DIVERGED:
        return Status.diverged(t_stat)
    if code == integ.STEP_BUDGET:
        return Status.failed(t_stat, f"step budget of {MAX_STEPS if budget is None else budget} steps "
                                     "exhausted")
    return Status.failed(t_stat, "step size underflow")


def divergence_threshold(P0: float, noise_m2: float) -> float:
    scale = P0 + (noise_m2 if np.isfinite(noise_m2) else 0.0)
    return DIVERGENCE_FACTOR * max(scale, 1e-300)


def solve_modes(system, t, method: str = "ode", rtol: float = 1e-8, store_modes: bool | None = None,
                fixed_step: float | None = None, problem=None, optimizer=None,
                warn_stacklevel: int = 3) -> RiskCurve:
    """The risk curve of a mode system at times ``t`` (see :func:`hdlimits.predict_risk` for the
    parameters); ``problem`` and ``optimizer`` are recorded in the result and name the critical
    learning rate in the growth warning, which points ``warn_stacklevel`` frames up (3: the caller of
    the function that called this one)."""
    from hdlimits.solvers.modes import ModeSystem
    if not isinstance(system, ModeSystem):
        raise ValueError(f"system must be a hdlimits.solvers.modes.ModeSystem (e.g. from "
                         f"hdlimits.reductions.reduce), got {type(system).__name__} {v._shown(system)}")
    t = check_times(t)
    if method not in METHODS:
        raise ValueError(f"method must be 'ode' or 'recursion', got {method!r}")
    rtol = v.real("rtol", rtol, low=1e-14, high=0.1)
    if fixed_step is not None:
        fixed_step = v.real("fixed_step", fixed_step, low=0.0, low_open=True)
    n = system.n_modes
    if store_modes is None:
        store_modes = n * t.size <= 20_000_000
    kind, spar = system.schedule.numba_args()
    P0 = system.P0
    thr = divergence_threshold(P0, system.noise_second_moment)
    start = time.perf_counter()
    if P0 == 0.0 and system.noise_second_moment == 0.0:
        # at the optimum with no noise every residual is 0, so every update u = x·h(0) is 0 (h(0) = 0
        # for all rules here: SGD, clipping, normalisation with 0/0 := 0, sign(0) = 0, Adam's zero
        # moments): the iterate never moves. The mode equations are singular there for rules whose
        # a(P) blows up as P → 0 (sign, normalized, Adam), so the rest state is returned exactly.
        P = np.zeros(t.size)
        D = np.tile(system.D0, (t.size, 1)) if store_modes else np.zeros((0, n))
        status, t_stat = integ.OK, 0.0
        info = {"steps": 0, "at_rest": True}
    elif method == "ode":
        rate0 = 2.0 * system.schedule.peak * float(np.max(system.kappa, initial=0.0))
        t_end = float(t[-1])
        h0 = min(1e-3 / rate0 if rate0 > 0 else 1e-3, max(t_end, 1e-12) * 1e-3)
        P, D, status, t_stat, nsteps, nrej = integrator_for(system).integrate(
            system.kappa, system.mass, system.weights, system.D0, float(system.d), system.curvature_constant,
            system.curvature_args(), kind, spar,
            system.coef_params, system.a_is_constant and system.curvature_state is None, t, _breaks_of(system),
            rtol, 1e-14 * max(P0, 1e-300), h0, thr, MAX_STEPS, bool(store_modes),
            0.0 if fixed_step is None else float(fixed_step), *system.param_args())
        info = {"steps": int(nsteps), "rejected": int(nrej)}
    else:
        steps = np.round(t * system.d).astype(np.int64)
        P, D, status, k_stat = recursion_for(system).recurse(
            system.kappa, system.mass, system.weights, system.D0, float(system.d), system.curvature_constant,
            system.curvature_args(), kind, spar,
            system.coef_params, steps, thr, bool(store_modes), *system.param_args())
        t_stat = k_stat / system.d
        nsteps = int(k_stat)
        info = {"steps": nsteps, "exact": bool(system.exact_recursion)}
    info["seconds"] = time.perf_counter() - start
    info["n_modes"] = n
    status_s = solver_status(status, t_stat)
    excess = 0.5 * P
    risk = system.risk_of(P)
    if method == "ode":
        info["rtol"] = rtol
    m2 = system.noise_second_moment
    warn = check_growth(t, excess, 0.5 * m2 if np.isfinite(m2) else 0.0, status_s, problem, optimizer,
                        stacklevel=warn_stacklevel)
    return RiskCurve(t=t, risk=risk, excess_risk=excess, status=status_s, problem=problem,
                     optimizer=optimizer, method=method, modes=D if store_modes else None,
                     kappa=system.kappa, info=info, warnings=warn, state={"mass": system.mass})
