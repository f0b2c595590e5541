"""The generic per-mode system every streaming least-squares optimizer reduces to (docs/sgd.md §6).

In the eigenbasis of the optimizer's drift matrix (eigenvalues ``κ_i``), with ``D_i = E⟨u_i, e⟩²``
(in the variable the drift acts on) and ``P = Σ m_i κ_i D_i = eᵀKe``,

    dD_i/dt = −(2 γ(t) a(P) κ_i − h γ(t)² κ_i² / d) D_i + (γ(t)² / d) b(P) w_i,

where ``a`` is the effective learning-rate factor, ``b`` the noise factor, ``w_i`` the diagonal of the
noise matrix in that basis and ``h`` the coefficient of the ``γκ_i/d`` correction, which is kept because
with ``tr K = d`` the top eigenvalues grow with d (docs/conventions.md §6). For minibatch SGD
``a = 1``, ``b = P + E ε²``, ``w_i = κ_i / B`` and ``h = 1 + 1/B``: the continuous equation is then the
per-step expected recursion with steps ``1/d`` read as a rate, and has exactly that recursion's
stability threshold and stationary point (docs/sgd.md §2–§3).

Modes carry a mass ``m_i ≥ 0`` (default 1): a mode stands for ``m_i`` eigen-directions that share ``κ_i``,
``w_i`` and the per-direction second moment ``D_i`` (each obeys the equation above), so it enters the risk
functional as ``P = Σ_i m_i κ_i D_i``. A bin of repeated eigenvalues is then one mode, and a quadrature
node of a continuous spectrum is a mode with a non-integer weight. ``d`` stays the dimension of the
problem (the ``1/d`` in the equation), independent of the number of modes (docs/integrator.md
§12).

State-dependent finite-d coefficient (docs/integrator.md §17): the term ``hγ²κ_i²D_i/d`` generalises to
``H(t, P)·κ_i²D_i/d`` with

    H = γ²·(h + s_b·b'(P) + s_h·h_f(P) + s_w·a(P)) + γ·(s_a·a(P) + s_d·b'(P)),

``h`` the constant ``curvature`` and ``(s_b, s_h, s_a, s_d, s_w, h_f)`` a :class:`StateCurvature`. For an
update ``x·ψ(r)`` on Gaussian data the exact per-step second moment gives ``s_b = 2`` (``2b'(P)`` is
``E[(ψ²)''(r)]`` by the heat equation, docs/clipping.md §10); the ``γ``-linear part carries the
``‖x‖`` fluctuation of a norm-based update (clipped and normalized SGD).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core.schedules import Schedule, evaluate
from hdlimits.core import validation as _validation

__all__ = ["ModeSystem", "StateCurvature"]


@dataclass(frozen=True)
class StateCurvature:
    """The state-dependent part of the finite-d coefficient (see the module docstring):
    ``H = γ²(constant + b_slope·b'(P) + func_weight·func(P, c) + a_weight·a(P))
    + γ(drift_a·a(P) + drift_b·b'(P))``, added to the constant ``γ²h`` (``constant`` is kept apart from
    ``ModeSystem.curvature``, which the diagnostics read as the constant-h of SGD-type systems).
    ``func``: a numba ``f(P, c)`` reading the system's ``coef_params`` (or None)."""

    b_slope: float = 0.0
    func_weight: float = 0.0
    drift_a: float = 0.0
    drift_b: float = 0.0
    a_weight: float = 0.0
    func: object = None
    constant: float = 0.0

    def __post_init__(self):
        for name in ("b_slope", "func_weight", "drift_a", "drift_b", "a_weight", "constant"):
            object.__setattr__(self, name, _validation.real(name, getattr(self, name)))
        if self.func is not None and getattr(self.func, "py_func", None) is None:
            raise ValueError(f"func must be a numba-compiled function f(P, c), got {self.func!r}")
        if self.func_weight != 0.0 and self.func is None:
            raise ValueError("func_weight ≠ 0 needs func, a numba-compiled f(P, c)")

    def args(self) -> np.ndarray:
        """The integrators' coefficient array ``(b_slope, func_weight, drift_a, drift_b, a_weight)``."""
        return np.array([self.b_slope, self.func_weight if self.func is not None else 0.0,
                         self.drift_a, self.drift_b, self.a_weight])

    def value(self, g, P, a, b, c) -> float:
        """This part of ``H`` at learning rate ``g`` and state ``P`` (plain Python; ``ModeSystem.curvature``'s
        ``γ²h`` not included)."""
        e = 1e-4 * abs(P) + 1e-300
        bs = (b(P + e, c) - b(P - e, c)) / (2 * e) if P > e else (b(P + e, c) - b(P, c)) / e
        av = a(P, c)
        x = self.constant + self.b_slope * bs + self.a_weight * av + (self.func_weight * self.func(P, c)
                                                      if self.func is not None else 0.0)
        return g * g * x + g * (self.drift_a * av + self.drift_b * bs)


@dataclass(frozen=True, eq=False)
class ModeSystem:
    """Everything the integrators need; built by :func:`hdlimits.reductions.reduce`.

    Attributes
    ----------
    kappa : (n,) drift eigenvalues κ_i ≥ 0.
    weights : (n,) noise weights w_i ≥ 0.
    D0 : (n,) initial D_i (per eigen-direction).
    d : dimension (the 1/d in the noise term and the step γ/d); not the number of modes.
    schedule : learning rate γ(t).
    a, b : numba functions ``f(P, c)``; ``coef_params`` is their ``c``.
    curvature : h, the coefficient of the ``γ²κ_i²D_i/d`` term: a float, or a numba function
        ``h(P, c)`` (then stored as ``curvature_state = StateCurvature(func_weight=1, func=h)`` and
        ``curvature = 0``).
    curvature_state : optional :class:`StateCurvature`, the state-dependent part of the coefficient;
        ``None`` keeps the constant ``h`` (the integrators then run the constant scheme bit for bit).
    noise_second_moment : E[ε²], for the risk ``½(P + E ε²)``.
    a_is_constant : True when ``a`` does not depend on P (lets the integrator skip work).
    exact_recursion : True when the per-step recursion is the exact finite-d mean (Gaussian SGD).
    param_slots, param_schedule, param_scale : optional time dependence of the coefficients: at every
        time τ the integrators set ``coef_params[param_slots] = param_scale·param_schedule(τ)`` before
        evaluating ``a`` and ``b`` (e.g. a clipping-threshold schedule).
    mass : (n,) multiplicities m_i ≥ 0 (finite, float64); ``None`` means all ones. ``P = Σ m_i κ_i D_i``.
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
    mass: np.ndarray | None = None
    curvature_state: StateCurvature | None = None

    def __post_init__(self):
        n = np.shape(self.kappa)[0] if np.ndim(self.kappa) == 1 else None
        object.__setattr__(self, "mass", _check_mass(self.mass, n))
        h = self.curvature
        if getattr(h, "py_func", None) is not None:
            if self.curvature_state is not None:
                raise ValueError("curvature is a function h(P, c) and curvature_state is set too: give "
                                 "one of them")
            object.__setattr__(self, "curvature_state", StateCurvature(func_weight=1.0, func=h))
            object.__setattr__(self, "curvature", 0.0)
        elif callable(h):
            raise ValueError(f"curvature must be a real number or a numba-compiled h(P, c), got {h!r}")
        if self.curvature_state is not None and not isinstance(self.curvature_state, StateCurvature):
            raise ValueError("curvature_state must be a hdlimits.solvers.modes.StateCurvature or None, "
                             f"got {type(self.curvature_state).__name__}")

    @property
    def curvature_constant(self) -> float:
        """The constant part of the finite-d coefficient passed to the integrators."""
        return float(self.curvature) + (self.curvature_state.constant if self.curvature_state else 0.0)

    def curvature_args(self) -> np.ndarray:
        """The integrators' state-dependent coefficient array (zeros: constant ``h``)."""
        if self.curvature_state is None:
            return np.zeros(5)
        return self.curvature_state.args()

    @property
    def n_modes(self) -> int:
        """Number of modes (array length); the dimension is ``d`` and the direction count ``Σ m_i``."""
        return self.kappa.size

    @property
    def risk_weights(self) -> np.ndarray:
        """``m_i κ_i``, the weight of ``D_i`` in ``P`` (equal to κ bit for bit when all masses are 1)."""
        return self.mass * self.kappa

    def P_of(self, D) -> np.ndarray:
        """``P = Σ_i m_i κ_i D_i`` of a state ``D`` of shape (n,) or (..., n)."""
        return np.asarray(D) @ self.risk_weights

    @property
    def P0(self) -> float:
        return float(np.dot(self.risk_weights, self.D0))

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
        g = evaluate(kind, p, t)
        P = float(np.dot(self.risk_weights, D))
        c = self.params_at(t)
        H = self.curvature * g * g
        if self.curvature_state is not None:
            H = H + self.curvature_state.value(g, P, self.a, self.b, c)
        rate = 2.0 * g * self.a(P, c) * self.kappa - H * self.kappa ** 2 / self.d
        return -rate * D + (g * g / self.d) * self.b(P, c) * self.weights


def _check_mass(mass, n) -> np.ndarray:
    """Validated multiplicities: a writable contiguous float64 array, finite and ≥ 0, one per mode."""
    if n is None:
        raise ValueError("kappa must be a 1-D array of drift eigenvalues")
    if mass is None:
        return np.ones(n)
    try:
        m = np.array(mass, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"mass must be a 1-D array of real numbers in [0, inf), got {mass!r}") from None
    if m.ndim != 1 or m.size != n:
        raise ValueError(f"mass must be a 1-D array with one entry per mode (length {n}), "
                         f"got shape {m.shape}")
    bad = ~np.isfinite(m) | (m < 0)
    if np.any(bad):
        raise ValueError(f"mass must be finite and ≥ 0 (range [0, inf)), got {float(m[bad][0])} "
                         f"at index {int(np.flatnonzero(bad)[0])}")
    return np.ascontiguousarray(m)
