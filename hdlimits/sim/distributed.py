"""Monte Carlo runs on a ``dask.distributed`` cluster (``simulate(..., backend="dask")``).

The runs are the same as on the local thread pool: run ``i`` is driven by the ``SeedSequence`` child
``(entropy, spawn_key + (i,))`` of the simulation's seed (:mod:`hdlimits.sim.simulate`), and a worker
evaluates it with the same function (``_run_one``). Runs are sent in chunks of consecutive indices and
put back by index, so the result is bit-identical to a local run with the same seed on the same kind of
machine, whatever the number of workers and the order in which chunks finish. (Floating-point results
of the compiled kernels are identical across machines of the same instruction set; the kernels sum in a
fixed lane order, :mod:`hdlimits.sim.rng`.)

``scheduler``: ``None`` uses the current default ``Client`` if there is one, else starts a temporary
``LocalCluster`` on this machine for the call; a string is a scheduler address (``"tcp://host:8786"``,
a client is opened and closed here); a ``distributed.Client`` is used as it is.

Progress: the chunks report as they finish (the same progress line as a local run).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["run_dask", "chunk_runs"]


def chunk_runs(runs: int, workers: int) -> list[range]:
    """Consecutive run indices in about ``4·workers`` chunks (at least one run each)."""
    n = max(1, min(runs, 4 * max(1, workers)))
    edges = np.linspace(0, runs, n + 1).round().astype(int)
    return [range(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _chunk(problem, optimizer, data, seeds, steps_out, thr):
    """Runs ``seeds`` (a list of SeedSequences) on a worker; returns ``[(eᵀKe values, div step)]``."""
    from hdlimits.sim.progress import Progress
    from hdlimits.sim.simulate import _Setup, _run_one
    setup = _Setup(problem, optimizer, data)
    quiet = Progress(1, enabled=False)
    return [_run_one(setup, seq, steps_out, thr, quiet) for seq in seeds]


def _client(scheduler):
    """``(client, close)``: the client to use and a function that releases what was opened here."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ValueError("backend='dask' needs the 'distributed' package") from exc
    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if isinstance(scheduler, str):
        if not scheduler.strip():
            raise ValueError("scheduler must be a scheduler address such as 'tcp://host:8786', "
                             "a distributed.Client or None, got ''")
        cl = Client(scheduler)
        return cl, cl.close
    if scheduler is None:
        try:
            from distributed import default_client
            return default_client(), lambda: None
        except ValueError:
            pass
        cluster = LocalCluster(n_workers=1, threads_per_worker=os.cpu_count() or 1, processes=False,
                               dashboard_address=None)
        cl = Client(cluster)

        def close():
            cl.close()
            cluster.close()
        return cl, close
    raise ValueError("scheduler must be None, a scheduler address such as 'tcp://host:8786' or a "
                     f"distributed.Client, got {type(scheduler).__name__}")


def run_dask(problem, optimizer, data, children, steps_out, thr, progress, scheduler):
    """All runs on the cluster; ``[(values, div step)]`` in run order."""
    cl, close = _client(scheduler)
    try:
        from distributed import as_completed
        nworkers = sum(cl.nthreads().values()) or 1
        chunks = chunk_runs(len(children), nworkers)
        steps_each = int(steps_out[-1])
        futures = {}
        for ci, ch in enumerate(chunks):
            f = cl.submit(_chunk, problem, optimizer, data, [children[i] for i in ch], steps_out, thr,
                          pure=False)
            futures[f] = ci
        out = [None] * len(chunks)
        try:
            for f in as_completed(list(futures)):
                ci = futures[f]
                out[ci] = f.result()
                progress.add(len(chunks[ci]) * steps_each)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        return [r for part in out for r in part]
    finally:
        close()
