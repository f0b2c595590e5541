"""The d_x → ∞ streaming limit of linear representation learning with a moving head, and its matched
streaming Monte Carlo (docs/feature_learning.md §4).

Streaming SGD on ``X = Gᵀ ∈ R^{d×k}`` (one fresh sample per step, mean over a batch of B_s, time t = step/d):

    X ← X − (γ/d) P_in x ψᵀ Q_out,      ψ = Fᵀ(F r₁ − F* r₂ − ε),   r = (Gx, G*x) ∈ R^{2k},

a multi-index model with the linear multi-output loss ``½‖F r₁ − F* r₂ − ε‖²`` (docs/glm.md §3–§4):
``sgd``: P_in = I, Q_out = I; ``kfac``: P_in = Σ⁻¹ (population input factor), Q_out = (FᵀF)⁻¹
(Gauss–Newton output factor; Zhang et al., ICML 2025, arXiv 2502.01763: P_in = Q_G⁻¹, Q_out = P_G⁻¹).
With ``A = [F, −F*]`` and ``M = AᵀF`` the Gaussian expectations are exact:
``J = [M | 0]``, ``I = Fᵀ(A B Aᵀ + σ² I)F`` (student block), curvature ``C(V) = 2 MᵀVM``, and the
per-direction blocks ``V_i`` of ``W̃ = P_in^{-1/2}[X | X*]`` obey the block equation of docs/glm.md §3

    dV_i/dt = −γλ̃_i (V_i J Q̄ + Q̄ᵀJᵀV_i) + (γ²λ̃_i/(d B_s)) Q̄ᵀ I Q̄ + (γ²λ̃_i²/d)(1 + 1/B_s) Q̄ᵀJᵀV_iJ Q̄,

``B = Σ_i λ̃_i V_i = WᵀΣW``, ``Q̄ = blockdiag(Q_out(F), 0)``. The head F is a low-dimensional extra state:

* ``head="refit"``: instantaneous population least squares, ``F(B) = F* B₂₁ B₁₁⁻¹`` (a closed ODE in B);
* ``head="sgd"``: trained on the same stream with step γ_F/d, ``dF/dt = −γ_F (F B₁₁ − F* B₂₁)`` (its
  fluctuations are O(d^{-1/2}) and vanish);
* ``head="fixed"``: F = F₀.

Because F moves, the layer-wise output factor is state-dependent; the existing block solver takes a
callable ``Q_out(B)`` but no extra ODE state, so this module integrates (V, F) itself with
``scipy.integrate.solve_ivp`` (RK45). Observables: ``B`` and the Gram ``WᵀW = Σ_i p_i V_i`` (``p_i`` the
eigenvalues of P_in), giving the subspace distance ``√(1 − σ_min(M_G^{-1/2} G G*ᵀ)²)`` (M_G = GGᵀ), the
loss ``½ tr(A B Aᵀ) + ½ d_y σ²`` and the transfer loss ``½ tr(F_test (B₂₂ − B₂₁B₁₁⁻¹B₁₂) F_testᵀ)``.
The Monte Carlo runs in the eigenbasis of Σ with Gaussian data (exact in law); Rademacher data are not
covered by the limit here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from hdlimits.core import validation as v
from hdlimits.core.status import Status
from hdlimits.feature_learning.train import Curve, _children, blas_single_thread

__all__ = ["predict", "simulate_streaming", "LimitResult", "LIMIT_METHODS", "HEADS", "initial_point"]

LIMIT_METHODS = ("sgd", "kfac")
HEADS = ("refit", "sgd", "fixed")


def _check(method, head):
    if method not in LIMIT_METHODS:
        raise ValueError(f"method must be one of {list(LIMIT_METHODS)} for the streaming limit, got {method!r}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {list(HEADS)}, got {head!r}")


def initial_point(task, init_overlap=0.5, seed=0):
    """``(G_0, F_0)``: ``G_0 = overlap·G* + √(1 − overlap²)·R`` (task.initial_G) and its population LS head.
    A random start (overlap 0) has B₂₁ = O(d^{-1/2}): the refit head vanishes in the limit, so the limit
    needs a non-zero overlap."""
    init_overlap = v.real("init_overlap", init_overlap, low=0.0, high=1.0, low_open=True, high_open=True)
    G0 = task.initial_G(np.random.default_rng(v.seed("seed", seed)), init_overlap)
    return G0, task.population_head(G0)


@dataclass(frozen=True)
class LimitResult:
    method: str
    head: str
    t: np.ndarray
    subspace_distance: np.ndarray
    loss: np.ndarray
    transfer_loss: np.ndarray
    status: Status
    B: np.ndarray = field(repr=False)
    F: np.ndarray = field(repr=False)


def _blocks(task, method, G0):
    """Per-direction drift eigenvalues λ̃_i, Gram weights p_i and initial blocks V_i (in Σ's eigenbasis)."""
    lam = task.eigvals
    W = task.eigvecs.T @ np.concatenate([G0, task.G_star]).T        # (d, 2k), rows: directions of Σ
    if method == "sgd":
        lt, p = lam.copy(), np.ones_like(lam)
    else:                                                           # P_in = Σ⁻¹ → K̃ = I
        lt, p = np.ones_like(lam), 1.0 / lam
    Wt = W / np.sqrt(p)[:, None]                                    # W̃ = P_in^{-1/2} W
    return lt, p, np.einsum("ia,ib->iab", Wt, Wt)


def _coeffs(F, Fs, B, k, sigma2):
    A = np.concatenate([F, -Fs], axis=1)
    M = A.T @ F                                                     # (2k, k)
    I = F.T @ (A @ B @ A.T + sigma2 * np.eye(F.shape[0])) @ F
    return A, M, I


def _observables(task, B, Gram, F):
    k = task.k
    B11, B21, B22 = B[:k, :k], B[k:, :k], B[k:, k:]
    Mg, Rg = Gram[:k, :k], Gram[:k, k:]
    w, U = np.linalg.eigh(Mg)
    s = np.linalg.svd((U / np.sqrt(w)) @ U.T @ Rg, compute_uv=False)
    dist = np.sqrt(max(0.0, 1.0 - min(1.0, s[-1] ** 2)))
    A = np.concatenate([F, -task.F_star], axis=1)
    loss = 0.5 * np.trace(A @ B @ A.T) + 0.5 * task.d_y * task.noise_std ** 2
    Sch = B22 - B21 @ np.linalg.solve(B11, B21.T)
    tl = 0.5 * np.trace(task.F_test @ Sch @ task.F_test.T)
    return dist, loss, tl


def predict(task, method="kfac", t=(0.0, 1.0, 2.0, 4.0), lr=0.5, batch=1, head="refit", head_lr=1.0, G0=None,
            init_overlap=0.5, seed=0, finite_d=True, rtol=1e-7):
    """The streaming limit (module docstring) at times ``t`` (epochs: steps/d_x).

    ``G0`` (k×d_x) defaults to :func:`initial_point`; ``F_0`` is the population LS head of G0. ``lr`` is γ,
    ``head_lr`` γ_F (``head="sgd"``), ``batch`` B_s. ``finite_d=False`` drops the γλ̃/d correction.
    """
    _check(method, head)
    lr = v.positive("lr", lr)
    batch = v.integer("batch", batch, low=1)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if t.ndim != 1 or np.any(np.diff(t) < 0) or t[0] < 0:
        raise ValueError("t must be a non-decreasing 1-D array of times ≥ 0")
    if G0 is None:
        G0, F0 = initial_point(task, init_overlap, seed)
    else:
        G0 = np.asarray(G0, dtype=np.float64)
        F0 = task.population_head(G0)
    k, d, Fs, s2 = task.k, task.d_x, task.F_star, task.noise_std ** 2
    lt, p, V0 = _blocks(task, method, G0)
    nV = V0.size
    lt3 = lt[:, None, None]

    def unpack(y):
        V = y[:nV].reshape(V0.shape)
        B = np.tensordot(lt, V, axes=(0, 0))
        F = F0 if head == "fixed" else (Fs @ np.linalg.solve(B[:k, :k], B[k:, :k].T).T if head == "refit"
                                       else y[nV:].reshape(F0.shape))
        return V, B, F

    def rhs(_, y):
        V, B, F = unpack(y)
        _, M, I = _coeffs(F, Fs, B, k, s2)
        Q = np.zeros((2 * k, 2 * k))
        Q[:k, :k] = np.eye(k) if method == "sgd" else np.linalg.inv(F.T @ F)
        J = np.zeros((2 * k, 2 * k))
        J[:, :k] = M
        JQ = J @ Q
        VJQ = V @ JQ
        Ibar = np.zeros((2 * k, 2 * k))
        Ibar[:k, :k] = I
        dV = -lr * lt3 * (VJQ + np.swapaxes(VJQ, -1, -2)) + (lr * lr / (d * batch)) * lt3 * (Q.T @ Ibar @ Q)
        if finite_d:
            dV += (lr * lr / d) * (1.0 + 1.0 / batch) * lt3 ** 2 * (JQ.T @ V @ JQ)
        out = [dV.ravel()]
        if head == "sgd":
            out.append((-head_lr * (F @ B[:k, :k] - Fs @ B[k:, :k])).ravel())
        return np.concatenate(out)

    y0 = np.concatenate([V0.ravel(), F0.ravel() if head == "sgd" else np.zeros(0)])
    n = t.size
    dist, loss, tl = np.empty(n), np.empty(n), np.empty(n)
    Bs, Fs_out = np.empty((n, 2 * k, 2 * k)), np.empty((n, task.d_y, k))
    status = Status.ok()
    with np.errstate(all="ignore"):
        sol = solve_ivp(rhs, (0.0, float(t[-1])), y0, method="RK45", t_eval=t, rtol=rtol, atol=1e-12)
    if sol.status != 0 or sol.y.shape[1] != n:
        status = Status.failed(float(sol.t[-1]) if sol.t.size else 0.0, f"solve_ivp: {sol.message}")
    m = sol.y.shape[1]
    for j in range(n):
        if j >= m:
            dist[j], loss[j], tl[j] = dist[m - 1], loss[m - 1], tl[m - 1]
            continue
        V, B, F = unpack(sol.y[:, j])
        Gram = np.tensordot(p, V, axes=(0, 0))
        dist[j], loss[j], tl[j] = _observables(task, B, Gram, F)
        Bs[j], Fs_out[j] = B, F
    return LimitResult(method, head, t, dist, loss, tl, status, Bs, Fs_out)


def simulate_streaming(task, method="kfac", t=(0.0, 1.0, 2.0, 4.0), lr=0.5, batch=1, head="refit", head_lr=1.0,
                       G0=None, init_overlap=0.5, seed=0, runs=8, init_seed=0):
    """Streaming Monte Carlo of the same algorithm: ``runs`` runs (SeedSequence(seed) spawned per run),
    Gaussian data in Σ's eigenbasis, records at step ``round(t·d_x)``. Returns a dict of :class:`Curve`
    (``subspace_distance``, ``loss``, ``transfer_loss``) and ``t``. The initial point is shared by all runs
    (``G0`` or :func:`initial_point` with ``init_seed``)."""
    _check(method, head)
    lr = v.positive("lr", lr)
    batch = v.integer("batch", batch, low=1)
    runs = v.integer("runs", runs, low=1)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if G0 is None:
        G0, F0 = initial_point(task, init_overlap, init_seed)
    else:
        G0 = np.asarray(G0, dtype=np.float64)
        F0 = task.population_head(G0)
    d, Fs, sig = task.d_x, task.F_star, task.noise_std
    lam = task.eigvals
    sl = np.sqrt(lam)
    Ue = task.eigvecs
    Gs = task.G_star @ Ue                                            # teacher in the eigenbasis
    G = np.repeat((G0 @ Ue)[None], runs, axis=0)                     # (R, k, d)
    F = np.repeat(F0[None], runs, axis=0)
    pin = np.ones(d) if method == "sgd" else 1.0 / lam
    steps_out = np.rint(t * d).astype(int)
    rngs = [np.random.default_rng(s) for s in _children(seed, runs)]
    rec = {n: np.empty((runs, t.size)) for n in ("subspace_distance", "loss", "transfer_loss")}
    GsL = Gs * lam

    def head_of(G):
        B11 = (G * lam) @ np.swapaxes(G, -1, -2)
        B21 = GsL @ np.swapaxes(G, -1, -2)
        return np.swapaxes(np.linalg.solve(B11, np.swapaxes(Fs @ B21, -1, -2)), -1, -2)

    def record(j, G, F):
        B11 = (G * lam) @ np.swapaxes(G, -1, -2)
        B21 = GsL @ np.swapaxes(G, -1, -2)
        B22 = GsL @ Gs.T
        A1 = F
        # ½ E‖F G x − F* G* x‖² = ½ tr(F B11 Fᵀ − 2 F* B21 Fᵀ + F* B22 F*ᵀ)
        loss = 0.5 * (np.einsum("rij,rjl,ril->r", A1, B11, A1) - 2 * np.einsum("ij,rjl,ril->r", Fs, B21, A1)
                      + np.trace(Fs @ B22 @ Fs.T)) + 0.5 * task.d_y * sig ** 2
        Sch = B22 - B21 @ np.linalg.solve(B11, np.swapaxes(B21, -1, -2))
        tl = 0.5 * np.einsum("ij,rjl,il->r", task.F_test, Sch, task.F_test)
        rec["subspace_distance"][:, j] = task.subspace_distance(G @ Ue.T)
        rec["loss"][:, j] = loss
        rec["transfer_loss"][:, j] = tl

    step = 0
    with np.errstate(all="ignore"), blas_single_thread():
        for j, target in enumerate(steps_out):
            while step < target:
                xi = np.stack([r.standard_normal((batch, d)) for r in rngs])          # (R, b, d)
                eps = np.stack([r.standard_normal((batch, task.d_y)) for r in rngs]) * sig
                x = xi * sl
                r1 = x @ np.swapaxes(G, -1, -2)                                      # (R, b, k)
                r2 = x @ Gs.T
                e = r1 @ np.swapaxes(F, -1, -2) - r2 @ Fs.T - eps                    # (R, b, d_y)
                psi = e @ F                                                           # (R, b, k)
                if method == "kfac":
                    psi = np.linalg.solve(np.swapaxes(F, -1, -2) @ F, np.swapaxes(psi, -1, -2))
                    psi = np.swapaxes(psi, -1, -2)
                G = G - (lr / (d * batch)) * np.swapaxes(psi, -1, -2) @ (x * pin)
                if head == "refit":
                    F = head_of(G)
                elif head == "sgd":
                    F = F - (head_lr / (d * batch)) * np.swapaxes(e, -1, -2) @ r1
                step += 1
            record(j, G, F)
    out = {n: Curve.of(a) for n, a in rec.items()}
    out["t"] = steps_out / d
    return out
