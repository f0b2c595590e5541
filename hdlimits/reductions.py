"""The tables that connect (problem type, optimizer type) pairs to theory and simulation.

An optimizer is a small frozen description of an update rule (:mod:`hdlimits.optimizers`); it knows
nothing of any model. Each model family registers, for the pairs it covers,

* a **limit**: ``limit(problem, optimizer, t_max) -> system``, the limiting equations as an object a
  solver of :mod:`hdlimits.solvers` integrates (for least squares a
  :class:`~hdlimits.solvers.modes.ModeSystem`);
* a **simulator rule**: ``rule(problem, optimizer) -> SimRule``, what the Monte Carlo kernels of
  :mod:`hdlimits.sim` run.

:func:`reduce` and :func:`sim_rule` look a pair up, following both classes' method resolution order
(the most specific registered optimizer class wins, then the most specific problem class). A pair with
no limit raises :class:`~hdlimits.core.errors.LimitNotAvailable`; a registered limit raises it too when
a setting is not covered (e.g. clipped SGD with batch > 1). A family registers its entries when its
package is imported (see :mod:`hdlimits.models.least_squares`).
"""
from __future__ import annotations

from hdlimits.core.errors import LimitNotAvailable

__all__ = ["register_limit", "register_sim_rule", "register_simulator", "simulator_for", "reduce",
           "sim_rule", "has_limit", "check_pair", "LimitNotAvailable"]

_LIMITS: dict = {}
_SIM_RULES: dict = {}
_SIMULATORS: dict = {}


def register_limit(problem_type: type, optimizer_type: type, fn) -> None:
    """Register ``fn(problem, optimizer, t_max)`` as the limit of ``optimizer_type`` on ``problem_type``."""
    _LIMITS[(problem_type, optimizer_type)] = fn


def register_sim_rule(problem_type: type, optimizer_type: type, fn) -> None:
    """Register ``fn(problem, optimizer)`` as the simulator rule of the pair."""
    _SIM_RULES[(problem_type, optimizer_type)] = fn


def register_simulator(problem_type: type, fn, optimizer_type: type | None = None) -> None:
    """Register ``fn(problem, optimizer, t, **options) -> SimulationResult`` as the Monte Carlo driver of a
    problem type whose algorithm the streaming least-squares driver does not run (e.g. a matrix-valued
    GLM student); :func:`hdlimits.simulate` hands such problems to it. With ``optimizer_type`` the driver
    serves only that optimizer (and its subclasses) on the problem type, ahead of the type's own driver."""
    _SIMULATORS[problem_type if optimizer_type is None else (problem_type, optimizer_type)] = fn


def simulator_for(problem, optimizer=None):
    """The registered Monte Carlo driver of ``problem``'s type (most specific class first; a driver
    registered for the pair with ``optimizer``'s type first), or None."""
    if optimizer is not None:
        fn = _lookup(_SIMULATORS, problem, optimizer)
        if fn is not None:
            return fn
    for pt in type(problem).__mro__:
        if pt in _SIMULATORS:
            return _SIMULATORS[pt]
    return None


def _lookup(table, problem, optimizer):
    for ot in type(optimizer).__mro__:
        for pt in type(problem).__mro__:
            fn = table.get((pt, ot))
            if fn is not None:
                return fn
    return None


def check_pair(problem, optimizer) -> None:
    """ValueError naming ``problem`` or ``optimizer`` when either is not an object of a registered
    problem type or an :class:`~hdlimits.optimizers.base.Optimizer`."""
    from hdlimits.optimizers.base import Optimizer
    known = tuple({pt for pt, _ in (*_LIMITS, *_SIM_RULES)} |
                  {k for k in _SIMULATORS if isinstance(k, type)})
    if not isinstance(problem, known):
        raise ValueError(f"problem must be a hdlimits.Problem (e.g. Problem.power_law(d=500, alpha=1, "
                         f"beta=1)) or another registered problem type, got {type(problem).__name__} "
                         f"{_short(problem)}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be an optimizer object such as hdlimits.SGD(lr=0.5), got "
                         f"{type(optimizer).__name__} {_short(optimizer)}")


def _short(obj) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _names(table, problem):
    return sorted({ot.__name__ for pt, ot in table if isinstance(problem, pt)})


def has_limit(problem, optimizer) -> bool:
    """True when a limit is registered for the pair (it may still refuse a particular setting)."""
    return _lookup(_LIMITS, problem, optimizer) is not None


def reduce(problem, optimizer, t_max: float | None = None):
    """The limiting equations of ``optimizer`` on ``problem`` (a system for :mod:`hdlimits.solvers`).

    ``t_max`` is the horizon (needed to tabulate a callable learning rate). Raises
    :class:`LimitNotAvailable` when no limit is registered for the pair, or when the registered one does
    not cover this setting; ``ValueError`` for objects that are not problems or optimizers.
    """
    check_pair(problem, optimizer)
    fn = _lookup(_LIMITS, problem, optimizer)
    if fn is None:
        raise LimitNotAvailable(
            f"no limiting equation for {type(optimizer).__name__} on {type(problem).__name__}; limits "
            f"exist for {', '.join(_names(_LIMITS, problem)) or 'no optimizer'} (simulate() may still "
            "run it)")
    return fn(problem, optimizer, t_max)


def sim_rule(problem, optimizer):
    """The simulator rule (:class:`~hdlimits.sim.rules.SimRule`) of ``optimizer`` on ``problem``."""
    check_pair(problem, optimizer)
    fn = _lookup(_SIM_RULES, problem, optimizer)
    if fn is None:
        raise ValueError(f"the simulator has no rule for {type(optimizer).__name__} on "
                         f"{type(problem).__name__}; it runs {', '.join(_names(_SIM_RULES, problem))}")
    return fn(problem, optimizer)
