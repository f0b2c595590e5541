"""Learning-rate tuners as ``lr`` objects of full-batch GD: ``hd.GD(lr=hd.tuners.CDAT(sigma=2.0))``
(docs/sharpness_second_order.md §5).

A tuner picks the step η_t of ``θ ← θ + η_t u_t`` (u_t = −∇f for GD) from what an :class:`Oracle` shows it
at θ_t: the loss f, the gradient g, the direction u, a Hessian–vector product ``hvp(v)`` and the loss
after a trial step ``loss_at(η) = f(θ + ηu)``. Tuners are frozen, validated descriptions; their per-run
memory (an EMA) lives in the state returned by :meth:`Tuner.start` and passed back at every step.

* :class:`CDAT` (Roulet et al., arXiv 2407.06183): η_t = σ n̄_t/d̄_t with n_t = max(−gᵀu, 0),
  d_t = |uᵀHu| + ε and EMAs n̄, d̄ (weight ``ema`` on the past; the EMA starts at the first value).
  σ = 1 is the greedy step of the local quadratic along u, σ = 2 the edge ("on edge").
* :class:`Polyak` (SPS_max; Roulet, Agarwala, Pedregosa, arXiv 2312.00209): η_t = min{(f − f*)/(c‖g‖²),
  η_max}. On a 1-D quadratic with f* = 0 it gives ηλ = 1/(2c).
* :class:`Armijo` (backtracking): the largest η ∈ {η_max·β^k} with f(θ − ηg) ≤ f(θ) − cη‖g‖². On a
  quadratic with directional curvature κ = gᵀHg/‖g‖² a step is accepted iff η ≤ 2(1 − c)/κ.

Only :mod:`hdlimits.core` is imported here (docs/architecture.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v

__all__ = ["Tuner", "Oracle", "CDAT", "Polyak", "Armijo", "is_tuner"]


class Oracle:
    """What a tuner sees at θ_t: ``loss`` f, ``grad`` g, ``direction`` u (−g for GD), ``hvp(v)`` = Hv and
    ``loss_at(eta)`` = f(θ + ηu). Models build one per step (they may compute ``hvp(direction)`` and
    ``loss_at`` cheaply); this plain version takes the callables."""

    def __init__(self, loss, grad, hvp, loss_at, direction=None):
        self.loss = float(loss)
        self.grad = np.asarray(grad, dtype=np.float64)
        self.direction = -self.grad if direction is None else np.asarray(direction, dtype=np.float64)
        self._hvp = hvp
        self._loss_at = loss_at

    def hvp(self, vec) -> np.ndarray:
        return self._hvp(vec)

    def loss_at(self, eta: float) -> float:
        return float(self._loss_at(eta))

    def curvature(self) -> float:
        """uᵀHu along the direction."""
        return float(self.direction @ self.hvp(self.direction))


@dataclass(frozen=True)
class Tuner:
    """Base class of the learning-rate tuners: ``start()`` → per-run state, ``step_size(oracle, state)``
    → η_t > 0 (and updates the state in place)."""

    def start(self) -> dict:
        return {}

    def step_size(self, oracle: Oracle, state: dict) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        from dataclasses import fields
        return f"{type(self).__name__}(" + ", ".join(f"{f.name}={getattr(self, f.name):g}" for f in fields(self)
                                                     if f.repr) + ")"

    def __str__(self) -> str:
        return self.describe()


def is_tuner(obj) -> bool:
    return isinstance(obj, Tuner)


@dataclass(frozen=True)
class CDAT(Tuner):
    """Curvature-dynamics-aware tuning (Roulet, Agarwala, Grill, Swirszcz, Blondel, Pedregosa, arXiv
    2407.06183): ``η_t = σ n̄_t/d̄_t``, ``n_t = max(−gᵀu, 0)``, ``d_t = |uᵀHu| + ε``;
    ``n̄_t = ema·n̄_{t−1} + (1 − ema)·n_t`` (the same for d̄), started at the first values (n̄₀ = n₀).
    ``sigma > 0`` (1: greedy, 2: on edge), ``ema ∈ [0, 1)`` (0: no smoothing), ``eps ≥ 0``,
    ``lr_max`` caps the step (inf: no cap)."""

    sigma: float = 2.0
    ema: float = 0.0
    eps: float = 0.0
    lr_max: float = float("inf")

    def __post_init__(self):
        object.__setattr__(self, "sigma", v.positive("sigma", self.sigma))
        object.__setattr__(self, "ema", v.real("ema", self.ema, low=0.0, high=1.0, high_open=True))
        object.__setattr__(self, "eps", v.nonnegative("eps", self.eps))
        if not (isinstance(self.lr_max, (int, float, np.floating, np.integer)) and float(self.lr_max) == float("inf")):
            object.__setattr__(self, "lr_max", v.positive("lr_max", self.lr_max))

    def step_size(self, oracle, state):
        n = max(-float(oracle.grad @ oracle.direction), 0.0)
        d = abs(oracle.curvature()) + self.eps
        if "n" not in state:
            state["n"], state["d"] = n, d
        else:
            state["n"] = self.ema * state["n"] + (1.0 - self.ema) * n
            state["d"] = self.ema * state["d"] + (1.0 - self.ema) * d
        if state["d"] <= 0.0:
            return self.lr_max if np.isfinite(self.lr_max) else 0.0
        return min(self.sigma * state["n"] / state["d"], self.lr_max)


@dataclass(frozen=True)
class Polyak(Tuner):
    """Polyak step SPS_max (arXiv 2312.00209): ``η_t = min{(f − f*)/(c‖g‖²), lr_max}``; ``c > 0``
    (½: greedy on a 1-D quadratic, ¼: its edge), ``lr_max > 0``, ``f_star`` the optimal loss (0)."""

    c: float = 0.5
    lr_max: float = 10.0
    f_star: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "c", v.positive("c", self.c))
        object.__setattr__(self, "lr_max", v.positive("lr_max", self.lr_max))
        object.__setattr__(self, "f_star", v.real("f_star", self.f_star))

    def step_size(self, oracle, state):
        g2 = float(oracle.grad @ oracle.grad)
        if g2 <= 0.0:
            return self.lr_max
        return min(max(oracle.loss - self.f_star, 0.0) / (self.c * g2), self.lr_max)


@dataclass(frozen=True)
class Armijo(Tuner):
    """Armijo backtracking (arXiv 2312.00209): the largest ``η = lr_max·backtrack^k`` (k = 0 … max_iter)
    with ``f(θ + ηu) ≤ f(θ) − cη‖g‖²``; ``c ∈ (0, 1)``, ``lr_max > 0``, ``backtrack ∈ (0, 1)``.
    If no trial is accepted the last (smallest) one is taken. ``state["trials"]`` counts the trials."""

    c: float = 1e-4
    lr_max: float = 10.0
    backtrack: float = 0.5
    max_iter: int = field(default=60)

    def __post_init__(self):
        object.__setattr__(self, "c", v.real("c", self.c, low=0.0, high=1.0, low_open=True, high_open=True))
        object.__setattr__(self, "lr_max", v.positive("lr_max", self.lr_max))
        object.__setattr__(self, "backtrack", v.real("backtrack", self.backtrack, low=0.0, high=1.0,
                                                     low_open=True, high_open=True))
        object.__setattr__(self, "max_iter", v.integer("max_iter", self.max_iter, low=1))

    def step_size(self, oracle, state):
        g2 = float(oracle.grad @ oracle.grad)
        f0 = oracle.loss
        eta = self.lr_max
        for _ in range(self.max_iter):
            state["trials"] = state.get("trials", 0) + 1
            with np.errstate(over="ignore", invalid="ignore"):
                ok = oracle.loss_at(eta) <= f0 - self.c * eta * g2
            if ok:
                return eta
            eta *= self.backtrack
        return eta
