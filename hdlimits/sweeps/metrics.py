"""What a sweep measures at each grid point: final risk, time to a target, divergence, the best risk
over learning rates, the speed-up against a baseline, the whole curve, and the clipping criteria.

Metric protocol: ``names`` (value names), ``extra`` (trailing axes of every value),
``evaluate(problem, optimizer, index) -> (dict name -> value, status)`` and ``describe()``. The status
is a :class:`hdlimits.core.status.Status` or a :class:`~hdlimits.sweeps.status.PointStatus`.

Conventions (docs/conventions.md): time ``t = steps/d``; a diverging point has ``inf`` risk-valued
metrics, never NaN (its status code is ``"diverged"``, with the event time).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.sweeps.sources import (Simulation, as_source, check_quantity, crossing_time, time_grid,
                                     with_lr)
from hdlimits.sweeps.status import PointStatus

__all__ = ["FinalRisk", "TimeToTarget", "Divergence", "BestFinalRisk", "SpeedUp", "Curve",
           "ClippingCriteria", "factory_name"]


def factory_name(obj):
    """A readable name of a factory (``functools.partial`` shown with its keywords)."""
    f = getattr(obj, "func", None)
    if f is not None:   # functools.partial
        return f"partial({factory_name(f)}, {', '.join(f'{k}={x!r}' for k, x in obj.keywords.items())})"
    return getattr(obj, "__qualname__", None) or repr(obj)


class _Metric:
    """Base of the built-in metrics (see the module docstring for the protocol)."""

    extra: dict = {}

    def describe(self) -> dict:
        d = {k: (repr(x) if not isinstance(x, (int, float, str, bool, type(None))) else x)
             for k, x in dataclasses.asdict(self).items() if k != "source"}
        d["metric"] = type(self).__name__
        d.update(self.source.describe())
        return d


def _best(values):
    """Index of the smallest value (first one on ties); values may be inf. None if none is finite."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.any(np.isfinite(arr)):
        return None
    return int(np.nanargmin(np.where(np.isfinite(arr), arr, np.inf)))


@dataclass(frozen=True)
class FinalRisk(_Metric):
    """``quantity`` (``"risk"`` or ``"excess_risk"``) at time ``t``; ``inf`` after a divergence.
    Value name: ``final_risk`` (``sim_final_risk`` with a Simulation source)."""

    t: float
    quantity: str = "risk"
    source: object = None

    def __post_init__(self):
        object.__setattr__(self, "t", v.real("t", self.t, low=0.0))
        check_quantity(self.quantity)
        object.__setattr__(self, "source", as_source(self.source))

    @property
    def names(self):
        return (self.source.prefix + "final_risk",)

    def evaluate(self, problem, optimizer, index):
        c = self.source.curve(problem, optimizer, np.array([0.0, self.t]), index)
        return {self.names[0]: float(getattr(c, self.quantity)[-1])}, c.status


@dataclass(frozen=True)
class TimeToTarget(_Metric):
    """First time ``quantity`` falls to ``target`` (``inf`` if not before ``t_max``), read on ``n_times``
    geometric times (relative resolution ``≈ ln(10⁴)/n_times``). Value name: ``time_to_target``."""

    target: float
    t_max: float
    quantity: str = "risk"
    n_times: int = 400
    source: object = None

    def __post_init__(self):
        object.__setattr__(self, "target", v.positive("target", self.target))
        object.__setattr__(self, "t_max", v.positive("t_max", self.t_max))
        object.__setattr__(self, "n_times", v.integer("n_times", self.n_times, low=2))
        check_quantity(self.quantity)
        object.__setattr__(self, "source", as_source(self.source))

    @property
    def names(self):
        return (self.source.prefix + "time_to_target",)

    def time(self, problem, optimizer, index):
        t = time_grid(self.t_max, self.n_times)
        c = self.source.curve(problem, optimizer, t, index)
        return crossing_time(t, getattr(c, self.quantity), self.target), c.status

    def evaluate(self, problem, optimizer, index):
        tt, status = self.time(problem, optimizer, index)
        return {self.names[0]: tt}, status


