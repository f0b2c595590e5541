"""The per-mode block system of GLM and multi-index models (docs/glm.md §3).

Each eigenmode ``i`` of the drift matrix ``K̃ = P_in^{1/2} K P_in^{1/2}`` (eigenvalue ``λ_i``) carries a
symmetric ``k×k`` block ``V_i`` (``k = m + m*``: student indices first, then teacher indices), the
per-direction second moment of the projections ``W̃ᵀũ_i`` of the weights ``W̃ = P_in^{-1/2}[X | X*]``.
With the overlaps ``B = Σ_i m_i λ_i V_i = Wᵀ K W`` (``m_i`` the mode's multiplicity),
``Q̄ = blockdiag(Q_out, 0)`` and the coefficients ``J(B)``, ``I(B)`` of the model,

    dV_i/dt = −γλ_i (V_i J Q̄ + Q̄ᵀ Jᵀ V_i) + (γ²λ_i / (d B_s)) Q̄ᵀ I Q̄
              + (γ²λ_i² / d) Q̄ᵀ [ C(V_i) / B_s + (1 − 1/B_s) Jᵀ V_i J ] Q̄,

where ``C(V)_{ce} = Σ_{ab} V_ab C_{abce}`` with the curvature tensor
``C_{abce}(B) = E[(y_a y_b − (B⁻¹)_{ab}) ψ̃_c ψ̃_e]``, ``y = B⁻¹ r`` (``= E[∂_a∂_b(ψ̃_cψ̃_e)]`` for smooth ψ).
The first line is the d → ∞ limit (Collins-Woodfin et al. 2023); the second is the ``γλ_i/d`` correction of
the expected per-step update, kept as in the least-squares mode system (docs/conventions.md §6) — on least
squares (m = m* = 1) it is exactly the ``(1 + 1/B_s) γ²λ_i² D_i / d`` term, so both paths solve the same
equation. ``finite_d=False`` drops it. The teacher–teacher block never moves.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core.schedules import Schedule, evaluate

__all__ = ["BlockModeSystem"]


@dataclass(frozen=True, eq=False)
class BlockModeSystem:
    """Everything a block integrator needs; built by :func:`hdlimits.reductions.reduce` for GLM problems.

    Attributes
    ----------
    lam : (n,) drift eigenvalues λ_i ≥ 0.
    mass : (n,) multiplicities m_i ≥ 0 (directions a mode stands for).
    V0 : (n, k, k) symmetric initial blocks (per direction).
    m : student width (indices ``0..m-1`` of a block are the student's).
    d : dimension (the ``1/d`` of the noise and correction terms).
    schedule : learning rate γ(t).
    batch : minibatch size B_s (the gradient is the mean over the batch).
    expectations : the model's Gaussian expectations (:mod:`hdlimits.models.glm.expectations`):
        ``evaluate(B) -> (h, J, I)`` and ``curvature(B) -> C`` (k×k×k×k).
    output : ``None`` (``Q_out = I``), an (m, m) array, or a callable ``B -> (m, m) array``.
    finite_d : keep the ``γλ_i/d`` correction (default True).
    """

    lam: np.ndarray
    mass: np.ndarray
    V0: np.ndarray
    m: int
    d: int
    schedule: Schedule
    batch: int
    expectations: object
    output: object = None
    finite_d: bool = True
    label: str = field(default="")

    @property
    def k(self) -> int:
        return self.V0.shape[-1]

    @property
    def n_modes(self) -> int:
        return self.lam.size

    @property
    def risk_weights(self) -> np.ndarray:
        """``m_i λ_i``, the weight of ``V_i`` in ``B``."""
        return self.mass * self.lam

    def B_of(self, V) -> np.ndarray:
        """Overlaps ``B = Σ_i m_i λ_i V_i`` of a state (n, k, k) (or (..., n, k, k))."""
        return np.tensordot(self.risk_weights, np.asarray(V), axes=([0], [-3]))

    @property
    def B0(self) -> np.ndarray:
        return self.B_of(self.V0)

    def Qbar(self, B) -> np.ndarray:
        """``blockdiag(Q_out(B), 0)`` (k×k)."""
        k, m = self.k, self.m
        Q = np.zeros((k, k))
        if self.output is None:
            Q[:m, :m] = np.eye(m)
        elif callable(self.output):
            Q[:m, :m] = np.asarray(self.output(B), dtype=np.float64)
        else:
            Q[:m, :m] = self.output
        return Q

    def rhs(self, t: float, V: np.ndarray) -> np.ndarray:
        """The right-hand side in plain numpy, state (n, k, k) — the reference the integrators are
        checked against (and what ``solve_ivp`` runs in the bench)."""
        kind, p = self.schedule.numba_args()
        g = evaluate(kind, p, t)
        B = self.B_of(V)
        _, J, I = self.expectations.evaluate(B)
        Qb = self.Qbar(B)
        M = J @ Qb
        lam = self.lam[:, None, None]
        VM = V @ M
        out = -g * lam * (VM + np.swapaxes(VM, -1, -2))
        out += (g * g / (self.d * self.batch)) * lam * (Qb.T @ I @ Qb)
        if self.finite_d:
            C = self.expectations.curvature(B)
            CV = np.einsum("nab,abce->nce", V, C)
            corr = CV / self.batch + (1.0 - 1.0 / self.batch) * (J.T @ V @ J)
            out += (g * g / self.d) * lam ** 2 * (Qb.T @ corr @ Qb)
        return out
