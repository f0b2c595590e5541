"""Streaming Monte Carlo kernels of SGD on GLM and multi-index models (docs/glm.md; the algorithm of
Collins-Woodfin, Paquette, Paquette, Seroussi, arXiv 2308.08977, with the preconditioned update of
docs/conventions.md).

Each kernel advances one run by ``lrs.size`` steps of the real algorithm on the weights ``W = [X | X*]``
(d × k, student columns first, the teacher columns never move), stored transposed (``Wt``, k × d) so
that both the pre-activations and the update are contiguous loops over the d coordinates::

    r_b = Wᵀ x_b,   ψ_b = ∇_{r_student} f(r_b, ξ_b),
    X ← X − (γ_k / (d B_s)) Σ_b (P_in x_b) (Q_out ψ_b)ᵀ

over a minibatch of ``B_s`` samples, all taken at the same ``X``; ``ψ_b`` comes from the model's
``sample_psi(r, xi, psi_out)`` (a numba function passed as an argument, so each model compiles its own
specialisation once and numba caches it on disk). Cost O(d·k) per sample.

* :func:`diag_steps` — diagonal ``K``: ``x_j = √λ_j ξ_j`` drawn in the kernel (ξ standard normal by the
  lane ziggurat of :mod:`hdlimits.sim.rng`, or ±1, a sample per block), ``P_in`` a vector.
* :func:`dense_steps` — any ``K``: the samples (rows of ``Xs``) and their update directions
  ``Ys = Xs P_in`` are given, computed a block at a time with BLAS by the caller.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from hdlimits.sim.rng import normal_block, rademacher_block, workspace

GAUSSIAN, RADEMACHER = 0, 1

__all__ = ["GAUSSIAN", "RADEMACHER", "diag_steps", "dense_steps"]


@nb.njit(cache=True, nogil=True, inline="always")
def _draw(state, sqrt_lam, data_kind, xrow, ws, d):
    """Draw ``x = √λ ⊙ ξ`` into ``xrow[:d]`` (ξ standard normal or ±1 by ``data_kind``), one block on
    the generator lanes (``xrow`` holds ``rng.padded(d)`` values; the same samples as the least-squares
    simulator for the same state)."""
    if data_kind == GAUSSIAN:
        normal_block(state, xrow, d, ws)
    else:
        rademacher_block(state, xrow, d, ws)
    for j in range(d):
        xrow[j] *= sqrt_lam[j]


@nb.njit(cache=True, nogil=True, inline="always")
def _pre(Wt, xrow, r):
    """``r = Wᵀx``: one contiguous dot product per column of ``W`` (a row of ``Wt``)."""
    k, d = Wt.shape
    for a in range(k):
        s = 0.0
        for j in range(d):
            s += Wt[a, j] * xrow[j]
        r[a] = s


@nb.njit(cache=True, nogil=True, inline="always")
def _output_direction(psi, Q, has_q, u):
    """``u = Q_out ψ`` (``Q_out`` symmetric), or ``ψ`` itself without an output factor."""
    m = psi.size
    for a in range(m):
        if has_q:
            s = 0.0
            for c in range(m):
                s += Q[a, c] * psi[c]
            u[a] = s
        else:
            u[a] = psi[a]


@nb.njit(cache=True, nogil=True)
def diag_steps(sample_psi, state, sqrt_lam, pdiag, Wt, m, lrs, xi, batch, data_kind, Q, has_q,
               xbuf, rbuf, ubuf):
    """Diagonal ``K``: ``lrs.size`` steps on ``Wt = Wᵀ`` (k × d, modified in place; only its first ``m``
    rows move). ``xi``: (steps·batch, n_xi) label randomness; ``xbuf`` (batch, rng.padded(d)), ``rbuf``
    (batch, k), ``ubuf`` (batch, m) scratch; ``Q`` (m, m) used when ``has_q``. Returns the sum of the
    per-sample losses."""
    d = Wt.shape[1]
    inv = 1.0 / (d * batch)
    psi = np.empty(m)
    ws = workspace(d)
    total = 0.0
    for s in range(lrs.size):
        for b in range(batch):
            _draw(state, sqrt_lam, data_kind, xbuf[b], ws, d)
            _pre(Wt, xbuf[b], rbuf[b])
            total += sample_psi(rbuf[b], xi[s * batch + b], psi)
            _output_direction(psi, Q, has_q, ubuf[b])
        c = lrs[s] * inv
        for b in range(batch):
            for a in range(m):
                cu = c * ubuf[b, a]
                for j in range(d):
                    Wt[a, j] -= cu * pdiag[j] * xbuf[b, j]
    return total


@nb.njit(cache=True, nogil=True)
def dense_steps(sample_psi, Xs, Ys, Wt, m, lrs, xi, batch, Q, has_q, rbuf, ubuf):
    """Any ``K``: the rows of ``Xs`` are the samples (``K^{1/2}ξ``), the rows of ``Ys`` their update
    directions ``P_in x``; ``lrs.size · batch`` rows are consumed in order. ``Wt`` as in
    :func:`diag_steps`."""
    d = Wt.shape[1]
    inv = 1.0 / (d * batch)
    psi = np.empty(m)
    total = 0.0
    for s in range(lrs.size):
        for b in range(batch):
            row = s * batch + b
            _pre(Wt, Xs[row], rbuf[b])
            total += sample_psi(rbuf[b], xi[row], psi)
            _output_direction(psi, Q, has_q, ubuf[b])
        c = lrs[s] * inv
        for b in range(batch):
            row = s * batch + b
            for a in range(m):
                cu = c * ubuf[b, a]
                for j in range(d):
                    Wt[a, j] -= cu * Ys[row, j]
    return total
