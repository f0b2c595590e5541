"""``simulate``: Monte Carlo runs of the real streaming algorithm at finite d.

The same ``Problem`` and optimizer objects as the limiting equations. Each run starts at
``e_0 = problem.initial_error`` and draws fresh samples every step: Gaussian ``x ~ N(0, K)`` or
Rademacher ``x = K^{1/2}ξ``; labels get noise from the problem's law. The risk is computed exactly
from the iterate, ``R = ½(eᵀKe + E ε²)``.

Reproducibility: one ``SeedSequence(seed)`` is spawned into one child per run, and each child into a data
stream (xoshiro256**, :mod:`hdlimits.sim.rng`) and a noise stream (``numpy.random.Generator``, drawn in
fixed-size chunks). A run depends only on its child, so the result is the same whatever the number of
worker threads and whatever the output grid. ``seed=None`` draws fresh entropy, which the result records
in ``result.seed``.

Interruption: Ctrl-C (KeyboardInterrupt) stops a simulation on any number of worker threads within about
one block of work; the workers check a cancel flag between kernel calls.
"""
from __future__ import annotations

import os
import threading
import warnings

import numpy as np

from hdlimits.core import validation as v
from hdlimits.solvers.solve import check_times, divergence_threshold
from hdlimits.core.results import SimulationResult
from hdlimits.core.status import Status, check_growth
from hdlimits.reductions import check_pair, sim_rule, simulator_for
from hdlimits.core.schedules import lr_values
from hdlimits.models.least_squares import kernels as kernels
from hdlimits.sim.registry import lookup
from hdlimits.sim.progress import Progress
from hdlimits.sim.rng import fill_normal, fill_rademacher, padded, seed_state
from hdlimits.sim.threads import run_parallel

__all__ = ["simulate"]

_DATA = {"gaussian": kernels.GAUSSIAN, "rademacher": kernels.RADEMACHER}
# target number of coordinate-steps per kernel call (keeps blocks ~10 ms and memory small)
_BLOCK_WORK = 4_000_000
# samples per dense block × d (the block of X is ≈ 4 MB)
_DENSE_BLOCK_FLOATS = 1 << 19


