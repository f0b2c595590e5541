"""θ-space Monte Carlo of GD, SGD, SAM (normalised or not) and tuned GD on the proportional second-order
model (docs/sharpness_second_order.md §4–§5; Agarwala, Pedregosa, Pennington, arXiv 2210.04860).

Exact step identities (Q is constant, nothing is truncated): for any step Δθ,

    z' = z + JΔθ + ½Q(Δθ, Δθ),   J' = J + Q(Δθ, ·),

with Q(d, ·) = Σ_q Q_{ipq} d_q (one pass over the D×P×P tensor, O(DP²)). GD: Δθ = −ηJᵀz; SGD:
Δθ = −ηJᵀP̃z (P̃ = (D/B)·batch indicator, batches without replacement); SAM: the gradient at
θ + ρg (or ρg/‖g‖). A tuned GD step costs one contraction too: with Qg = Q(g, ·), the curvature along g is
gᵀHg = ‖Jg‖² + zᵀQg·g, the trial loss f(θ − ηg) = ½‖z − ηJg + ½η²Qg·g‖² and J' = J − ηQg.
Observables every ``every`` steps (and at the last): ``loss`` ½‖z‖², ``sharpness`` λ_max(JJᵀ) by
``eigvalsh``, ``hessian_sharpness`` λ_max(H), H = JᵀJ + Σ_i z_iQ_i, by Lanczos (``eigsh`` on the
Hessian–vector product), ``trace`` tr Θ = ‖J‖²_F (trace identity: tr Θ_t ≈ tr Θ₀ + ε²(1 + 1/P)‖θ_t‖²),
``param_norm`` ‖θ_t‖², ``lr`` the step used at that step (the tuner's choice there) and, with minibatches,
``noise_kernel_norm`` 𝒦 = (c/D)Σ_α ηλ_α/(2 − ηλ_α) of the current NTK (docs/sharpness.md).
Seeds as in the streaming simulator: ``SeedSequence(seed).spawn(runs)``, one child per run (its batches).
A run is diverged at the first step with ‖z‖_∞ > 10⁶; its later values are inf.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from hdlimits.core import validation as v
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.status import Status
from hdlimits.models.sharpness import api
from hdlimits.models.sharpness.batch_noise import check_batch
from hdlimits.models.sharpness.mean_ntk import noise_constant
from hdlimits.models.sharpness.proportional import ProportionalModel
from hdlimits.models.sharpness.quadratic_sim import _batch_weights, q_apply, step as exact_step
from hdlimits.models.sharpness.results import SharpnessSimulation
from hdlimits.models.sharpness.second_order import DIVERGENCE_RESIDUAL
from hdlimits.optimizers.tuners import Oracle, Tuner

__all__ = ["simulate_proportional", "hessian_sharpness", "tuned_gd_step", "setting"]

_NAMES = ("loss", "sharpness", "hessian_sharpness", "trace", "param_norm", "lr")
#: below this P the Hessian's top eigenvalue is taken by dense eigvalsh (Lanczos needs P ≫ 1)
DENSE_P = 24


def hessian_sharpness(z, J, Q) -> float:
    """λ_max(H) of H = JᵀJ + Σ_i z_iQ_i by Lanczos (``eigsh``, largest algebraic) on the Hessian–vector
    product v ↦ Jᵀ(Jv) + (Σ_i z_iQ_i)v (the z-weighted sum of Q formed once, O(DP²))."""
    P = J.shape[1]
    Qz = np.tensordot(z, Q, axes=(0, 0))
    if P <= DENSE_P:
        return float(np.linalg.eigvalsh(J.T @ J + Qz)[-1])
    op = LinearOperator((P, P), matvec=lambda x: J.T @ (J @ x) + Qz @ x, dtype=np.float64)
    return float(eigsh(op, k=1, which="LA", v0=np.ones(P), tol=1e-10, return_eigenvectors=False)[0])


def setting(model, optimizer):
    """(kind, η or tuner, batch or None, ρ, normalized) of hd.GD / hd.SGD / hd.SAM."""
    from hdlimits.optimizers.gd import GD
    from hdlimits.optimizers.sam import SAM
    from hdlimits.optimizers.sgd import SGD
    if isinstance(optimizer, GD):
        if isinstance(optimizer.lr, Tuner):
            return "tuned", optimizer.lr, None, 0.0, False
        return "gd", float(optimizer.lr), None, 0.0, False
    if isinstance(optimizer, SAM):
        batch = None if optimizer.batch is None else check_batch(optimizer.batch, model.D)
        return "sam", float(optimizer.lr), batch, optimizer.rho, optimizer.normalized
    if type(optimizer) is SGD:
        lr = optimizer.lr
        if callable(lr) or not isinstance(lr, (int, float, np.floating, np.integer)):
            raise ValueError(f"lr must be a constant step η > 0 for the sharpness family, got {lr!r}")
        return "sgd", v.positive("lr", lr), check_batch(optimizer.batch, model.D), 0.0, False
    raise LimitNotAvailable(f"the second-order simulator covers hd.GD (constant or tuned lr), hd.SGD and "
                            f"hd.SAM, got {type(optimizer).__name__}")


class _StepOracle(Oracle):
    """The tuner's view of one run at θ_t; ``hvp`` along u = −g and ``loss_at`` are O(D) given Qg."""

    def __init__(self, z, J, g, Jg, Qg, Qgg, Q):
        self.loss = 0.5 * float(z @ z)
        self.grad = g
        self.direction = -g
        self._z, self._J, self._Jg, self._Qg, self._Qgg, self._Q = z, J, Jg, Qg, Qgg, Q

    def hvp(self, vec):
        if vec is self.direction:
            return -(self._J.T @ self._Jg + self._Qg.T @ self._z)
        return self._J.T @ (self._J @ vec) + np.tensordot(self._z, self._Q, axes=(0, 0)) @ vec

    def loss_at(self, eta):
        r = self._z - eta * self._Jg + 0.5 * eta * eta * self._Qgg
        return 0.5 * float(r @ r)


