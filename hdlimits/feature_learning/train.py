"""Training runs on the linear representation task: finite batches (Monte Carlo) and the exact population
iteration (docs/feature_learning.md §2–§3).

Reproducibility: ``SeedSequence(seed)`` is spawned into one child per run (as :mod:`hdlimits.sim.simulate`);
each child gives the run's initial point and its data stream, so a run depends only on its child.
Runs are batched along a leading numpy axis (BLAS does the parallel work).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.feature_learning.methods import check_method, g_step, ngd_step, refit

__all__ = ["Curve", "TrainResult", "train", "population_iteration", "compare_methods"]


@dataclass(frozen=True)
class Curve:
    """One metric per step: ``mean`` and ``stderr`` over runs (``runs`` holds the raw (runs, steps+1))."""
    mean: np.ndarray
    stderr: np.ndarray
    runs: np.ndarray

    @classmethod
    def of(cls, a):
        a = np.asarray(a, dtype=np.float64)
        n = a.shape[0]
        se = a.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(a.shape[1:], np.nan)
        return cls(a.mean(axis=0), se, a)

    def __len__(self):
        return self.mean.size

    def __getitem__(self, i):
        return self.mean[i]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.mean, dtype=dtype)


@dataclass(frozen=True)
class TrainResult:
    """``steps + 1`` values per metric (index 0 = initialisation), Monte Carlo mean ± stderr over runs.

    ``train_loss`` is the batch loss ``½ Ê‖y − F G x‖²`` of the batch drawn at that step, before its
    update (index 0: the first batch at the initial point); ``subspace_distance`` and ``transfer_loss`` are
    evaluated at the iterate after the step (docs/feature_learning.md §1).
    """
    method: str
    lr: float
    batch: int
    steps: np.ndarray
    subspace_distance: Curve
    train_loss: Curve
    transfer_loss: Curve
    info: dict = field(default_factory=dict)

    @property
    def n_runs(self):
        return self.subspace_distance.runs.shape[0]

    def __repr__(self):
        sd = self.subspace_distance
        return (f"TrainResult(method={self.method!r}, lr={self.lr:g}, batch={self.batch}, runs={self.n_runs}, "
                f"final subspace distance {sd.mean[-1]:.4g} ± {sd.stderr[-1]:.2g})")


def blas_single_thread():
    """Context limiting BLAS/LAPACK to one thread (threadpoolctl, if installed): the runs are batched along
    a numpy axis, and the small batched solves thrash when LAPACK threads compete (measured: 8 solves of
    165×165 take 1.2 s with 2 threads on a loaded 2-core machine, 14 ms with one)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _children(seed, runs):
    base = v.seed("seed", seed)
    return [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,), pool_size=base.pool_size)
            for i in range(runs)]


