"""Monte Carlo of minibatch SGD on the linear model (docs/sharpness.md §6).

Function-space step ``z ← z − η Θ P̃ z`` with ``P̃ = diag(w)`` the batch weights of the chosen sampling
scheme (:mod:`.batch_noise`); ``lr`` is η itself, time is the step count, ``L = ½‖z‖²``. All runs advance
together: one (runs × D)·(D × D) product per step (O(runs·D²)), or a gather of the B batch columns
(O(runs·D·B)) when B ≤ D/8. Run r draws its batches from ``SeedSequence.spawn`` child r, so a run's
path does not depend on how many other runs there are.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v
from hdlimits.models.sharpness.batch_noise import check_batch, check_sampling
from hdlimits.models.sharpness.linear import LinearModel

__all__ = ["simulate_runs"]

#: a run is diverged once its loss exceeds this multiple of the initial loss (or is not finite)
DIVERGENCE_FACTOR = 1e10


def _batches(rng, sampling, D, B, steps):
    """Per-step batch of one run: int indices (steps × B) or a Bernoulli mask (steps × D)."""
    if sampling == "without_replacement":
        if B == D:
            return np.broadcast_to(np.arange(D), (steps, D))
        return np.argpartition(rng.random((steps, D)), B - 1, axis=1)[:, :B]
    if sampling == "with_replacement":
        return rng.integers(0, D, size=(steps, B))
    return rng.random((steps, D)) < B / D


def simulate_runs(lin, lr, batch, steps, runs, seed=None, sampling="without_replacement"):
    """Loss of every run: returns ``(loss_runs (runs × steps+1), diverged_step (runs,) or −1, entropy)``.
    Diverged runs hold ``inf`` from their divergence step on (never NaN)."""
    if not isinstance(lin, LinearModel):
        raise ValueError(f"lin must be a hdlimits.sharpness.LinearModel, got {type(lin).__name__}")
    eta = v.positive("lr", lr)
    D = lin.D
    B = check_batch(batch, D)
    sampling = check_sampling(sampling)
    steps = v.integer("steps", steps, low=0)
    runs = v.integer("runs", runs, low=1)
    ss = v.seed("seed", seed)
    children = ss.spawn(runs)
    samples = [_batches(np.random.default_rng(ch), sampling, D, B, steps) for ch in children]
    theta = np.ascontiguousarray(lin.ntk)
    Z = np.tile(lin.residual0, (runs, 1))
    loss = np.empty((runs, steps + 1))
    loss[:, 0] = 0.5 * np.einsum("ij,ij->i", Z, Z)
    limit = DIVERGENCE_FACTOR * np.maximum(loss[:, 0], 1e-300)
    div = np.full(runs, -1)
    alive = np.ones(runs, dtype=bool)
    scale = D / B
    rows = np.arange(runs)[:, None]
    gather = sampling != "bernoulli" and B * 8 <= D
    for t in range(steps):
        if sampling == "bernoulli":
            W = np.stack([s[t] for s in samples]) / (B / D)
        else:
            idx = np.stack([s[t] for s in samples])          # runs × B
            if gather:
                # z ← z − η(D/B) Σ_b Θ[:, i_b] z[i_b]   (repeated indices count twice: with replacement)
                zb = Z[rows, idx]                              # runs × B
                Z = Z - (eta * scale) * np.einsum("rb,rbd->rd", zb, theta[idx])
                Z[~alive] = 0.0
                loss[:, t + 1] = 0.5 * np.einsum("ij,ij->i", Z, Z)
                loss, alive, div = _guard(loss, t + 1, limit, alive, div, Z)
                continue
            W = np.zeros((runs, D))
            np.add.at(W, (np.broadcast_to(rows, idx.shape), idx), scale)
        Z = Z - eta * ((W * Z) @ theta)
        Z[~alive] = 0.0
        loss[:, t + 1] = 0.5 * np.einsum("ij,ij->i", Z, Z)
        loss, alive, div = _guard(loss, t + 1, limit, alive, div, Z)
    return loss, div, ss.entropy


def _guard(loss, t, limit, alive, div, Z):
    bad = alive & ~(loss[:, t] <= limit)
    if np.any(bad):
        div[bad] = t
        alive = alive & ~bad
        Z[bad] = 0.0
    loss[~alive, t] = np.inf
    return loss, alive, div
