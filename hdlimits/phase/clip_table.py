"""Tabulated reduction factors of clipped SGD for the ``clipping`` phase diagram (docs/clipping.md,
"Cost of the diagram").

Clipped SGD's limit (Marshall, Xiao, Agarwala, Paquette 2024, arXiv 2406.11733; docs/clipping.md §3)
is the mode system of :mod:`hdlimits.solvers.modes` with ``a(P) = μ_c(P) = P(|r| ≤ c)``,
``b(P) = ν_c(P) = E[min(r², c²)]`` (``r = s − ε``, ``s ~ N(0, P)``) and the finite-d coefficient
``h(P) = 2ν_c'(P)`` (docs/clipping.md §10). For Student-t noise each evaluation of ``μ_c`` or ``ν_c`` is a
quadrature over 100–240 mixing nodes (2–10 µs), and one solve evaluates them hundreds of times. The
diagram solves each (threshold, law) at several learning rates, so it tabulates the two functions once
per point instead:

* ``y = log μ_c`` and ``y = log ν_c`` as functions of ``x = log P`` on a uniform grid of spacing
  :data:`DX` over ``[P_lo, P_hi]`` (:func:`p_range`: six decades below the smallest and eight above
  the largest of ``c², P0, E ε²``), from the engine's own compiled ``a``, ``b`` (closed form or
  quadrature);
* a cubic Hermite interpolant in each, with node slopes from fourth-order finite differences (C¹, so
  the central difference the integrators take for ``h = 2b'`` is continuous in P);
* outside the grid the log-log line with the end slope (``μ ∝ P^{-1/2}``, ``ν → c²`` for large P, both
  flat as P → 0: there the functions are power laws to ``O(c²/P, E ε²/P)`` resp. ``O(P/c²)``).

The interpolation error is tested against the engine's functions (``tests/phase/test_clip_table.py``)
and the diagram's values against ``predict_risk(..., rtol=1e-10)`` (``tests/phase/test_clip_cost.py``).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hdlimits.core import validation as v

__all__ = ["DX", "p_range", "tabulate", "table_a", "table_b", "tabulated_system"]

#: grid spacing in log P
DX = 0.15
#: most intervals a table may have (its size is 8 numbers per interval)
MAX_INTERVALS = 10 ** 6
_HEAD = 3          # x0, dx, number of intervals


def p_range(c, P0, m2):
    """``(P_lo, P_hi)`` of the table of threshold ``c``, initial ``P0`` and noise second moment ``m2``: six
    decades below the smallest and eight above the largest of the scales ``c², P0, m2`` that are finite
    and > 0 (each in [0, inf]; at least one must count)."""
    vals = []
    for name, x in (("c", c), ("P0", P0), ("m2", m2)):
        if not (isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))):
            raise ValueError(f"{name} must be a real number in [0, inf], got {x!r}")
        x = float(x)
        if math.isnan(x) or x < 0:
            raise ValueError(f"{name} must lie in [0, inf], got {x!r}")
        vals.append(x)
    c, P0, m2 = vals
    scales = [x for x in (c * c, P0, m2) if math.isfinite(x) and x > 0]
    if not scales:
        raise ValueError(f"p_range needs one of c², P0, m2 finite and > 0, got c = {c!r}, P0 = {P0!r}, "
                         f"m2 = {m2!r}")
    return 1e-6 * min(scales), 1e8 * max(scales)


def tabulate(fa, fb, par, P_lo, P_hi, dx=DX) -> np.ndarray:
    """The parameter array of :func:`table_a` / :func:`table_b`: the cubic Hermite interpolants of
    ``log fa(P, par)``, ``log fb(P, par)`` in ``log P`` on ``[P_lo, P_hi]`` (``0 < P_lo < P_hi`` finite;
    spacing ``≤ dx``, ``dx > 0``, at most :data:`MAX_INTERVALS` intervals)."""
    P_lo = v.positive("P_lo", P_lo)
    P_hi = v.real("P_hi", P_hi, low=P_lo, low_open=True)
    dx = v.positive("dx", dx)
    x0, x1 = math.log(P_lo), math.log(P_hi)
    if (x1 - x0) / dx > MAX_INTERVALS:
        raise ValueError(f"dx must be ≥ {(x1 - x0) / MAX_INTERVALS:g} here (at most {MAX_INTERVALS} intervals on "
                         f"[P_lo, P_hi]), got {dx!r}")
    m = max(int(math.ceil((x1 - x0) / dx)), 4)
    h = (x1 - x0) / m
    P = np.exp(np.linspace(x0, x1, m + 1)).tolist()
    out = [np.array([x0, h, m], dtype=np.float64)]
    for f in (fa, fb):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(np.array([f(p, par) for p in P]))
        if not np.all(np.isfinite(y)):
            raise ValueError("the reduction factors must be positive and finite on the table's range of P")
        s = _slopes(y, h)
        # per interval, in s = x − x_i: y_i + s_i s + c2 s² + c3 s³ (Hermite: values and slopes at both ends)
        dy = (y[1:] - y[:-1]) / h
        c2 = (3.0 * dy - 2.0 * s[:-1] - s[1:]) / h
        c3 = (s[:-1] + s[1:] - 2.0 * dy) / (h * h)
        out.append(np.column_stack([c3, c2, s[:-1], y[:-1]]).reshape(-1))
        out.append(np.array([y[0], s[0], y[-1], s[-1]]))
    return np.concatenate(out)


def _slopes(y, h):
    """``dy/dx`` at the nodes by fourth-order finite differences (central inside, one-sided at the two
    nodes next to each end)."""
    s = np.empty_like(y)
    s[2:-2] = (y[:-4] - 8.0 * y[1:-3] + 8.0 * y[3:-1] - y[4:]) / (12.0 * h)
    s[0] = (-25.0 * y[0] + 48.0 * y[1] - 36.0 * y[2] + 16.0 * y[3] - 3.0 * y[4]) / (12.0 * h)
    s[1] = (-3.0 * y[0] - 10.0 * y[1] + 18.0 * y[2] - 6.0 * y[3] + y[4]) / (12.0 * h)
    s[-1] = (25.0 * y[-1] - 48.0 * y[-2] + 36.0 * y[-3] - 16.0 * y[-4] + 3.0 * y[-5]) / (12.0 * h)
    s[-2] = (3.0 * y[-1] + 10.0 * y[-2] - 18.0 * y[-3] + 6.0 * y[-4] - y[-5]) / (12.0 * h)
    return s


@nb.njit(cache=True, nogil=True, inline="always")
def _spline(P, cp, base):
    x0 = cp[0]
    dx = cp[1]
    m = int(cp[2])
    if P <= 0.0:
        return math.exp(cp[base + 4 * m])
    x = math.log(P)
    u = (x - x0) / dx
    if u < 0.0:
        k = base + 4 * m
        return math.exp(cp[k] + cp[k + 1] * (x - x0))
    if u >= m:
        k = base + 4 * m
        return math.exp(cp[k + 2] + cp[k + 3] * (x - x0 - m * dx))
    i = int(u)
    s = x - (x0 + i * dx)
    j = base + 4 * i
    return math.exp(((cp[j] * s + cp[j + 1]) * s + cp[j + 2]) * s + cp[j + 3])


@nb.njit(cache=True, nogil=True)
def table_a(P, cp):
    """``μ_c(P)`` from the table ``cp`` (:func:`tabulate`)."""
    return _spline(P, cp, _HEAD)


@nb.njit(cache=True, nogil=True)
def table_b(P, cp):
    """``ν_c(P)`` from the table ``cp`` (:func:`tabulate`)."""
    return _spline(P, cp, _HEAD + 4 * int(cp[2]) + 4)


def tabulated_system(system, c, dx=DX):
    """The clipped mode system ``system`` (:func:`hdlimits.reductions.reduce` of a constant residual
    threshold ``c`` > 0) with its ``a``, ``b`` replaced by tables (same curvature, modes and schedule)."""
    import dataclasses
    from hdlimits.solvers.modes import ModeSystem
    if not isinstance(system, ModeSystem):
        raise ValueError(f"system must be a ModeSystem (hdlimits.reductions.reduce of clipped SGD), got "
                         f"{type(system).__name__}")
    c = v.positive("c", c)
    if system.param_slots:
        raise ValueError("tabulated_system needs a constant threshold (no coefficient schedule)")
    lo, hi = p_range(c, system.P0, system.noise_second_moment)
    cp = tabulate(system.a, system.b, system.coef_params, lo, hi, dx)
    return dataclasses.replace(system, a=table_a, b=table_b, coef_params=cp)

