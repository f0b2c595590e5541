"""Streaming Monte Carlo kernels for signSGD, real Adam and the normalised-SGD limit of Adam.

Signatures are those of :mod:`hdlimits.sim.registry`. Every kernel advances one run by ``lrs.size``
steps of ``e ← e − (γ_k/d)·u_k`` (``e = θ − θ*``, residual ``r = ⟨x, e⟩ − ε``; docs/conventions.md §1).

* ``"sign"`` — signSGD, ``u = sign(g)`` coordinate-wise, ``g = (1/B) Σ_b x_b r_b``, ``sign(0) = 0``.
  ``params[0] = 1`` turns on the risk-scaled step ``γ_k·√(e_kᵀKe_k)`` (the √R schedule of Xiao,
  Marshall, Agarwala, Paquette, arXiv 2411.12135); the dense kernel then reads ``K`` (row-major) from
  ``params[1:]``. For ``B = 1``, ``sign(g_j) = sign(x_j)·sign(r)``: the diagonal kernel costs O(d) per step.
* ``"adam"`` — Adam (Kingma & Ba 2015, bias-corrected): ``m ← β1 m + (1−β1) g``,
  ``v ← β2 v + (1−β2) g²``, ``u = m̂/(√v̂ + ε)`` with ``m̂ = m/(1−β1^k)``, ``v̂ = v/(1−β2^k)``.
  ``params = (β1, β2, ε)``; ``aux`` holds the 1-based step number ``k``. The per-run state ``(m, v)``
  lives in ``rbuf[batch:batch+2d]``, which the simulator zeroes at the start of a run and keeps across
  kernel calls (``SimRule.state``).
* ``"normsgd"`` — diagonally preconditioned normalised SGD with oracle normalisation,
  ``u_j = g_j / √(K_jj (eᵀKe + E ε²))``: the algorithm whose limit is the β2 → 1 Adam equation
  (docs/signsgd.md §7). ``params = (E ε², K_11, …, K_dd)`` (+ ``K`` row-major for dense K).
"""
from __future__ import annotations

import math

import numba as nb

from hdlimits.models.least_squares.kernels import check_xbuf, draw_sample
from hdlimits.sim.rng import lane_sums, workspace


@nb.njit(cache=True, nogil=True, inline="always")
def _sgn(x):
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0


@nb.njit(cache=True, nogil=True, inline="always")
def _dot(a, b):
    s = 0.0
    for j in range(a.size):
        s += a[j] * b[j]
    return s


@nb.njit(cache=True, nogil=True)
def _quad_diag(sqrt_lam, e):
    """eᵀKe for diagonal K."""
    s = 0.0
    for j in range(e.size):
        x = sqrt_lam[j] * e[j]
        s += x * x
    return s


@nb.njit(cache=True, nogil=True)
def _quad_dense(Kflat, off, e):
    """eᵀKe with K stored row-major in ``Kflat[off:off+d²]``."""
    d = e.size
    s = 0.0
    for i in range(d):
        acc = 0.0
        base = off + i * d
        for j in range(d):
            acc += Kflat[base + j] * e[j]
        s += e[i] * acc
    return s


# ----------------------------------------------------------------------------------- signSGD
@nb.njit(cache=True, nogil=True)
def sign_diag(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params):
    d = e.size
    check_xbuf(xbuf, d)
    ws = workspace(d)
    lsum = lane_sums()
    scaled = params[0] != 0.0
    for k in range(lrs.size):
        for b in range(batch):
            rbuf[b] = draw_sample(state, sqrt_lam, e, data_kind, xbuf[b], ws, lsum) - eps[k * batch + b]
        c = lrs[k] / d
        if scaled:
            c *= math.sqrt(_quad_diag(sqrt_lam, e))
        if batch == 1:
            c0 = c * _sgn(rbuf[0])
            for j in range(d):
                e[j] -= c0 * _sgn(xbuf[0, j])
        else:
            for j in range(d):
                acc = 0.0
                for b in range(batch):
                    acc += rbuf[b] * xbuf[b, j]
                e[j] -= c * _sgn(acc)


@nb.njit(cache=True, nogil=True)
def sign_dense(X, Y, e, lrs, aux, eps, batch, rbuf, params):
    d = e.size
    scaled = params[0] != 0.0
    for k in range(lrs.size):
        for b in range(batch):
            row = k * batch + b
            rbuf[b] = _dot(X[row], e) - eps[row]
        c = lrs[k] / d
        if scaled:
            c *= math.sqrt(_quad_dense(params, 1, e))
        if batch == 1:
            c0 = c * _sgn(rbuf[0])
            row = k
            for j in range(d):
                e[j] -= c0 * _sgn(X[row, j])
        else:
            for j in range(d):
                acc = 0.0
                for b in range(batch):
                    acc += rbuf[b] * X[k * batch + b, j]
                e[j] -= c * _sgn(acc)


