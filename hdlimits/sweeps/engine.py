"""The function :func:`sweep`: check the grid, the factories and the metrics, evaluate every grid point
on a backend (:mod:`hdlimits.sweeps.backends`) and assemble a
:class:`~hdlimits.sweeps.result.SweepResult`."""
from __future__ import annotations

import inspect
import os
import warnings

import numpy as np

from hdlimits.core import validation as v
from hdlimits.sim.progress import Progress
from hdlimits.sweeps.backends import (BACKENDS, Task, check_picklable, run_dask, run_local,
                                      run_serial)
from hdlimits.sweeps.metrics import factory_name
from hdlimits.sweeps.result import SweepResult
from hdlimits.sweeps.status import ERROR

__all__ = ["sweep"]


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


def _grid(grid):
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
    return axis_names, axis_values


def _metrics(metric):
    metrics = tuple(metric) if isinstance(metric, (list, tuple)) else (metric,)
    if not metrics:
        raise ValueError("metric must be a metric or a non-empty list of metrics")
    names, extra = [], {}
    for m in metrics:
        if not all(hasattr(m, a) for a in ("names", "evaluate")):
            raise ValueError(f"metric {m!r} must have 'names' and 'evaluate' (see hdlimits.sweeps)")
        names += list(m.names)
        mex = dict(getattr(m, "extra", {}) or {})
        if mex and extra and (list(mex) != list(extra) or any(
                not np.array_equal(mex[k], extra[k]) for k in mex)):
            raise ValueError("metrics with trailing axes must all have the same trailing axes")
        extra = mex or extra
    if len(set(names)) != len(names):
        raise ValueError(f"metric value names must be distinct, got {names}")
    return metrics, names, extra


def sweep(problem_factory, optimizer_factory, grid, metric, *, backend="local", workers=None,
          client=None, chunksize=None, progress=None, mp_context=None) -> SweepResult:
    """Evaluate ``metric`` at every point of ``grid``.

    Parameters
    ----------
    problem_factory : callable returning a :class:`~hdlimits.models.least_squares.problem.Problem`;
        called with the grid axes it accepts as keyword arguments (see :mod:`hdlimits.sweeps`).
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

    Returns a :class:`SweepResult` (with ``status``, ``status_code`` and ``t_event`` per point).
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
    axis_names, axis_values = _grid(grid)
    metrics, names, extra = _metrics(metric)
    p_args, _ = _accepted(problem_factory, axis_names, "problem_factory")
    o_args, o_prob = _accepted(optimizer_factory, axis_names, "optimizer_factory")
    if o_prob and "problem" in axis_names:
        raise ValueError("a grid axis may not be called 'problem'")
    unused = [a for a in axis_names if a not in p_args and a not in o_args]
    if unused:
        raise ValueError(f"grid axes {unused} are accepted by neither problem_factory "
                         f"({factory_name(problem_factory)}) nor optimizer_factory "
                         f"({factory_name(optimizer_factory)})")
    task = Task(problem_factory, optimizer_factory, metrics, tuple(axis_names), tuple(axis_values),
                p_args, o_args, o_prob)
    shape = tuple(a.size for a in axis_values)
    n = int(np.prod(shape))

    # ---- run
    if backend == "local":
        workers = v.integer("workers", workers if workers is not None else (os.cpu_count() or 1), low=1)
        if workers > 1:
            check_picklable(problem_factory, "problem_factory")
            check_picklable(optimizer_factory, "optimizer_factory")
            check_picklable(metrics, "metric")
            check_picklable(tuple(axis_values), "grid")
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
        run_serial(task, chunks, collect)
    elif backend == "local":
        run_local(task, chunks, collect, workers, mp_context)
    else:
        run_dask(client, task, chunks, collect)
    prog.close()

    # ---- assemble
    status = np.empty(shape, dtype=object)
    codes = np.empty(shape, dtype=object)
    t_event = np.full(shape, np.nan)
    ex_shape = tuple(len(a) for a in extra.values())
    values = {k: np.full(shape + ex_shape, np.nan) for k in names}
    errors = 0
    for flat, (vals, st) in enumerate(results):
        idx = np.unravel_index(flat, shape)
        status[idx], codes[idx], t_event[idx] = st.message, st.code, st.t_event
        if vals is None:
            errors += 1
            continue
        for k in names:
            values[k][idx] = vals[k]
    if errors == n:
        raise ValueError(f"every grid point failed; first error: {results[0][1]}")
    if errors:
        first = next(st for vals, st in results if vals is None)
        warnings.warn(f"sweep: {errors} of {n} grid points failed (status code {ERROR!r}, values NaN); "
                      f"first: {first}", RuntimeWarning, stacklevel=2)
    meta = {"problem_factory": factory_name(problem_factory),
            "optimizer_factory": factory_name(optimizer_factory),
            "metrics": [m.describe() if hasattr(m, "describe") else repr(m) for m in metrics],
            "backend": backend, "errors": errors}
    return SweepResult(dict(zip(axis_names, axis_values)), values, status, extra, meta, codes, t_event)
