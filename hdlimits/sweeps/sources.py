"""Where a sweep's risk curves come from: the limiting equations (:class:`Theory`) or Monte Carlo
(:class:`Simulation`); plus :func:`with_lr` and the helpers that read a time out of a curve.

Conventions (docs/conventions.md): time ``t = steps/d``, step ``γ(t)/d``; ``risk = ½(eᵀKe + E ε²)``,
``excess_risk = ½ eᵀKe``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.observables import check_name
from hdlimits.core.status import UnstableWarning
from hdlimits.predict import predict_risk

__all__ = ["Theory", "Simulation", "with_lr", "as_source", "check_quantity"]


@dataclass(frozen=True)
class Theory:
    """Risk curves from the limiting equations: ``method`` ``"ode"`` (continuous limit) or
    ``"recursion"`` (the expected per-step recursion at finite d)."""

    method: str = "ode"
    rtol: float = 1e-8

    def __post_init__(self):
        if self.method not in ("ode", "recursion"):
            raise ValueError(f"method must be 'ode' or 'recursion', got {self.method!r}")

    prefix = ""

    def curve(self, problem, optimizer, t, index):
        with _quiet_growth():
            return predict_risk(problem, optimizer, t, method=self.method, rtol=self.rtol,
                                store_modes=False)

    def describe(self):
        return {"source": "theory", "method": self.method, "rtol": self.rtol}


@contextlib.contextmanager
def _quiet_growth():
    """A sweep crosses stability edges on purpose: the growth warning stays in ``result.warnings``
    instead of being printed once per grid point."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnstableWarning)
        yield


@dataclass(frozen=True)
class Simulation:
    """Risk curves from Monte Carlo (:func:`hdlimits.simulate`), ``runs`` runs per grid point.

    The seed of grid point ``index`` is ``SeedSequence(seed, spawn_key=(index,))``: the result depends
    neither on the backend nor on the number of workers. ``threads`` is the simulator's thread count
    inside one grid point (1 by default: the sweep backend already uses every core).
    """

    runs: int = 8
    seed: int = 0
    data: str = "gaussian"
    threads: int = 1

    prefix = "sim_"

    def __post_init__(self):
        v.integer("runs", self.runs, low=1)
        v.integer("seed", self.seed, low=0)
        v.integer("threads", self.threads, low=1)

    def curve(self, problem, optimizer, t, index):
        from hdlimits.sim.simulate import simulate
        seq = np.random.SeedSequence(self.seed, spawn_key=(int(index),))
        with _quiet_growth():
            return simulate(problem, optimizer, t, runs=self.runs, seed=seq, data=self.data,
                            workers=self.threads, progress=False)

    def describe(self):
        return {"source": "simulation", "runs": self.runs, "seed": self.seed, "data": self.data}


def as_source(source):
    """``None`` → ``Theory()``; ``"ode"``/``"recursion"`` → ``Theory(method)``; a Theory or a Simulation
    as it is."""
    if source is None:
        return Theory()
    if isinstance(source, str):
        return Theory(source)
    if isinstance(source, (Theory, Simulation)):
        return source
    raise ValueError("source must be 'ode', 'recursion', a Theory(...) or a Simulation(...), "
                     f"got {source!r}")


def check_quantity(q):
    """``q`` if it is a registered observable (:mod:`hdlimits.core.observables`), else ValueError."""
    return check_name(q)


def with_lr(optimizer, lr):
    """A copy of ``optimizer`` with learning rate ``lr`` (a number or a schedule)."""
    if not dataclasses.is_dataclass(optimizer) or "lr" not in {f.name for f in
                                                               dataclasses.fields(optimizer)}:
        raise ValueError(f"cannot set the learning rate of {optimizer!r}: optimizers must be "
                         "dataclasses with an 'lr' field")
    return dataclasses.replace(optimizer, lr=lr)


def crossing_time(t, q, target):
    """First time the curve ``q(t)`` reaches ``target`` (linear interpolation in log q); inf if never."""
    hit = np.nonzero(q <= target)[0]
    if hit.size == 0:
        return math.inf
    i = int(hit[0])
    if i == 0:
        return float(t[0])
    q0, q1 = q[i - 1], q[i]
    if not (np.isfinite(q0) and q0 > 0 and q1 > 0):
        return float(t[i])
    f = (math.log(q0) - math.log(target)) / (math.log(q0) - math.log(q1))
    return float(t[i - 1] + f * (t[i] - t[i - 1]))


def time_grid(t_max, n):
    """0 and ``n`` geometric times up to ``t_max`` (uniform relative resolution)."""
    return np.concatenate([[0.0], np.geomspace(t_max * 1e-4, t_max, n)])
