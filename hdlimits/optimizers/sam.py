"""Sharpness-aware minimisation (Foret et al. 2021; analysed as a dynamical eigenvalue regulariser by
Agarwala & Dauphin, arXiv 2302.08692; docs/sharpness_quadratic.md §5).

Here ``lr`` is the step η itself and time is the step count (the sharpness family's convention).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer

__all__ = ["SAM"]


@dataclass(frozen=True)
class SAM(Optimizer):
    """SAM: ascend, then descend with the gradient taken at the ascended point,

        θ̃ = θ + ρ g(θ)            (``normalized=False``),   θ̃ = θ + ρ g/‖g‖   (``normalized=True``),
        θ ← θ − η g(θ̃),

    with ``g = ∇L`` (full batch, ``batch=None``) or the minibatch gradient ``Jᵀ P̃ z`` (both gradients
    on the same batch, as in practice). ``lr = η > 0``, ``rho = ρ ≥ 0`` (ρ = 0 is gradient descent). On a
    quadratic with curvature λ the unnormalised step multiplies the error by ``1 − ηλ(1 + ρλ)``, so the
    SAM edge is ``λ_SAM = (√(1 + 8ρ/η) − 1)/(2ρ)`` (arXiv 2302.08692).
    """

    lr: float
    rho: float
    normalized: bool = False
    batch: object = None
    name: str = field(default="sam", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", v.positive("lr", self.lr))
        object.__setattr__(self, "rho", v.nonnegative("rho", self.rho))
        if not isinstance(self.normalized, bool):
            raise ValueError(f"normalized must be True or False, got {self.normalized!r}")
        if self.batch is not None:
            object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))

    def describe(self) -> str:
        extra = ", normalized=True" if self.normalized else ""
        extra += "" if self.batch is None else f", batch={self.batch}"
        return f"SAM(lr={self.lr:g}, rho={self.rho:g}{extra})"
