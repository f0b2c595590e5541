"""Result objects of every model family: named observables over time, with a real status
(docs/results.md).

A :class:`Result` holds ``t`` (times, in the result's own unit: ``t = steps/d`` for streaming models),
an ordered mapping name → array (length of ``t``, or times × k) of *observables* — ``risk`` and
``excess_risk`` for least squares, a GLM its overlaps, … (the vocabulary is
:mod:`hdlimits.core.observables`) — and ``status`` (a :class:`~hdlimits.core.status.Status`). After a
divergence the curves hold ``inf`` — never NaN — and ``status`` says when it happened.

:class:`RiskCurve` is the result of the limiting equations (:func:`hdlimits.predict_risk`),
:class:`SimulationResult` that of Monte Carlo runs (:func:`hdlimits.simulate`): it adds the per-run
arrays and the standard error of the mean of every observable. ``to_json`` and :func:`load` round-trip
both (the problem and optimizer as descriptions only).
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from hdlimits.core import jsonfmt
from hdlimits.core.results_io import columns_csv, to_dict, from_dict
from hdlimits.core.status import Status, StatusCode, UnstableWarning

__all__ = ["Result", "RiskCurve", "SimulationResult", "UnknownObservable", "columns_csv", "load",
           "describe_problem", "describe_optimizer"]

#: attributes stored on the object itself (everything else that is looked up is an observable)
_OWN = frozenset({"t", "status", "problem", "optimizer", "method", "info", "state", "warnings",
                  "runs", "seed", "data", "diverged_runs", "_obs", "_runs", "_stderr", "_desc"})


def _seed_text(seed) -> str:
    """A one-line seed: an int, or ``entropy/spawn_key`` for a spawned SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        key = ",".join(map(str, seed.spawn_key))
        return f"{seed.entropy}" + (f" spawn_key ({key})" if key else "")
    return str(seed)


#: attributes of SimulationResult that a theory result does not have
_SIMULATION_ONLY = frozenset({"stderr", "runs_of", "runs", "seed", "data", "diverged_runs"})


class UnknownObservable(AttributeError, ValueError):
    """An observable name the result does not hold (a ValueError, and an AttributeError so that
    ``getattr(result, name, default)`` and ``hasattr`` keep working)."""


def describe_problem(problem) -> str | None:
    """One line: the problem's label and noise law (None without a problem)."""
    if problem is None:
        return None
    label = getattr(problem, "label", None) or type(problem).__name__
    noise = getattr(problem, "noise", None)
    spec = getattr(noise, "spec", None)
    return f"{label}, noise {spec()}" if callable(spec) else str(label)


def describe_optimizer(optimizer) -> str | None:
    """``optimizer.describe()``, with a callable learning rate shown by its name
    (:func:`hdlimits.core.schedules.describe_lr`) instead of ``<function … at 0x…>``."""
    if optimizer is None:
        return None
    text = optimizer.describe() if hasattr(optimizer, "describe") else str(optimizer)
    lr = getattr(optimizer, "lr", None)
    if callable(lr):
        from hdlimits.core.schedules import describe_lr
        text = text.replace(str(lr), describe_lr(lr))
    return text


def _as_array(name, a, n):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0 or a.shape[0] != n:
        raise ValueError(f"observable {name!r} must have the length of t ({n}) along its first axis, "
                         f"got shape {a.shape}")
    return a


def _num(x) -> str:
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


