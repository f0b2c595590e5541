"""The single-output (D = 1) second-order regression model and its exact moment maps under GD, SAM and
normalised SAM (Agarwala, Pedregosa, Pennington, arXiv 2210.04860; Agarwala & Dauphin, arXiv
2302.08692; Long & Bartlett, arXiv 2309.12488; docs/sharpness_second_order.md §2).

    z(θ) = z₀ + J₀θ + ½ θᵀQθ,   L = ½z²,   λ = JJᵀ (the NTK),   H = JᵀJ + zQ (the Hessian),

with ``lr`` the step η itself and time the step count. The state (z, m₀, …, m_{r−1}), m_k = JQ^kJᵀ,
evolves by the exact map that :mod:`.second_order_maps` derives with sympy and compiles with numba, closed
by the minimal polynomial of Q (r = the number of distinct eigenvalues of Q, at most
:data:`~.second_order_maps.MAX_ORDER`). A run is diverged at the first step with |z| > 10⁶.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.status import Status
from hdlimits.models.sharpness import api
from hdlimits.models.sharpness import second_order_maps as maps
from hdlimits.models.sharpness.results import SharpnessCurve

__all__ = ["SingleOutputModel", "predict_single_output", "sam_edge", "derive_map", "constant_lr",
           "DIVERGENCE_RESIDUAL"]

#: a run has diverged once |z| (max_i |z_i| for D > 1) exceeds this
DIVERGENCE_RESIDUAL = 1e6


def check_q_matrix(Q, P: int) -> np.ndarray:
    """Q as a symmetric P × P float array, else a ValueError naming Q."""
    arr = np.asarray(Q, dtype=np.float64)
    if arr.shape != (P, P):
        raise ValueError(f"Q must be a symmetric P×P matrix with P = len(J0) = {P}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("Q must have finite entries")
    if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-12 * max(1.0, float(np.abs(arr).max()))):
        raise ValueError("Q must be symmetric (Q = Qᵀ); got an asymmetric matrix, largest |Q − Qᵀ| = "
                         f"{float(np.abs(arr - arr.T).max()):.3g}")
    return 0.5 * (arr + arr.T)


class SingleOutputModel:
    """One output, P parameters: ``z(θ) = z₀ + J₀θ + ½θᵀQθ``. Build it with
    ``hs.QuadraticModel.single_output(J0=, Q=, residual0=)``.

    Attributes: ``D`` (= 1), ``P``, ``J0`` (length P), ``Q`` (P × P symmetric), ``residual0`` (z₀),
    ``q_eigenvalues`` (the distinct eigenvalues of Q, ascending), ``multiplicities``, ``order`` (their
    number r), ``closure`` (c_j of m_{k+r} = Σ_j c_j m_{k+j}), ``moments0`` (m₀ … m_{r−1} at θ = 0)."""

    D = 1

    def __init__(self, J0, Q, residual0):
        J0 = np.array(v.vector("J0", J0), dtype=np.float64)
        if J0.size < 1:
            raise ValueError("J0 must have P ≥ 1 entries")
        self.P = int(J0.size)
        self.J0 = J0
        self.Q = check_q_matrix(Q, self.P)
        self.residual0 = v.real("residual0", residual0)
        ev = np.linalg.eigvalsh(self.Q)
        scale = max(1.0, float(np.abs(ev).max()))
        groups = [[ev[0]]]
        for x in ev[1:]:
            if x - groups[-1][-1] <= 1e-10 * scale:
                groups[-1].append(x)
            else:
                groups.append([x])
        if len(groups) > maps.MAX_ORDER:
            raise ValueError(f"Q must have at most {maps.MAX_ORDER} distinct eigenvalues for the exact "
                             f"moment map (the closure m_{{k+r}} = Σ c_j m_{{k+j}}), got {len(groups)}")
        self.q_eigenvalues = np.array([np.mean(g) for g in groups])
        self.multiplicities = np.array([len(g) for g in groups])
        self.order = len(groups)
        self.closure = maps.closure_coefficients(self.q_eigenvalues)
        self.moments0 = self.moments(J0)

    def moments(self, J) -> np.ndarray:
        """m_k = J Q^k Jᵀ for k = 0 … r−1."""
        out, w = [], np.asarray(J, dtype=np.float64)
        for _ in range(self.order):
            out.append(float(J @ w))
            w = self.Q @ w
        return np.array(out)

    def hessian_sharpness(self, z, moments) -> np.ndarray:
        """λ_max(H), H = JᵀJ + zQ, from (z, m₀ … m_{r−1}) (arrays over steps): on Q's eigenspaces with
        weights w_i = ‖P_iJᵀ‖² (from the Vandermonde system m_k = Σ_i w_i q_i^k), H reduces to
        diag(z q_i) + √w √wᵀ plus the eigenvalues z q_i of the multiple eigenspaces."""
        z = np.atleast_1d(np.asarray(z, dtype=np.float64))
        m = np.atleast_2d(np.asarray(moments, dtype=np.float64))
        qv = self.q_eigenvalues
        V = np.vander(qv, self.order, increasing=True).T                 # V[k, i] = q_i^k
        w = np.linalg.solve(V, m.T).T                                     # steps × r
        s = np.sqrt(np.clip(w, 0.0, None))
        H = s[:, :, None] * s[:, None, :] + np.einsum("t,i,ij->tij", z, qv, np.eye(self.order))
        top = np.linalg.eigvalsh(H)[:, -1]
        multi = qv[self.multiplicities > 1]
        if multi.size:
            top = np.maximum(top, np.max(z[:, None] * multi[None, :], axis=1))
        return top

    def describe(self) -> str:
        return (f"QuadraticModel.single_output(P={self.P}, Q eigenvalues {np.round(self.q_eigenvalues, 6).tolist()}, "
                f"λ₀ = {self.moments0[0]:g}, z₀ = {self.residual0:g})")

    __str__ = describe
    __repr__ = describe


def constant_lr(optimizer) -> float:
    """η of an optimizer with a constant numeric step (tuners and schedules are refused)."""
    lr = optimizer.lr
    if callable(lr) or not isinstance(lr, (int, float, np.floating, np.integer)):
        raise LimitNotAvailable(f"the exact map needs a constant step η; got lr = {lr!r} (simulate "
                                "learning-rate tuners with hs.simulate)")
    return v.positive("lr", lr)


def _kind(optimizer):
    from hdlimits.optimizers.gd import GD
    from hdlimits.optimizers.sam import SAM
    if isinstance(optimizer, GD):
        return "gd", constant_lr(optimizer), 0.0
    if isinstance(optimizer, SAM):
        if optimizer.batch is not None:
            raise LimitNotAvailable("a single-output model has one data point: SAM must be full batch "
                                    f"(batch=None), got batch={optimizer.batch}")
        kind = "sam-normalized" if optimizer.normalized else "sam"
        return (kind if optimizer.rho > 0 else "gd"), constant_lr(optimizer), float(optimizer.rho)
    raise LimitNotAvailable(f"the exact single-output map covers hd.GD and hd.SAM, got "
                            f"{type(optimizer).__name__}")


def derive_map(model, optimizer) -> maps.DerivedMap:
    """The one-step map of ``optimizer`` (hd.GD or hd.SAM, normalised or not) on the single-output
    ``model`` in the moments m_k = JQ^kJᵀ, derived by sympy, with the closure of ``model``'s Q
    (``.closure`` holds its numeric c_j). ``.latex()`` prints it."""
    if not isinstance(model, SingleOutputModel):
        raise ValueError(f"model must be a single-output model (hs.QuadraticModel.single_output), got "
                         f"{type(model).__name__}")
    kind, _, _ = _kind(optimizer)
    m = maps.derive_symbolic(kind, model.order)
    return maps.DerivedMap(m.kind, m.order, m.ascent, m.updates, model.closure.copy())


def iterate(model: SingleOutputModel, kind: str, eta: float, rho: float, steps: int):
    """(states (steps+1) × (1+r), divergence step or None) of the compiled exact map."""
    f = maps.compiled_map(kind, model.order)
    x0 = np.concatenate([[model.residual0], model.moments0])
    par = np.concatenate([[eta, rho], model.closure])
    out = np.zeros((steps + 1, model.order + 1))
    k = int(f(x0, par, out, DIVERGENCE_RESIDUAL))
    return out, (None if k < 0 else k)


def predict_single_output(model: SingleOutputModel, optimizer, steps) -> SharpnessCurve:
    """Exact trajectory of GD / SAM / normalised SAM on the single-output model (the derived map,
    O(r) per step). Observables over steps 0 … steps: ``loss`` ½z², ``sharpness`` λ = JJᵀ (NTK),
    ``hessian_sharpness`` λ_max(JᵀJ + zQ), ``residual`` z, ``lr`` (constant η); ``state["moments"]``
    holds (z, m₀, …). After a divergence (|z| > 10⁶ at step k; status diverged at k) the values are inf."""
    steps = v.integer("steps", steps, low=0)
    kind, eta, rho = _kind(optimizer)
    out, k = iterate(model, kind, eta, rho, steps)
    n = steps + 1
    good = n if k is None else k
    zz, mom = out[:good, 0], out[:good, 1:]
    obsv = {name: np.full(n, np.inf) for name in ("loss", "sharpness", "hessian_sharpness", "residual")}
    obsv["loss"][:good] = 0.5 * zz ** 2
    obsv["sharpness"][:good] = mom[:, 0]
    obsv["hessian_sharpness"][:good] = model.hessian_sharpness(zz, mom) if good else []
    obsv["residual"][:good] = zz
    obsv["lr"] = np.full(n, eta)
    status = Status.ok() if k is None else Status.diverged(float(k), f"|z| > 1e6 at step {k}")
    info = {"lr": eta, "rho": rho, "kind": kind, "order": model.order, "closure": model.closure.tolist()}
    return SharpnessCurve(np.arange(n, dtype=np.float64), observables=obsv, status=status, problem=model,
                          optimizer=optimizer, method="exact-map", info=info,
                          state={"moments": out[:good].copy()})


def sam_edge(lr, rho, normalized: bool = False, grad_norm=None) -> float:
    """The SAM edge of stability: on a quadratic of curvature λ the unnormalised SAM step multiplies the
    error by 1 − ηλ(1 + ρλ), stable iff ηλ(1 + ρλ) < 2, so

        λ_SAM = (√(1 + 8ρ/η) − 1)/(2ρ)  ≈ 2/η − 4ρ/η²  (ρ ≪ η),   λ_SAM = 2/η at ρ = 0

    (Agarwala & Dauphin, arXiv 2302.08692). ``normalized=True`` (ascent ρg/‖g‖; Long & Bartlett, arXiv
    2309.12488) replaces ρ by ρ/‖g‖ and needs ``grad_norm = ‖g‖ > 0``."""
    eta = v.positive("lr", lr)
    rho = v.nonnegative("rho", rho)
    if normalized:
        if grad_norm is None:
            raise ValueError("grad_norm must be given (a number > 0) with normalized=True: the normalised "
                             "SAM edge depends on the gradient norm ‖g‖")
        rho = rho / v.positive("grad_norm", grad_norm)
    elif grad_norm is not None:
        raise ValueError("grad_norm applies to normalized=True only")
    if rho == 0.0:
        return 2.0 / eta
    x = 8.0 * rho / eta
    # (√(1+x) − 1)/(2ρ) = x/((√(1+x) + 1)·2ρ): no cancellation at small ρ
    return float(x / ((np.sqrt(1.0 + x) + 1.0) * 2.0 * rho))


api.register(SingleOutputModel, predict=predict_single_output)
