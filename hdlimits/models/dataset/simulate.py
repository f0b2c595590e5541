"""``simulate_dataset``: Monte Carlo runs of streaming SGD on the rows of a dataset (docs/datasets.md §5).

Each run starts at ``θ_0 = problem.initial`` and every step draws ``B`` rows of ``(X, y)`` uniformly with
replacement (``sampling="replace"``, the population of the limit) or without (``sampling="epochs"``, a
fresh permutation per pass — outside the one-pass theory), adds fresh label noise when the problem has a
``noise`` law, and applies ``θ ← θ − (γ(t)/(dB)) Σ_b x_b(x_bᵀθ − y_b)`` (kernels in
:mod:`hdlimits.models.dataset.kernels`). At each output time the excess risk ``½eᵀKe`` is computed exactly
from the iterate, and the risk ``½ mean_r(x_rᵀθ − y_r)² (+ ½E ξ²) = ½(eᵀKe + E η²)`` (docs/conventions.md
§10).

Reproducibility as in :mod:`hdlimits.sim.simulate` (docs/conventions.md §12): ``SeedSequence(seed)`` gives
one child per run, each child a row stream (xoshiro256**) and a noise stream (numpy ``Generator`` drawn in
fixed chunks), so a run depends only on its child: the same result on any number of workers.
"""
from __future__ import annotations

import os

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.results import SimulationResult
from hdlimits.core.schedules import lr_values
from hdlimits.core.status import Status, check_growth
from hdlimits.models.dataset import kernels
from hdlimits.sim.progress import Progress
from hdlimits.sim.rng import seed_state
from hdlimits.sim.simulate import _Cancelled, _grid, _NoiseStream, _repeatable
from hdlimits.solvers.solve import check_times, divergence_threshold
from hdlimits.sim.threads import run_parallel

__all__ = ["simulate_dataset", "SAMPLINGS"]

SAMPLINGS = ("replace", "epochs")
_BLOCK_WORK = 4_000_000


