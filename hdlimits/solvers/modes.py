"""The generic per-mode system every streaming least-squares optimizer reduces to (docs/sgd.md §6).

In the eigenbasis of the optimizer's drift matrix (eigenvalues ``κ_i``), with ``D_i = E⟨u_i, e⟩²``
(in the variable the drift acts on) and ``P = Σ κ_i D_i = eᵀKe``,

    dD_i/dt = −(2 γ(t) a(P) κ_i − h γ(t)² κ_i² / d) D_i + (γ(t)² / d) b(P) w_i,

where ``a`` is the effective learning-rate factor, ``b`` the noise factor, ``w_i`` the diagonal of the
noise matrix in that basis and ``h`` the coefficient of the ``γκ_i/d`` correction, which is kept because
with ``tr K = d`` the top eigenvalues grow with d (docs/conventions.md §6). For minibatch SGD
``a = 1``, ``b = P + E ε²``, ``w_i = κ_i / B`` and ``h = 1 + 1/B``: the continuous equation is then the
per-step expected recursion with steps ``1/d`` read as a rate, and has exactly that recursion's
stability threshold and stationary point (docs/sgd.md §2–§3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core.schedules import Schedule

__all__ = ["ModeSystem"]


@dataclass(frozen=True, eq=False)
class ModeSystem:
    """Everything the integrators need; built by :func:`hdlimits.reductions.reduce`.

    Attributes
    ----------
    kappa : (n,) drift eigenvalues κ_i ≥ 0.
    weights : (n,) noise weights w_i ≥ 0.
    D0 : (n,) initial D_i.
    d : dimension (the 1/d in the noise term and the step γ/d).
    schedule : learning rate γ(t).
    a, b : numba functions ``f(P, c)``; ``coef_params`` is their ``c``.
    curvature : h, the coefficient of the ``γ²κ_i²D_i/d`` term.
    noise_second_moment : E[ε²], for the risk ``½(P + E ε²)``.
    a_is_constant : True when ``a`` does not depend on P (lets the integrator skip work).
    exact_recursion : True when the per-step recursion is the exact finite-d mean (Gaussian SGD).
    param_slots, param_schedule, param_scale : optional time dependence of the coefficients: at every
        time τ the integrators set ``coef_params[param_slots] = param_scale·param_schedule(τ)`` before
        evaluating ``a`` and ``b`` (e.g. a clipping-threshold schedule).
    """

    kappa: np.ndarray
    weights: np.ndarray
    D0: np.ndarray
    d: int
    schedule: Schedule
    a: object
    b: object
    coef_params: np.ndarray
    curvature: float
    noise_second_moment: float
    a_is_constant: bool = True
    exact_recursion: bool = False
    label: str = field(default="")
    param_slots: tuple = ()
    param_schedule: Schedule | None = None
    param_scale: float = 1.0

    @property
    def n_modes(self) -> int:
        return self.kappa.size

    @property
    def P0(self) -> float:
        return float(np.dot(self.kappa, self.D0))

    def risk_of(self, P):
        """Risk ``½(P + E ε²)`` (inf when E ε² is inf)."""
        return 0.5 * (np.asarray(P) + self.noise_second_moment)

    def params_at(self, t: float) -> np.ndarray:
        """The coefficient parameters in force at time ``t``."""
        if not self.param_slots:
            return self.coef_params
        c = self.coef_params.copy()
        c[list(self.param_slots)] = self.param_scale * self.param_schedule(t)
        return c

    def param_args(self):
        """``(slots, kind, params, scale)`` for the compiled integrators (slots empty: no time dependence)."""
        if not self.param_slots:
            return np.empty(0, dtype=np.int64), 0, np.zeros(1), 1.0
        kind, p = self.param_schedule.numba_args()
        return np.asarray(self.param_slots, dtype=np.int64), kind, p, float(self.param_scale)

    def rhs(self, t: float, D: np.ndarray) -> np.ndarray:
        """The right-hand side in plain numpy (for reference solvers such as ``solve_ivp``)."""
        kind, p = self.schedule.numba_args()
        from hdlimits.core.schedules import evaluate
        g = evaluate(kind, p, t)
        P = float(np.dot(self.kappa, D))
        c = self.params_at(t)
        rate = 2.0 * g * self.a(P, c) * self.kappa - self.curvature * g * g * self.kappa ** 2 / self.d
        return -rate * D + (g * g / self.d) * self.b(P, c) * self.weights
