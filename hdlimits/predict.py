"""``predict_risk``: the risk curve from the limiting equations (no sampling)."""
from __future__ import annotations

import time

import numpy as np

from hdlimits.core import schedules as sch
from hdlimits.solvers import integrate as integ

from hdlimits.solvers.specialize import integrator_for, recursion_for
from hdlimits.core.results import RiskCurve
from hdlimits.core.status import Status

__all__ = ["predict_risk", "check_times", "DIVERGENCE_FACTOR"]

#: a run (or the limit) has diverged when eᵀKe exceeds this factor times its initial scale
DIVERGENCE_FACTOR = 1e10


def check_times(t) -> np.ndarray:
    t = np.array(t, dtype=np.float64, ndmin=1)
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


def divergence_threshold(P0: float, noise_m2: float) -> float:
    scale = P0 + (noise_m2 if np.isfinite(noise_m2) else 0.0)
    return DIVERGENCE_FACTOR * max(scale, 1e-300)


def predict_risk(problem, optimizer, t, method: str = "ode", rtol: float = 1e-8,
                 store_modes: bool | None = None, fixed_step: float | None = None) -> RiskCurve:
    """Risk curve of ``optimizer`` on ``problem`` predicted by the limiting equations.

    Parameters
    ----------
    problem : Problem
    optimizer : SGD, PreconditionedSGD, ... (anything with ``limit(problem, t_max)``)
    t : 1-D non-decreasing times in units of d steps (t = k/d).
    method : ``"ode"`` — the continuous-time limit, integrated by the exponential collocation
        integrator of :mod:`hdlimits.solvers.integrate` to relative accuracy ``rtol``;
        ``"recursion"`` — the expected per-step recursion at the problem's finite d (exact for SGD on
        Gaussian data), evaluated at steps ``round(t·d)``.
    store_modes : keep the per-mode ``D_i`` at every output time (default: when it takes ≤ 2·10⁷ numbers).
    fixed_step : ``"ode"`` only — switch step control off and take steps of this length (for studies
        of the integrator's order; the default adaptive control is what you want otherwise).

    Returns a :class:`RiskCurve`; a divergence shows in ``.status`` (a :class:`~hdlimits.core.status.Status`
    with code ``diverged`` and its time ``t_event``) and the
    curves hold ``inf`` from then on.
    """
    t = check_times(t)
    if method not in ("ode", "recursion"):
        raise ValueError(f"method must be 'ode' or 'recursion', got {method!r}")
    rtol = float(rtol)
    if fixed_step is not None and not (float(fixed_step) > 0):
        raise ValueError(f"fixed_step must be > 0 (range (0, inf)), got {fixed_step!r}")
    if not (1e-14 <= rtol <= 1e-1):
        raise ValueError(f"rtol must lie in [1e-14, 0.1], got {rtol}")
    system = optimizer.limit(problem, t_max=float(t[-1]))
    n = system.n_modes
    if store_modes is None:
        store_modes = n * t.size <= 20_000_000
    kind, spar = system.schedule.numba_args()
    P0 = system.P0
    thr = divergence_threshold(P0, system.noise_second_moment)
    start = time.perf_counter()
    if method == "ode":
        rate0 = 2.0 * system.schedule.peak * float(np.max(system.kappa, initial=0.0))
        t_end = float(t[-1])
        h0 = min(1e-3 / rate0 if rate0 > 0 else 1e-3, max(t_end, 1e-12) * 1e-3)
        P, D, status, t_stat, nsteps, nrej = integrator_for(system).integrate(
            system.kappa, system.mass, system.weights, system.D0, float(system.d), system.curvature,
            kind, spar,
            system.coef_params, system.a_is_constant, t, _breaks_of(system),
            rtol, 1e-14 * max(P0, 1e-300), h0, thr, 10_000_000, bool(store_modes),
            0.0 if fixed_step is None else float(fixed_step), *system.param_args())
        info = {"steps": int(nsteps), "rejected": int(nrej)}
    else:
        steps = np.round(t * system.d).astype(np.int64)
        P, D, status, k_stat = recursion_for(system).recurse(
            system.kappa, system.mass, system.weights, system.D0, float(system.d), system.curvature,
            kind, spar,
            system.coef_params, steps, thr, bool(store_modes), *system.param_args())
        t_stat = k_stat / system.d
        nsteps = int(k_stat)
        info = {"steps": nsteps, "exact": bool(system.exact_recursion)}
    info["seconds"] = time.perf_counter() - start
    info["n_modes"] = n
    if status == integ.OK:
        status_s = Status.ok()
    elif status == integ.DIVERGED:
        status_s = Status.diverged(t_stat)
    else:
        status_s = Status.failed(t_stat, "step size underflow")
    excess = 0.5 * P
    risk = system.risk_of(P)
    return RiskCurve(t=t, risk=risk, excess_risk=excess, status=status_s, problem=problem,
                     optimizer=optimizer, method=method, modes=D if store_modes else None,
                     kappa=system.kappa, info=info)