def _run_one(setup, seq, steps_out, thr, progress, cancel=None):
    prob, d, B = setup["problem"], setup["d"], setup["batch"]
    row_seq, noise_seq = seq.spawn(2)
    state = seed_state(row_seq)
    noise = (_NoiseStream(prob.noise, np.random.default_rng(noise_seq))
             if setup["has_noise"] else None)
    e = np.array(prob.initial_error, dtype=np.float64)
    grad = np.zeros(d)
    idx = np.zeros(B, dtype=np.int64)
    perm = np.arange(prob.n, dtype=np.int64)
    pos = np.array([prob.n], dtype=np.int64)
    P = np.full(steps_out.size, np.inf)
    max_steps = max(1, _BLOCK_WORK // (d * B))
    s, io, last = 0, 0, int(steps_out[-1])
    p = float(prob.excess_of(e))
    while True:
        while io < steps_out.size and steps_out[io] == s:
            P[io] = p
            io += 1
        if s >= last:
            return P, -1
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        n = int(min(max_steps, steps_out[io] - s))
        lrs = np.ascontiguousarray(lr_values(setup["lr"], (s + np.arange(n)) / d), dtype=np.float64)
        xi = noise.take(n * B) if noise is not None else setup["zeros"][:n * B]
        if setup["sampling"] == "replace":
            kernels.steps_replace(state, setup["X"], setup["eps"], e, lrs, xi, B, grad, idx)
        else:
            kernels.steps_epochs(state, setup["X"], setup["eps"], e, lrs, xi, B, grad, idx, perm, pos)
        s += n
        progress.add(n)
        with np.errstate(over="ignore", invalid="ignore"):
            p = float(prob.excess_of(e)) if np.all(np.isfinite(e)) else np.inf
        if not p <= thr:
            P[io:] = np.inf
            return P, s


def _run_all(setup, children, steps_out, thr, prog, workers):
    """All runs on ``workers`` threads, interruptible (:func:`hdlimits.sim.threads.run_parallel`)."""
    return run_parallel(lambda seq, cancel: _run_one(setup, seq, steps_out, thr, prog, cancel), children,
                        workers)


def simulate_dataset(problem, optimizer, t, runs: int = 8, seed=0, data: str = "gaussian",
                     workers: int | None = None, progress: bool | None = None,
                     sampling: str = "replace") -> SimulationResult:
    """Simulate ``runs`` independent runs of SGD streaming the rows of a dataset problem.

    ``optimizer``: ``hd.SGD(lr, batch)``. ``t``: record times, steps ``round(t·d)``. ``runs`` ≥ 1,
    ``seed`` (None, int ≥ 0 or SeedSequence), ``workers`` (threads; the result does not depend on it),
    ``progress`` as in :func:`hdlimits.simulate`. ``data`` is ignored (the rows are the data; accepted so
    that ``hd.simulate`` can pass it). ``sampling``: ``"replace"`` (default, the theory's population) or
    ``"epochs"`` (without replacement, reshuffled every pass; outside the one-pass theory).

    Returns a :class:`SimulationResult` with ``risk`` (``½(eᵀKe + E η²)``, the empirical risk of the
    iterate) and ``excess_risk`` (``½eᵀKe``), per-run arrays and standard errors; divergence (``eᵀKe``
    above ``1e10·(e_0ᵀKe_0 + Eη²)``) as in docs/conventions.md §11.
    """
    from hdlimits.optimizers import SGD
    if type(optimizer) is not SGD:
        raise ValueError("optimizer must be hd.SGD(lr, batch) for a dataset problem, got "
                         f"{type(optimizer).__name__}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {list(SAMPLINGS)}, got {sampling!r}")
    t = check_times(t)
    runs = v.integer("runs", runs, low=1)
    workers = v.integer("workers", workers if workers is not None else (os.cpu_count() or 1), low=1)
    base = v.seed("seed", seed)
    d, B = problem.d, int(optimizer.batch)
    steps_out, t, requested = _grid(t, d)
    m2 = problem.noise_second_moment
    thr = divergence_threshold(2.0 * problem.initial_excess_risk, m2)
    has_noise = float(problem.noise.second_moment) > 0
    max_steps = max(1, _BLOCK_WORK // (d * B))
    setup = {"problem": problem, "d": d, "batch": B, "lr": optimizer.lr, "sampling": sampling,
             "X": np.ascontiguousarray(problem.X), "eps": np.ascontiguousarray(problem.residuals),
             "has_noise": has_noise, "zeros": np.zeros(max_steps * B)}
    children = [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,),
                                       pool_size=base.pool_size) for i in range(runs)]
    prog = Progress(runs * int(steps_out[-1]), label="simulate(dataset)", enabled=progress)
    results = _run_all(setup, children, steps_out, thr, prog, min(workers, runs))
    prog.close()
    P = np.array([r[0] for r in results])
    div_steps = [r[1] for r in results if r[1] >= 0]
    excess_runs = 0.5 * P
    risk_runs = 0.5 * (P + m2)
    with np.errstate(invalid="ignore"):
        excess = excess_runs.mean(axis=0)
        risk = risk_runs.mean(axis=0)
        se = (excess_runs.std(axis=0, ddof=1) / np.sqrt(runs) if runs > 1 else np.full(t.size, np.nan))
    bad = ~np.isfinite(excess_runs).all(axis=0)
    se[bad] = np.inf
    if div_steps:
        status = Status.diverged(min(div_steps) / d, f"{len(div_steps)} of {runs} runs")
    else:
        status = Status.ok()
    info = {"steps": int(steps_out[-1]), "sampling": sampling, "seed_entropy": base.entropy,
            "seed_spawn_key": list(base.spawn_key)}
    if requested is not None:
        info["requested_t"] = requested
    warn = check_growth(t, excess, 0.5 * m2, status, problem, optimizer)
    return SimulationResult(t=t, risk=risk, excess_risk=excess, status=status, problem=problem,
                            optimizer=optimizer, method="simulation", info=info, risk_runs=risk_runs,
                            excess_risk_runs=excess_runs, risk_stderr=se.copy(), excess_risk_stderr=se,
                            runs=runs, seed=_repeatable(base), data="dataset",
                            diverged_runs=len(div_steps), warnings=warn)
