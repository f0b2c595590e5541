"""Full-batch gradient descent for the finite-dataset models of
the sharpness family (docs/sharpness_quadratic.md).

Here ``lr`` is the step η itself — ``θ ← θ − η ∇L(θ)`` on the sum loss ``L = ½‖z‖²`` — not the streaming
``γ/d`` of the least-squares family, and time is the step count. Neither optimizer has a limit on
streaming least squares: ``hd.predict_risk`` raises ``LimitNotAvailable`` for them through the tables of
:mod:`hdlimits.reductions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer

__all__ = ["GD"]


@dataclass(frozen=True)
class GD(Optimizer):
    """Full-batch gradient descent ``θ ← θ − η Jᵀz`` with a constant step ``lr = η > 0``
    (time = step count; docs/sharpness_quadratic.md §1). On the second-order model it shows
    progressive sharpening (Agarwala, Pedregosa, Pennington, arXiv 2210.04860)."""

    lr: float
    name: str = field(default="gd", init=False, repr=False)

    def __post_init__(self):
        from hdlimits.optimizers.tuners import Tuner  # a tuner object as lr (docs/sharpness_second_order.md §5)
        object.__setattr__(self, "lr", self.lr if isinstance(self.lr, Tuner) else v.positive("lr", self.lr))

    def describe(self) -> str:
        return f"GD(lr={self.lr:g})" if not hasattr(self.lr, "describe") else f"GD(lr={self.lr.describe()})"