class Result:
    """Named observables over time with a status.

    Parameters / attributes: ``t`` (1-D times), ``observables`` (ordered mapping name → array whose
    first axis is time), ``status`` (:class:`Status`; the string ``"ok"`` is accepted), ``problem``,
    ``optimizer`` (the objects, or None), ``method`` (``"ode"``, ``"recursion"``, ``"simulation"``, …),
    ``info`` (dict: integrator statistics, ``rtol``, seeds, …), ``state`` (optional per-mode state,
    e.g. ``{"modes": …, "kappa": …}``), ``warnings`` (list of strings, e.g. the growth warning of
    :func:`hdlimits.core.status.check_growth`).

    Reading: ``res.risk`` or ``res["risk"]`` for any observable; ``res.names`` lists them; an unknown
    name raises :class:`UnknownObservable` (a ValueError) listing the available ones. A result is not
    iterable (``iter(res)`` raises TypeError; iterate ``res.names`` and read ``res[name]``), since
    iterating a result could mean its names, its times or its rows. The attributes of simulations only
    (``stderr``, ``runs_of``, ``runs``, ``seed``, …) raise AttributeError on a theory result, saying so.
    """

    def __init__(self, t, observables=None, status=None, problem=None, optimizer=None, method="",
                 info=None, state=None, warnings=None):
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError(f"t must be a 1-D array of times, got shape {t.shape}")
        object.__setattr__(self, "_obs", {})
        object.__setattr__(self, "_desc", {})
        self.t = t
        for name, arr in dict(observables or {}).items():
            self._obs[str(name)] = _as_array(name, arr, t.size)
        if status is None:
            status = Status.ok()
        if isinstance(status, str) and not isinstance(status, StatusCode):
            if status != "ok":
                raise ValueError("status must be a hdlimits.core.status.Status (or the string 'ok'), "
                                 f"got {status!r}")
            status = Status.ok()
        if not isinstance(status, Status):
            raise ValueError(f"status must be a hdlimits.core.status.Status, got {status!r}")
        self.status = status
        self.problem = problem
        self.optimizer = optimizer
        self.method = method
        self.info = dict(info or {})
        self.state = dict(state or {})
        self.warnings = list(warnings or [])

    # --- observables --------------------------------------------------------------------------
    @property
    def names(self) -> tuple:
        """The observables this result holds, in order."""
        return tuple(self._obs)

    @property
    def observables(self) -> dict:
        """The mapping name → array (the result's own dict: edits show)."""
        return self._obs

    def _unknown(self, name):
        return UnknownObservable(f"{type(self).__name__} has no observable {name!r}; available: "
                                 f"{', '.join(map(repr, self.names)) or 'none'}")

    def __getitem__(self, name):
        if name not in self._obs:
            raise self._unknown(name)
        return self._obs[name]

    def __contains__(self, name) -> bool:
        return name in self._obs

    def __iter__(self):
        raise TypeError(f"{type(self).__name__} is not iterable; use .names and result[name] "
                        "(or .t for the times)")

    def __getattr__(self, name):
        # only called when normal lookup fails
        if name in _SIMULATION_ONLY and not isinstance(self, SimulationResult):
            raise AttributeError(f"{name} is available on simulation results (SimulationResult, from "
                                 f"simulate); {type(self).__name__} is a theory result")
        if name.startswith("__") or name in _OWN:
            raise AttributeError(name)
        obs = self.__dict__.get("_obs", {})
        if name in obs:
            return obs[name]
        raise self._unknown(name)

    def __setattr__(self, name, value):
        if name not in _OWN and name in self.__dict__.get("_obs", {}):
            self._obs[name] = _as_array(name, value, self.t.size)
        else:
            object.__setattr__(self, name, value)

    # --- status -------------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.status.success

    @property
    def diverged(self) -> bool:
        return self.status.code is StatusCode.DIVERGED

    # --- per-mode state -----------------------------------------------------------------------
    @property
    def modes(self):
        """times × modes array of the mode variables ``D_i`` (None unless stored)."""
        return self.state.get("modes")

    @modes.setter
    def modes(self, value):
        self.state["modes"] = value

    @property
    def kappa(self):
        """The drift eigenvalues the modes refer to (None unless stored)."""
        return self.state.get("kappa")

    @kappa.setter
    def kappa(self, value):
        self.state["kappa"] = value

    # --- descriptions -------------------------------------------------------------------------
    @property
    def problem_description(self) -> str | None:
        return describe_problem(self.problem) if self.problem is not None else self._desc.get("problem")

    @property
    def optimizer_description(self) -> str | None:
        return (describe_optimizer(self.optimizer) if self.optimizer is not None
                else self._desc.get("optimizer"))

    # --- tables -------------------------------------------------------------------------------
    def columns(self) -> dict:
        """``t`` and every 1-D observable (the columns of :meth:`to_csv`)."""
        return {"t": self.t, **{k: a for k, a in self._obs.items() if a.ndim == 1}}

    def metadata(self) -> dict:
        """Flat descriptive data (status as text, method, optimizer, problem, scalar ``info``)."""
        meta = {"status": str(self.status), "method": self.method,
                "optimizer": self.optimizer_description}
        if self.problem is not None and hasattr(self.problem, "describe"):
            meta["problem"] = self.problem.describe()
        elif self.problem_description is not None:
            meta["problem"] = self.problem_description
        meta.update({k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool))})
        return meta

    def to_csv(self, path=None) -> str:
        """Write (or return) a CSV with one row per time; status and warnings go in comment lines."""
        comments = [f"status: {self.status}"] + [f"warning: {w}" for w in self.warnings]
        return columns_csv(comments, self.columns(), path)

    def to_dict(self, state: bool = False) -> dict:
        """The JSON document of :meth:`to_json` as a dict (arrays as numpy arrays)."""
        return to_dict(self, state=state)

    def to_json(self, path=None, state: bool = False) -> str:
        """JSON text of the result (written to ``path`` if given); :func:`load` reads it back.

        Holds the package version, type, method, status (code, t_event, detail), warnings, ``info``
        (``rtol``, seeds, integrator statistics), ``t`` and every observable, for a simulation the runs,
        seed and per-run arrays and standard errors — and the problem and optimizer as *descriptions*
        (strings): :func:`load` does not rebuild those objects. ``state=True`` adds the per-mode state
        (``modes`` can be large). Non-finite numbers are the strings ``"inf"``, ``"-inf"``, ``"nan"``
        (docs/results.md, "JSON format").
        """
        return jsonfmt.write(jsonfmt.dumps(self.to_dict(state=state)), path)

    def equals(self, other, state: bool = False) -> bool:
        """Same type, method, status, warnings, descriptions, ``info`` and equal arrays (``inf`` equals
        ``inf``, ``nan`` equals ``nan``); the problem and optimizer compare by description, the per-mode
        state only with ``state=True``. What a :func:`load` of :meth:`to_json` gives back ``equals``
        the original."""
        if type(self) is not type(other):
            return False
        a, b = self.to_dict(state=state), other.to_dict(state=state)
        for d in (a, b):
            d.pop("hdlimits_version", None)
            d.pop("metadata", None)      # holds the problem object's own dict; compared by description
        return jsonfmt.encode(a) == jsonfmt.encode(b)

    # --- dense output -------------------------------------------------------------------------
    def sol(self, t, quantity: str | None = None):
        """The observables at arbitrary times ``t`` (any shape), like ``OdeResult.sol``.

        The limiting equations are integrated again from ``t = 0`` to the query times with this
        result's method and ``rtol`` (``info["rtol"]``), so the values are as accurate as the stored
        ones (relative error ≈ rtol for ``"ode"``; for ``"recursion"`` the value after step
        ``round(t·d)``). Returns a dict name → array of the shape of ``t``, or that array alone when
        ``quantity`` is given. Needs the problem and optimizer objects (not available after
        :func:`load`) and a theory result (not a simulation).
        """
        if self.method not in ("ode", "recursion"):
            raise ValueError(f"sol needs a theory result (method 'ode' or 'recursion'), got method "
                             f"{self.method!r}")
        if self.problem is None or self.optimizer is None:
            raise ValueError("sol needs the problem and optimizer objects, and this result has none "
                             "(it was solved from a hand-built system by solve_modes without problem= "
                             "and optimizer=, or loaded from JSON, which keeps only their descriptions)"
                             " — call predict_risk (or solve_modes with problem= and optimizer=) again")
        if quantity is not None:
            self[quantity]
        tq = np.asarray(t, dtype=np.float64)
        flat = tq.reshape(-1)
        if flat.size == 0:
            raise ValueError("t must hold at least one time in [0, inf), got none")
        if not np.all(np.isfinite(flat)):
            bad = float(flat[~np.isfinite(flat)][0])
            raise ValueError(f"t must hold finite times in [0, inf), got {bad!r}")
        if np.any(flat < 0):
            raise ValueError(f"t must hold times in [0, inf) (time starts at 0), got the negative time "
                             f"{float(flat.min())!r}")
        order = np.argsort(flat, kind="stable")
        grid = np.concatenate([[0.0], flat[order]])
        from hdlimits.predict import predict_risk
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnstableWarning)
            res = predict_risk(self.problem, self.optimizer, grid, method=self.method,
                               rtol=float(self.info.get("rtol", 1e-8)), store_modes=False)
        out = {}
        for name in res.names:
            vals = np.asarray(res[name])[1:]
            back = np.empty_like(vals)
            back[order] = vals
            out[name] = back.reshape(tq.shape + vals.shape[1:])
        return out if quantity is None else out[quantity]

    # --- printing -----------------------------------------------------------------------------
    def _repr_extra(self) -> str:
        return ""

    def __repr__(self) -> str:
        span = f"[{self.t[0]:g}, {self.t[-1]:g}]" if self.t.size else "[]"
        opt = self.optimizer_description
        return (f"{type(self).__name__}(method={self.method!r}, n_times={self.t.size}, t={span}, "
                f"status={self.status}{self._repr_extra()}" + (f", optimizer={opt}" if opt else "") + ")")

    def _summary_lines(self) -> list:
        return []

    def __str__(self) -> str:
        method = self.method + (f", rtol {self.info['rtol']:g}" if "rtol" in self.info else "")
        span = f"t in [{self.t[0]:g}, {self.t[-1]:g}]" if self.t.size else "no times"
        lines = [f"{type(self).__name__} ({method}): {self.t.size} times, {span}"]
        if self.problem_description:
            lines.append(f"  problem:   {self.problem_description}")
        if self.optimizer_description:
            lines.append(f"  optimizer: {self.optimizer_description}")
        lines.append(f"  status:    {self.status}")
        lines += self._summary_lines()
        width = max((len(n) for n in self.names), default=0)
        for name, a in self._obs.items():
            if a.ndim == 1 and a.size:
                lines.append(f"  {name:<{width}}  {_num(a[0])} at t={self.t[0]:g} → {_num(a[-1])} "
                             f"at t={self.t[-1]:g}")
            else:
                lines.append(f"  {name:<{width}}  array of shape {a.shape}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


class RiskCurve(Result):
    """A predicted curve (:func:`hdlimits.predict_risk`): observables ``risk`` (``½ E r²``, noise floor
    included) and ``excess_risk`` (``½ eᵀKe``) for least squares, plus any ``observables=`` given.

    Keywords as before: ``t, risk, excess_risk, status, problem, optimizer, method`` (``"ode"`` or
    ``"recursion"``), ``modes`` (times × modes ``D_i``, or None), ``kappa``, ``info``.
    """

    def __init__(self, t, risk=None, excess_risk=None, status=None, problem=None, optimizer=None,
                 method="ode", modes=None, kappa=None, info=None, *, observables=None, state=None,
                 warnings=None):
        obs = {}
        if risk is not None:
            obs["risk"] = risk
        if excess_risk is not None:
            obs["excess_risk"] = excess_risk
        obs.update(dict(observables or {}))
        state = dict(state or {})
        if modes is not None:
            state["modes"] = modes
        if kappa is not None:
            state["kappa"] = kappa
        super().__init__(t, obs, status, problem, optimizer, method, info, state, warnings)


class SimulationResult(RiskCurve):
    """A Monte Carlo result: the mean over runs of every observable, its standard error and the runs.

    Adds ``runs``, ``seed`` (the seed given, or the entropy actually used when it was None), ``data``
    (``"gaussian"`` or ``"rademacher"``), ``diverged_runs``; per observable ``stderr(name)`` (standard
    error of the mean over runs) and ``runs_of(name)`` (runs × times). The old attributes
    ``risk_runs``, ``excess_risk_runs``, ``risk_stderr``, ``excess_risk_stderr`` (and
    ``<name>_runs`` / ``<name>_stderr`` for any observable) read the same arrays.
    """

    def __init__(self, t, risk=None, excess_risk=None, status=None, problem=None, optimizer=None,
                 method="simulation", modes=None, kappa=None, info=None, risk_runs=None,
                 excess_risk_runs=None, risk_stderr=None, excess_risk_stderr=None, runs=0, seed=None,
                 data="gaussian", diverged_runs=0, *, observables=None, runs_data=None, stderrs=None,
                 state=None, warnings=None):
        object.__setattr__(self, "_runs", {})
        object.__setattr__(self, "_stderr", {})
        super().__init__(t, risk, excess_risk, status, problem, optimizer, method, modes, kappa, info,
                         observables=observables, state=state, warnings=warnings)
        per_run = dict(runs_data or {})
        se = dict(stderrs or {})
        for name, a in (("risk", risk_runs), ("excess_risk", excess_risk_runs)):
            if a is not None:
                per_run[name] = a
        for name, a in (("risk", risk_stderr), ("excess_risk", excess_risk_stderr)):
            if a is not None:
                se[name] = a
        for name, a in per_run.items():
            self[name]
            a = np.asarray(a, dtype=np.float64)
            if a.ndim < 2 or a.shape[1] != self.t.size:
                raise ValueError(f"runs of {name!r} must be runs × times (times = {self.t.size}), "
                                 f"got shape {a.shape}")
            self._runs[name] = a
        for name, a in se.items():
            self[name]
            self._stderr[name] = _as_array(name + "_stderr", a, self.t.size)
        self.runs = int(runs)
        self.seed = seed
        self.data = data
        self.diverged_runs = int(diverged_runs)

    def stderr(self, name: str):
        """Standard error of the mean of observable ``name`` over the runs (None if not recorded)."""
        self[name]
        return self._stderr.get(name)

    def runs_of(self, name: str):
        """runs × times values of observable ``name`` (None if not recorded)."""
        self[name]
        return self._runs.get(name)

    def __getattr__(self, name):
        if not name.startswith("_"):
            for suffix, store in (("_stderr", "_stderr"), ("_runs", "_runs")):
                if name.endswith(suffix) and name[:-len(suffix)] in self.__dict__.get("_obs", {}):
                    return self.__dict__[store].get(name[:-len(suffix)])
        return super().__getattr__(name)

    def __setattr__(self, name, value):
        for suffix, store in (("_stderr", "_stderr"), ("_runs", "_runs")):
            if name.endswith(suffix) and name[:-len(suffix)] in self.__dict__.get("_obs", {}):
                self.__dict__[store][name[:-len(suffix)]] = (
                    None if value is None else np.asarray(value, dtype=np.float64))
                return
        super().__setattr__(name, value)

    def columns(self) -> dict:
        cols = super().columns()
        for name in list(cols)[1:]:
            if name in self._stderr:
                cols[name + "_stderr"] = self._stderr[name]
        return cols

    def metadata(self) -> dict:
        meta = super().metadata()
        meta.update({"runs": self.runs, "seed": _seed_text(self.seed), "data": self.data,
                     "diverged_runs": self.diverged_runs})
        return meta

    def _repr_extra(self) -> str:
        return f", runs={self.runs}"

    def _summary_lines(self) -> list:
        return [f"  runs:      {self.runs} ({self.data} data, seed {_seed_text(self.seed)}, "
                f"{self.diverged_runs} diverged)"]


def load(source) -> Result:
    """A result from :meth:`Result.to_json` output: a path, or the JSON text itself.

    Arrays, status, warnings, ``info``, method and (for simulations) runs, seed and per-run arrays
    come back equal (:meth:`Result.equals`); the problem and optimizer come back as descriptions only
    (``problem_description``, ``optimizer_description``), so ``problem``/``optimizer`` are None.
    """
    expects = "load_result expects a path to a JSON file written by to_json, or its text"
    if isinstance(source, (bytes, bytearray)):
        source = source.decode()
    if isinstance(source, os.PathLike) or (isinstance(source, str) and os.path.isfile(source)):
        with open(source) as fh:
            text = fh.read()
    elif isinstance(source, str):
        text = source
    else:
        raise ValueError(f"{expects}; got a {type(source).__name__}")
    try:
        data = jsonfmt.json.loads(text)
    except ValueError:
        shown = text if len(text) <= 60 else text[:57] + "..."
        what = ("a file whose text is not JSON" if text is not source
                else "neither an existing file nor JSON text")
        raise ValueError(f"{expects}; got {shown!r}, {what}") from None
    if not isinstance(data, dict) or "format" not in data:
        kind = {dict: "an object", list: "an array", str: "a string"}.get(type(data), "a number or constant")
        raise ValueError(f"{expects}; got valid JSON that is not an hdlimits result ({kind} without the 'format' "
                         "field that to_json writes)")
    return from_dict(data, {"Result": Result, "RiskCurve": RiskCurve,
                                                "SimulationResult": SimulationResult})