@dataclass(frozen=True)
class Divergence(_Metric):
    """Does the risk diverge before ``t_max``? Values ``diverged`` (1.0 / 0.0), ``divergence_time``
    (``inf`` if it does not) and ``risk_at_t_max`` (risk at ``t_max``, ``inf`` after a divergence).

    "Diverged" means what the integrator (or simulator) reports: ``eᵀKe`` above ``1e10`` times its initial
    scale, or not finite (:data:`hdlimits.solvers.solve.DIVERGENCE_FACTOR`). Slow divergences with a growth
    rate below ``≈ 23 / t_max`` are therefore not detected: choose ``t_max`` accordingly.
    """

    t_max: float
    source: object = None

    def __post_init__(self):
        object.__setattr__(self, "t_max", v.positive("t_max", self.t_max))
        object.__setattr__(self, "source", as_source(self.source))

    @property
    def names(self):
        p = self.source.prefix
        return (p + "diverged", p + "divergence_time", p + "risk_at_t_max")

    def evaluate(self, problem, optimizer, index):
        c = self.source.curve(problem, optimizer, np.array([0.0, self.t_max]), index)
        tdiv = c.status.t_event if c.diverged else math.inf
        return dict(zip(self.names, (float(c.diverged), tdiv, float(c.risk[-1])))), c.status


