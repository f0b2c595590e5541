"""Numerical solvers of limiting equations, independent of the model family that produced them.

:mod:`~hdlimits.solvers.modes` holds the scalar-forced mode system (the input type),
:mod:`~hdlimits.solvers.integrate` the exponential-collocation integrator of its continuous-time form,
:mod:`~hdlimits.solvers.recursion` its exact per-step recursion, and
:mod:`~hdlimits.solvers.specialize` the per-coefficient compiled copies (so numba's disk cache works).
See docs/integrator.md.
"""
from hdlimits.solvers.modes import ModeSystem

__all__ = ["ModeSystem"]
