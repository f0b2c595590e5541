"""Parameter sweeps: evaluate the limiting equations (and, optionally, simulations) over a grid.

``sweep(problem_factory, optimizer_factory, grid, metric)`` builds, for every point of the Cartesian
product ``grid`` (a mapping ``axis name -> 1-D sequence of values``, axes in the mapping's order), a
:class:`~hdlimits.models.least_squares.problem.Problem` and an optimizer, evaluates ``metric`` on them and returns a
:class:`SweepResult`: the axes, one array per metric value (shape = grid shape, plus trailing axes for
curve-valued metrics) and one status string per point.

Conventions (CONVENTIONS.md): time ``t = steps/d``, step ``γ(t)/d``; ``risk = ½(eᵀKe + E ε²)``,
``excess_risk = ½ eᵀKe``. A diverging point is a status (``"diverged at t=…"``), and its risk-valued
metrics are ``inf``, never NaN. NaN marks only a point that failed (status ``"error: …"``: an invalid
parameter combination, ValueError, or a numerical failure, RuntimeError/ArithmeticError); the sweep goes
on and warns with the count (it raises if every point fails).

Factories
---------
Each factory is called with the grid values it accepts as keyword arguments (read from its signature; a
factory with ``**kwargs`` receives every axis). ``optimizer_factory`` may also take a parameter named
``problem`` and then receives the problem built for the same point (e.g. to set the learning rate as a
fraction of :func:`hdlimits.critical_lr`). Every axis must be accepted by at least one factory.

With the default process-pool backend the factories and the metric are sent to worker processes by
``pickle``: they must be **module-level functions or classes, or** ``functools.partial`` **of those**
(``functools.partial(hd.Problem.power_law, d=500, beta=1.0)``, ``hd.SGD``). Lambdas and functions
defined inside other functions are refused with a ``ValueError`` before any work starts.

Backends
--------
``"local"`` (default): a local process pool with one worker per CPU, no set-up. ``"serial"``: in the
calling process. ``"dask"``: a ``dask.distributed`` cluster, given as ``client=`` (a ``Client``) or a
scheduler address ``client="tcp://host:8786"``. Every backend evaluates the same function on the same
inputs, and results are put back by grid index, so the output is identical (bit for bit) and in the same
order whatever the backend and the number of workers. Simulation metrics derive their seed from the
user seed and the grid index (``SeedSequence(seed, spawn_key=(index,))``), so they too are
backend-independent.
"""
from __future__ import annotations

import csv
import dataclasses
import inspect
import io
import json
import math
import multiprocessing as mp
import os
import pickle
import sys
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hdlimits.core import validation as v
from hdlimits.predict import predict_risk
from hdlimits.sim.progress import Progress

__all__ = ["sweep", "SweepResult", "Theory", "Simulation", "FinalRisk", "TimeToTarget", "Divergence",
           "SpeedUp", "BestFinalRisk", "Curve", "ClippingCriteria", "with_lr", "BACKENDS"]

BACKENDS = ("local", "serial", "dask")
_QUANTITIES = ("risk", "excess_risk")


# ============================================================================ sources of curves
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
        return predict_risk(problem, optimizer, t, method=self.method, rtol=self.rtol,
                            store_modes=False)

    def describe(self):
        return {"source": "theory", "method": self.method, "rtol": self.rtol}


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
        return simulate(problem, optimizer, t, runs=self.runs, seed=seq, data=self.data,
                        workers=self.threads, progress=False)

    def describe(self):
        return {"source": "simulation", "runs": self.runs, "seed": self.seed, "data": self.data}


def _source(source):
    if source is None:
        return Theory()
    if isinstance(source, str):
        return Theory(source)
    if isinstance(source, (Theory, Simulation)):
        return source
    raise ValueError("source must be 'ode', 'recursion', a Theory(...) or a Simulation(...), "
                     f"got {source!r}")


def _quantity(q):
    if q not in _QUANTITIES:
        raise ValueError(f"quantity must be one of {_QUANTITIES}, got {q!r}")
    return q


