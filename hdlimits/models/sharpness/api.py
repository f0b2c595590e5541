"""The sharpness family's front doors: ``hs.predict`` and ``hs.simulate`` dispatch on the model's type
through tables that each model module fills with :func:`register` (docs/architecture.md §3).

Conventions (docs/conventions.md §9): ``lr`` is the step η itself and time is the step count.
"""
from __future__ import annotations

__all__ = ["register", "predict", "simulate"]

_PREDICT: dict = {}
_SIMULATE: dict = {}


def register(model_type: type, predict=None, simulate=None) -> None:
    """Register ``predict(model, optimizer, steps, **options)`` and/or
    ``simulate(model, optimizer, steps, **options)`` for ``model_type``."""
    if predict is not None:
        _PREDICT[model_type] = predict
    if simulate is not None:
        _SIMULATE[model_type] = simulate


def _lookup(table, model, what):
    for cls in type(model).__mro__:
        if cls in table:
            return table[cls]
    known = ", ".join(sorted(c.__name__ for c in table)) or "none yet"
    raise ValueError(f"model must be a sharpness model ({known}) for {what}, got {type(model).__name__}")


def predict(model, optimizer, steps, **options):
    """The theory of ``optimizer`` on ``model`` for ``steps`` steps (η = ``optimizer.lr``; time = step
    count). Raises :class:`~hdlimits.core.errors.LimitNotAvailable` for a pair without a theory."""
    return _lookup(_PREDICT, model, "predict")(model, optimizer, steps, **options)


def simulate(model, optimizer, steps, **options):
    """Monte Carlo of ``optimizer`` on ``model`` for ``steps`` steps (η = ``optimizer.lr``)."""
    return _lookup(_SIMULATE, model, "simulate")(model, optimizer, steps, **options)

