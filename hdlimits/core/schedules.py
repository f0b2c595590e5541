"""Learning-rate schedules γ(t), with t = steps/d (docs/conventions.md §3).

A schedule is a callable ``t -> γ`` that accepts numpy arrays. Built-in schedules also expose
``(kind, params)`` so that the compiled integrators evaluate them exactly inside numba
(:func:`evaluate`). Any other callable is accepted wherever a learning rate is: the simulator calls it
as given, and the limiting equations use :class:`Tabulated`, a piecewise-linear table of it on a fine
grid (its interpolation error is O(h²·γ''); the grid size is an argument).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba as nb
import numpy as np

from hdlimits.core import validation as v

__all__ = ["Schedule", "constant", "linear_warmup", "cosine", "step", "power_decay", "Tabulated",
           "as_schedule", "evaluate", "describe_lr"]

CONSTANT, WARMUP, COSINE, STEP, POWER, TABLE = range(6)


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: ``kind`` selects the formula, ``params`` holds its numbers."""

    kind: int
    params: tuple
    label: str = field(default="", compare=False)

    def __call__(self, t):
        t_arr = np.asarray(t, dtype=np.float64)
        out = _eval_many(self.kind, np.asarray(self.params, dtype=np.float64), t_arr.reshape(-1))
        return out.reshape(t_arr.shape) if t_arr.ndim else float(out[0])

    @property
    def is_constant(self) -> bool:
        return self.kind == CONSTANT

    @property
    def peak(self) -> float:
        """An upper bound of γ(t) over t ≥ 0."""
        if self.kind == TABLE:
            n = (len(self.params) - 1) // 2
            return float(np.max(self.params[1 + n:]))
        return float(self.params[0])

    def numba_args(self):
        return self.kind, np.asarray(self.params, dtype=np.float64)

    def __str__(self):
        return self.label or f"schedule(kind={self.kind})"


@nb.njit(cache=True, nogil=True)
def evaluate(kind, p, t):
    """γ(t) for a built-in schedule (numba-compiled; also callable from Python)."""
    if kind == 0:  # constant
        return p[0]
    if kind == 1:  # linear warmup from p[0]*p[2] to p[0] over [0, p[1]], then constant
        if t >= p[1]:
            return p[0]
        return p[0] * (p[2] + (1.0 - p[2]) * t / p[1])
    if kind == 2:  # cosine from p[0] to p[2] over [0, p[1]]
        s = min(max(t / p[1], 0.0), 1.0)
        return p[2] + (p[0] - p[2]) * 0.5 * (1.0 + math.cos(math.pi * s))
    if kind == 3:  # step: p[0] * p[1]**(number of milestones p[2:] that are <= t)
        g = p[0]
        for j in range(2, p.size):
            if t >= p[j]:
                g *= p[1]
        return g
    if kind == 4:  # power-law decay p[0] / (1 + t/p[1])**p[2]
        return p[0] * (1.0 + t / p[1]) ** (-p[2])
    # table: p[0] = n, then n times, then n values; linear interpolation, constant outside
    n = int(p[0])
    if t <= p[1]:
        return p[1 + n]
    if t >= p[n]:
        return p[2 * n]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if p[1 + mid] <= t:
            lo = mid
        else:
            hi = mid
    t0, t1 = p[1 + lo], p[1 + hi]
    w = (t - t0) / (t1 - t0)
    return (1.0 - w) * p[1 + n + lo] + w * p[1 + n + hi]


def constant(lr: float) -> Schedule:
    """γ(t) = lr."""
    lr = v.positive("lr", lr)
    return Schedule(CONSTANT, (lr,), f"{lr:g}")


def linear_warmup(lr: float, warmup_time: float, start_factor: float = 0.0) -> Schedule:
    """γ rises linearly from ``start_factor·lr`` at t = 0 to ``lr`` at t = warmup_time, then stays."""
    lr = v.positive("lr", lr)
    tw = v.positive("warmup_time", warmup_time)
    s = v.real("start_factor", start_factor, low=0.0, high=1.0)
    return Schedule(WARMUP, (lr, tw, s), f"warmup({lr:g}, {tw:g})")


def cosine(lr: float, t_max: float, final_lr: float = 0.0) -> Schedule:
    """γ(t) = final + (lr − final)·½(1 + cos(π·min(t, t_max)/t_max))."""
    lr = v.positive("lr", lr)
    T = v.positive("t_max", t_max)
    f = v.real("final_lr", final_lr, low=0.0, high=lr)
    return Schedule(COSINE, (lr, T, f), f"cosine({lr:g}, {T:g})")


