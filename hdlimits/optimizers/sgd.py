"""SGD and fixed-preconditioner SGD: the linear update directions ``u = g`` and ``u = P g``.

Their limits (docs/sgd.md §3–§4) live in :mod:`hdlimits.models.least_squares.reductions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer, check_lr as _check_lr, describe_lr

__all__ = ["SGD", "PreconditionedSGD"]

PRECONDITIONER_NAMES = ("diag", "sqrt", "whiten")


@dataclass(frozen=True)
class SGD(Optimizer):
    """Minibatch SGD: ``u_k = g_k = (1/B) Σ_b x_b r_b``, step ``γ(t)/d``, time ``t = k/d``.

    Limit on least squares (Paquette, Paquette, Adlam, Pennington 2022, arXiv 2205.07069;
    Collins-Woodfin, Paquette, Paquette, Seroussi 2023, arXiv 2308.08977; docs/sgd.md §3), in the
    eigenbasis of K with ``D_i = E⟨u_i, e⟩²``:

        dD_i/dt = −(2γλ_i − (1+1/B)γ²λ_i²/d) D_i + (γ²/(B d)) λ_i (eᵀKe + E ε²).

    ``lr`` is a number, a schedule from :mod:`hdlimits.schedules` or any callable ``t -> γ``.
    """

    lr: object
    batch: int = 1
    name: str = field(default="sgd", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))

    def describe(self) -> str:
        return f"SGD(lr={describe_lr(self.lr)}, batch={self.batch})"


@dataclass(frozen=True, eq=False)
class PreconditionedSGD(SGD):
    """SGD with a fixed SPD preconditioner ``P``: ``u_k = P g_k``.

    ``preconditioner``: an SPD matrix, a positive vector (diagonal ``P``), ``"diag"``
    (``diag(K)^{-1}``), ``"sqrt"`` (``K^{-1/2}``), ``"whiten"`` (``K^{-1}``), or None (``P = I``).

    ``output``: on GLM and multi-index problems (docs/glm.md §4), the output (layer-wise, Kronecker)
    factor ``Q_out`` of the update ``X ← X − (γ/d)·P·x·ψᵀ·Q_out``: None (identity), an SPD m×m matrix,
    or a callable ``B -> (m, m) array`` of the overlaps ``B = WᵀKW`` (e.g. a Gauss–Newton factor
    evaluated along the trajectory). Least squares (a vector iterate) takes no output factor.

    Limit: with ``e = P^{1/2} u`` the recursion is exactly SGD on data ``P^{1/2}x ~ N(0, K̃)``,
    ``K̃ = P^{1/2} K P^{1/2}``, so the SGD limit applies with ``κ_i = eig(K̃)`` and
    ``D_i = E⟨v_i, P^{-1/2}e⟩²`` (docs/sgd.md §4). ``"whiten"`` gives ``K̃ = I``: the law of SGD on
    isotropic data, at every d.
    """

    preconditioner: object = None
    output: object = None
    name: str = field(default="precond", init=False, repr=False)

    def __init__(self, lr, preconditioner=None, batch=1, output=None):
        object.__setattr__(self, "lr", _check_lr(lr))
        object.__setattr__(self, "batch", v.integer("batch", batch, low=1))
        object.__setattr__(self, "output", _check_output(output))
        if preconditioner is None:
            p = None
        elif isinstance(preconditioner, str):
            if preconditioner not in PRECONDITIONER_NAMES:
                raise ValueError("preconditioner must be an SPD matrix, a positive vector, or one of "
                                 f"'diag', 'sqrt', 'whiten'; got {preconditioner!r}")
            p = preconditioner
        else:
            try:
                arr = np.asarray(preconditioner, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("preconditioner must be an SPD matrix, a positive vector, or one of "
                                 f"'diag', 'sqrt', 'whiten'; got {preconditioner!r}") from None
            if arr.ndim == 1:
                p = v.vector("preconditioner", arr, positive=True)
            elif arr.ndim == 2:
                p, _, _ = v.symmetric_psd("preconditioner", arr, definite=True)
                p.setflags(write=False)
            else:
                raise ValueError("preconditioner must be a matrix, a vector or a name, "
                                 f"got an array of shape {arr.shape}")
        object.__setattr__(self, "preconditioner", p)

    def describe(self) -> str:
        p = self.preconditioner
        ps = (p if isinstance(p, str) or p is None
              else f"<{'vector' if p.ndim == 1 else 'matrix'} d={p.shape[0]}>")
        out = ""
        if self.output is not None:
            q = self.output
            out = (f", output={describe_lr(q)}" if callable(q)
                   else f", output=<matrix {q.shape[0]}×{q.shape[0]}>")
        return (f"PreconditionedSGD(lr={describe_lr(self.lr)}, preconditioner={ps}, "
                f"batch={self.batch}{out})")


def _check_output(output):
    """The output factor: None, a callable ``B -> (m, m)`` or an SPD matrix (read-only copy)."""
    if output is None or callable(output):
        return output
    q, _, _ = v.symmetric_psd("output", output, definite=True)
    q.setflags(write=False)
    return q
