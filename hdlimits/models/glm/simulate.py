"""``simulate_glm``: Monte Carlo runs of the real streaming algorithm on a GLM / multi-index problem.

The same :class:`~hdlimits.models.glm.problem.GLMProblem` and optimizer objects as the block limit
(docs/glm.md; Collins-Woodfin, Paquette, Paquette, Seroussi, arXiv 2308.08977). Every step draws a fresh
minibatch of ``B_s`` samples — Gaussian ``x ~ N(0, K)`` or Rademacher ``x = K^{1/2}ξ`` — and the model's
label randomness ``ξ_b`` (``model.draw_xi``), and applies (docs/conventions.md, GLM section)::

    X ← X − (γ(t)/d) · (1/B_s) Σ_b P_in x_b ψ(r_b, ξ_b)ᵀ Q_out,    r_b = (Xᵀx_b, X*ᵀx_b),   t = steps/d.

At each output time the overlaps ``B = WᵀKW`` of the simulated weights are computed exactly from their
eigen-coordinates, and the risk is the population risk of those weights, ``h(B)`` of the model's
Gaussian expectations (closed form or cubature) — not a sample loss.

Reproducibility as in :mod:`hdlimits.sim.simulate`: one ``SeedSequence(seed)`` gives one child per run,
each child a data stream (xoshiro256**, :mod:`hdlimits.sim.rng`) and a label stream (a numpy
``Generator`` drawn in fixed-size chunks), so a run depends only on its child — the same result on any
number of worker threads and on any output grid. Ctrl-C stops all workers within about one block.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.results import SimulationResult
from hdlimits.core.schedules import lr_values
from hdlimits.core.status import Status
from hdlimits.models.glm import kernels
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.least_squares.reductions import preconditioner_matrix
from hdlimits.optimizers import SGD, PreconditionedSGD
from hdlimits.sim.progress import Progress
from hdlimits.sim.rng import fill_normal, fill_rademacher, padded, seed_state
from hdlimits.sim.simulate import _Cancelled, _grid, _NoiseStream, _repeatable
from hdlimits.solvers.solve import check_times, divergence_threshold
from hdlimits.sim.threads import run_parallel

__all__ = ["simulate_glm"]

_DATA = {"gaussian": kernels.GAUSSIAN, "rademacher": kernels.RADEMACHER}
# coordinate-steps (d·k per sample) per kernel call: blocks of ~10 ms, so Ctrl-C and progress stay live
_BLOCK_WORK = 4_000_000
# samples per dense block × d (the block of samples is ≈ 4 MB)
_DENSE_BLOCK_FLOATS = 1 << 19
# label-randomness values drawn at a time (per run), independent of the output grid
_XI_CHUNK = 1 << 14


def _output_factor(optimizer, m):
    """``Q_out`` of the optimizer as an (m, m) SPD array, or None (``Q_out = I``)."""
    Q = getattr(optimizer, "output", None)
    if Q is None:
        return None
    if callable(Q):
        raise ValueError("output must be a fixed (m, m) SPD matrix or None in the simulator; a callable "
                         "output factor Q_out(B) is available in the limit only")
    try:
        a = np.array(Q, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"output must be an ({m}, {m}) SPD matrix or None, got {type(Q).__name__}") \
            from None
    if a.shape != (m, m):
        raise ValueError(f"output must be an ({m}, {m}) SPD matrix (m = {m} student directions), "
                         f"got shape {a.shape}")
    a, _, _ = v.symmetric_psd("output", a, definite=True)
    return np.ascontiguousarray(a)


class OverlapRisk:
    """The overlaps ``B = WᵀKW`` and the exact risk ``h(B)`` of simulated weights ``W`` (d × k), shared by
    the GLM simulators (needs ``problem``, ``lam`` and ``expectations`` on the instance)."""

    def overlaps_of(self, W) -> np.ndarray:
        """``B`` from the eigen-coordinates ``C = UᵀW``: ``B = Σ_i λ_i C_iᵀC_i`` (symmetrised)."""
        C = self.problem.eigen_coordinates(W)
        G = np.sqrt(self.lam)[:, None] * C
        B = G.T @ G
        return 0.5 * (B + B.T)

    def risk(self, B) -> float:
        """``h(B)`` (docs/glm.md); ``inf`` for non-finite overlaps or risk (a diverged run)."""
        if not np.all(np.isfinite(B)):
            return np.inf
        h = float(self.expectations.evaluate(B)[0])
        return h if np.isfinite(h) else np.inf


class _Setup(OverlapRisk):
    """Everything a run needs, computed once per simulation."""

    def __init__(self, problem: GLMProblem, optimizer, data: str):
        self.problem = problem
        self.model = problem.model
        self.d, self.m, self.k = problem.d, problem.m, problem.k
        self.batch = int(optimizer.batch)
        self.lr = optimizer.lr
        self.data_kind = _DATA[data]
        self.sample_psi = self.model.sample_psi
        self.n_xi = int(self.model.n_xi)
        self.noise = problem.noise
        self.expectations = self.model.expectations(problem.noise)
        Q = _output_factor(optimizer, self.m)
        self.has_q = Q is not None
        self.Q = Q if Q is not None else np.eye(self.m)
        P = None
        if isinstance(optimizer, PreconditionedSGD):
            _, P = preconditioner_matrix(problem, optimizer)
            P = np.ascontiguousarray(P, dtype=np.float64)
        dense_p = P is not None and P.ndim == 2
        self.dense = (not problem.is_diagonal) or dense_p
        self.lam = problem.eigenvalues
        if self.dense:
            self.S = np.ascontiguousarray(problem.covariance_sqrt)
            self.Pmat = None if P is None else (np.diag(P) if P.ndim == 1 else P)
            B = self.batch
            self.rows = max(B, min(4096, max(16, _DENSE_BLOCK_FLOATS // self.d) * B)) // B * B
        else:
            self.sqrt_lam = np.ascontiguousarray(np.sqrt(self.lam))
            self.pdiag = np.ones(self.d) if P is None else P
        # the weights [X | X*] in the coordinates of x
        # (k × d: the kernels' layout, ``Wt = Wᵀ``)
        self.W0 = np.ascontiguousarray(problem.weights().T)

    def overlaps(self, Wt) -> np.ndarray:
        """``B = WᵀKW`` of the kernels' layout ``Wt = Wᵀ`` (k × d)."""
        return self.overlaps_of(Wt.T)


