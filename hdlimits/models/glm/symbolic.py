"""Symbolic building blocks of the GLM models (docs/glm.md §1, §2).

* the activations as sympy functions with the derivatives the models need — :class:`relu` (derivative
  :class:`step`, with ``step(0) = 0`` so that ψ of a ReLU student vanishes at ``r = 0``), :class:`sigmoid`,
  :class:`softplus` (``log(1 + eᵗ)``, derivative ``sigmoid``);
* :func:`canonical` rewrites ``Max(0, x)`` / ``Heaviside(x)`` written by a user into them;
* :func:`label_average` integrates the per-sample label randomness out of a polynomial in the labels —
  additive noise through its moments ``μ_p = E εᵖ`` (i.i.d. over outputs), Bernoulli labels through
  ``E yᵖ = σ(r*)``;
* numba code generation through :mod:`hdlimits.derivation.codegen` (its printer, header and disk cache):
  :func:`compile_module` turns a generated source into a cached ``@njit`` function.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy import special

from hdlimits.derivation import codegen

__all__ = ["relu", "step", "sigmoid", "softplus", "canonical", "is_smooth", "kinks", "label_average",
           "moment_symbols", "to_code", "compile_module", "numpy_modules", "HEADER"]


class step(sp.Function):
    """Heaviside step with ``step(0) = 0``."""

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.Integer(1) if x > 0 else sp.Integer(0)

    def fdiff(self, argindex=1):
        return sp.DiracDelta(self.args[0])


class relu(sp.Function):
    """``max(0, x)``; derivative :class:`step`."""

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x > 0 else sp.Integer(0)

    def fdiff(self, argindex=1):
        return step(self.args[0])


class sigmoid(sp.Function):
    """``σ(x) = 1/(1 + e^{−x})``."""

    @classmethod
    def eval(cls, x):
        if x.is_Number and x.is_zero:
            return sp.Rational(1, 2)

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)


class softplus(sp.Function):
    """``log(1 + eˣ)``; derivative :class:`sigmoid`."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


_NONSMOOTH = (step, relu, sp.Heaviside, sp.Max, sp.Min, sp.Abs, sp.sign, sp.Piecewise, sp.DiracDelta)


def canonical(expr):
    """``Max(0, x)`` → ``relu(x)``, ``Heaviside(x)`` → ``step(x)``, ``log(1 + exp(x))`` → ``softplus(x)``."""
    expr = sp.sympify(expr)
    expr = expr.replace(lambda e: isinstance(e, sp.Max) and len(e.args) == 2 and sp.S.Zero in e.args,
                        lambda e: relu([a for a in e.args if a != 0][0]))
    expr = expr.replace(lambda e: isinstance(e, sp.Heaviside), lambda e: step(e.args[0]))
    w = sp.Wild("w")
    expr = expr.replace(sp.log(1 + sp.exp(w)), softplus(w))
    return expr


def is_smooth(exprs) -> bool:
    """True when no expression contains a kink or a jump (relu, step, Max, Abs, Piecewise, …)."""
    return not any(sp.sympify(e).has(*_NONSMOOTH) for e in exprs)


def kinks(exprs, r) -> np.ndarray:
    """The hyperplanes ``a·r + a0 = 0`` where the expressions are not smooth: rows ``(a_1..a_k, a0)`` from
    the arguments of relu/step. Raises ValueError for an argument that is not affine in ``r``."""
    rows = []
    for e in exprs:
        for f in sp.sympify(e).atoms(relu, step):
            arg = sp.expand(f.args[0])
            if not arg.free_symbols <= set(r) or sp.Poly(arg, *r).total_degree() > 1:
                raise ValueError(f"a kink at {arg} = 0 is not a hyperplane in r; the cubature handles kinks "
                                 "of relu/step of affine arguments only")
            row = tuple(float(arg.coeff(s)) for s in r) + (float(arg.subs({s: 0 for s in r})),)
            if row not in rows:
                rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(-1, len(r) + 1)


def moment_symbols(p_max: int):
    """``μ_1..μ_{p_max}`` with ``μ_p = E εᵖ``."""
    return tuple(sp.Symbol(f"mu_{p}", real=True) for p in range(1, p_max + 1))


def label_average(expr, eps, labels: str, label_mean=None):
    """``E_ε[expr]`` for an expression polynomial in the label randomness ``eps``.

    additive: ``ε_j`` i.i.d., ``E ∏ ε_j^{p_j} = ∏ μ_{p_j}`` (``μ_p`` from :func:`moment_symbols`);
    bernoulli: ``y ∈ {0, 1}`` with ``E yᵖ = label_mean`` (``σ(r*)``) for p ≥ 1.
    Returns (averaged expression, highest moment order used).
    """
    expr = sp.expand(sp.sympify(expr))
    if not eps:
        return expr, 0
    poly = sp.Poly(expr, *eps)
    out, p_max = sp.Integer(0), 0
    for powers, coeff in poly.terms():
        term = coeff
        for p in powers:
            if p == 0:
                continue
            if labels == "bernoulli":
                term = term * label_mean
            else:
                term = term * sp.Symbol(f"mu_{p}", real=True)
                p_max = max(p_max, p)
        out += term
    return out, p_max


# -- code generation ------------------------------------------------------------------------------

class _Printer(codegen._Printer):
    """The derivation printer plus the activations (numerically stable forms)."""

    def _print_relu(self, e):
        return f"max(0.0, {self._print(e.args[0])})"

    def _print_step(self, e):
        return f"(1.0 if ({self._print(e.args[0])}) > 0.0 else 0.0)"

    def _print_sigmoid(self, e):
        return f"_sigmoid({self._print(e.args[0])})"

    def _print_softplus(self, e):
        return f"_softplus({self._print(e.args[0])})"


HEADER = codegen._HEADER + """import numpy as np


@njit(cache=True, nogil=True)
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@njit(cache=True, nogil=True)
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


"""


def to_code(expr) -> str:
    return _Printer().doprint(expr)


def assignments(exprs, targets, indent="    "):
    """Source lines computing ``targets[i] = exprs[i]`` with common subexpressions shared."""
    subs, reduced = sp.cse([sp.sympify(e) for e in exprs], symbols=sp.numbered_symbols("x_"))
    lines = [f"{indent}{s} = {to_code(v)}\n" for s, v in subs]
    lines += [f"{indent}{t} = {to_code(e)}\n" for t, e in zip(targets, reduced)]
    return "".join(lines)


def compile_module(body: str, tag: str):
    """Load the generated module ``HEADER + body`` (which must define ``f``) through the disk cache of
    :mod:`hdlimits.derivation.codegen`; returns ``f``."""
    return codegen._load(HEADER + body, tag)


def _np_sigmoid(x):
    return special.expit(x)


def _np_softplus(x):
    return np.logaddexp(0.0, x)


def _np_relu(x):
    return np.maximum(x, 0.0)


def _np_step(x):
    return np.where(np.asarray(x) > 0.0, 1.0, 0.0)


def numpy_modules():
    """``sympy.lambdify`` modules for the activations (an implementation independent of the numba code)."""
    return [{"relu": _np_relu, "step": _np_step, "sigmoid": _np_sigmoid, "softplus": _np_softplus,
             "DiracDelta": lambda x: 0.0 * x}, "numpy"]


SQRT2PI = math.sqrt(2.0 * math.pi)
