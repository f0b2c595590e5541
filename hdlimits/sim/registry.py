"""Which kernels run which update rule: ``KERNELS[rule.kind] = (diag_kernel, dense_kernel)``.

Kernel signatures (numba, ``nogil``; see :mod:`hdlimits.models.least_squares.kernels` for the linear pair):

* ``diag(state, sqrt_lam, pdiag, e, lrs, aux, eps, batch, data_kind, xbuf, rbuf, params)`` — diagonal K,
  samples drawn inside the kernel from the xoshiro state;
* ``dense(X, Y, e, lrs, aux, eps, batch, rbuf, params)`` — rows of ``X`` are the samples and rows of
  ``Y = X P`` their preconditioned copies, computed by the caller a block at a time.

``lrs`` and ``aux`` hold one value per step, ``eps`` one noise value per sample, ``params`` the rule's
constants. A model family registers its pairs when its package is imported (see hdlimits.models.least_squares).
"""
from __future__ import annotations

KERNELS: dict = {}


def register(kind: str, diag, dense) -> None:
    KERNELS[kind] = (diag, dense)


def lookup(kind: str):
    if kind not in KERNELS:
        raise ValueError(f"the simulator has no kernel for update rule {kind!r} "
                         f"(known: {sorted(KERNELS)})")
    return KERNELS[kind]