# ----------------------------------------------------------------------------------- Adam
@nb.njit(cache=True, nogil=True, inline="always")
def _adam_update(e, j, g, c, m, v, off_m, off_v, b1, b2, corr1, corr2, epsa):
    mj = b1 * m[off_m + j] + (1.0 - b1) * g
    vj = b2 * m[off_v + j] + (1.0 - b2) * g * g
    m[off_m + j] = mj
    m[off_v + j] = vj
    e[j] -= c * (mj / corr1) / (math.sqrt(vj / corr2) + epsa)


@nb.njit(cache=True, nogil=True, inline="always")
def _adam_step(e, rows, rbuf, batch, c, step, b1, b2, epsa):
    """One Adam step from the minibatch ``rows`` (batch × d) and its residuals ``rbuf[:batch]``."""
    d = e.size
    off_m, off_v = batch, batch + d
    corr1 = 1.0 - b1 ** step
    corr2 = 1.0 - b2 ** step
    inv_b = 1.0 / batch
    for j in range(d):
        g = 0.0
        for b in range(batch):
            g += rbuf[b] * rows[b, j]
        _adam_update(e, j, g * inv_b, c, rbuf, rbuf, off_m, off_v, b1, b2, corr1, corr2, epsa)


@nb.njit(cache=True, nogil=True)
def adam_diag(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params):
    d = e.size
    check_xbuf(xbuf, d)
    ws = workspace(d)
    lsum = lane_sums()
    b1, b2, epsa = params[0], params[1], params[2]
    for k in range(lrs.size):
        for b in range(batch):
            rbuf[b] = draw_sample(state, sqrt_lam, e, data_kind, xbuf[b], ws, lsum) - eps[k * batch + b]
        _adam_step(e, xbuf, rbuf, batch, lrs[k] / d, aux[k], b1, b2, epsa)


@nb.njit(cache=True, nogil=True)
def adam_dense(X, Y, e, lrs, aux, eps, batch, rbuf, params):
    d = e.size
    b1, b2, epsa = params[0], params[1], params[2]
    for k in range(lrs.size):
        for b in range(batch):
            row = k * batch + b
            rbuf[b] = _dot(X[row], e) - eps[row]
        _adam_step(e, X[k * batch:(k + 1) * batch], rbuf, batch, lrs[k] / d, aux[k], b1, b2, epsa)


# ----------------------------------------------------------------------------------- normalised SGD
@nb.njit(cache=True, nogil=True)
def normsgd_diag(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params):
    d = e.size
    check_xbuf(xbuf, d)
    ws = workspace(d)
    lsum = lane_sums()
    m2 = params[0]
    for k in range(lrs.size):
        for b in range(batch):
            rbuf[b] = draw_sample(state, sqrt_lam, e, data_kind, xbuf[b], ws, lsum) - eps[k * batch + b]
        q = _quad_diag(sqrt_lam, e) + m2
        if q <= 0.0:            # at rest: every residual is 0, so g = 0 and u = 0/0 := 0
            continue
        c = lrs[k] / (d * batch * math.sqrt(q))
        for j in range(d):
            if sqrt_lam[j] == 0.0:
                continue
            acc = 0.0
            for b in range(batch):
                acc += rbuf[b] * xbuf[b, j]
            e[j] -= c * acc / sqrt_lam[j]


@nb.njit(cache=True, nogil=True)
def normsgd_dense(X, Y, e, lrs, aux, eps, batch, rbuf, params):
    d = e.size
    m2 = params[0]
    for k in range(lrs.size):
        for b in range(batch):
            row = k * batch + b
            rbuf[b] = _dot(X[row], e) - eps[row]
        q = _quad_dense(params, 1 + d, e) + m2
        if q <= 0.0:            # at rest: u = 0/0 := 0
            continue
        c = lrs[k] / (d * batch * math.sqrt(q))
        for j in range(d):
            acc = 0.0
            for b in range(batch):
                acc += rbuf[b] * X[k * batch + b, j]
            e[j] -= c * acc / math.sqrt(params[1 + j])


def _register():
    from hdlimits.sim.registry import register
    register("sign", sign_diag, sign_dense)
    register("adam", adam_diag, adam_dense)
    register("normsgd", normsgd_diag, normsgd_dense)


_register()