def with_lr(optimizer, lr):
    """A copy of ``optimizer`` with learning rate ``lr`` (a number or a schedule)."""
    if not dataclasses.is_dataclass(optimizer) or "lr" not in {f.name for f in
                                                               dataclasses.fields(optimizer)}:
        raise ValueError(f"cannot set the learning rate of {optimizer!r}: optimizers must be "
                         "dataclasses with an 'lr' field")
    return dataclasses.replace(optimizer, lr=lr)


def _crossing_time(t, q, target):
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


def _time_grid(t_max, n):
    """0 and ``n`` geometric times up to ``t_max`` (uniform relative resolution)."""
    return np.concatenate([[0.0], np.geomspace(t_max * 1e-4, t_max, n)])


# ============================================================================ metrics
class _Metric:
    """Metric protocol: ``names`` (value names), ``extra`` (trailing axes of every value),
    ``evaluate(problem, optimizer, index) -> (dict name -> value, status)``, ``describe()``."""

    extra: dict = {}

    def describe(self) -> dict:
        d = {k: (repr(x) if not isinstance(x, (int, float, str, bool, type(None))) else x)
             for k, x in dataclasses.asdict(self).items() if k != "source"}
        d["metric"] = type(self).__name__
        d.update(self.source.describe())
        return d


@dataclass(frozen=True)
class FinalRisk(_Metric):
    """``quantity`` (``"risk"`` or ``"excess_risk"``) at time ``t``; ``inf`` after a divergence.
    Value name: ``final_risk`` (``sim_final_risk`` with a Simulation source)."""

    t: float
    quantity: str = "risk"
    source: object = None

    def __post_init__(self):
        object.__setattr__(self, "t", v.real("t", self.t, low=0.0))
        _quantity(self.quantity)
        object.__setattr__(self, "source", _source(self.source))

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
        _quantity(self.quantity)
        object.__setattr__(self, "source", _source(self.source))

    @property
    def names(self):
        return (self.source.prefix + "time_to_target",)

    def time(self, problem, optimizer, index):
        t = _time_grid(self.t_max, self.n_times)
        c = self.source.curve(problem, optimizer, t, index)
        return _crossing_time(t, getattr(c, self.quantity), self.target), c.status

    def evaluate(self, problem, optimizer, index):
        tt, status = self.time(problem, optimizer, index)
        return {self.names[0]: tt}, status


@dataclass(frozen=True)
class Divergence(_Metric):
    """Does the risk diverge before ``t_max``? Values ``diverged`` (1.0 / 0.0), ``divergence_time``
    (``inf`` if it does not) and ``risk_at_t_max`` (risk at ``t_max``, ``inf`` after a divergence).

    "Diverged" means what the integrator (or simulator) reports: ``eᵀKe`` above ``1e10`` times its initial
    scale, or not finite (:data:`hdlimits.predict.DIVERGENCE_FACTOR`). Slow divergences with a growth
    rate below ``≈ 23 / t_max`` are therefore not detected: choose ``t_max`` accordingly.
    """

    t_max: float
    source: object = None

    def __post_init__(self):
        object.__setattr__(self, "t_max", v.positive("t_max", self.t_max))
        object.__setattr__(self, "source", _source(self.source))

    @property
    def names(self):
        p = self.source.prefix
        return (p + "diverged", p + "divergence_time", p + "risk_at_t_max")

    def evaluate(self, problem, optimizer, index):
        c = self.source.curve(problem, optimizer, np.array([0.0, self.t_max]), index)
        tdiv = c.status.t_event if c.diverged else math.inf
        return dict(zip(self.names, (float(c.diverged), tdiv, float(c.risk[-1])))), c.status


