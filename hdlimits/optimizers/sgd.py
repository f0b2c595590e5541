"""SGD and fixed-preconditioner SGD (linear update directions ``u = g`` and ``u = P g``)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.solvers import coefficients as coef
from hdlimits.solvers.modes import ModeSystem
from hdlimits.models.least_squares.problem import Problem
from hdlimits.core.schedules import as_schedule
from hdlimits.optimizers.base import SimRule, check_lr as _check_lr

__all__ = ["SGD", "PreconditionedSGD"]


@dataclass(frozen=True)
class SGD:
    """Minibatch SGD: ``u_k = g_k``, step ``γ(t)/d``.

    Limit (Paquette, Paquette, Adlam, Pennington 2022, arXiv 2205.07069; Collins-Woodfin, Paquette,
    Paquette, Seroussi 2023, arXiv 2308.08977), in the eigenbasis of K with ``D_i = E⟨u_i, e⟩²``:

        dD_i/dt = −(2γλ_i − (1+1/B)γ²λ_i²/d) D_i + (γ²/(B d)) λ_i (eᵀKe + E ε²).

    ``lr`` is a number, a schedule from :mod:`hdlimits.core.schedules` or any callable ``t -> γ``.
    """

    lr: object
    batch: int = 1
    name: str = field(default="sgd", init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "batch", v.integer("batch", self.batch, low=1))

    # --- theory ------------------------------------------------------------------------
    def _drift(self, problem: Problem):
        """(κ, D0) of the drift matrix K in its eigenbasis."""
        c = problem.eigen_coordinates(problem.initial_error)
        return problem.eigenvalues, c * c

    def limit(self, problem: Problem, t_max: float | None = None) -> ModeSystem:
        m2 = problem.noise_second_moment
        if not np.isfinite(m2):
            raise ValueError(f"noise {problem.noise.spec()} has no finite second moment: the SGD limit "
                             "does not exist (use ClippedSGD or SignSGD for heavy tails)")
        kappa, D0 = self._drift(problem)
        B = self.batch
        return ModeSystem(kappa=np.ascontiguousarray(kappa, dtype=np.float64),
                          weights=np.ascontiguousarray(kappa / B, dtype=np.float64),
                          D0=np.ascontiguousarray(D0, dtype=np.float64), d=problem.d,
                          schedule=as_schedule(self.lr, t_max), a=coef.one,
                          b=coef.residual_second_moment, coef_params=np.array([m2]),
                          curvature=1.0 + 1.0 / B, noise_second_moment=m2, a_is_constant=True,
                          exact_recursion=True, label=self.describe())

    # --- simulation ----------------------------------------------------------------------
    def sim_rule(self, problem: Problem) -> SimRule:
        return SimRule("linear", None)

    def describe(self) -> str:
        return f"SGD(lr={self.lr}, batch={self.batch})"


@dataclass(frozen=True, eq=False)
class PreconditionedSGD(SGD):
    """SGD with a fixed SPD preconditioner ``P``: ``u_k = P g_k``.

    ``preconditioner``: an SPD matrix, a positive vector (diagonal ``P``), or ``"diag"``
    (``diag(K)^{-1}``), ``"sqrt"`` (``K^{-1/2}``), ``"whiten"`` (``K^{-1}``).

    Limit: with ``e = P^{1/2} u`` the recursion is exactly SGD on data ``P^{1/2}x ~ N(0, K̃)``,
    ``K̃ = P^{1/2} K P^{1/2}``, so the SGD limit applies with ``κ_i = eig(K̃)`` and
    ``D_i = E⟨v_i, P^{-1/2}e⟩²`` (shared/math/preconditioned.md §1, §2.5). ``"whiten"`` gives ``K̃ = I``:
    the law of SGD on isotropic data, at every d.
    """

    preconditioner: object = None
    name: str = field(default="precond", init=False, repr=False)

    def __init__(self, lr, preconditioner, batch=1):
        object.__setattr__(self, "lr", _check_lr(lr))
        object.__setattr__(self, "batch", v.integer("batch", batch, low=1))
        if isinstance(preconditioner, str):
            if preconditioner not in ("diag", "sqrt", "whiten"):
                raise ValueError("preconditioner must be an SPD matrix, a positive vector, or one of "
                                 f"'diag', 'sqrt', 'whiten'; got {preconditioner!r}")
            p = preconditioner
        else:
            arr = np.asarray(preconditioner, dtype=np.float64)
            if arr.ndim == 1:
                p = v.vector("preconditioner", arr, positive=True)
            elif arr.ndim == 2:
                p, _, _ = v.symmetric_psd("preconditioner", arr, definite=True)
                p.setflags(write=False)
            else:
                raise ValueError("preconditioner must be a matrix, a vector or a name, "
                                 f"got an array of shape {arr.shape}")
        object.__setattr__(self, "preconditioner", p)

    def _matrix(self, problem: Problem):
        """The preconditioner for this problem: ('diag', vector) or ('dense', matrix)."""
        p = self.preconditioner
        lam = problem.eigenvalues
        if isinstance(p, str):
            if p in ("sqrt", "whiten") and np.any(lam <= 0):
                raise ValueError(f"preconditioner {p!r} needs K positive definite (eigenvalues in "
                                 f"(0, inf)); smallest eigenvalue is {lam.min():.3g}")
            if p == "diag":
                dg = problem.diagonal
                if np.any(dg <= 0):
                    raise ValueError("preconditioner 'diag' needs diag(K) > 0")
                return "diag", 1.0 / dg
            power = -0.5 if p == "sqrt" else -1.0
            if problem.is_diagonal:
                return "diag", lam ** power
            return "dense", (problem.basis * lam ** power) @ problem.basis.T
        if p.ndim == 1:
            if p.size != problem.d:
                raise ValueError(f"preconditioner must have length d = {problem.d}, got {p.size}")
            return "diag", p
        if p.shape != (problem.d, problem.d):
            raise ValueError(f"preconditioner must be {problem.d}×{problem.d}, got {p.shape}")
        return "dense", p

    def _drift(self, problem: Problem):
        kind, P = self._matrix(problem)
        lam, e0 = problem.eigenvalues, problem.initial_error
        name = self.preconditioner if isinstance(self.preconditioner, str) else None
        # closed forms that avoid a d×d eigendecomposition
        if name == "whiten":
            c = problem.eigen_coordinates(e0)
            return np.ones_like(lam), lam * c * c
        if name == "sqrt":
            c = problem.eigen_coordinates(e0)
            return np.sqrt(lam), np.sqrt(lam) * c * c
        if kind == "diag" and problem.is_diagonal:
            return P * lam, e0 * e0 / P
        if kind == "diag":
            sq = np.sqrt(P)
            Kt = sq[:, None] * problem.covariance * sq[None, :]
            u0 = e0 / sq
        else:
            mu, Q = np.linalg.eigh(P)
            Ph = (Q * np.sqrt(mu)) @ Q.T
            Pmh = (Q / np.sqrt(mu)) @ Q.T
            Kt = Ph @ problem.covariance @ Ph
            u0 = Pmh @ e0
        kappa, V = np.linalg.eigh(0.5 * (Kt + Kt.T))
        kappa = np.clip(kappa, 0.0, None)
        c = V.T @ u0
        return kappa, c * c

    def sim_rule(self, problem: Problem) -> SimRule:
        kind, P = self._matrix(problem)
        return SimRule("linear", np.ascontiguousarray(P, dtype=np.float64))

    def describe(self) -> str:
        p = self.preconditioner
        ps = p if isinstance(p, str) else f"<{'vector' if p.ndim == 1 else 'matrix'} d={p.shape[0]}>"
        return f"PreconditionedSGD(lr={self.lr}, preconditioner={ps}, batch={self.batch})"
