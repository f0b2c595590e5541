"""Simulator rules of every optimizer on streaming least squares: which kernel of
:mod:`hdlimits.sim.registry` runs the update and with which constants (docs/conventions.md §4).
Registered in :mod:`hdlimits.reductions` by :func:`register`."""
from __future__ import annotations

import math

import numpy as np

from hdlimits.models.least_squares.problem import Problem
from hdlimits.models.least_squares.reductions import preconditioner_matrix
from hdlimits.optimizers import (SGD, Adam, AdamLimit, ClippedSGD, NormalizedSGD, PreconditionedSGD,
                                 RiskAdaptive, SignSGD)
from hdlimits.sim.rules import SimRule, StatefulSimRule

__all__ = ["register"]


def _batch_one(optimizer):
    if optimizer.batch != 1:
        raise ValueError(f"batch must be 1 for {type(optimizer).__name__} in the simulator (its kernel "
                         f"clips or normalises one sample's gradient); got {optimizer.batch}")


def sgd_rule(problem: Problem, optimizer: SGD) -> SimRule:
    return SimRule("linear", None)


def preconditioned_rule(problem: Problem, optimizer: PreconditionedSGD) -> SimRule:
    kind, P = preconditioner_matrix(problem, optimizer)
    return SimRule("linear", np.ascontiguousarray(P, dtype=np.float64))


def clipped_rule(problem: Problem, optimizer: ClippedSGD) -> SimRule:
    _batch_one(optimizer)
    trk = problem.trace
    clip = optimizer.clip
    if isinstance(clip, RiskAdaptive):
        m2v = problem.noise_second_moment
        if not np.isfinite(m2v):
            raise ValueError("risk_adaptive clipping needs noise with a finite second moment")
        if not problem.is_diagonal:
            raise ValueError("the simulator supports risk_adaptive clipping for diagonal K only "
                             "(it needs eᵀKe at every step)")
        return SimRule("clip", None, (1.0, clip.kappa * math.sqrt(trk), m2v))
    if callable(clip):
        def aux(t):
            vals = np.asarray(np.broadcast_to(clip(t), np.shape(t)), dtype=np.float64)
            if not np.all(np.isfinite(vals) & (vals > 0)):
                k = int(np.flatnonzero(~(np.isfinite(vals) & (vals > 0)))[0])
                raise ValueError("clip schedule must return thresholds in (0, inf); got "
                                 f"{float(np.ravel(vals)[k])!r} at t = {float(np.ravel(t)[k]):g}")
            return vals
        return SimRule("clip", None, (0.0,), aux)
    C = float(clip)
    return SimRule("clip", None, (0.0,), lambda t: np.full(np.shape(t), C))


def normalized_rule(problem: Problem, optimizer: NormalizedSGD) -> SimRule:
    _batch_one(optimizer)
    return SimRule("clip", None, (2.0,), lambda t: np.zeros(np.shape(t)))


def sign_rule(problem: Problem, optimizer: SignSGD) -> SimRule:
    params = [1.0 if optimizer.risk_scaled else 0.0]
    if optimizer.risk_scaled and not problem.is_diagonal:
        return SimRule("sign", None, np.concatenate([params, problem.covariance.ravel()]))
    return SimRule("sign", None, tuple(params))


def adam_limit_rule(problem: Problem, optimizer: AdamLimit) -> SimRule:
    m2 = problem.noise_second_moment
    if not math.isfinite(m2):
        raise ValueError(f"noise {problem.noise.spec()} has no finite second moment: AdamLimit normalises "
                         "by √(eᵀKe + E ε²), which is then infinite")
    dg = problem.diagonal
    if np.any(dg <= 0):
        raise ValueError("AdamLimit needs diag(K) > 0 (range (0, inf)); smallest diagonal entry "
                         f"is {float(dg.min()):.3g}")
    params = np.concatenate([[m2], dg])
    if not problem.is_diagonal:
        params = np.concatenate([params, problem.covariance.ravel()])
    return SimRule("normsgd", None, params)


def adam_rule(problem: Problem, optimizer: Adam) -> SimRule:
    d = problem.d
    return StatefulSimRule("adam", None, (optimizer.beta1, optimizer.beta2, optimizer.eps),
                           aux=lambda t: np.round(np.asarray(t) * d) + 1.0, state=2 * d)


def register() -> None:
    """Enter the least-squares simulator rules in :mod:`hdlimits.reductions`."""
    from hdlimits.reductions import register_sim_rule
    for opt_type, fn in ((SGD, sgd_rule), (PreconditionedSGD, preconditioned_rule),
                         (ClippedSGD, clipped_rule), (NormalizedSGD, normalized_rule),
                         (SignSGD, sign_rule), (AdamLimit, adam_limit_rule), (Adam, adam_rule)):
        register_sim_rule(Problem, opt_type, fn)
