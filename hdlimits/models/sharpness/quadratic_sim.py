"""Monte Carlo of GD, SGD and SAM on the wide second-order model (docs/sharpness_quadratic.md §7).

Each Q draw (D × P × P, float64) is shared by all batch sequences ("runs") of that draw and — with
``paired=True`` — by every optimizer simulated with the same seed, so that differences between
optimizers are common-Q paired differences. One step costs O(D P²) per run; the runs of a draw are
advanced together with one BLAS matrix product ``Q_(DP × P) · Δθ_(P × runs)``. ``lr`` is η itself; time
is the step count. Seeds: a ``SeedSequence`` per draw (Q) and per run (batches), spawned from ``seed``.

Standard errors treat the draws as the independent replicates: ``runs_of(name)`` holds the per-draw
means over the runs (draws × steps), ``stderr(name)`` their standard error and ``runs`` their count
(with one draw, the runs of that draw are the replicates — the error then excludes the Q spread).
With ``antithetic=True`` the draws come in pairs (Q, −Q) with the same batches, and a pair is one
replicate: the terms odd in Q, which carry the O(σ/√P) draw-to-draw spread, cancel.
"""
from __future__ import annotations

import zlib

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.status import Status
from hdlimits.models.sharpness import api
from hdlimits.models.sharpness.mean_ntk import check_sampling, optimizer_setting, predict_quadratic
from hdlimits.models.sharpness.quadratic import QuadraticModel, draw_q
from hdlimits.models.sharpness.results import SharpnessSimulation

__all__ = ["simulate_quadratic", "simulate_paired", "paired_difference", "step", "q_apply",
           "DIVERGENCE_RESIDUAL"]

#: a run has diverged once max_i |z_i| exceeds this
DIVERGENCE_RESIDUAL = 1e6
_SCALARS = ("loss", "sharpness", "min_ntk_eigenvalue", "param_norm")


def _batch_weights(rng, D, batch, sampling, n):
    """n rows of P̃'s diagonal, (D/B)·(batch indicator), for the sampling scheme."""
    if batch is None:
        return np.ones((n, D))
    if sampling == "without_replacement":
        idx = np.argsort(rng.random((n, D)), axis=1)[:, :batch]
        w = np.zeros((n, D))
        np.put_along_axis(w, idx, D / batch, axis=1)
        return w
    if sampling == "with_replacement":
        counts = np.stack([np.bincount(rng.integers(0, D, batch), minlength=D) for _ in range(n)])
        return counts * (D / batch)
    return (rng.random((n, D)) < batch / D) * (D / batch)


def q_apply(Q: np.ndarray):
    """``d ↦ Q(d, ·)`` for a batch of vectors d (R × P) → R × D × P, by one BLAS product."""
    D, P = Q.shape[0], Q.shape[1]
    Q2 = Q.reshape(D * P, P)

    def qd(d):
        return (Q2 @ d.T).reshape(D, P, d.shape[0]).transpose(2, 0, 1)
    return qd


def step(z, J, qd, eta, w, rho=0.0, normalized=False):
    """One GD / SGD / SAM step of the second-order model for R runs at once, exact (Q is constant):
    with Δθ, ``z' = z + JΔθ + ½Q(Δθ, Δθ)`` and ``J' = J + Q(Δθ, ·)`` (docs/sharpness_quadratic.md §2).

    ``z`` R × D, ``J`` R × D × P, ``qd = q_apply(Q)``, ``w`` R × D the diagonal of P̃ (ones: full batch).
    SAM ascends to θ̃ = θ + ρg (or ρg/‖g‖) with the same batch and steps with g(θ̃). Returns (z', J', Δθ).
    """
    g = np.einsum("rdp,rd->rp", J, w * z)
    if rho > 0:
        if normalized:
            nrm = np.linalg.norm(g, axis=1, keepdims=True)
            d = rho * g / np.where(nrm > 0, nrm, 1.0)
        else:
            d = rho * g
        Qd = qd(d)
        zt = z + np.einsum("rdp,rp->rd", J, d) + 0.5 * np.einsum("rdp,rp->rd", Qd, d)
        g = np.einsum("rdp,rd->rp", J + Qd, w * zt)
    dth = -eta * g
    dth[~np.any(w != 0, axis=1)] = 0.0
    Qd = qd(dth)
    z = z + np.einsum("rdp,rp->rd", J, dth) + 0.5 * np.einsum("rdp,rp->rd", Qd, dth)
    return z, J + Qd, dth