@dataclass(frozen=True)
class BestFinalRisk(_Metric):
    """The smallest ``quantity`` at time ``t`` over the learning rates ``lrs`` (the optimizer's own lr is
    replaced); ``refine=True`` then minimises over ``log lr`` between the grid neighbours of the best
    (bounded Brent, ``xatol = 1e-3``; theory sources only). Values ``best_final_risk`` and ``best_lr``
    (NaN when every lr diverges: status code ``"diverged"``, no event time)."""

    t: float
    lrs: tuple
    quantity: str = "risk"
    source: object = None
    refine: bool = False

    def __post_init__(self):
        object.__setattr__(self, "t", v.positive("t", self.t))
        object.__setattr__(self, "lrs", tuple(v.vector("lrs", self.lrs, positive=True)))
        check_quantity(self.quantity)
        object.__setattr__(self, "source", as_source(self.source))
        if self.refine and isinstance(self.source, Simulation):
            raise ValueError("refine=True needs a theory source (a minimisation over noisy simulations "
                             "is not meaningful)")

    @property
    def names(self):
        p = self.source.prefix
        return (p + "best_final_risk", p + "best_lr")

    def _value(self, problem, optimizer, lr, index):
        c = self.source.curve(problem, with_lr(optimizer, lr), np.array([0.0, self.t]), index)
        return float(getattr(c, self.quantity)[-1])

    def evaluate(self, problem, optimizer, index):
        vals = [self._value(problem, optimizer, lr, index) for lr in self.lrs]
        i = _best(vals)
        if i is None:
            return (dict(zip(self.names, (math.inf, math.nan))),
                    PointStatus("diverged", "diverged for every lr"))
        best, lr_best = vals[i], self.lrs[i]
        if self.refine and len(self.lrs) > 1:
            # bounded minimisation in log lr between the neighbours of the grid minimum
            from scipy.optimize import minimize_scalar
            order = np.argsort(self.lrs)
            k = int(np.nonzero(order == i)[0][0])
            lo = math.log(self.lrs[order[max(k - 1, 0)]])
            hi = math.log(self.lrs[order[min(k + 1, len(order) - 1)]])
            res = minimize_scalar(lambda x: self._value(problem, optimizer, math.exp(x), index),
                                  bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
            if res.fun < best:
                best, lr_best = float(res.fun), math.exp(res.x)
        return dict(zip(self.names, (best, lr_best))), PointStatus("ok", "ok")


@dataclass(frozen=True)
class SpeedUp(_Metric):
    """Speed-up against a baseline optimizer, each at its own best learning rate.

    ``speedup = T_baseline / T_optimizer`` where ``T`` is the time for ``quantity`` to fall to ``target``
    (see :class:`TimeToTarget`), minimised over ``lrs`` for the optimizer (``None``: keep its own lr) and
    over ``baseline_lrs`` for ``baseline`` — a picklable callable ``lr -> optimizer`` (e.g. ``hd.SGD``,
    ``functools.partial(hd.SGD, batch=4)``). Values ``speedup`` (> 1: the optimizer is faster; NaN when
    neither reaches the target — status code ``"not_reached"`` —, ``inf``/0 when only one does),
    ``time``, ``baseline_time``, and the learning rates achieving them, ``lr`` and ``baseline_lr``.
    """

    target: float
    t_max: float
    baseline: object
    baseline_lrs: tuple
    lrs: tuple | None = None
    quantity: str = "risk"
    n_times: int = 400
    source: object = None

    def __post_init__(self):
        if not callable(self.baseline):
            raise ValueError("baseline must be a callable lr -> optimizer (e.g. hdlimits.SGD)")
        object.__setattr__(self, "baseline_lrs",
                           tuple(v.vector("baseline_lrs", self.baseline_lrs, positive=True)))
        if self.lrs is not None:
            object.__setattr__(self, "lrs", tuple(v.vector("lrs", self.lrs, positive=True)))
        object.__setattr__(self, "source", as_source(self.source))
        object.__setattr__(self, "_ttt", TimeToTarget(self.target, self.t_max, self.quantity,
                                                      self.n_times, self.source))

    @property
    def names(self):
        p = self.source.prefix
        return tuple(p + n for n in ("speedup", "time", "baseline_time", "lr", "baseline_lr"))

    def _tuned(self, problem, make, lrs, index):
        times = [self._ttt.time(problem, make(lr), index)[0] for lr in lrs]
        i = _best(times)
        return (math.inf, math.nan) if i is None else (times[i], float(lrs[i]))

    def evaluate(self, problem, optimizer, index):
        if self.lrs is None:
            lr = optimizer.lr if isinstance(optimizer.lr, (int, float)) else math.nan
            T = self._ttt.time(problem, optimizer, index)[0]
        else:
            T, lr = self._tuned(problem, lambda x: with_lr(optimizer, x), self.lrs, index)
        Tb, lrb = self._tuned(problem, self.baseline, self.baseline_lrs, index)
        status = PointStatus("ok", "ok")
        if math.isinf(T) and math.isinf(Tb):
            s = math.nan
            status = PointStatus("not_reached", "target not reached by either optimizer")
        elif T == 0.0 and Tb == 0.0:
            s = 1.0
        else:
            s = Tb / T if T > 0 else math.inf
        return dict(zip(self.names, (s, T, Tb, lr, lrb))), status

    def describe(self):
        d = super().describe()
        d["baseline"] = factory_name(self.baseline)
        return d


@dataclass(frozen=True)
class Curve(_Metric):
    """The whole curve of ``quantity`` at the times ``t`` (a trailing axis ``t`` of every value).
    Value name: ``risk`` or ``excess_risk`` (``sim_…`` with a Simulation source)."""

    t: tuple
    quantity: str = "risk"
    source: object = None

    def __post_init__(self):
        from hdlimits.solvers.solve import check_times
        object.__setattr__(self, "t", tuple(check_times(self.t)))
        check_quantity(self.quantity)
        object.__setattr__(self, "source", as_source(self.source))

    @property
    def names(self):
        return (self.source.prefix + self.quantity,)

    @property
    def extra(self):
        return {"t": np.array(self.t)}

    def evaluate(self, problem, optimizer, index):
        c = self.source.curve(problem, optimizer, np.array(self.t), index)
        return {self.names[0]: np.asarray(getattr(c, self.quantity), dtype=np.float64)}, c.status


@dataclass(frozen=True)
class ClippingCriteria(_Metric):
    """The clipping criteria of Marshall, Xiao, Agarwala, Paquette (arXiv 2406.11733; docs/clipping.md)
    for a :class:`hdlimits.ClippedSGD` with a constant threshold, at the state ``P = eᵀKe``:
    ``ccc = μ²/ν̂`` (> 1: clipping with the compensated lr γ/μ is faster than SGD), ``csc = μ/ν̂`` (> 1:
    clipping raises the largest stable lr) and ``mu = μ_c(P)``, with the residual threshold
    ``c = C/√tr K`` (:mod:`hdlimits.models.least_squares.clipping`). ``P``: a positive number, or
    ``"initial"`` for the problem's ``e_0ᵀKe_0``. Needs a noise law with a finite second moment
    (ν̂ = ν/(P + E ε²))."""

    P: object = "initial"

    def __post_init__(self):
        if self.P != "initial":
            object.__setattr__(self, "P", v.positive("P", self.P))

    names = ("ccc", "csc", "mu")

    def evaluate(self, problem, optimizer, index):
        from hdlimits.models.least_squares import clipping as clipping
        if not hasattr(optimizer, "residual_threshold"):
            raise ValueError(f"ClippingCriteria needs a ClippedSGD optimizer, got {optimizer!r}")
        c = optimizer.residual_threshold(problem)
        P = 2.0 * problem.initial_excess_risk if self.P == "initial" else self.P
        mu = float(clipping.mu(P, c, problem.noise))
        nh = float(clipping.nu_hat(P, c, problem.noise))
        return {"ccc": mu * mu / nh, "csc": mu / nh, "mu": mu}, PointStatus("ok", "ok")

    def describe(self):
        return {"metric": "ClippingCriteria", "P": self.P}