class _XiLaw:
    """The model's label randomness as a flat stream for :class:`hdlimits.sim.simulate._NoiseStream`:
    each draw is ``model.draw_xi(noise, rng, n)`` flattened (n samples × n_xi values, row-major)."""

    def __init__(self, setup: _Setup):
        self.model, self.noise, self.n_xi = setup.model, setup.noise, setup.n_xi

    def sample(self, rng, n):
        xi = np.asarray(self.model.draw_xi(self.noise, rng, n // self.n_xi), dtype=np.float64)
        if xi.shape != (n // self.n_xi, self.n_xi):
            raise ValueError(f"model {self.model.name!r}: draw_xi returned shape {xi.shape}, expected "
                             f"({n // self.n_xi}, {self.n_xi})")
        return xi.reshape(-1)


def _run_one(setup: _Setup, seq: np.random.SeedSequence, steps_out: np.ndarray, thr: float,
             progress: Progress, cancel: threading.Event | None = None):
    """One run: (risk (T,), overlaps (T, k, k), step of divergence or -1). ``cancel`` is checked between
    kernel calls."""
    d, k, Bs = setup.d, setup.k, setup.batch
    data_seq, xi_seq = seq.spawn(2)
    state = seed_state(data_seq)
    xis = (_NoiseStream(_XiLaw(setup), np.random.default_rng(xi_seq), chunk=_XI_CHUNK * setup.n_xi)
           if setup.n_xi > 0 else None)
    W = setup.W0.copy()
    risk = np.full(steps_out.size, np.inf)
    over = np.full((steps_out.size, k, k), np.inf)
    rbuf = np.zeros((Bs, k))
    ubuf = np.zeros((Bs, setup.m))
    if setup.dense:
        max_steps = setup.rows // Bs
    else:
        xbuf = np.empty((Bs, padded(d)))        # the block generator writes whole lane rounds
        max_steps = max(1, _BLOCK_WORK // (d * k * Bs))
    B = setup.overlaps(W)
    s, io, last = 0, 0, int(steps_out[-1])
    while True:
        while io < steps_out.size and steps_out[io] == s:
            over[io] = B
            risk[io] = setup.risk(B)
            io += 1
        if s >= last:
            return risk, over, -1
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        n = int(min(max_steps, steps_out[io] - s))
        lrs = lr_values(setup.lr, (s + np.arange(n)) / d)
        xi = (xis.take(n * Bs * setup.n_xi).reshape(n * Bs, setup.n_xi) if xis is not None
              else np.zeros((n * Bs, 0)))
        if setup.dense:
            Z = np.empty((n * Bs, d))
            if setup.data_kind == kernels.GAUSSIAN:
                fill_normal(state, Z)
            else:
                fill_rademacher(state, Z)
            Xs = Z @ setup.S
            Ys = Xs if setup.Pmat is None else Xs @ setup.Pmat
            kernels.dense_steps(setup.sample_psi, Xs, Ys, W, setup.m, lrs, xi, Bs, setup.Q, setup.has_q,
                                rbuf, ubuf)
        else:
            kernels.diag_steps(setup.sample_psi, state, setup.sqrt_lam, setup.pdiag, W, setup.m, lrs, xi,
                               Bs, setup.data_kind, setup.Q, setup.has_q, xbuf, rbuf, ubuf)
        s += n
        progress.add(n)
        with np.errstate(over="ignore", invalid="ignore"):
            B = setup.overlaps(W) if np.all(np.isfinite(W)) else np.full((k, k), np.inf)
            size = np.linalg.norm(B) if np.all(np.isfinite(B)) else np.inf
        if not size <= thr:
            return risk, over, s


def _flag_nonfinite(results, steps_out):
    """A run with a non-finite recorded overlap counts as diverged at the first such time even if the
    size test missed it; its values from then on are inf (never NaN). (A finite ``B`` may have an
    infinite risk — noise without a second moment — which is the model's value, not a divergence.)"""
    out = []
    for risk, over, s in results:
        bad = ~np.isfinite(over).all(axis=(1, 2))
        if bad.any():
            i = int(np.argmax(bad))
            risk, over = risk.copy(), over.copy()
            risk[i:] = np.inf
            over[i:] = np.inf
            if s < 0:
                s = int(steps_out[i])
        out.append((risk, over, s))
    return out


def _run_all(setup, children, steps_out, thr, prog, workers):
    """All runs on ``workers`` threads, interruptible (:func:`hdlimits.sim.threads.run_parallel`)."""
    return run_parallel(lambda seq, cancel: _run_one(setup, seq, steps_out, thr, prog, cancel), children,
                        workers)


def _check(problem, optimizer, data):
    if not isinstance(problem, GLMProblem):
        raise ValueError("problem must be a GLM problem (hdlimits.models.glm.problem.GLMProblem, e.g. "
                         f"hd.Problem.from_spectrum(..., model=)), got {type(problem).__name__}")
    if type(optimizer) not in (SGD, PreconditionedSGD):
        raise ValueError("optimizer must be hd.SGD(lr, batch) or hd.PreconditionedSGD(lr, preconditioner, "
                         f"batch) for a GLM problem, got {type(optimizer).__name__}")
    if data not in _DATA:
        raise ValueError(f"data must be one of {sorted(_DATA)}, got {data!r}")


def simulate_glm(problem, optimizer, t, runs: int = 8, seed=0, data: str = "gaussian",
                 workers: int | None = None, progress: bool | None = None) -> SimulationResult:
    """Simulate ``runs`` independent streaming runs of SGD on a GLM / multi-index problem.

    Parameters
    ----------
    problem : :class:`~hdlimits.models.glm.problem.GLMProblem`.
    optimizer : ``hd.SGD(lr, batch)`` or ``hd.PreconditionedSGD(lr, preconditioner, batch)``; the
        preconditioner ``P_in`` is a positive (d,) vector, an SPD (d, d) matrix or ``"diag"``
        (``diag(K)⁻¹``), ``"sqrt"`` (``K^{-1/2}``), ``"whiten"`` (``K⁻¹``); an ``output`` attribute, when
        present and not None, is the (m, m) SPD output factor ``Q_out``.
    t : 1-D non-decreasing record times; values are recorded after step ``round(t·d)`` (times off the
        grid ``k/d`` are reported at ``round(t·d)/d`` with a warning; the requested ones go to
        ``info["requested_t"]``).
    runs : independent runs (≥ 1; standard errors need ≥ 2).
    seed : None, an int ≥ 0 or a ``SeedSequence``; the same seed gives the same result on any number of
        workers; ``None`` draws fresh entropy, recorded in ``result.seed`` and ``info``.
    data : ``"gaussian"`` (x ~ N(0, K)) or ``"rademacher"`` (x = K^{1/2}ξ, ξ_j = ±1).
    workers : worker threads (default: the number of CPUs).
    progress : a progress line on stderr after a few seconds (default: on unless HDLIMITS_NO_PROGRESS).

    Returns
    -------
    :class:`~hdlimits.core.results.SimulationResult` with observables ``risk`` (mean over runs of the
    population risk ``h(B)``) and ``overlaps`` (T × k × k mean of ``B = WᵀKW``), their per-run arrays
    (``runs_of``) and standard errors (``stderr``). A run whose ``‖B‖_F`` exceeds
    ``1e10 × (‖B_0‖_F + E ε²)`` or stops being finite is stopped and counted as diverged: its values from
    then on are ``inf`` and ``status`` is ``Status.diverged(first time, "n of runs runs")``.
    """
    _check(problem, optimizer, data)
    t = check_times(t)
    runs = v.integer("runs", runs, low=1)
    workers = v.integer("workers", workers if workers is not None else (os.cpu_count() or 1), low=1)
    base = v.seed("seed", seed)
    setup = _Setup(problem, optimizer, data)
    steps_out, t, requested = _grid(t, problem.d)
    m2 = float(problem.noise.second_moment)
    thr = divergence_threshold(float(np.linalg.norm(setup.overlaps(setup.W0))), m2)
    children = [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,),
                                       pool_size=base.pool_size) for i in range(runs)]
    prog = Progress(runs * int(steps_out[-1]), label="simulate_glm", enabled=progress)
    results = _flag_nonfinite(_run_all(setup, children, steps_out, thr, prog, min(workers, runs)),
                              steps_out)
    prog.close()

    risk_runs = np.array([r[0] for r in results])               # runs × T
    over_runs = np.array([r[1] for r in results])               # runs × T × k × k
    div_steps = [r[2] for r in results if r[2] >= 0]
    with np.errstate(invalid="ignore", over="ignore"):
        risk = risk_runs.mean(axis=0)
        over = over_runs.mean(axis=0)
        if runs > 1:
            risk_se = risk_runs.std(axis=0, ddof=1) / np.sqrt(runs)
            over_se = over_runs.std(axis=0, ddof=1) / np.sqrt(runs)
        else:
            risk_se = np.full(risk.shape, np.nan)
            over_se = np.full(over.shape, np.nan)
    bad_r = ~np.isfinite(risk_runs).all(axis=0)                 # after a divergence: inf, never NaN
    risk[bad_r], risk_se[bad_r] = np.inf, np.inf
    bad_b = ~np.isfinite(over_runs).all(axis=(0, 2, 3))
    over[bad_b], over_se[bad_b] = np.inf, np.inf
    if div_steps:
        status = Status.diverged(min(div_steps) / problem.d, f"{len(div_steps)} of {runs} runs")
    else:
        status = Status.ok()
    info = {"steps": int(steps_out[-1]), "seed_entropy": base.entropy,
            "seed_spawn_key": list(base.spawn_key)}
    if requested is not None:
        info["requested_t"] = requested
    return SimulationResult(t=t, status=status, problem=problem, optimizer=optimizer, method="simulation",
                            info=info, runs=runs, seed=_repeatable(base), data=data,
                            diverged_runs=len(div_steps),
                            observables={"risk": risk, "overlaps": over},
                            runs_data={"risk": risk_runs, "overlaps": over_runs},
                            stderrs={"risk": risk_se, "overlaps": over_se})
