"""The proportional random ensemble of the second-order regression model, E-prop (Agarwala, Pedregosa,
Pennington, arXiv 2210.04860; docs/sharpness_second_order.md §4).

    z(θ) = z₀ + J₀θ + ½Q(θ, θ),   (J₀)_ip ~ N(0, 1/P),   Q_i = Q_iᵀ with (Q_i)_pq ~ N(0, ε²/(PD))
    (p ≠ q) and N(0, 2ε²/(PD)) on the diagonal,   z₀ = −y,  y_i ~ N(0, 1),  θ₀ = 0,

so Θ₀ = J₀J₀ᵀ follows Marchenko–Pastur(α = D/P) with tr Θ₀ ≈ D, and E_Q[Q(a,·)Q(b,·)ᵀ] =
ε²(1 + 1/P)(a·b)/D · I: ε sets the nonlinearity. Sum loss L = ½‖z‖²; ``lr`` is η itself.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v

__all__ = ["ProportionalModel"]


class ProportionalModel:
    """One realisation of E-prop; build it with ``hs.QuadraticModel.proportional(D, P, eps, seed)``.

    Attributes: ``D``, ``P``, ``eps`` (ε), ``seed``; ``J0`` (D × P), ``Q`` (D × P × P float64, 8·D·P²
    bytes), ``residual0`` (z₀ = −y), drawn from ``seed`` (three spawned children: J₀, Q, y)."""

    def __init__(self, D, P, eps=1.0, seed=0):
        self.D = v.integer("D", D, low=1)
        self.P = v.integer("P", P, low=1)
        self.eps = v.nonnegative("eps", eps)
        self.seed = v.seed("seed", seed)
        v.memory("P", self.P, float(self.D) * self.P * self.P + 4.0 * self.P * self.P,
                 f"Q (D×P×P = {self.D}×{self.P}×{self.P} float64)")
        key = tuple(self.seed.spawn_key)
        ss = [np.random.SeedSequence(self.seed.entropy, spawn_key=key + (k,)) for k in range(3)]
        self.J0 = np.random.default_rng(ss[0]).standard_normal((self.D, self.P)) / np.sqrt(self.P)
        rng = np.random.default_rng(ss[1])
        Q = np.empty((self.D, self.P, self.P))
        scale = self.eps / np.sqrt(2.0 * self.P * self.D)
        for i in range(self.D):
            g = rng.standard_normal((self.P, self.P))
            np.add(g, g.T, out=Q[i])
            Q[i] *= scale
        self.Q = Q
        self.residual0 = -np.random.default_rng(ss[2]).standard_normal(self.D)

    @property
    def alpha(self) -> float:
        """α = D/P."""
        return self.D / self.P

    def ntk(self, J=None) -> np.ndarray:
        J = self.J0 if J is None else J
        return J @ J.T

    def describe(self) -> str:
        return f"QuadraticModel.proportional(D={self.D}, P={self.P}, eps={self.eps:g})"

    __str__ = describe
    __repr__ = describe
