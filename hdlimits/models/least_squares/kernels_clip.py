"""Streaming Monte Carlo kernels for clipped and normalized SGD (batch size 1).

One kernel pair, kind ``"clip"``, registered in :mod:`hdlimits.sim.registry`. Per step, with the sample
``x``, the residual ``r = ⟨x, e⟩ − ε`` and the exact gradient norm ``‖g‖ = |r|·‖x‖``:

* mode 0 (clipped SGD, threshold ``C_k = aux[k]`` in gradient-norm units):
  ``u = g·min(1, C_k/‖g‖)`` (as ``torch.nn.utils.clip_grad_norm_``);
* mode 1 (risk-adaptive clipping): ``C = params[1]·√(eᵀKe + params[2])`` with the current iterate's
  ``eᵀKe`` (diagonal K only), i.e. the residual threshold ``κ√(P + E ε²)`` times ``√tr K``;
* mode 2 (normalized SGD): ``u = g/‖g‖`` (``u = 0`` when ``g = 0``);

then ``e ← e − (γ_k/d)·u``. ``params[0]`` is the mode. Signatures: see :mod:`hdlimits.sim.registry`.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hdlimits.models.least_squares.kernels import check_xbuf, draw_sample_norm
from hdlimits.sim.rng import lane_sums, workspace


@nb.njit(cache=True, nogil=True, inline="always")
def _factor(mode, r, xx, C):
    """The multiplier of ``x`` in the update: ``r·min(1, C/(|r|‖x‖))`` or ``sign(r)/‖x‖``."""
    gn = abs(r) * math.sqrt(xx)
    if gn == 0.0:
        return 0.0
    if mode == 2:
        return r / gn
    if gn <= C:
        return r
    return r * C / gn


@nb.njit(cache=True, nogil=True)
def clip_diag_steps(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params):
    """Diagonal K (``batch`` must be 1; ``pdiag`` is ignored)."""
    d = e.size
    check_xbuf(xbuf, d)
    ws = workspace(d)
    lsum = lane_sums()
    mode = int(params[0])
    for k in range(lrs.size):
        r, xx = draw_sample_norm(state, sqrt_lam, e, data_kind, xbuf[0], ws, lsum)
        r -= eps[k]
        if mode == 1:
            Pk = 0.0
            for j in range(d):
                Pk += sqrt_lam[j] * sqrt_lam[j] * e[j] * e[j]
            C = params[1] * math.sqrt(Pk + params[2])
        else:
            C = aux[k]
        f = _factor(mode, r, xx, C) * lrs[k] / d
        for j in range(d):
            e[j] -= f * xbuf[0, j]


@nb.njit(cache=True, nogil=True)
def clip_dense_steps(X, Y, e, lrs, aux, eps, batch, rbuf, params):
    """Any K (modes 0 and 2; ``Y`` is ignored, the direction is ``x`` itself)."""
    d = e.size
    mode = int(params[0])
    for k in range(lrs.size):
        r = 0.0
        xx = 0.0
        for j in range(d):
            x = X[k, j]
            r += x * e[j]
            xx += x * x
        r -= eps[k]
        f = _factor(mode, r, xx, aux[k]) * lrs[k] / d
        for j in range(d):
            e[j] -= f * X[k, j]


def _register():
    from hdlimits.sim.registry import register
    register("clip", clip_diag_steps, clip_dense_steps)


_register()