def train(task, method="kfac", steps=200, batch=256, lr=0.5, seed=0, runs=8, ridge=0.0, init_overlap=0.0,
          damping=1e-3):
    """Run the stylised alternating descent (``methods`` module) on fresh batches.

    Each step: draw ``batch`` samples, update G with the current head F (``g_step``), then refit F by least
    squares on the same batch with the new G. ``ngd`` updates (F, G) jointly instead. The initial head is
    the least-squares head of the first batch at ``G_0``.

    Parameters: ``task`` a :class:`LinearRepresentation`; ``method`` in ``METHODS``; ``steps ≥ 1``;
    ``batch ≥ 1`` (a batch smaller than ``d_x`` makes Σ̂ singular: use ``ridge > 0`` with ``kfac``);
    ``lr > 0`` (scale-free, see methods module); ``runs ≥ 1``; ``init_overlap`` in [0, 1)
    (0: random orthonormal G_0).
    """
    method = check_method(method)
    steps = v.integer("steps", steps, low=1)
    batch = v.integer("batch", batch, low=1)
    lr = v.positive("lr", lr)
    runs = v.integer("runs", runs, low=1)
    ridge = v.nonnegative("ridge", ridge)
    init_overlap = v.real("init_overlap", init_overlap, low=0.0, high=1.0, high_open=True)
    if batch < task.k:
        raise ValueError(f"batch must be ≥ k = {task.k} (the least-squares head needs G Σ̂ Gᵀ invertible), "
                         f"got {batch}")
    if method == "kfac" and ridge == 0.0 and batch < task.d_x:
        raise ValueError(f"batch must be ≥ d_x = {task.d_x} for kfac without ridge (Σ̂ is singular below), "
                         f"got {batch}; pass ridge > 0")
    kids = _children(seed, runs)
    rngs = [np.random.default_rng(s) for s in kids]
    G = np.stack([task.initial_G(r, init_overlap) for r in rngs])
    sd = np.empty((runs, steps + 1))
    tl = np.empty((runs, steps + 1))
    tr = np.empty((runs, steps + 1))
    sd[:, 0] = task.subspace_distance(G)
    tr[:, 0] = task.transfer_loss(G)
    F = None
    with np.errstate(all="ignore"), blas_single_thread():
        for s in range(steps + 1):
            XY = [task.sample(r, batch) for r in rngs]
            X = np.stack([a for a, _ in XY])
            Y = np.stack([b for _, b in XY])
            S = np.swapaxes(X, -1, -2) @ X / batch
            C = np.swapaxes(Y, -1, -2) @ X / batch
            if F is None:
                F = refit(G, S, C)
            E = Y - X @ np.swapaxes(F @ G, -1, -2)
            tl[:, s] = 0.5 * np.einsum("rij,rij->r", E, E) / batch
            if s == steps:
                break
            if method == "ngd":
                F, G = ngd_step(F, G, X, Y, lr, damping)
            else:
                G = g_step(method, F, G, S, C, lr, ridge)
                F = refit(G, S, C)
            sd[:, s + 1] = task.subspace_distance(G)
            tr[:, s + 1] = task.transfer_loss(G)
    bad = ~np.isfinite(sd).all(axis=1)
    info = {"runs": runs, "seed": seed, "diverged_runs": int(bad.sum()), "init_overlap": init_overlap}
    return TrainResult(method, lr, batch, np.arange(steps + 1), Curve.of(sd), Curve.of(tl), Curve.of(tr), info)


def population_iteration(task, method="kfac", steps=60, lr=0.5, G0=None, seed=0, init_noise=0.3):
    """The exact population iteration: Σ̂ = Σ, Ĉ = F*G*Σ, the head refit by population least squares
    every step (docs/feature_learning.md §3). Returns the subspace distances (steps + 1,) and the final G.

    ``G0`` defaults to ``G* + init_noise · N(0, 1)/√d_x`` (notes' claim C8). With ``kfac`` and no ridge,
    ``(I − G*ᵀG*) G_+ᵀ = (1 − lr)(I − G*ᵀG*) Gᵀ``, so the distance contracts by ≈ 1 − lr for every κ.
    """
    method = check_method(method)
    if method == "ngd":
        raise ValueError("method must be one of ['sgd', 'kfac', 'adam', 'batchnorm'] for the population "
                         "iteration, got 'ngd'")
    steps = v.integer("steps", steps, low=1)
    lr = v.positive("lr", lr)
    if G0 is None:
        rng = np.random.default_rng(v.seed("seed", seed))
        G0 = task.G_star + init_noise * rng.standard_normal(task.G_star.shape) / np.sqrt(task.d_x)
    G = np.asarray(G0, dtype=np.float64)[None]
    S = task.Sigma[None]
    C = (task.F_star @ task.G_star @ task.Sigma)[None]
    out = np.empty(steps + 1)
    out[0] = task.subspace_distance(G)[0]
    for s in range(steps):
        F = refit(G, S, C)
        G = g_step(method, F, G, S, C, lr)
        out[s + 1] = task.subspace_distance(G)[0]
    return out, G[0]


def compare_methods(task, methods=("sgd", "kfac", "adam", "batchnorm", "ngd"), steps=200, batch=256, lr=0.5,
                    seed=0, runs=8, **kwargs):
    """``{method: train(task, method, ...)}`` with the same seed (same initial points and data streams)."""
    methods = list(methods)
    for m in methods:
        check_method(m)
    lrs = lr if isinstance(lr, dict) else {m: lr for m in methods}
    return {m: train(task, m, steps=steps, batch=batch, lr=lrs[m], seed=seed, runs=runs, **kwargs)
            for m in methods}
