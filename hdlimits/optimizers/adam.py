"""Adam and its conjectured β2 → 1 limit on streaming least squares.

Adam (Kingma & Ba, *Adam: a method for stochastic optimization*, ICLR 2015) — the conjecture closing
arXiv 2411.12135, in its β2 → 1 form: Adam behaves like diagonally preconditioned, normalised SGD,
``u = g / √(diag K·(P + E ε²))``, whose limit is signSGD's system with ``φ(P) → (P + E ε²)^{-1/2}`` and
the correlation matrix ``C`` in place of the arcsine-law matrix (docs/signsgd.md). :class:`AdamLimit` is
that idealised algorithm (its simulator normalises with the exact ``eᵀKe``); :class:`Adam` simulates real
Adam (β1, β2, ε) and is predicted by the AdamLimit equation, so ``compare`` measures the gap. At fixed
β2 < 1 the equation is biased (≈ 1–5% at β2 = 0.99, tens of % at β2 = 0.9): that is the documented limit
of validity, not a bug. Limits: :mod:`hdlimits.models.least_squares.reductions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer, check_lr as _check_lr, describe_lr

__all__ = ["Adam", "AdamLimit"]


@dataclass(frozen=True)
class AdamLimit(Optimizer):
    """The β2 → 1 Adam conjecture (end of arXiv 2411.12135; docs/signsgd.md): diagonally preconditioned,
    normalised SGD, ``u = g / √(diag K·(eᵀKe + E ε²))``, step ``γ(t)/d``.

    Limit: ``dD_j/dt = −2γ κ_j D_j/√(P + E ε²) + (γ²/d) w_jᵀD^{1/4} C D^{1/4} w_j`` with the signSGD
    basis (κ = eig(D^{-1/4}KD^{-1/4})) and the correlation matrix C as noise matrix; h = 0.
    Needs E ε² < ∞ and B = 1. Its simulator runs exactly that idealised update (the normalisation
    reads the exact current eᵀKe); use :class:`Adam` to simulate real Adam against this limit.
    """

    lr: object
    name: str = field(default="adam_limit", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))

    @property
    def batch(self) -> int:
        return 1

    def describe(self) -> str:
        return f"AdamLimit(lr={describe_lr(self.lr)})"


@dataclass(frozen=True)
class Adam(Optimizer):
    """Real Adam (Kingma & Ba 2015, bias-corrected) on streaming least squares, step ``γ(t)/d``:
    ``m ← β1 m + (1−β1) g``, ``v ← β2 v + (1−β2) g²``, ``u = m̂/(√v̂ + eps)``, ``m = v = 0`` at start.

    ``simulate`` runs this algorithm; ``limit`` is the β2 → 1 conjecture (:class:`AdamLimit`), which
    ignores β1, β2 and eps. The gap is the measured limit of validity: ≈ 1% at β2 = 0.999, a persistent
    few-% bias at β2 = 0.99 and a large one at β2 = 0.9 (docs/signsgd.md; tests/optimizers/test_sign.py).

    Parameters: ``lr`` (number, schedule or callable), ``beta1 ∈ [0, 1)``, ``beta2 ∈ [0, 1)``,
    ``eps ≥ 0``, ``batch ≥ 1`` (simulation only; the limit needs 1).
    """

    lr: object
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    batch: int = 1
    name: str = field(default="adam", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "beta1", v.real("beta1", self.beta1, low=0.0, high=1.0, high_open=True))
        object.__setattr__(self, "beta2", v.real("beta2", self.beta2, low=0.0, high=1.0, high_open=True))
        object.__setattr__(self, "eps", v.nonnegative("eps", self.eps))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))

    def describe(self) -> str:
        return (f"Adam(lr={describe_lr(self.lr)}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
                f"batch={self.batch})")
