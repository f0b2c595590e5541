"""Monte Carlo of spectral (Muon-like) SGD on a GLM / multi-index problem: the real orthogonalised update.

Each step draws a fresh minibatch of ``B`` samples (Gaussian ``x ~ N(0, K)`` or Rademacher
``x = K^{1/2}ξ``) and the model's label randomness, forms the mean gradient ``G = (1/B) Σ_b x_b ψ_bᵀ``
(d×m, ``ψ_b = ∇_{r_student} f(r_b, ξ_b)``, ``r_b = (Xᵀx_b, X*ᵀx_b)``) and applies (docs/norms.md §4;
Bernstein & Newhouse, arXiv 2409.20325)::

    X ← X − (γ(t)/d)·√d·UVᵀ,     t = steps/d.

``UVᵀ`` is the polar factor on the range of ``G``: with ``method="svd"`` it is computed exactly from the m×m
Gram matrix, ``UVᵀ = G·Q diag(w^{-1/2}) Qᵀ`` over the eigenpairs ``(w, Q)`` of ``GᵀG`` with
``w > m·ε·w_max`` (the same matrix as the reduced SVD's ``UVᵀ``, at O(d m²) cost); with ``"newton-schulz"``
it is the cubic iteration of :func:`hdlimits.norms.newton_schulz` (``ns_steps`` iterations).

Outputs as :func:`hdlimits.models.glm.simulate.simulate_glm`: the overlaps ``B = WᵀKW`` of the simulated
weights and the population risk ``h(B)``. Each run has its own child of ``SeedSequence(seed)`` (a data and a
label generator, drawn in fixed blocks of steps), so a run depends only on its child and not on the output
grid or the number of runs. Runs are executed one after another (``workers`` is accepted and ignored).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.results import SimulationResult
from hdlimits.core.schedules import lr_values
from hdlimits.core.status import Status
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.glm.simulate import OverlapRisk
from hdlimits.norms import newton_schulz
from hdlimits.optimizers.spectral import SpectralSGD
from hdlimits.sim.progress import Progress
from hdlimits.sim.simulate import _grid, _repeatable
from hdlimits.solvers.solve import check_times, divergence_threshold

__all__ = ["simulate_spectral", "polar_factor"]

_DATA = ("gaussian", "rademacher")
_BLOCK_FLOATS = 1 << 20           # samples drawn at a time: ≈ 8 MB of x


@nb.njit(cache=True, nogil=True)
def _psi_batch(sample_psi, R, XI, PSI):
    for b in range(R.shape[0]):
        sample_psi(R[b], XI[b], PSI[b])


def polar_factor(G: np.ndarray) -> np.ndarray:
    """``UVᵀ`` of a d×m matrix from its m×m Gram matrix (on the range: eigenvalues of ``GᵀG`` below
    ``m·ε·max`` dropped); zero for ``G = 0``."""
    w, Q = np.linalg.eigh(G.T @ G)
    top = float(w[-1]) if w.size else 0.0
    if not top > 0.0:
        return np.zeros_like(G)
    keep = w > G.shape[1] * np.finfo(np.float64).eps * top
    Qk = Q[:, keep]
    return G @ ((Qk / np.sqrt(w[keep])) @ Qk.T)


class _Setup(OverlapRisk):
    def __init__(self, problem: GLMProblem, optimizer: SpectralSGD, data: str):
        self.problem = problem
        self.d, self.m, self.k = problem.d, problem.m, problem.k
        self.batch = int(optimizer.batch)
        self.lr = optimizer.lr
        self.method, self.ns_steps = optimizer.method, optimizer.ns_steps
        self.rademacher = data == "rademacher"
        self.model = problem.model
        self.noise = problem.noise
        self.n_xi = int(self.model.n_xi)
        self.sample_psi = self.model.sample_psi
        self.expectations = self.model.expectations(problem.noise)
        self.lam = problem.eigenvalues
        self.dense = not problem.is_diagonal
        self.S = problem.covariance_sqrt if self.dense else None
        self.sqrt_lam = np.sqrt(self.lam)
        self.W0 = np.array(problem.weights())                         # d × k
        self.steps_per_block = max(1, _BLOCK_FLOATS // (self.d * self.batch))

    def overlaps(self, W) -> np.ndarray:
        return self.overlaps_of(W)

    def samples(self, rng, n) -> np.ndarray:
        if self.rademacher:
            Z = rng.integers(0, 2, size=(n, self.d)).astype(np.float64) * 2.0 - 1.0
        else:
            Z = rng.standard_normal((n, self.d))
        return Z @ self.S if self.dense else Z * self.sqrt_lam

    def direction(self, G) -> np.ndarray:
        if self.method == "svd":
            return polar_factor(G)
        return newton_schulz(G, steps=self.ns_steps)[0]


def _run_one(setup: _Setup, seq, steps_out, thr, progress):
    d, m, k, Bs = setup.d, setup.m, setup.k, setup.batch
    data_seq, xi_seq = seq.spawn(2)
    rng_x, rng_xi = np.random.default_rng(data_seq), np.random.default_rng(xi_seq)
    W = setup.W0.copy()
    T = steps_out.size
    risk = np.full(T, np.inf)
    over = np.full((T, k, k), np.inf)
    PSI = np.zeros((Bs, m))
    root_d = np.sqrt(d)
    B = setup.overlaps(W)
    io, last, s = 0, int(steps_out[-1]), 0
    nblk = setup.steps_per_block
    while True:
        while io < T and steps_out[io] == s:
            over[io], risk[io] = B, setup.risk(B)
            io += 1
        if s >= last:
            return risk, over, -1
        # one block of steps, drawn independently of the output grid
        n = nblk
        Xall = setup.samples(rng_x, n * Bs)
        XI = (np.asarray(setup.model.draw_xi(setup.noise, rng_xi, n * Bs), dtype=np.float64)
              if setup.n_xi > 0 else np.zeros((n * Bs, 0)))
        lrs = lr_values(setup.lr, (s + np.arange(n)) / d)
        for j in range(n):
            Xb = Xall[j * Bs:(j + 1) * Bs]
            R = Xb @ W
            _psi_batch(setup.sample_psi, R, XI[j * Bs:(j + 1) * Bs], PSI)
            G = Xb.T @ PSI / Bs
            W[:, :m] -= (lrs[j] / d) * root_d * setup.direction(G)
            s += 1
            if s == last or (io < T and steps_out[io] == s) or s % d == 0:
                with np.errstate(over="ignore", invalid="ignore"):
                    B = setup.overlaps(W) if np.all(np.isfinite(W)) else np.full((k, k), np.inf)
                    size = np.linalg.norm(B) if np.all(np.isfinite(B)) else np.inf
                if not size <= thr:
                    return risk, over, s
                while io < T and steps_out[io] == s:
                    over[io], risk[io] = B, setup.risk(B)
                    io += 1
                if s >= last:
                    progress.add(j + 1)
                    return risk, over, -1
        progress.add(n)


def _check(problem, optimizer, data):
    if not isinstance(problem, GLMProblem):
        raise ValueError("problem must be a GLM problem (hdlimits.models.glm.problem.GLMProblem), got "
                         f"{type(problem).__name__}")
    if not isinstance(optimizer, SpectralSGD):
        raise ValueError(f"optimizer must be hd.SpectralSGD(lr, batch), got {type(optimizer).__name__}")
    if data not in _DATA:
        raise ValueError(f"data must be one of {sorted(_DATA)}, got {data!r}")


def simulate_spectral(problem, optimizer, t, runs: int = 8, seed=0, data: str = "gaussian",
                      workers: int | None = None, progress: bool | None = None) -> SimulationResult:
    """Simulate ``runs`` independent streaming runs of :class:`~hdlimits.optimizers.spectral.SpectralSGD`
    on a GLM / multi-index problem (arguments and result as
    :func:`hdlimits.models.glm.simulate.simulate_glm`: observables ``risk`` and ``overlaps``, per-run
    arrays, standard errors; a run whose ``‖B‖_F`` exceeds ``1e10 × (‖B_0‖_F + E ε²)`` counts as
    diverged and holds ``inf`` from then on). ``workers`` is ignored (runs are sequential)."""
    _check(problem, optimizer, data)
    t = check_times(t)
    runs = v.integer("runs", runs, low=1)
    if workers is not None:
        v.integer("workers", workers, low=1)
    base = v.seed("seed", seed)
    setup = _Setup(problem, optimizer, data)
    steps_out, t, requested = _grid(t, problem.d)
    thr = divergence_threshold(float(np.linalg.norm(setup.overlaps(setup.W0))),
                               float(problem.noise.second_moment))
    children = [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,),
                                       pool_size=base.pool_size) for i in range(runs)]
    prog = Progress(runs * int(steps_out[-1]), label="simulate_spectral", enabled=progress)
    results = [_run_one(setup, c, steps_out, thr, prog) for c in children]
    prog.close()
    risk_runs = np.array([r[0] for r in results])
    over_runs = np.array([r[1] for r in results])
    div = [r[2] for r in results if r[2] >= 0]
    with np.errstate(invalid="ignore", over="ignore"):
        risk, over = risk_runs.mean(axis=0), over_runs.mean(axis=0)
        if runs > 1:
            risk_se = risk_runs.std(axis=0, ddof=1) / np.sqrt(runs)
            over_se = over_runs.std(axis=0, ddof=1) / np.sqrt(runs)
        else:
            risk_se, over_se = np.full(risk.shape, np.nan), np.full(over.shape, np.nan)
    bad_r = ~np.isfinite(risk_runs).all(axis=0)
    risk[bad_r], risk_se[bad_r] = np.inf, np.inf
    bad_b = ~np.isfinite(over_runs).all(axis=(0, 2, 3))
    over[bad_b], over_se[bad_b] = np.inf, np.inf
    status = (Status.diverged(min(div) / problem.d, f"{len(div)} of {runs} runs") if div else Status.ok())
    info = {"steps": int(steps_out[-1]), "seed_entropy": base.entropy, "seed_spawn_key": list(base.spawn_key)}
    if requested is not None:
        info["requested_t"] = requested
    return SimulationResult(t=t, status=status, problem=problem, optimizer=optimizer, method="simulation",
                            info=info, runs=runs, seed=_repeatable(base), data=data, diverged_runs=len(div),
                            observables={"risk": risk, "overlaps": over},
                            runs_data={"risk": risk_runs, "overlaps": over_runs},
                            stderrs={"risk": risk_se, "overlaps": over_se})
