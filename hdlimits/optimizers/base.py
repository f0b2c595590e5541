"""What every optimizer shares: the base class and the learning-rate check.

Optimizers are frozen, validated dataclasses that describe an update rule and nothing else
(docs/conventions.md §3–§4): ``θ ← θ − (γ(t)/d)·u`` with ``u`` the optimizer's direction. What the rule
means for a model — its limiting equations and its simulator kernel — lives with the model family and is
found through the tables of :mod:`hdlimits.reductions`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hdlimits.core import validation as v
from hdlimits.core.schedules import Schedule, describe_lr

__all__ = ["Optimizer", "check_lr", "describe_lr"]


@dataclass(frozen=True)
class Optimizer:
    """Base class of the optimizers: ``describe()`` prints the class and its fields, with a readable
    learning rate (see :func:`describe_lr`)."""

    def describe(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            if not f.repr:
                continue
            val = getattr(self, f.name)
            parts.append(f"{f.name}={describe_lr(val) if f.name == 'lr' else _value(val)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __str__(self) -> str:
        return self.describe()


def _value(x) -> str:
    if callable(x) and not isinstance(x, Schedule) and not hasattr(x, "__dataclass_fields__"):
        return describe_lr(x)
    return str(x)


def check_lr(lr, name: str = "lr"):
    """A learning rate: a positive number, a Schedule, any callable ``t -> γ``, or a learning-rate tuner
    (:mod:`hdlimits.optimizers.tuners`)."""
    from hdlimits.optimizers.tuners import Tuner
    if isinstance(lr, (Schedule, Tuner)) or callable(lr):
        return lr
    return v.positive(name, lr)
