"""What every optimizer shares: the simulator's view of its update rule, and input checks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.schedules import Schedule


@dataclass(frozen=True)
class SimRule:
    """What the simulator needs to run an optimizer.

    kind : the key of the kernel pair in :mod:`hdlimits.sim.registry` (``"linear"`` for ``u = P g``).
    precond : None (identity), a positive vector (diagonal) or a dense SPD matrix applied to the direction.
    params : float constants handed to the kernel (e.g. a clipping threshold).
    aux : None, or a callable ``t_array -> per-step float array`` handed to the kernel next to the
        learning rates (e.g. a clipping-threshold schedule).
    """

    kind: str
    precond: np.ndarray | None = None
    params: tuple = ()
    aux: object = None


def check_lr(lr):
    """A learning rate: a positive number, a Schedule, or any callable ``t -> γ``."""
    if isinstance(lr, Schedule) or callable(lr):
        return lr
    return v.positive("lr", lr)
