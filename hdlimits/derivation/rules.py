"""Which scalar update rule ``h(r)`` an optimizer stands for, for the derivation engine.

For streaming least squares with an update ``u = x·h(r)`` the engine derives ``a(P) = E[h'(r)]`` and
``b(P) = E[h(r)²]`` (docs/derivation.md). The engine does not know optimizer classes: a model family
registers, per optimizer class, a function ``optimizer -> (h, {symbol: default})`` with :func:`register`
(the least-squares family does so for SGD, clipped and normalized SGD). A class attribute
``rule_is_static = True`` on the optimizer says that ``h`` does not depend on the instance (its numbers
enter as parameters), so derivations are memoised per class.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["register", "nonlinearity_of"]

_RULES: dict = {}


def register(optimizer_type: type, fn) -> None:
    """Register ``fn(optimizer) -> (h(r), {symbol: default value})`` for ``optimizer_type``."""
    _RULES[optimizer_type] = fn


def nonlinearity_of(optimizer):
    """``(h(r), {symbol: default value})`` for an optimizer object, or for a sympy expression in ``r``."""
    from hdlimits.derivation.engine import c, r
    if isinstance(optimizer, sp.Basic):
        free = sorted(optimizer.free_symbols - {r}, key=str)
        return optimizer, {s: (1.0 if s == c else np.nan) for s in free}
    for cls in type(optimizer).__mro__:
        fn = _RULES.get(cls)
        if fn is not None:
            return fn(optimizer)
    raise ValueError(f"derive does not know the update rule of {optimizer!r}; give h(r) as a sympy "
                     "expression in hdlimits.derivation.engine.r")
