"""Scalar coefficient functions ``a(P, c)`` and ``b(P, c)`` of the generic mode system.

Signature: ``f(P, c) -> float`` with ``P = eᵀKe`` (drift-basis form ``Σ κ_i D_i``) and ``c`` a float64
parameter array. They are numba-compiled so the integrators call them with no Python overhead; the
derivation engine (``hdlimits.derivation``) generates more of them with the same signature.
"""
import numba as nb


@nb.njit(cache=True, nogil=True)
def one(P, c):
    """a(P) = 1 (SGD: the drift is not reshaped)."""
    return 1.0


@nb.njit(cache=True, nogil=True)
def residual_second_moment(P, c):
    """b(P) = E[r²] = P + E[ε²]  (SGD; ``c[0] = E[ε²]``)."""
    return P + c[0]


@nb.njit(cache=True, nogil=True)
def zero(P, c):
    """h(P) = 0: the default state-dependent finite-d coefficient (none)."""
    return 0.0
