"""The scalar update rules ``h(r)`` of the least-squares optimizers whose limits the derivation engine
derives (docs/derivation.md): ``u = x·h(r)`` with ``r`` the residual. Registered in
:mod:`hdlimits.derivation.rules` by :func:`register`."""
from __future__ import annotations

import sympy as sp

from hdlimits.derivation import rules
from hdlimits.derivation.engine import T, c, r
from hdlimits.optimizers import SGD, ClippedSGD, NormalizedSGD, PreconditionedSGD

__all__ = ["register"]


def _sgd(optimizer):
    if isinstance(optimizer, PreconditionedSGD):
        raise ValueError("derive covers rules u = x·h(r); a preconditioned direction P·x·r is not of "
                         "that form (its limit is SGD's on P^{1/2}KP^{1/2}, built in)")
    if optimizer.batch != 1:
        raise ValueError("derive covers batch = 1 (the minibatch SGD limit is built in)")
    return r, {}


def _clipped(optimizer):
    """h(r) = clamp(r, −c, c), with the residual threshold c a parameter."""
    return sp.Max(-c, sp.Min(r, c)), {c: 1.0}


def _normalized(optimizer):
    """h(r) = sign(r)/√tr K."""
    return sp.sign(r) / sp.sqrt(T), {T: 1.0}


def register() -> None:
    rules.register(SGD, _sgd)
    rules.register(ClippedSGD, _clipped)
    rules.register(NormalizedSGD, _normalized)
