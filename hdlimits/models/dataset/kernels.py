"""Monte Carlo kernels of SGD on the rows of a dataset (docs/datasets.md §5).

Each call advances one run by ``lrs.size`` steps of minibatch SGD (mean gradient, docs/conventions.md
§3) on the error ``e = θ − θ*`` in the coordinate basis::

    r_b = x_{i_b}ᵀe − ε_{i_b} − ξ_b,    e ← e − (γ_k/(dB)) Σ_b r_b x_{i_b},

all residuals of a minibatch taken at the same ``e``. ``ε = y − Xθ*`` are the residuals of the data and
``ξ`` fresh label noise (zeros when the problem has none). Row indices ``i_b`` come from the in-kernel
xoshiro256** stream of :mod:`hdlimits.sim.rng`:

* :func:`steps_replace` — uniformly with replacement (the population of the limit);
* :func:`steps_epochs` — without replacement: a fresh random permutation every pass over the rows
  (epochs; outside the one-pass theory, offered for comparison).

Cost O(B·d) per step.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from hdlimits.sim.rng import next_u64

__all__ = ["steps_replace", "steps_epochs"]


@nb.njit(cache=True, nogil=True, inline="always")
def _below(state, n):
    """A uniform integer in [0, n) (the top 53 bits scaled; bias below n·2⁻⁵³)."""
    u = np.float64(np.int64(next_u64(state) >> np.uint64(11))) * (1.0 / 9007199254740992.0)
    i = np.int64(u * n)
    return i if i < n else n - 1


@nb.njit(cache=True, nogil=True, inline="always")
def _step(X, eps, e, idx, xi, k, B, g, grad):
    d = e.size
    if B == 1:
        i = idx[0]
        r = -eps[i] - xi[k]
        for j in range(d):
            r += X[i, j] * e[j]
        c = g * r
        for j in range(d):
            e[j] -= c * X[i, j]
        return
    for j in range(d):
        grad[j] = 0.0
    for b in range(B):
        i = idx[b]
        r = -eps[i] - xi[k * B + b]
        for j in range(d):
            r += X[i, j] * e[j]
        for j in range(d):
            grad[j] += r * X[i, j]
    for j in range(d):
        e[j] -= g * grad[j]


@nb.njit(cache=True, nogil=True)
def steps_replace(state, X, eps, e, lrs, xi, B, grad, idx):
    """``lrs.size`` steps with rows drawn uniformly with replacement; ``xi`` holds ``lrs.size·B``
    values; ``grad`` (d,) and ``idx`` (B,) are work arrays."""
    n, d = X.shape
    for k in range(lrs.size):
        for b in range(B):
            idx[b] = _below(state, n)
        _step(X, eps, e, idx, xi, k, B, lrs[k] / (d * B), grad)


@nb.njit(cache=True, nogil=True)
def steps_epochs(state, X, eps, e, lrs, xi, B, grad, idx, perm, pos):
    """As :func:`steps_replace` but without replacement: rows are taken in the order of ``perm``, which
    is reshuffled (Fisher–Yates) whenever it is used up; ``pos[0]`` is the position in ``perm``."""
    n, d = X.shape
    for k in range(lrs.size):
        for b in range(B):
            if pos[0] == n:
                for a in range(n - 1, 0, -1):
                    c = _below(state, a + 1)
                    tmp = perm[a]
                    perm[a] = perm[c]
                    perm[c] = tmp
                pos[0] = 0
            idx[b] = perm[pos[0]]
            pos[0] += 1
        _step(X, eps, e, idx, xi, k, B, lrs[k] / (d * B), grad)