def tuned_gd_step(z, J, qd, Q, tuner, states, alive):
    """One tuned GD step for R runs: returns (z', J', Δθ, η per run)."""
    g = np.einsum("rdp,rd->rp", J, z)
    Qg = qd(g)
    Jg = np.einsum("rdp,rp->rd", J, g)
    Qgg = np.einsum("rdp,rp->rd", Qg, g)
    eta = np.zeros(z.shape[0])
    for i in range(z.shape[0]):
        if alive[i]:
            eta[i] = tuner.step_size(_StepOracle(z[i], J[i], g[i], Jg[i], Qg[i], Qgg[i], Q), states[i])
    z = z - eta[:, None] * Jg + 0.5 * (eta ** 2)[:, None] * Qgg
    J = J - eta[:, None, None] * Qg
    return z, J, -eta[:, None] * g, eta


def simulate_proportional(model: ProportionalModel, optimizer, steps, runs=1, seed=0, every=1,
                          hessian=True) -> SharpnessSimulation:
    """Simulate ``optimizer`` on ``model`` for ``steps`` steps (module docstring). ``runs`` batch
    sequences (full-batch optimizers are deterministic: one run is computed); ``every``: record every
    k-th step (and the last); ``hessian=False`` skips the Lanczos λ_max(H)."""
    steps = v.integer("steps", steps, low=0)
    runs = v.integer("runs", runs, low=1)
    every = v.integer("every", every, low=1)
    kind, lr, batch, rho, normalized = setting(model, optimizer)
    root = v.seed("seed", seed)
    deterministic = batch is None
    R = 1 if deterministic else runs
    rngs = [np.random.default_rng(s) for s in root.spawn(R)]
    D, P, Q = model.D, model.P, model.Q
    qd = q_apply(Q)
    z = np.tile(model.residual0, (R, 1))
    J = np.tile(model.J0, (R, 1, 1))
    theta = np.zeros((R, P))
    rec = sorted(set(range(0, steps + 1, every)) | {steps})
    idx = {t: k for k, t in enumerate(rec)}
    names = _NAMES + (("noise_kernel_norm",) if batch is not None else ())
    out = {n: np.full((R, len(rec)), np.inf) for n in names}
    c_noise = 0.0 if batch is None else noise_constant(batch, D)
    alive = np.ones(R, dtype=bool)
    died = np.full(R, -1)
    states = [lr.start() for _ in range(R)] if kind == "tuned" else None
    eta_all = np.zeros((R, steps + 1))
    for t in range(steps + 1):
        if kind == "tuned":
            zn, Jn, dth, eta = tuned_gd_step(z, J, qd, Q, lr, states, alive)
        else:
            eta = np.full(R, lr)
        eta_all[:, t] = np.where(alive, eta, np.inf)
        if t in idx:
            k = idx[t]
            for i in np.flatnonzero(alive):
                Ji = J[i]
                out["loss"][i, k] = 0.5 * float(z[i] @ z[i])
                ev = np.linalg.eigvalsh(Ji @ Ji.T)
                out["sharpness"][i, k] = ev[-1]
                if batch is not None:
                    x = eta[i] * ev
                    out["noise_kernel_norm"][i, k] = (np.inf if x[-1] >= 2 else
                                                      c_noise / D * float(np.sum(x / (2.0 - x))))
                out["trace"][i, k] = float(np.sum(Ji * Ji))
                out["param_norm"][i, k] = float(theta[i] @ theta[i])
                out["lr"][i, k] = eta[i]
                if hessian:
                    out["hessian_sharpness"][i, k] = hessian_sharpness(z[i], Ji, Q)
        if t == steps:
            break
        if kind != "tuned":
            w = (np.ones((R, D)) if batch is None else
                 np.stack([_batch_weights(rng, D, batch, "without_replacement", 1)[0] for rng in rngs]))
            w[~alive] = 0.0
            zn, Jn, dth = exact_step(z, J, qd, lr, w, rho if kind == "sam" else 0.0, normalized)
        z, J = zn, Jn
        theta = theta + dth
        with np.errstate(invalid="ignore"):
            bad = alive & ~(np.max(np.abs(z), axis=1) <= DIVERGENCE_RESIDUAL)
        died[bad] = t + 1
        alive &= ~bad
        z[~alive] = 0.0
        J[~alive] = 0.0
        theta[~alive] = 0.0
    if not hessian:
        del out["hessian_sharpness"]
    means = {n: a.mean(axis=0) for n, a in out.items()}
    stderrs = {}
    if R >= 2:
        with np.errstate(invalid="ignore"):
            stderrs = {n: np.where(np.isfinite(means[n]), a.std(axis=0, ddof=1) / np.sqrt(R), np.inf)
                       for n, a in out.items()}
    ndiv = int(np.sum(died >= 0))
    status = Status.ok() if ndiv == 0 else Status.diverged(float(died[died >= 0].min()),
                                                         f"{ndiv} of {R} runs, ‖z‖∞ > 1e6")
    info = {"D": D, "P": P, "eps": model.eps, "every": every, "runs_requested": runs, "kind": kind,
            "batch": batch, "rho": rho, "normalized": normalized, "seed_entropy": root.entropy}
    return SharpnessSimulation(np.array(rec, dtype=np.float64), observables=means, runs_data=out,
                               stderrs=stderrs, runs=R, seed=root.entropy, status=status, data="E-prop",
                               problem=model, optimizer=optimizer, info=info, diverged_runs=ndiv,
                               state={"lr_all": eta_all})


api.register(ProportionalModel, simulate=simulate_proportional)