def _run_draw(model, Q, J0, setting, steps, rngs, sampling):
    """All runs of one Q draw for one optimizer: arrays runs × (steps+1) [× D]."""
    eta, batch, rho, normalized = setting
    D, P = model.D, model.P
    R = len(rngs)
    qd = q_apply(Q)

    z = np.tile(model.residual0, (R, 1))
    J = np.tile(J0, (R, 1, 1))
    theta = np.zeros((R, P))
    eig = np.full((R, steps + 1, D), np.inf)
    loss = np.full((R, steps + 1), np.inf)
    pnorm = np.full((R, steps + 1), np.inf)
    alive = np.ones(R, dtype=bool)
    died = np.full(R, -1)

    def record(t):
        th = np.einsum("rdp,rep->rde", J[alive], J[alive])
        eig[alive, t] = np.linalg.eigvalsh(th)
        loss[alive, t] = 0.5 * np.sum(z[alive] ** 2, axis=1)
        pnorm[alive, t] = np.sum(theta[alive] ** 2, axis=1)

    record(0)
    for t in range(steps):
        w = np.stack([_batch_weights(rng, D, batch, sampling, 1)[0] for rng in rngs])
        w[~alive] = 0.0
        z, J, dth = step(z, J, qd, eta, w, rho, normalized)
        theta += dth
        with np.errstate(invalid="ignore"):
            bad = alive & ~(np.max(np.abs(z), axis=1) <= DIVERGENCE_RESIDUAL)
        died[bad] = t + 1
        alive &= ~bad
        z[~alive] = 0.0
        J[~alive] = 0.0
        if np.any(alive):
            record(t + 1)
    return {"ntk_eigenvalues": eig, "loss": loss, "param_norm": pnorm, "died": died}


