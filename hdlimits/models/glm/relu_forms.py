"""Closed forms of the ReLU teacher–student model (docs/glm.md §2.3).

``B = [[a, c], [c, b]]`` (student, teacher), ``cos θ = c/√(ab)``, ``θ = atan2(√(ab − c²), c) ∈ [0, π]``;
noise moments ``μ_1 = E ε``, ``μ_2 = E ε²``. The arc-cosine kernel of Cho & Saul ("Kernel methods for deep
learning", NIPS 2009) gives

    Q := E[relu(r1) relu(r2)] = √(ab) (sin θ + (π − θ) cos θ) / (2π),   E[relu(r_i)²] = B_ii / 2,
    P(r1 > 0, r2 > 0) = (π − θ)/(2π),   E[1{r1>0} relu(r2)²] = b (π − θ + sin θ cos θ)/(2π),
    E[1{r1>0} relu(r2)] = √b (1 + cos θ)/(2√(2π)),   E[relu(r_i)] = √(B_ii/(2π)).

With ``ψ = 1{r1>0}(relu(r1) − relu(r2) − ε)`` and the Stein form ``J = B⁻¹E[r ψ̃ᵀ]``:

    h  = ½(a/2 + b/2 − 2Q) − μ_1(√a − √b)/√(2π) + μ_2/2
    J11 = ½ − √(b/a) sin θ/(2π) − μ_1/√(2πa),   J21 = −(π − θ)/(2π)
    I  = a/2 − 2Q + b(π − θ + sin θ cos θ)/(2π) − 2μ_1(√(a/(2π)) − √b (1 + cos θ)/(2√(2π))) + μ_2/2

The term ``−√(b/a) sin θ/(2π)`` of ``J11`` is the jump of ψ at ``r1 = 0``: the almost-everywhere
derivative ``E[1{r1>0}] = ½`` misses it (docs/glm.md §2.3).
"""
from __future__ import annotations

import sympy as sp

from hdlimits.models.glm.wick import overlap_symbols

__all__ = ["relu_forms"]


def relu_forms():
    """``(h, J, I)`` as sympy expressions in ``B_11, B_12, B_22, mu_1, mu_2``; J is the 2×2 matrix with
    its first column ``(J11, J21)`` and I the 2×2 matrix with only ``I[0, 0]`` non-zero."""
    B = overlap_symbols(2)
    a, c, b = B[0, 0], B[0, 1], B[1, 1]
    mu1, mu2 = sp.Symbol("mu_1", real=True), sp.Symbol("mu_2", real=True)
    pi = sp.pi
    root = sp.sqrt(sp.Max(0, a * b - c ** 2))
    theta = sp.atan2(root, c)
    sin, cos = root / sp.sqrt(a * b), c / sp.sqrt(a * b)
    Q = (root + (pi - theta) * c) / (2 * pi)      # √(ab)(sin θ + (π − θ) cos θ)/(2π), finite at a = 0
    s2p = sp.sqrt(2 * pi)
    h = (a / 2 + b / 2 - 2 * Q) / 2 - mu1 * (sp.sqrt(a) - sp.sqrt(b)) / s2p + mu2 / 2
    J11 = sp.Rational(1, 2) - sp.sqrt(b / a) * sin / (2 * pi) - mu1 / sp.sqrt(2 * pi * a)
    J21 = -(pi - theta) / (2 * pi)
    I11 = (a / 2 - 2 * Q + b * (pi - theta + sin * cos) / (2 * pi)
           - 2 * mu1 * (sp.sqrt(a) / s2p - sp.sqrt(b) * (1 + cos) / (2 * s2p)) + mu2 / 2)
    J = sp.Matrix([[J11, 0], [J21, 0]])
    I = sp.Matrix([[I11, 0], [0, 0]])
    return h, J, I
