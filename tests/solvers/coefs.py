"""Coefficient functions with a P-dependent drift factor, for testing the integrator's iterative path."""
import math

import numba as nb


@nb.njit(cache=True)
def a_inverse_sqrt(P, c):
    return 1.0 / math.sqrt(P + c[0])


@nb.njit(cache=True)
def b_constant(P, c):
    return c[1]


@nb.njit(cache=True)
def h_two(P, c):
    """A state-dependent finite-d coefficient that happens to be SGD's constant h = 2 (B = 1)."""
    return 2.0


@nb.njit(cache=True)
def h_decaying(P, c):
    """h(P) = 2P/(P + c[0]): a genuinely P-dependent finite-d coefficient."""
    return 2.0 * P / (P + c[0])