def step(lr: float, milestones, factor: float = 0.1) -> Schedule:
    """γ(t) = lr·factor^(number of milestones ≤ t)."""
    lr = v.positive("lr", lr)
    f = v.positive("factor", factor)
    m = np.sort(v.vector("milestones", milestones, nonnegative=True))
    return Schedule(STEP, (lr, f, *map(float, m)), f"step({lr:g}, ×{f:g} at {[float(x) for x in m]})")


def power_decay(lr: float, t0: float = 1.0, power: float = 1.0) -> Schedule:
    """γ(t) = lr / (1 + t/t0)^power."""
    lr = v.positive("lr", lr)
    t0 = v.positive("t0", t0)
    pw = v.nonnegative("power", power)
    return Schedule(POWER, (lr, t0, pw), f"power_decay({lr:g}, {t0:g}, {pw:g})")


class Tabulated(Schedule):
    """A piecewise-linear table of an arbitrary callable (used by the limiting equations only)."""

    def __init__(self, func, t_max: float, points: int = 4097, name: str = "lr", positive: bool = False):
        t = np.linspace(0.0, float(t_max), int(points))
        g = _call_on_array(func, t)
        if not np.all(np.isfinite(g)) or np.any(g < 0) or (positive and np.any(g <= 0)):
            rng = "(0, inf)" if positive else "[0, inf)"
            bad = int(np.flatnonzero(~(np.isfinite(g) & (g > 0 if positive else g >= 0)))[0])
            raise ValueError(f"{name} schedule must return finite values in {rng} for t in [0, t_max]; "
                             f"got {float(g[bad])!r} at t = {float(t[bad]):g}")
        super().__init__(TABLE, (float(t.size), *t, *g), f"table({getattr(func, '__name__', 'lr')})")
        object.__setattr__(self, "func", func)


def as_schedule(lr, t_max: float | None = None, name: str = "lr", positive: bool = False) -> Schedule:
    """Normalise a learning rate: a number becomes :func:`constant`, a Schedule stays, and any other
    callable is tabulated on ``[0, t_max]`` (``t_max`` is then required). ``name`` is the parameter named
    in error messages; ``positive`` refuses zero values (e.g. clipping thresholds)."""
    if isinstance(lr, Schedule):
        return lr
    if callable(lr):
        if t_max is None:
            raise ValueError(f"a callable {name} is tabulated on [0, t_max] for the limiting equations: "
                             "t_max (the last time, > 0) is needed")
        return Tabulated(lr, max(float(t_max), 1e-12), name=name, positive=positive)
    return constant(lr)


def describe_lr(lr) -> str:
    """A readable name of a learning rate for descriptions and JSON: a number as itself (``1.2``), a
    Schedule by its label (``cosine(1, 2)``), a function by its name (``my_schedule``, ``<lambda>``),
    a ``functools.partial`` as ``partial(name)``, another callable by its class name — never
    ``<function … at 0x…>``."""
    if isinstance(lr, Schedule):
        return str(lr)
    if callable(lr):
        func = getattr(lr, "func", None)
        if func is not None and callable(func) and not isinstance(lr, type):
            return f"partial({describe_lr(func)})"
        name = getattr(lr, "__qualname__", None) or getattr(lr, "__name__", None)
        return name if isinstance(name, str) else type(lr).__name__
    if isinstance(lr, (int, float, np.integer, np.floating)) and not isinstance(lr, bool):
        return str(lr) if isinstance(lr, (int, float)) else repr(float(lr))
    return str(lr)


def sim_lr(lr):
    """The callable the simulator evaluates: the user's own function if one was given."""
    if isinstance(lr, Schedule) or not callable(lr):
        s = as_schedule(lr)
        return s
    return lr


def lr_values(lr, t: np.ndarray) -> np.ndarray:
    """Vectorised γ(t) for a float, a Schedule or a callable (checked finite and ≥ 0)."""
    f = sim_lr(lr)
    if isinstance(f, Schedule):
        kind, p = f.numba_args()
        out = _eval_many(kind, p, np.asarray(t, dtype=np.float64))
    else:
        out = _call_on_array(f, np.asarray(t, dtype=np.float64))
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ValueError("lr schedule must return finite values ≥ 0")
    return out


def _call_on_array(func, t: np.ndarray) -> np.ndarray:
    """``func`` on every element of ``t``: vectorised when it allows, one call per element otherwise."""
    try:
        out = np.asarray(func(t), dtype=np.float64)
        if out.shape == t.shape:
            return out
    except (TypeError, ValueError):
        pass
    return np.array([float(func(float(ti))) for ti in t.ravel()]).reshape(t.shape)


@nb.njit(cache=True)
def _eval_many(kind, p, t):
    out = np.empty(t.size)
    for i in range(t.size):
        out[i] = evaluate(kind, p, t[i])
    return out