def _best(values, lrs):
    """Index of the smallest value (first one on ties); values may be inf."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.any(np.isfinite(arr)):
        return None
    return int(np.nanargmin(np.where(np.isfinite(arr), arr, np.inf)))


@dataclass(frozen=True)
class BestFinalRisk(_Metric):
    """The smallest ``quantity`` at time ``t`` over the learning rates ``lrs`` (the optimizer's own lr is
    replaced); ``refine=True`` then minimises over ``log lr`` between the grid neighbours of the best
    (bounded Brent, ``xatol = 1e-3``; theory sources only). Values ``best_final_risk`` and ``best_lr``
    (NaN when every lr diverges)."""

    t: float
    lrs: tuple
    quantity: str = "risk"
    source: object = None
    refine: bool = False

    def __post_init__(self):
        object.__setattr__(self, "t", v.positive("t", self.t))
        object.__setattr__(self, "lrs", tuple(v.vector("lrs", self.lrs, positive=True)))
        _quantity(self.quantity)
        object.__setattr__(self, "source", _source(self.source))
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
        i = _best(vals, self.lrs)
        if i is None:
            return dict(zip(self.names, (math.inf, math.nan))), "diverged for every lr"
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
        return dict(zip(self.names, (best, lr_best))), "ok"


@dataclass(frozen=True)
class SpeedUp(_Metric):
    """Speed-up against a baseline optimizer, each at its own best learning rate.

    ``speedup = T_baseline / T_optimizer`` where ``T`` is the time for ``quantity`` to fall to ``target``
    (see :class:`TimeToTarget`), minimised over ``lrs`` for the optimizer (``None``: keep its own lr) and
    over ``baseline_lrs`` for ``baseline`` — a picklable callable ``lr -> optimizer`` (e.g. ``hd.SGD``,
    ``functools.partial(hd.SGD, batch=4)``). Values ``speedup`` (> 1: the optimizer is faster; NaN when
    neither reaches the target, ``inf``/0 when only one does), ``time``, ``baseline_time``, and the learning
    rates achieving them, ``lr`` and ``baseline_lr``.
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
        object.__setattr__(self, "source", _source(self.source))
        object.__setattr__(self, "_ttt", TimeToTarget(self.target, self.t_max, self.quantity,
                                                      self.n_times, self.source))

    @property
    def names(self):
        p = self.source.prefix
        return tuple(p + n for n in ("speedup", "time", "baseline_time", "lr", "baseline_lr"))

    def _tuned(self, problem, make, lrs, index):
        times = [self._ttt.time(problem, make(lr), index)[0] for lr in lrs]
        i = _best(times, lrs)
        return (math.inf, math.nan) if i is None else (times[i], float(lrs[i]))

    def evaluate(self, problem, optimizer, index):
        if self.lrs is None:
            lr = optimizer.lr if isinstance(optimizer.lr, (int, float)) else math.nan
            T = self._ttt.time(problem, optimizer, index)[0]
        else:
            T, lr = self._tuned(problem, lambda x: with_lr(optimizer, x), self.lrs, index)
        Tb, lrb = self._tuned(problem, self.baseline, self.baseline_lrs, index)
        if math.isinf(T) and math.isinf(Tb):
            s, status = math.nan, "target not reached by either optimizer"
        elif T == 0.0 and Tb == 0.0:
            s, status = 1.0, "ok"
        else:
            s, status = (Tb / T if T > 0 else math.inf), "ok"
        return dict(zip(self.names, (s, T, Tb, lr, lrb))), status

    def describe(self):
        d = super().describe()
        d["baseline"] = _name(self.baseline)
        return d


@dataclass(frozen=True)
class Curve(_Metric):
    """The whole curve of ``quantity`` at the times ``t`` (a trailing axis ``t`` of every value).
    Value name: ``risk`` or ``excess_risk`` (``sim_…`` with a Simulation source)."""

    t: tuple
    quantity: str = "risk"
    source: object = None

    def __post_init__(self):
        from hdlimits.predict import check_times
        object.__setattr__(self, "t", tuple(check_times(self.t)))
        _quantity(self.quantity)
        object.__setattr__(self, "source", _source(self.source))

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
    """The clipping criteria of Marshall, Xiao, Agarwala, Paquette (arXiv 2406.11733) for a
    :class:`hdlimits.ClippedSGD` with a constant threshold, at the state ``P = eᵀKe``: ``ccc = μ²/ν̂``
    (> 1: clipping with the compensated lr γ/μ is faster than SGD), ``csc = μ/ν̂`` (> 1: clipping raises
    the largest stable lr) and ``mu = μ_c(P)``, with the residual threshold ``c = C/√tr K``
    (:mod:`hdlimits.models.least_squares.clipping`). ``P``: a positive number, or ``"initial"`` for the problem's
    ``e_0ᵀKe_0``. Needs a noise law with a finite second moment (ν̂ = ν/(P + E ε²))."""

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
        return {"ccc": mu * mu / nh, "csc": mu / nh, "mu": mu}, "ok"

    def describe(self):
        return {"metric": "ClippingCriteria", "P": self.P}


