"""Coefficient functions ``a(P, c)``, ``b(P, c)`` of the least-squares mode system for signSGD's
risk-scaled step and Adam's β2 → 1 limit (numba; signature as in :mod:`hdlimits.solvers.coefficients`).
SGD's pair (``a = 1``, ``b = P + E ε²``) is the solvers' default and lives there."""
from __future__ import annotations

import math

import numba as nb

from hdlimits.derivation.sign_phi import phi_eval

__all__ = ["a_risk_scaled", "b_risk_scaled", "a_adam", "b_one"]


@nb.njit(cache=True, nogil=True)
def a_risk_scaled(P, c):
    """a(P) = √P·φ(P) for the risk-scaled step γ·√P (``c`` = parameters of :func:`phi_eval`)."""
    return math.sqrt(max(P, 0.0)) * phi_eval(P, c)


@nb.njit(cache=True, nogil=True)
def b_risk_scaled(P, c):
    """b(P) = P for the risk-scaled step (γ² → γ²·P)."""
    return max(P, 0.0)


@nb.njit(cache=True, nogil=True)
def a_adam(P, c):
    """a(P) of the β2 → 1 Adam limit: (P + E ε²)^{-1/2}  (``c[0] = E ε²``)."""
    return 1.0 / math.sqrt(max(P + c[0], 1e-300))


@nb.njit(cache=True, nogil=True)
def b_one(P, c):
    return 1.0