def simulate_paired(model: QuadraticModel, optimizers, steps, draws=8, runs=16, seed=0,
                    sampling="without_replacement", paired=True, antithetic=False) -> list:
    """Simulate several optimizers on common Q draws (and common batch seeds); one result each."""
    if not isinstance(model, QuadraticModel):
        raise ValueError(f"model must be a QuadraticModel, got {type(model).__name__}")
    steps = v.integer("steps", steps, low=0)
    draws = v.integer("draws", draws, low=1)
    runs = v.integer("runs", runs, low=1)
    check_sampling(sampling)
    if antithetic and draws % 2:
        raise ValueError(f"draws must be even with antithetic=True (pairs Q, −Q), got {draws}")
    root = v.seed("seed", seed)
    settings = [optimizer_setting(model, opt) for opt in optimizers]
    roots = []
    for opt in optimizers:
        if paired:
            roots.append(root)
        else:      # independent draws per optimizer, still repeatable from the seed
            key = zlib.crc32(opt.describe().encode())
            roots.append(np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (key,)))
    n_units = draws // 2 if antithetic else draws
    J0 = model.J0
    raw = [[] for _ in optimizers]
    for k in range(draws):
        unit, sign = (k // 2, (1.0 if k % 2 == 0 else -1.0)) if antithetic else (k, 1.0)
        Q = None
        for j, (opt, setting) in enumerate(zip(optimizers, settings)):
            q_ss, b_ss = np.random.SeedSequence(roots[j].entropy,
                                                spawn_key=tuple(roots[j].spawn_key) + (unit,)).spawn(2)
            if Q is None or not paired:
                Q = draw_q(model.D, model.P, model.sigma2, np.random.default_rng(q_ss))
                if sign < 0:
                    Q *= -1.0
            deterministic = setting[1] is None
            n_runs = 1 if deterministic else runs
            rngs = [np.random.default_rng(s) for s in b_ss.spawn(n_runs)]
            raw[j].append(_run_draw(model, Q, J0, setting, steps, rngs, sampling))
        del Q
    return [_result(model, opt, steps, raw[j], draws, runs, n_units, antithetic, root, sampling)
            for j, opt in enumerate(optimizers)]


def _result(model, opt, steps, per_draw, draws, runs, n_units, antithetic, root, sampling):
    per_draw_obs = []
    for d in per_draw:
        eig = d["ntk_eigenvalues"]
        per_draw_obs.append({"ntk_eigenvalues": eig, "sharpness": eig[..., -1],
                             "min_ntk_eigenvalue": eig[..., 0], "loss": d["loss"],
                             "param_norm": d["param_norm"]})
    names = ("ntk_eigenvalues",) + _SCALARS
    died = np.concatenate([d["died"] for d in per_draw])
    if n_units >= 2:
        units = {}
        for name in names:
            m = np.stack([o[name].mean(axis=0) for o in per_draw_obs])      # draws × steps [× D]
            if antithetic:
                m = 0.5 * (m[0::2] + m[1::2])
            units[name] = m
        n_rep = n_units
    else:
        units = {name: per_draw_obs[0][name] for name in names}
        n_rep = units["loss"].shape[0]
    means = {name: units[name].mean(axis=0) for name in names}
    if n_rep >= 2:
        with np.errstate(invalid="ignore"):
            se = {name: units[name].std(axis=0, ddof=1) / np.sqrt(n_rep) for name in names}
    else:
        se = {name: np.full_like(means[name], np.nan) for name in names}
    n_traj = died.size
    status = Status.ok()
    if np.any(died >= 0):
        k = int(died[died >= 0].min())
        status = Status.diverged(float(k), f"{int(np.sum(died >= 0))} of {n_traj} runs")
    info = {"draws": draws, "runs_per_draw": per_draw[0]["loss"].shape[0], "runs_requested": runs,
            "replicates": n_rep, "antithetic": bool(antithetic), "sampling": sampling, "P": model.P,
            "seed_entropy": root.entropy, "seed_spawn_key": list(root.spawn_key)}
    seed = root.entropy
    return SharpnessSimulation(np.arange(steps + 1, dtype=np.float64), observables=means,
                               runs_data=units, stderrs=se, runs=n_rep, seed=seed, status=status,
                               data="wide-ensemble", problem=model, optimizer=opt, info=info,
                               diverged_runs=int(np.sum(died >= 0)),
                               state={"trajectories": {n: np.concatenate([o[n] for o in per_draw_obs])
                                                       for n in _SCALARS}})


def simulate_quadratic(model: QuadraticModel, optimizer, steps, draws=8, runs=16, seed=0,
                       sampling="without_replacement", paired=True, antithetic=False):
    """Monte Carlo of ``optimizer`` (GD, SGD or SAM; η = ``lr``) on ``model`` for ``steps`` steps:
    ``draws`` Q draws × ``runs`` batch sequences (one run per draw for full-batch optimizers, which are
    deterministic given Q). ``paired=True``: the Q draws and batch seeds depend only on ``seed``, so
    two calls with the same seed are common-Q paired (see :func:`paired_difference`).
    Observables (means): ``loss``, ``sharpness`` (mean of λ_max(J_tJ_tᵀ)), ``min_ntk_eigenvalue``,
    ``ntk_eigenvalues`` (ascending), ``param_norm`` (‖θ_t‖²)."""
    return simulate_paired(model, [optimizer], steps, draws, runs, seed, sampling, paired, antithetic)[0]


def paired_difference(model: QuadraticModel, optimizer_a, optimizer_b, steps, draws=8, runs=16,
                      seed=0, sampling="without_replacement", antithetic=False):
    """Common-Q paired difference a − b of every observable, theory and Monte Carlo.

    Returns ``(theory, sim)``: ``theory`` is a dict of predicted differences (or None when a theory is
    not available for one of the two), ``sim`` a SharpnessSimulation whose ``runs_of`` are the per-draw
    differences and whose ``stderr`` is their standard error."""
    from hdlimits.core.errors import LimitNotAvailable
    sa, sb = simulate_paired(model, [optimizer_a, optimizer_b], steps, draws, runs, seed, sampling,
                             paired=True, antithetic=antithetic)
    names = ("ntk_eigenvalues",) + _SCALARS
    units = {n: sa.runs_of(n) - sb.runs_of(n) for n in names}
    n = sa.runs
    means = {k: u.mean(axis=0) for k, u in units.items()}
    with np.errstate(invalid="ignore"):
        se = {k: (u.std(axis=0, ddof=1) / np.sqrt(n) if n >= 2 else np.full_like(means[k], np.nan))
              for k, u in units.items()}
    sim = SharpnessSimulation(sa.t, observables=means, runs_data=units, stderrs=se, runs=n, seed=sa.seed,
                              status=sa.status if sa.status != "ok" else sb.status, problem=model,
                              optimizer=f"{optimizer_a.describe()} − {optimizer_b.describe()}",
                              info=dict(sa.info, paired=True))
    try:
        ta = predict_quadratic(model, optimizer_a, steps, sampling=sampling)
        tb = predict_quadratic(model, optimizer_b, steps, sampling=sampling)
        theory = {k: ta[k] - tb[k] for k in names}
    except LimitNotAvailable:
        theory = None
    return theory, sim


api.register(QuadraticModel, predict=predict_quadratic, simulate=simulate_quadratic)