class _Setup:
    """Everything a run needs, computed once per simulation."""

    def __init__(self, problem, optimizer, data):
        self.rule = sim_rule(problem, optimizer)     # first: it checks the types of both
        self.problem = problem
        self.d = problem.d
        self.batch = getattr(optimizer, "batch", 1)
        self.diag_kernel, self.dense_kernel = lookup(self.rule.kind)
        self.params = np.array(self.rule.params, dtype=np.float64)
        self.data_kind = _DATA[data]
        P = self.rule.precond
        dense_p = P is not None and P.ndim == 2
        self.dense = (not problem.is_diagonal) or dense_p
        self.lr = optimizer.lr
        if self.dense:
            self.S = np.ascontiguousarray(problem.covariance_sqrt)
            self.Pmat = None if P is None else (np.diag(P) if P.ndim == 1 else P)
            # blocks of ≥ 16 samples (≈ 4 MB) so each GEMM with K^{1/2} reads it once for many rows
            self.rows = max(self.batch, min(4096, max(16, _DENSE_BLOCK_FLOATS // self.d) * self.batch
                                            )) // self.batch * self.batch
        else:
            self.sqrt_lam = np.sqrt(problem.eigenvalues)
            self.pdiag = np.ones(self.d) if P is None else np.ascontiguousarray(P)
        self.noise = problem.noise

    def excess(self, e):
        return float(self.problem.excess_of(e))


class _NoiseStream:
    """The label noise of one run, drawn from ``law`` in fixed chunks of ``chunk`` values.

    The kernel blocks of a run are cut where the output grid asks for a value, so drawing
    ``law.sample(rng, block)`` per block would make the noise depend on the grid whenever a sampler
    is not sequential in its draws (e.g. a mixture draws all its components, then all its normals).
    Serving slices of fixed-size draws makes the k-th noise value of a run the same on every grid.
    """

    def __init__(self, law, rng: np.random.Generator, chunk: int = 1 << 14):
        self.law, self.rng, self.chunk = law, rng, chunk
        self.buf = np.empty(0)
        self.pos = 0

    def take(self, n: int) -> np.ndarray:
        out = np.empty(n)
        filled = 0
        while filled < n:
            if self.pos == self.buf.size:
                self.buf = np.ascontiguousarray(self.law.sample(self.rng, self.chunk), dtype=np.float64)
                self.pos = 0
            m = min(n - filled, self.buf.size - self.pos)
            out[filled:filled + m] = self.buf[self.pos:self.pos + m]
            filled += m
            self.pos += m
        return out


class _Cancelled(Exception):
    """A run stopped because the simulation was interrupted (raised in a worker thread)."""


def _run_one(setup: _Setup, seq: np.random.SeedSequence, steps_out: np.ndarray, thr: float,
             progress: Progress, cancel: threading.Event | None = None):
    """One run: excess risk eᵀKe at each recorded step and the step of divergence (or -1).

    ``cancel`` is checked between kernel calls (blocks of ≈ 10 ms of work), so a worker thread stops
    soon after the main thread sets it.
    """
    d, B = setup.d, setup.batch
    data_seq, noise_seq = seq.spawn(2)
    state = seed_state(data_seq)
    noise = _NoiseStream(setup.noise, np.random.default_rng(noise_seq))
    e = np.array(setup.problem.initial_error, dtype=np.float64)
    out = np.full(steps_out.size, np.inf)
    # residual slots for the batch, then the rule's per-run state (zero at the start of a run,
    # kept across kernel calls; e.g. Adam's moments) — SimRule.state, default 0
    rbuf = np.zeros(B + int(getattr(setup.rule, "state", 0)))
    if setup.dense:
        max_steps = setup.rows // B
    else:
        xbuf = np.empty((B, padded(d)))          # the block generator writes whole lane rounds
        max_steps = max(1, _BLOCK_WORK // (d * B))
    k = 0
    io = 0
    last = int(steps_out[-1])
    while True:
        while io < steps_out.size and steps_out[io] == k:
            out[io] = setup.excess(e)
            io += 1
        if k >= last:
            return out, -1
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        n = int(min(max_steps, steps_out[io] - k))
        tk = (k + np.arange(n)) / d
        lrs = lr_values(setup.lr, tk)
        aux = (np.zeros(n) if setup.rule.aux is None
               else np.ascontiguousarray(setup.rule.aux(tk), dtype=np.float64))
        eps = noise.take(n * B)
        if setup.dense:
            Z = np.empty((n * B, d))
            if setup.data_kind == kernels.GAUSSIAN:
                fill_normal(state, Z)
            else:
                fill_rademacher(state, Z)
            X = Z @ setup.S
            Y = X if setup.Pmat is None else X @ setup.Pmat
            setup.dense_kernel(X, Y, e, lrs, aux, eps, B, rbuf, setup.params)
        else:
            setup.diag_kernel(state, setup.sqrt_lam, setup.pdiag, e, lrs, aux, eps, B,
                              setup.data_kind, xbuf, rbuf, setup.params)
        k += n
        progress.add(n)
        ex = setup.excess(e) if np.all(np.isfinite(e)) else np.inf
        if not ex <= thr or not np.isfinite(ex):      # eᵀKe may overflow while e is still finite
            return out, k


#: a requested time counts as moved when it is farther than this (relative to max(1, t)) from step/d
_T_MOVED = 1e-9


def _grid(t: np.ndarray, d: int):
    """Steps ``round(t·d)``, the reported times and the requested times (None when none was moved).

    The simulator can only stop after whole steps, so a time off the grid ``k/d`` is simulated at the
    nearest step (``numpy.round``, ties to even, as ``predict_risk(method="recursion")``). Those times
    are reported as ``step/d`` — the times actually simulated — with one warning naming how many were
    moved and the largest shift; the requested times then go to ``info["requested_t"]``.
    """
    steps = np.round(t * d).astype(np.int64)
    t_sim = steps / d
    shift = np.abs(t_sim - t)
    moved = shift > _T_MOVED * np.maximum(1.0, t)
    if not moved.any():
        return steps, t, None
    warnings.warn(f"simulate: {int(moved.sum())} of {t.size} times are not multiples of 1/d = {1 / d:g}; "
                  f"they are reported at the simulated times round(t·d)/d (largest shift "
                  f"{float(shift.max()):g}; the requested times are in info['requested_t'])",
                  UserWarning, stacklevel=3)
    return steps, np.where(moved, t_sim, t), t.copy()


def _flag_nonfinite(results, steps_out):
    """A run with a non-finite recorded eᵀKe counts as diverged (at the first such step) even if
    the divergence test missed it, so that a result never reads "ok" with inf or nan values."""
    out = []
    for vals, k in results:
        bad = ~np.isfinite(vals)
        if k < 0 and bad.any():
            k = int(steps_out[np.argmax(bad)])
            vals = vals.copy()
            vals[np.argmax(bad):] = np.inf
        out.append((vals, k))
    return out


def _run_all(setup, children, steps_out, thr, prog, workers):
    """All runs on ``workers`` threads, interruptible (:func:`hdlimits.sim.threads.run_parallel`)."""
    return run_parallel(lambda seq, cancel: _run_one(setup, seq, steps_out, thr, prog, cancel), children,
                        workers)


def _repeatable(seq: np.random.SeedSequence):
    """What ``result.seed`` holds so that ``simulate(..., seed=result.seed)`` repeats the run: the entropy
    (an int) for a root sequence, the sequence itself (entropy and spawn key) for a spawned one."""
    if not seq.spawn_key:
        return seq.entropy
    return np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key, pool_size=seq.pool_size)


BACKENDS = ("local", "dask")


def simulate(problem, optimizer, t, runs: int = 8, seed=0, data: str = "gaussian",
             workers: int | None = None, progress: bool | None = None, backend: str = "local",
             scheduler=None) -> SimulationResult:
    """Simulate ``runs`` independent streaming runs and average their risk.

    Parameters
    ----------
    problem, optimizer : the same objects :func:`hdlimits.predict_risk` takes.
    t : 1-D non-decreasing record times; the risk is recorded after step ``round(t·d)``. Times off the
        grid ``k/d`` are reported at ``round(t·d)/d`` with a warning, and the requested times are
        kept in ``info["requested_t"]``.
    runs : number of independent runs (≥ 1; the standard error needs ≥ 2).
    seed : None, an int ≥ 0 or a ``SeedSequence`` — the same seed gives the same result on any worker
        count; ``None`` draws fresh entropy and ``result.seed`` records it (a ``Generator`` is refused:
        pass an int).
    data : ``"gaussian"`` (x ~ N(0, K)) or ``"rademacher"`` (x = K^{1/2}ξ, ξ_j = ±1).
    workers : worker threads (default: the number of CPUs).
    progress : show a progress line on stderr once the run has taken a few seconds (default True).
    backend : ``"local"`` (threads of this process, the default) or ``"dask"``: the runs are spread
        over a ``dask.distributed`` cluster with the same ``SeedSequence`` children, so the result is
        bit-identical to a local run (:mod:`hdlimits.sim.distributed`); ``workers`` is then ignored.
    scheduler : for ``backend="dask"``: ``None`` (the default client, else a temporary local
        cluster), a scheduler address ``"tcp://host:8786"`` or a ``distributed.Client``.

    A run whose ``eᵀKe`` exceeds ``1e10 × (e_0ᵀKe_0 + E ε²)`` or stops being finite is stopped and
    counted as diverged; its values from then on are ``inf`` and ``status`` says when the first run
    diverged.
    """
    check_pair(problem, optimizer)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if backend == "local" and scheduler is not None:
        raise ValueError("scheduler is only used with backend='dask'")
    driver = simulator_for(problem, optimizer)
    if driver is not None and backend != "local":
        raise ValueError(f"backend={backend!r} is available for least-squares problems only; "
                         f"use backend='local' for {type(problem).__name__}")
    if driver is not None:      # a family with its own Monte Carlo (e.g. GLM students, docs/glm.md §5)
        return driver(problem, optimizer, t, runs=runs, seed=seed, data=data, workers=workers,
                      progress=progress)
    t = check_times(t)
    runs = v.integer("runs", runs, low=1)
    if data not in _DATA:
        raise ValueError(f"data must be one of {sorted(_DATA)}, got {data!r}")
    workers = v.integer("workers", workers if workers is not None else (os.cpu_count() or 1), low=1)
    base = v.seed("seed", seed)                 # seed=None: fresh entropy, recorded below
    setup = _Setup(problem, optimizer, data)
    steps_out, t, requested = _grid(t, problem.d)
    m2 = problem.noise_second_moment
    P0 = 2.0 * problem.initial_excess_risk
    thr = divergence_threshold(P0, m2)
    # the children base.spawn(runs) would give on a fresh sequence, without advancing the caller's
    # SeedSequence (so passing the same one twice repeats the result)
    children = [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,),
                                       pool_size=base.pool_size) for i in range(runs)]
    prog = Progress(runs * int(steps_out[-1]), enabled=progress)

    if backend == "dask":
        from hdlimits.sim.distributed import run_dask
        raw = run_dask(problem, optimizer, data, children, steps_out, thr, prog, scheduler)
    else:
        raw = _run_all(setup, children, steps_out, thr, prog, min(workers, runs))
    results = _flag_nonfinite(raw, steps_out)
    prog.close()
    info = {"steps": int(steps_out[-1]), "backend": backend}
    if requested is not None:
        info["requested_t"] = requested
    P = np.array([r[0] for r in results])                      # runs × times, eᵀKe
    div_steps = [r[1] for r in results if r[1] >= 0]
    excess_runs = 0.5 * P
    risk_runs = 0.5 * (P + m2)
    with np.errstate(invalid="ignore"):
        excess = excess_runs.mean(axis=0)
        risk = risk_runs.mean(axis=0)
        if runs > 1:
            ex_se = excess_runs.std(axis=0, ddof=1) / np.sqrt(runs)
            rk_se = ex_se.copy() if np.isfinite(m2) else np.full(t.size, np.inf)
        else:
            ex_se = np.full(t.size, np.nan)
            rk_se = np.full(t.size, np.nan)
    # after a divergence the mean is inf, not NaN
    bad = ~np.isfinite(excess_runs).all(axis=0)
    ex_se[bad] = np.inf
    rk_se[bad] = np.inf
    if div_steps:
        status = Status.diverged(min(div_steps) / problem.d, f"{len(div_steps)} of {runs} runs")
    else:
        status = Status.ok()
    # the seed actually used (its entropy when seed=None), so that the run can be repeated
    info.update({"seed_entropy": base.entropy, "seed_spawn_key": list(base.spawn_key)})
    warn = check_growth(t, excess, 0.5 * m2 if np.isfinite(m2) else 0.0, status, problem, optimizer)
    return SimulationResult(t=t, risk=risk, excess_risk=excess, status=status, problem=problem,
                            optimizer=optimizer, method="simulation", info=info,
                            risk_runs=risk_runs, excess_risk_runs=excess_runs, risk_stderr=rk_se,
                            excess_risk_stderr=ex_se, runs=runs, seed=_repeatable(base), data=data,
                            diverged_runs=len(div_steps), warnings=warn)
