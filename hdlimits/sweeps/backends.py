"""Where a sweep's grid points are evaluated: in this process (``"serial"``), on a local process pool
(``"local"``) or on a ``dask.distributed`` cluster (``"dask"``).

Every backend evaluates the same function (:func:`eval_chunk`) on the same inputs, and results are put
back by grid index, so the output is identical (bit for bit) and in the same order whatever the backend
and the number of workers.
"""
from __future__ import annotations

import multiprocessing as mp
import pickle
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from hdlimits.sweeps.status import OK, error_status, point_status

__all__ = ["BACKENDS", "Task", "eval_point", "eval_chunk", "check_picklable", "run_serial",
           "run_local", "run_dask"]

BACKENDS = ("local", "serial", "dask")

#: exceptions recorded as a point's status (code "error") instead of stopping the sweep: invalid
#: parameter combinations (ValueError) and numerical failures of one point (RuntimeError,
#: ArithmeticError). Programming errors (TypeError, AttributeError, ...) propagate.
POINT_ERRORS = (ValueError, RuntimeError, ArithmeticError)


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to evaluate grid points by flat index."""

    problem_factory: object
    optimizer_factory: object
    metric: tuple
    axis_names: tuple
    axis_values: tuple
    problem_args: tuple
    optimizer_args: tuple
    optimizer_wants_problem: bool


def _py(x):
    return x.item() if isinstance(x, np.generic) else x


def _point(task: Task, flat: int) -> dict:
    shape = tuple(len(a) for a in task.axis_values)
    idx = np.unravel_index(flat, shape)
    return {k: _py(a[i]) for k, a, i in zip(task.axis_names, task.axis_values, idx)}


def eval_point(task: Task, flat: int):
    """``(values or None, PointStatus)`` of grid point ``flat``; the first status of the metrics that is
    not ok is the point's status."""
    pt = _point(task, flat)
    try:
        problem = task.problem_factory(**{k: pt[k] for k in task.problem_args})
        kw = {k: pt[k] for k in task.optimizer_args}
        if task.optimizer_wants_problem:
            kw["problem"] = problem
        optimizer = task.optimizer_factory(**kw)
    except POINT_ERRORS as exc:
        return None, error_status(exc)
    out, statuses = {}, []
    for m in task.metric:
        try:
            vals, st = m.evaluate(problem, optimizer, flat)
        except POINT_ERRORS as exc:
            return None, error_status(exc)
        out.update(vals)
        statuses.append(point_status(st))
    bad = [s for s in statuses if s.code != OK]
    return out, (bad[0] if bad else statuses[0])


def eval_chunk(task: Task, indices):
    """``[(index, values or None, PointStatus), ...]`` for the grid points ``indices``."""
    return [(i, *eval_point(task, i)) for i in indices]


def check_picklable(obj, what):
    try:
        pickle.dumps(obj)
    except Exception as exc:  # pickle raises several types
        raise ValueError(f"{what} must be picklable for the process-pool backend — a module-level "
                         "function or class, or functools.partial of one (lambdas and local functions "
                         f"are not); pickling failed with: {exc}. Use backend='serial' to run "
                         "unpicklable factories in this process.") from None


def run_serial(task, chunks, collect):
    for ch in chunks:
        collect(eval_chunk(task, ch))


def run_local(task, chunks, collect, workers, mp_context=None):
    """A process pool of ``workers``; with the ``fork`` start method the first point is evaluated here
    first, so that the forked workers inherit whatever it compiled (numba)."""
    method = mp_context or ("fork" if "fork" in mp.get_all_start_methods()
                            and sys.platform != "darwin" else "spawn")
    ctx = mp.get_context(method)
    if method == "fork":
        collect(eval_chunk(task, [0]))
        chunks = [range(max(ch.start, 1), ch.stop) for ch in chunks if ch.stop > 1]
        chunks = [ch for ch in chunks if len(ch)]
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(chunks))), mp_context=ctx) as pool:
        pending = {pool.submit(eval_chunk, task, ch) for ch in chunks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                collect(f.result())


def run_dask(client, task, chunks, collect):
    """A ``dask.distributed`` ``Client``, or a scheduler address (a client is opened and closed here)."""
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
        futures = [cl.submit(eval_chunk, fut_task, list(ch), pure=False) for ch in chunks]
        for f in as_completed(futures):
            collect(f.result())
    finally:
        if own:
            cl.close()
