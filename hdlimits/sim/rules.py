"""What the simulator needs to run an update rule: :class:`SimRule` (built by a model family's rule
function, see :mod:`hdlimits.reductions`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SimRule", "StatefulSimRule"]


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


@dataclass(frozen=True, eq=False)
class StatefulSimRule(SimRule):
    """A SimRule whose kernel keeps ``state`` floats per run (in ``rbuf`` after the batch slots)."""

    state: int = 0
