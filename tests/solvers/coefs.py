"""Coefficient functions with a P-dependent drift factor, for testing the integrator's iterative path."""
import math

import numba as nb


@nb.njit(cache=True)
def a_inverse_sqrt(P, c):
    return 1.0 / math.sqrt(P + c[0])


@nb.njit(cache=True)
def b_constant(P, c):
    return c[1]
