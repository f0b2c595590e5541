"""Streaming Monte Carlo kernels for linear directions ``u = P g`` (SGD, preconditioned SGD).

All kernels are numba-compiled with ``nogil`` so runs can share a process on threads; their signatures
are fixed by :mod:`hdlimits.sim.registry`.

Each kernel advances one run by ``lrs.size`` steps of ``e ← e − (γ_k/(dB))·P Σ_b x_b r_b`` with
``r_b = ⟨x_b, e⟩ − ε_b`` (``e = θ − θ*``, so ``r`` is the residual ``⟨x, θ⟩ − y``; docs/conventions.md §1).
Residuals of a minibatch are all taken at the same ``e``.

* :func:`diag_steps` — diagonal K: ``x_j = √λ_j ξ_j`` with ξ drawn in the kernel (N(0,1) by the
  ziggurat of :mod:`hdlimits.sim.rng`, or Rademacher), ``P`` diagonal (a vector) — O(d) per sample.
* :func:`dense_steps` — any K: the samples ``X`` (rows) and the update directions ``Y = X P`` are
  given, computed a block at a time with BLAS by the caller; the kernel streams through them in order.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from hdlimits.sim.rng import next_u64, normal

GAUSSIAN, RADEMACHER = 0, 1


@nb.njit(cache=True, nogil=True, inline="always")
def draw_sample(state, sqrt_lam, e, data_kind, xrow):
    """Draw ``x = √λ ⊙ ξ`` into ``xrow`` (ξ N(0,1) or ±1 by ``data_kind``) and return ``⟨x, e⟩``."""
    d = e.size
    r = 0.0
    if data_kind == GAUSSIAN:
        for j in range(d):
            x = sqrt_lam[j] * normal(state)
            xrow[j] = x
            r += x * e[j]
    else:
        j = 0
        while j < d:
            u = next_u64(state)
            for bit in range(min(64, d - j)):
                sgn = np.float64(np.int64((u >> np.uint64(bit)) & np.uint64(1))) * 2.0 - 1.0
                x = sqrt_lam[j] * sgn
                xrow[j] = x
                r += x * e[j]
                j += 1
    return r


@nb.njit(cache=True, nogil=True)
def diag_steps(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params):
    """Diagonal K. ``xbuf``: (batch, d) scratch; ``rbuf``: (batch,) scratch; ``eps``: steps·batch."""
    d = e.size
    inv = 1.0 / (d * batch)
    for k in range(lrs.size):
        for b in range(batch):
            rbuf[b] = draw_sample(state, sqrt_lam, e, data_kind, xbuf[b]) - eps[k * batch + b]
        c = lrs[k] * inv
        if batch == 1:
            c0 = c * rbuf[0]
            for j in range(d):
                e[j] -= c0 * pdiag[j] * xbuf[0, j]
        else:
            for j in range(d):
                acc = 0.0
                for b in range(batch):
                    acc += rbuf[b] * xbuf[b, j]
                e[j] -= c * pdiag[j] * acc


@nb.njit(cache=True, nogil=True)
def dense_steps(X, Y, e, lrs, aux, eps, batch, rbuf, params):
    """Any K: ``X`` rows are the samples, ``Y`` rows their update directions (``P x``)."""
    d = e.size
    inv = 1.0 / (d * batch)
    for k in range(lrs.size):
        for b in range(batch):
            row = k * batch + b
            r = 0.0
            for j in range(d):
                r += X[row, j] * e[j]
            rbuf[b] = r - eps[row]
        c = lrs[k] * inv
        for b in range(batch):
            row = k * batch + b
            cb = c * rbuf[b]
            for j in range(d):
                e[j] -= cb * Y[row, j]


def _register():
    from hdlimits.sim.registry import register
    register("linear", diag_steps, dense_steps)


_register()