# ============================================================================ result
@dataclass(eq=False)
class SweepResult:
    """A labelled sweep result.

    ``axes``: ``name -> 1-D array`` in grid order; ``values``: ``name -> array`` of shape
    ``shape + trailing`` where ``trailing`` is given by ``extra_axes``; ``status``: a string per grid point
    (``"ok"``, ``"diverged at t=…"``, ``"error: …"``); ``metadata``: what was swept (JSON-serialisable).
    """

    axes: dict
    values: dict
    status: np.ndarray
    extra_axes: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple:
        return tuple(len(a) for a in self.axes.values())

    def __getitem__(self, name):
        return self.values[name]

    def points(self):
        """Iterate ``(index tuple, {axis: value})`` in C order."""
        for idx in np.ndindex(*self.shape):
            yield idx, {k: a[i] for (k, a), i in zip(self.axes.items(), idx)}

    # -------------------------------------------------------------------- persistence
    def save(self, path) -> dict:
        """Write ``path.npz`` (everything, reloadable with :meth:`load`), ``path.csv`` (one row per grid
        point and trailing index) and ``path.json`` (metadata, axes, values, status). Returns the paths."""
        base = Path(path)
        if base.suffix in (".npz", ".csv", ".json"):
            base = base.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"status": self.status.astype(str),
                  "meta": np.array(json.dumps(self.metadata, default=str)),
                  "axis_names": np.array(list(self.axes), dtype=str),
                  "value_names": np.array(list(self.values), dtype=str),
                  "extra_names": np.array(list(self.extra_axes), dtype=str)}
        for k, a in self.axes.items():
            arrays[f"axis:{k}"] = _storable(a)
        for k, a in self.extra_axes.items():
            arrays[f"extra:{k}"] = np.asarray(a)
        for k, a in self.values.items():
            arrays[f"value:{k}"] = np.asarray(a)
        paths = {"npz": str(base) + ".npz", "csv": str(base) + ".csv", "json": str(base) + ".json"}
        with open(paths["npz"], "wb") as fh:
            np.savez(fh, **arrays)
        self.to_csv(paths["csv"])
        self.to_json(paths["json"])
        return paths

    @classmethod
    def load(cls, path) -> "SweepResult":
        """Read a result written by :meth:`save` (give the ``.npz`` path or the common stem).
        Axes whose values were not numbers come back as strings."""
        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_suffix(".npz") if p.suffix in (".csv", ".json") else Path(str(p) + ".npz")
        with np.load(p, allow_pickle=False) as z:
            axes = {k: z[f"axis:{k}"] for k in z["axis_names"]}
            extra = {k: z[f"extra:{k}"] for k in z["extra_names"]}
            values = {k: z[f"value:{k}"] for k in z["value_names"]}
            return cls(axes, values, z["status"].astype(object), extra, json.loads(str(z["meta"])))

    def to_csv(self, path=None) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(list(self.axes) + list(self.extra_axes) + list(self.values) + ["status"])
        ex_shape = tuple(len(a) for a in self.extra_axes.values())
        for idx, pt in self.points():
            for j in np.ndindex(*ex_shape):
                row = [_cell(x) for x in pt.values()]
                row += [_cell(a[i]) for a, i in zip(self.extra_axes.values(), j)]
                row += [_cell(a[idx + j]) for a in self.values.values()]
                w.writerow(row + [self.status[idx]])
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path=None) -> str:
        data = {"metadata": self.metadata,
                "axes": {k: _jsonable(a) for k, a in self.axes.items()},
                "extra_axes": {k: _jsonable(a) for k, a in self.extra_axes.items()},
                "values": {k: _jsonable(a) for k, a in self.values.items()},
                "status": np.asarray(self.status, dtype=str).tolist(),
                "note": "non-finite numbers are written as the strings 'inf', '-inf', 'nan'"}
        text = json.dumps(data, indent=1, default=str)
        if path is not None:
            Path(path).write_text(text)
        return text

    def __repr__(self):
        ax = ", ".join(f"{k}[{len(a)}]" for k, a in self.axes.items())
        return f"SweepResult({ax}; values: {', '.join(self.values)})"


