"""Streaming Monte Carlo kernels for linear directions ``u = P g`` (SGD, preconditioned SGD).

All kernels are numba-compiled with ``nogil`` so runs can share a process on threads; their signatures
are fixed by :mod:`hdlimits.sim.registry`.

Each kernel advances one run by ``lrs.size`` steps of ``e ← e − (γ_k/(dB))·P Σ_b x_b r_b`` with
``r_b = ⟨x_b, e⟩ − ε_b`` (``e = θ − θ*``, so ``r`` is the residual ``⟨x, θ⟩ − y``; docs/conventions.md §1).
Residuals of a minibatch are all taken at the same ``e``.

* :func:`diag_steps` — diagonal K: ``x_j = √λ_j ξ_j`` with ξ drawn in the kernel a sample at a time in
  vectorised blocks (N(0,1) by the lane ziggurat of :mod:`hdlimits.sim.rng`, or Rademacher), ``P`` diagonal (a vector) — O(d) per sample.
* :func:`dense_steps` — any K: the samples ``X`` (rows) and the update directions ``Y = X P`` are
  given, computed a block at a time with BLAS by the caller; the kernel streams through them in order.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from hdlimits.sim.rng import padded_nb, scaled_normal_dot, scaled_rademacher_dot, workspace, lane_sums

GAUSSIAN, RADEMACHER = 0, 1


@nb.njit(cache=True, nogil=True, inline="always")
def draw_sample(state, sqrt_lam, e, data_kind, xrow, ws, lsum):
    """Draw ``x = √λ ⊙ ξ`` into ``xrow`` (ξ N(0,1) or ±1 by ``data_kind``) and return ``⟨x, e⟩``.

    ``xrow`` must hold ``rng.padded(d)`` values (the block generator writes whole lane rounds); ``ws`` is
    an ``rng.workspace(d)``, ``lsum`` an
    ``rng.lane_sums()``. Gaussian ξ is drawn, scaled and dotted with ``e`` in one vectorised pass
    (:func:`hdlimits.sim.rng.scaled_normal_dot`); Rademacher ξ as a block of signs, then scaled and dotted
    (:func:`hdlimits.sim.rng.scaled_rademacher_dot`); both sum per lane in a fixed order.
    """
    if data_kind == GAUSSIAN:
        return scaled_normal_dot(state, sqrt_lam, e, xrow, ws, lsum)[0]
    return scaled_rademacher_dot(state, sqrt_lam, e, xrow, ws, lsum)[0]


@nb.njit(cache=True, nogil=True, inline="always")
def draw_sample_norm(state, sqrt_lam, e, data_kind, xrow, ws, lsum):
    """As :func:`draw_sample`, also returning ``‖x‖²``: ``(⟨x, e⟩, ‖x‖²)``."""
    if data_kind == GAUSSIAN:
        return scaled_normal_dot(state, sqrt_lam, e, xrow, ws, lsum)
    return scaled_rademacher_dot(state, sqrt_lam, e, xrow, ws, lsum)


@nb.njit(cache=True, nogil=True)
def check_xbuf(xbuf, d):
    """The block generator needs rows of ``rng.padded(d)`` values."""
    if xbuf.shape[1] < padded_nb(d):
        raise ValueError("xbuf rows must hold rng.padded(d) values")


@nb.njit(cache=True, nogil=True)
def diag_steps(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params):
    """Diagonal K. ``xbuf``: (batch, rng.padded(d)) scratch; ``rbuf``: (batch,) scratch; ``eps``: steps·batch."""
    d = e.size
    check_xbuf(xbuf, d)
    ws = workspace(d)
    lsum = lane_sums()
    inv = 1.0 / (d * batch)
    for k in range(lrs.size):
        for b in range(batch):
            rbuf[b] = draw_sample(state, sqrt_lam, e, data_kind, xbuf[b], ws, lsum) - eps[k * batch + b]
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
