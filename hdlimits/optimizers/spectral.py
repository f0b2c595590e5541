"""Spectral (Muon-like) SGD on a matrix parameter: steepest descent under the spectral norm, streaming.

Bernstein & Newhouse, *Old optimizer, new norm: an anthology*, arXiv 2409.20325 (docs/norms.md §4): the
steepest-descent direction of a matrix gradient under the spectral norm is ``UVᵀ`` (``G = UΣVᵀ``), the update
of Shampoo without accumulation and of Muon without momentum. On a GLM / multi-index student ``X ∈ R^{d×m}``
(docs/glm.md) with the minibatch mean gradient ``G_k = (1/B) Σ_b x_b ψ_bᵀ`` (d×m)::

    X_{k+1} = X_k − (γ(t)/d) · √d · U_k V_kᵀ,      G_k = U_k Σ_k V_kᵀ (reduced, zero singular values dropped),

time ``t = k/d`` (docs/conventions.md §3). The factor ``√d`` gives the direction ``u = √d·UVᵀ`` an
entry-wise RMS of 1 when ``G`` has rank m — the RMS of signSGD's ``sign(g)`` — so ``γ`` is on the scale of
:class:`~hdlimits.optimizers.sign.SignSGD`'s. The high-d limit (d → ∞, m, m*, B fixed) is the block system
with a state-dependent output factor and reshaped noise, built in :mod:`hdlimits.models.glm.spectral`
(docs/norms.md §4); the simulator (:mod:`hdlimits.models.glm.spectral_sim`) runs this update exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hdlimits.core import validation as v
from hdlimits.optimizers.base import Optimizer, check_lr as _check_lr, describe_lr

__all__ = ["SpectralSGD"]

_METHODS = ("svd", "newton-schulz")


@dataclass(frozen=True)
class SpectralSGD(Optimizer):
    """Spectral SGD: ``X ← X − (γ(t)/d)·√d·UVᵀ`` with ``UVᵀ`` the orthogonalised minibatch gradient.

    Parameters
    ----------
    lr : a positive number, a schedule, or a callable ``t -> γ``.
    batch : minibatch size B ≥ 1 (the gradient is the mean over the batch; with B < m it has rank B and
        ``UVᵀ`` is taken on its range).
    method : how the simulator orthogonalises: ``"svd"`` (exact) or ``"newton-schulz"`` (the cubic
        iteration of :func:`hdlimits.norms.newton_schulz`, ``ns_steps`` iterations).
    ns_steps : iterations of Newton–Schulz (≥ 1), used with ``method="newton-schulz"``.

    Only GLM / multi-index problems (a matrix student) are covered: ``hd.predict_risk`` gives the
    reduction of docs/norms.md §4, ``hd.simulate`` the real update. The limit ignores ``method``.
    """

    lr: object
    batch: int = 1
    method: str = "svd"
    ns_steps: int = 30
    name: str = field(default="spectral", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))
        if not isinstance(self.method, str) or self.method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(repr(m) for m in _METHODS)}, got "
                             f"{self.method!r}")
        object.__setattr__(self, "ns_steps", v.integer("ns_steps", self.ns_steps, low=1))

    def describe(self) -> str:
        extra = f", method='newton-schulz', ns_steps={self.ns_steps}" if self.method != "svd" else ""
        return f"SpectralSGD(lr={describe_lr(self.lr)}, batch={self.batch}{extra})"