def _storable(a):
    a = np.asarray(a)
    if a.dtype.kind in "biuf":
        return a
    return np.array([str(x) for x in a], dtype=str)


def _cell(x):
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    if isinstance(x, (np.integer,)):
        return str(int(x))
    return str(x)


def _jsonable(a):
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        return a.tolist()
    if a.dtype.kind == "f":
        def enc(x):
            return float(x) if math.isfinite(x) else ("nan" if math.isnan(x) else
                                                     ("inf" if x > 0 else "-inf"))
        return np.vectorize(enc, otypes=[object])(a).tolist() if a.ndim else enc(float(a))
    return np.vectorize(str, otypes=[object])(a).tolist()


# ============================================================================ evaluation
def _accepted(factory, axes, what):
    """(names of grid axes the factory takes, whether it takes ``problem``)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a callable with an inspectable signature, got {factory!r}")
    params = sig.parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return tuple(axes), "problem" in params
    names = tuple(a for a in axes if a in params and params[a].kind != params[a].POSITIONAL_ONLY)
    return names, "problem" in params


def _name(obj):
    f = getattr(obj, "func", None)
    if f is not None:   # functools.partial
        return f"partial({_name(f)}, {', '.join(f'{k}={x!r}' for k, x in obj.keywords.items())})"
    return getattr(obj, "__qualname__", None) or repr(obj)


@dataclass(frozen=True)
class _Task:
    problem_factory: object
    optimizer_factory: object
    metric: tuple
    axis_names: tuple
    axis_values: tuple
    problem_args: tuple
    optimizer_args: tuple
    optimizer_wants_problem: bool


def _point(task: _Task, flat: int) -> dict:
    shape = tuple(len(a) for a in task.axis_values)
    idx = np.unravel_index(flat, shape)
    return {k: _py(a[i]) for k, a, i in zip(task.axis_names, task.axis_values, idx)}


def _py(x):
    return x.item() if isinstance(x, np.generic) else x


#: exceptions recorded as a point's status ("error: …") instead of stopping the sweep: invalid parameter
#: combinations (ValueError) and numerical failures of one point (RuntimeError, ArithmeticError).
#: Programming errors (TypeError, AttributeError, ...) propagate.
_POINT_ERRORS = (ValueError, RuntimeError, ArithmeticError)


def _err(exc):
    return f"error: {exc}" if isinstance(exc, ValueError) else f"error: {type(exc).__name__}: {exc}"


def _eval_point(task: _Task, flat: int):
    pt = _point(task, flat)
    try:
        problem = task.problem_factory(**{k: pt[k] for k in task.problem_args})
        kw = {k: pt[k] for k in task.optimizer_args}
        if task.optimizer_wants_problem:
            kw["problem"] = problem
        optimizer = task.optimizer_factory(**kw)
    except _POINT_ERRORS as exc:
        return None, _err(exc)
    out, statuses = {}, []
    for m in task.metric:
        try:
            vals, st = m.evaluate(problem, optimizer, flat)
        except _POINT_ERRORS as exc:
            return None, _err(exc)
        out.update(vals)
        statuses.append(st)
    bad = [s for s in statuses if s != "ok"]
    return out, (bad[0] if bad else "ok")


def _eval_chunk(task: _Task, indices):
    return [(i, *_eval_point(task, i)) for i in indices]


def _check_picklable(obj, what):
    try:
        pickle.dumps(obj)
    except Exception as exc:  # pickle raises several types
        raise ValueError(f"{what} must be picklable for the process-pool backend — a module-level "
                         "function or class, or functools.partial of one (lambdas and local functions "
                         f"are not); pickling failed with: {exc}. Use backend='serial' to run "
                         "unpicklable factories in this process.") from None


def sweep(problem_factory, optimizer_factory, grid, metric, *, backend="local", workers=None,
          client=None, chunksize=None, progress=None, mp_context=None) -> SweepResult:
    """Evaluate ``metric`` at every point of ``grid``.

    Parameters
    ----------
    problem_factory : callable returning a :class:`~hdlimits.models.least_squares.problem.Problem`; called with the grid axes
        it accepts as keyword arguments (see the module docstring).
    optimizer_factory : callable returning an optimizer (``hd.SGD``, ...), same calling rule; it also gets
        ``problem=`` when it has a parameter of that name.
    grid : mapping ``axis name -> non-empty 1-D sequence``; axes in mapping order; C-order evaluation.
    metric : one metric or a list of metrics (:class:`FinalRisk`, :class:`TimeToTarget`,
        :class:`Divergence`, :class:`SpeedUp`, :class:`BestFinalRisk`, :class:`Curve`,
        :class:`ClippingCriteria`, or anything with
        ``names``, ``extra``, ``evaluate(problem, optimizer, index)``, ``describe()``). Value names must
        be distinct across metrics; use a :class:`Simulation` source to add Monte Carlo values
        (prefixed ``sim_``).
    backend : ``"local"`` (process pool, default), ``"serial"`` or ``"dask"``; a ``dask.distributed``
        ``Client`` or a scheduler address string also selects ``"dask"``.
    workers : local pool size (default: the number of CPUs; the pool is skipped when it is 1).
    client : for ``"dask"``: a ``Client`` or a scheduler address such as ``"tcp://host:8786"``.
    chunksize : grid points per task (default: about 8 tasks per worker).
    progress : show a progress line on stderr for sweeps that take more than a few seconds (default on).
    mp_context : start method of the local pool (default ``"fork"`` where available — workers inherit the
        compiled integrators — else ``"spawn"``).

    Returns a :class:`SweepResult`.
    """
    # ---- backend
    if not isinstance(backend, str):
        client, backend = backend, "dask"
    elif backend.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        client, backend = backend, "dask"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, a dask Client or a scheduler address, "
                         f"got {backend!r}")
    if backend == "dask" and client is None:
        raise ValueError("backend='dask' needs client= (a dask.distributed Client or a scheduler "
                         "address such as 'tcp://host:8786')")
    # ---- grid
    if not hasattr(grid, "items") or len(grid) == 0:
        raise ValueError("grid must be a non-empty mapping axis name -> 1-D sequence of values")
    axis_names, axis_values = [], []
    for k, vals in grid.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"grid axis names must be identifiers (they are keyword arguments), got {k!r}")
        arr = np.asarray(vals) if not isinstance(vals, np.ndarray) else vals
        if arr.dtype == object or arr.ndim != 1:
            arr = np.empty(len(vals), dtype=object)
            arr[:] = list(vals)
        if arr.size == 0:
            raise ValueError(f"grid axis {k!r} must have at least one value")
        axis_names.append(k)
        axis_values.append(arr)
    metrics = tuple(metric) if isinstance(metric, (list, tuple)) else (metric,)
    if not metrics:
        raise ValueError("metric must be a metric or a non-empty list of metrics")
    names, extra = [], {}
    for m in metrics:
        if not all(hasattr(m, a) for a in ("names", "evaluate")):
            raise ValueError(f"metric {m!r} must have 'names' and 'evaluate' (see hdlimits.sweep)")
        names += list(m.names)
        mex = dict(getattr(m, "extra", {}) or {})
        if mex and extra and (list(mex) != list(extra) or any(
                not np.array_equal(mex[k], extra[k]) for k in mex)):
            raise ValueError("metrics with trailing axes must all have the same trailing axes")
        extra = mex or extra
    if len(set(names)) != len(names):
        raise ValueError(f"metric value names must be distinct, got {names}")
    p_args, _ = _accepted(problem_factory, axis_names, "problem_factory")
    o_args, o_prob = _accepted(optimizer_factory, axis_names, "optimizer_factory")
    if o_prob and "problem" in axis_names:
        raise ValueError("a grid axis may not be called 'problem'")
    unused = [a for a in axis_names if a not in p_args and a not in o_args]
    if unused:
        raise ValueError(f"grid axes {unused} are accepted by neither problem_factory "
                         f"({_name(problem_factory)}) nor optimizer_factory ({_name(optimizer_factory)})")
    task = _Task(problem_factory, optimizer_factory, metrics, tuple(axis_names), tuple(axis_values),
                 p_args, o_args, o_prob)
    shape = tuple(a.size for a in axis_values)
    n = int(np.prod(shape))

    # ---- run
    if backend == "local":
        workers = v.integer("workers", workers if workers is not None else (os.cpu_count() or 1), low=1)
        if workers > 1:
            _check_picklable(problem_factory, "problem_factory")
            _check_picklable(optimizer_factory, "optimizer_factory")
            _check_picklable(metrics, "metric")
            _check_picklable(tuple(axis_values), "grid")
        else:
            backend = "serial"
    n_workers = workers if backend == "local" else 1
    if chunksize is None:
        chunksize = max(1, -(-n // (8 * max(n_workers, 1)))) if backend != "serial" else n
    chunksize = v.integer("chunksize", chunksize, low=1)
    chunks = [range(s, min(s + chunksize, n)) for s in range(0, n, chunksize)]
    prog = Progress(n, label="sweep", enabled=progress)
    results = [None] * n

    def collect(rows):
        for i, vals, st in rows:
            results[i] = (vals, st)
        prog.add(len(rows))

    if backend == "serial":
        for ch in chunks:
            collect(_eval_chunk(task, ch))
    elif backend == "local":
        method = mp_context or ("fork" if "fork" in mp.get_all_start_methods()
                                and sys.platform != "darwin" else "spawn")
        ctx = mp.get_context(method)
        if method == "fork":
            # evaluate the first point here: the forked workers inherit whatever it compiled (numba)
            collect(_eval_chunk(task, [0]))
            chunks = [range(max(ch.start, 1), ch.stop) for ch in chunks if ch.stop > 1]
            chunks = [ch for ch in chunks if len(ch)]
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(chunks))),
                                 mp_context=ctx) as pool:
            pending = {pool.submit(_eval_chunk, task, ch) for ch in chunks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    collect(f.result())
    else:
        _run_dask(client, task, chunks, collect)
    prog.close()

    # ---- assemble
    status = np.empty(shape, dtype=object)
    ex_shape = tuple(len(a) for a in extra.values())
    values = {k: np.full(shape + ex_shape, np.nan) for k in names}
    errors = 0
    for flat, (vals, st) in enumerate(results):
        idx = np.unravel_index(flat, shape)
        status[idx] = str(st)
        if vals is None:
            errors += 1
            continue
        for k in names:
            values[k][idx] = vals[k]
    if errors == n:
        raise ValueError(f"every grid point failed; first error: {results[0][1]}")
    if errors:
        first = next(st for vals, st in results if vals is None)
        warnings.warn(f"sweep: {errors} of {n} grid points failed (status 'error: …', values NaN); "
                      f"first: {first}", RuntimeWarning, stacklevel=2)
    meta = {"problem_factory": _name(problem_factory), "optimizer_factory": _name(optimizer_factory),
            "metrics": [m.describe() if hasattr(m, "describe") else repr(m) for m in metrics],
            "backend": backend, "errors": errors}
    return SweepResult(dict(zip(axis_names, axis_values)), values, status, extra, meta)


def _run_dask(client, task, chunks, collect):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ValueError("backend='dask' needs the 'distributed' package") from exc
    own = isinstance(client, str)
    cl = Client(client) if own else client
    if not isinstance(cl, Client):
        raise ValueError(f"client must be a dask.distributed Client or a scheduler address, got {client!r}")
    try:
        fut_task = cl.scatter(task, broadcast=True)
        futures = [cl.submit(_eval_chunk, fut_task, list(ch), pure=False) for ch in chunks]
        for f in as_completed(futures):
            collect(f.result())
    finally:
        if own:
            cl.close()


# ``hdlimits.sweep`` is both this module and (in the package namespace) the function above, so that
# ``hd.sweep(...)`` works; the function also carries the module's public names, so that
# ``hd.sweep.FinalRisk`` and ``import hdlimits.sweep as sw; sw.FinalRisk`` work as well.
for _name_ in __all__:
    if _name_ != "sweep":
        setattr(sweep, _name_, globals()[_name_])
del _name_
