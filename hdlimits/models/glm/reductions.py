"""The limit of SGD and fixed-preconditioner SGD on GLM problems: the block system of
:mod:`hdlimits.solvers.blocks` (docs/glm.md §3).

With ``x = P_in^{1/2}·u`` the preconditioned recursion is plain SGD on data ``P_in^{1/2}x ~ N(0, K̃)``,
``K̃ = P_in^{1/2} K P_in^{1/2}``, with weights ``W̃ = P_in^{-1/2} W``; every statistic ``WᵀKW = W̃ᵀK̃W̃`` is
unchanged. So the reduction diagonalises ``K̃`` (closed forms for the named preconditioners, no d×d
eigendecomposition), projects ``W̃`` on its eigenvectors (``c_i = W̃ᵀũ_i``) and starts each mode at
``V_i = c_i c_iᵀ``. Eigen-directions that share an eigenvalue obey the same linear equation, so they are
merged into one mode of that multiplicity whose block is their mean (whitening makes ``K̃ = I``: one
mode whatever d).
"""
from __future__ import annotations

import numpy as np

from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.schedules import as_schedule
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.least_squares.reductions import preconditioner_matrix
from hdlimits.optimizers import SGD, PreconditionedSGD
from hdlimits.solvers.blocks import BlockModeSystem

__all__ = ["drift_coordinates", "sgd_block_limit", "output_factor", "register"]


def drift_coordinates(problem: GLMProblem, optimizer) -> tuple[np.ndarray, np.ndarray]:
    """``(λ̃, C)``: the eigenvalues of ``K̃`` and the coordinates ``C = Ṽᵀ P_in^{-1/2} W`` (d × k) of the
    starting weights ``W = [X_0 | X*]`` in its eigenbasis."""
    W = problem.weights()
    lam = problem.eigenvalues
    p = getattr(optimizer, "preconditioner", None)
    if not isinstance(optimizer, PreconditionedSGD) or p is None:
        return lam, problem.eigen_coordinates(W)
    kind, P = preconditioner_matrix(problem, optimizer)
    if isinstance(p, str) and p in ("whiten", "sqrt"):
        # P = K^{-1} or K^{-1/2} shares K's eigenvectors: K̃ = K^{0} or K^{1/2}, P^{-1/2} = K^{1/2} or K^{1/4}
        c = problem.eigen_coordinates(W)
        if p == "whiten":
            return np.ones_like(lam), np.sqrt(lam)[:, None] * c
        return np.sqrt(lam), (lam ** 0.25)[:, None] * c
    if kind == "diag" and problem.is_diagonal:
        return P * lam, W / np.sqrt(P)[:, None]
    if kind == "diag":
        sq = np.sqrt(P)
        Kt = sq[:, None] * problem.covariance * sq[None, :]
        U0 = W / sq[:, None]
    else:
        mu, Q = np.linalg.eigh(P)
        Ph = (Q * np.sqrt(mu)) @ Q.T
        Pmh = (Q / np.sqrt(mu)) @ Q.T
        Kt = Ph @ problem.covariance @ Ph
        U0 = Pmh @ W
    kt, Vt = np.linalg.eigh(0.5 * (Kt + Kt.T))
    return np.clip(kt, 0.0, None), Vt.T @ U0


def merge_modes(lam: np.ndarray, C: np.ndarray):
    """``(λ, mass, V0)``: one mode per distinct eigenvalue, its block the mean of ``c_i c_iᵀ``."""
    order = np.argsort(lam, kind="stable")
    ls = lam[order]
    Cs = C[order]
    starts = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])
    counts = np.diff(np.r_[starts, ls.size])
    outer = Cs[:, :, None] * Cs[:, None, :]
    V0 = np.add.reduceat(outer, starts, axis=0) / counts[:, None, None]
    return np.ascontiguousarray(ls[starts]), counts.astype(np.float64), np.ascontiguousarray(V0)


def output_factor(problem: GLMProblem, optimizer):
    """The output factor ``Q_out`` of the optimizer checked against the student width m: None, an (m, m)
    SPD array, or a callable (checked once at the starting overlaps)."""
    q = getattr(optimizer, "output", None)
    if q is None:
        return None
    m = problem.m
    if callable(q):
        val = np.asarray(q(np.array(problem.initial_overlaps)), dtype=np.float64)
        if val.shape != (m, m) or not np.all(np.isfinite(val)):
            raise ValueError(f"output must return a finite {m}×{m} matrix (m = {m} student directions) "
                             f"at the overlaps B; at the start it returned shape {val.shape}")
        return q
    if q.shape != (m, m):
        raise ValueError(f"output must be an SPD {m}×{m} matrix (m = {m} student directions), got shape "
                         f"{q.shape}")
    return np.array(q)


def sgd_block_limit(problem: GLMProblem, optimizer: SGD, t_max=None) -> BlockModeSystem:
    """SGD and PreconditionedSGD on a GLM problem (docs/glm.md §3)."""
    if not np.isfinite(problem.noise_second_moment):
        raise LimitNotAvailable(f"noise {problem.noise.spec()} has no finite second moment: the SGD limit "
                                "of this model does not exist")
    lam, C = drift_coordinates(problem, optimizer)
    lam, mass, V0 = merge_modes(lam, C)
    return BlockModeSystem(lam=lam, mass=mass, V0=V0, m=problem.m, d=problem.d,
                           schedule=as_schedule(optimizer.lr, t_max), batch=optimizer.batch,
                           expectations=problem.model.expectations(problem.noise),
                           output=output_factor(problem, optimizer), label=optimizer.describe())


def register() -> None:
    from hdlimits.reductions import register_limit
    register_limit(GLMProblem, SGD, sgd_block_limit)
    register_limit(GLMProblem, PreconditionedSGD, sgd_block_limit)
