"""Mean-NTK theory of the wide fixed-D second-order model: conservative sharpening under GD, SGD and
SAM, to leading order in σ² as P → ∞ (Agarwala & Pennington, arXiv 2404.19261; SAM: Agarwala &
Dauphin, arXiv 2302.08692; model: Agarwala, Pedregosa, Pennington, arXiv 2210.04860). Derivations and
measured validity: docs/sharpness_quadratic.md §3–§6. ``lr`` is η itself; time is the step count.

State: ẑ_t = E z_t, M_t = E z_t z_tᵀ (the linear model with Θ₀), h_t = E‖θ_t‖², s_Q = σ²(1 + 1/P).

GD / SGD (batch operator P̃, noise operator N(M) = E[(P̃ − I)M(P̃ − I)]):

    h_{t+1} = h_t − 2η(tr M_t − z₀·ẑ_t) + η² tr(Θ₀(M_t + N(M_t)))
    E Θ_t   = Θ₀ + s_Q h_t I + η s_Q Σ_{s<t} [z₀ẑ_sᵀ + ẑ_s z₀ᵀ − 2M_s]
    M_{t+1} = A M_t A + η² Θ₀ N(M_t) Θ₀,   ẑ_{t+1} = A ẑ_t,   A = I − ηΘ₀.

Full-batch unnormalised SAM (R = I + ρΘ₀, A = I − ηΘ₀R):

    Δh      = −2η tr(R(M − ẑz₀ᵀ)) + η² tr(R M R Θ₀)
    ΔE Θ    = s_Q Δh I − η s_Q [(M − z₀ẑᵀ)R + R(M − ẑz₀ᵀ)] − ηρ s_Q (Θ₀M + MΘ₀) − 2ηρ² s_Q Θ₀MΘ₀.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.status import Status
from hdlimits.optimizers.gd import GD
from hdlimits.optimizers.sam import SAM
from hdlimits.optimizers.sgd import SGD
from hdlimits.models.sharpness.quadratic import QuadraticModel, q_second_moment
from hdlimits.models.sharpness.results import SharpnessCurve

__all__ = ["SAMPLINGS", "noise_constant", "noise_operator", "mean_ntk_recursion", "gd_closed_form",
           "gd_limit_shift", "first_order_eigenvalues", "predict_quadratic", "DIVERGENCE_LOSS"]

SAMPLINGS = ("without_replacement", "with_replacement", "bernoulli")
#: the theory's loss is called diverged beyond this multiple of its initial value
DIVERGENCE_LOSS = 1e12


def check_sampling(sampling: str) -> str:
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {', '.join(repr(s) for s in SAMPLINGS)}, got {sampling!r}")
    return sampling


def noise_constant(batch, D: int, sampling: str = "without_replacement") -> float:
    """c of the noise operator (docs/sharpness_quadratic.md §1): (1−β)/β·D/(D−1) without replacement,
    D/B with replacement, (1−β)/β for Bernoulli inclusion; β = B/D; 0 for full batch (``batch=None``)."""
    if batch is None:
        return 0.0
    beta = batch / D
    if sampling == "without_replacement":
        return (1.0 - beta) / beta * D / (D - 1.0)
    if sampling == "with_replacement":
        return D / batch
    return (1.0 - beta) / beta


def noise_operator(M: np.ndarray, batch, sampling: str = "without_replacement") -> np.ndarray:
    """N(M) = E[(P̃ − I) M (P̃ − I)] for the batch operator P̃ = (D/B)·(batch indicator)."""
    D = M.shape[0]
    c = noise_constant(batch, D, sampling)
    if c == 0.0:
        return np.zeros_like(M)
    if sampling == "bernoulli":
        return c * np.diag(np.diag(M))
    return c * (np.diag(np.diag(M)) - M / D)


def mean_ntk_recursion(model: QuadraticModel, lr: float, steps: int, batch=None,
                       sampling: str = "without_replacement", rho: float = 0.0) -> dict:
    """Run the mean-NTK recursion (module docstring) for ``steps`` steps.

    ``batch=None`` is full batch (GD, or SAM when ``rho > 0``); SAM is full batch only. Returns arrays
    over steps 0..steps: ``ntk`` (E Θ_t, D × D), ``h``, ``loss`` (½ tr M_t), ``zhat``, ``M``."""
    if rho > 0 and batch is not None:
        raise LimitNotAvailable("the mean-NTK theory of SAM is for full batch only (batch=None)")
    K = model.ntk
    D = model.D
    eye = np.eye(D)
    s2 = q_second_moment(model.sigma2, model.P)
    z0 = np.array(model.residual0)
    eta = float(lr)
    zh = z0.copy()
    M = np.outer(z0, z0)
    Th = np.array(K)
    h = 0.0
    ntk = np.empty((steps + 1, D, D))
    hs = np.empty(steps + 1)
    Ms = np.empty((steps + 1, D, D))
    zs = np.empty((steps + 1, D))
    ntk[0], hs[0], Ms[0], zs[0] = Th, h, M, zh
    if rho == 0.0:
        A = eye - eta * K
    else:
        R = eye + rho * K
        A = eye - eta * K @ R
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if rho == 0.0:
                Nm = noise_operator(M, batch, sampling)
                dh = -2.0 * eta * (np.trace(M) - z0 @ zh) + eta ** 2 * np.trace(K @ (M + Nm))
                Th = Th + s2 * dh * eye + eta * s2 * (np.outer(z0, zh) + np.outer(zh, z0) - 2.0 * M)
                M = A @ M @ A + eta ** 2 * K @ Nm @ K
            else:
                X = M - np.outer(zh, z0)
                dh = -2.0 * eta * np.trace(R @ X) + eta ** 2 * np.trace(R @ M @ R @ K)
                Th = (Th + s2 * dh * eye - eta * s2 * (X.T @ R + R @ X)
                      - eta * rho * s2 * (K @ M + M @ K) - 2.0 * eta * rho ** 2 * s2 * K @ M @ K)
                M = A @ M @ A
            zh = A @ zh
            h += dh
            ntk[t + 1], hs[t + 1], Ms[t + 1], zs[t + 1] = Th, h, M, zh
    loss = 0.5 * np.trace(Ms, axis1=1, axis2=2)
    return {"ntk": ntk, "h": hs, "loss": loss, "zhat": zs, "M": Ms}


def _geometric(a, t):
    """Σ_{s<t} a^s, elementwise (t where a = 1)."""
    a = np.asarray(a, dtype=np.float64)
    one = np.abs(1.0 - a) < 1e-14
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(one, float(t), (1.0 - a ** t) / np.where(one, 1.0, 1.0 - a))


def gd_closed_form(model: QuadraticModel, lr: float, steps: int) -> dict:
    """The GD mean NTK in closed form (docs/sharpness_quadratic.md §4.2). In the Θ₀ eigenbasis
    (λ_α, a_α = 1 − ηλ_α, z₀ rotated) ẑ_{sα} = a_α^s z_{0α} and

        h_t = Σ_α z_{0α}²(1 − a_α^t)²/λ_α,
        (E Θ_t − Θ₀)_{αβ} = s_Q h_t δ_{αβ} + η s_Q z_{0α}z_{0β}[G(a_α) + G(a_β) − 2G(a_αa_β)],

    G(a) = Σ_{s<t} a^s. Returns ``ntk`` (data basis, steps+1 × D × D) and ``h``."""
    lam = model.ntk_eigenvalues
    U = model.ntk_eigenvectors
    z0 = U.T @ model.residual0
    s2 = q_second_moment(model.sigma2, model.P)
    eta = float(lr)
    a = 1.0 - eta * lam
    zz = np.outer(z0, z0)
    D = model.D
    ntk = np.empty((steps + 1, D, D))
    h = np.empty(steps + 1)
    safe = np.where(lam > 0, lam, 1.0)
    for t in range(steps + 1):
        h[t] = np.sum(np.where(lam > 0, z0 ** 2 * (1.0 - a ** t) ** 2 / safe, 0.0))
        g1 = _geometric(a, t)
        g2 = _geometric(np.outer(a, a), t)
        delta = s2 * h[t] * np.eye(D) + eta * s2 * zz * (g1[:, None] + g1[None, :] - 2.0 * g2)
        ntk[t] = U @ (np.diag(lam) + delta) @ U.T
    return {"ntk": ntk, "h": h}


def gd_limit_shift(model: QuadraticModel, lr: float) -> np.ndarray:
    """λ_α(∞) − λ_α(0) of GD at first order, in the order of ``model.ntk_eigenvalues``:

        σ² z₀ᵀΘ₀⁻¹z₀ + 2σ² z_{0α}² (1 − ηλ_α)/(λ_α(2 − ηλ_α))      (s_Q in place of σ²),

    for a positive definite Θ₀ and ηλ_max < 2."""
    lam = model.ntk_eigenvalues
    eta = float(lr)
    if lam.min() <= 0 or eta * lam.max() >= 2:
        raise ValueError("gd_limit_shift needs a positive definite ntk and lr·λ_max < 2, got "
                         f"λ_min = {float(lam.min()):g}, lr·λ_max = {float(eta * lam.max()):g}")
    z0 = model.ntk_eigenvectors.T @ model.residual0
    s2 = q_second_moment(model.sigma2, model.P)
    h_inf = float(np.sum(z0 ** 2 / lam))
    return s2 * h_inf + 2.0 * s2 * z0 ** 2 * (1.0 - eta * lam) / (lam * (2.0 - eta * lam))


def first_order_eigenvalues(model: QuadraticModel, ntk: np.ndarray) -> np.ndarray:
    """Per-eigenvalue first-order form λ_α(t) ≈ λ_α(0) + u_αᵀ(E Θ_t − Θ₀)u_α (steps+1 × D, in the
    order of ``model.ntk_eigenvalues``)."""
    U = model.ntk_eigenvectors
    delta = ntk - model.ntk[None]
    return model.ntk_eigenvalues[None, :] + np.einsum("da,tde,ea->ta", U, delta, U)


def _constant_lr(optimizer) -> float:
    lr = optimizer.lr
    if callable(lr):
        raise ValueError("lr must be a constant step η > 0 for the sharpness family (time is the step "
                         f"count), got a schedule {lr!r}")
    return float(lr)


def check_batch(batch, D: int):
    if batch is None:
        return None
    if batch > D:
        raise ValueError(f"batch must be an integer in [1, {D}] (at most D = {D} data points), got {batch}")
    return int(batch)


def optimizer_setting(model: QuadraticModel, optimizer) -> tuple:
    """(η, batch or None, ρ, normalized) of a GD / SGD / SAM optimizer on ``model``."""
    if isinstance(optimizer, GD):
        if not isinstance(optimizer.lr, (int, float, np.floating, np.integer)):
            raise LimitNotAvailable("the wide quadratic model needs a constant step η; learning-rate tuners "
                                    "run on QuadraticModel.proportional (hs.simulate)")
        return float(optimizer.lr), None, 0.0, False
    if isinstance(optimizer, SAM):
        return float(optimizer.lr), check_batch(optimizer.batch, model.D), optimizer.rho, optimizer.normalized
    if isinstance(optimizer, SGD) and type(optimizer) is SGD:
        return _constant_lr(optimizer), check_batch(optimizer.batch, model.D), 0.0, False
    from hdlimits.optimizers.base import Optimizer
    if isinstance(optimizer, Optimizer):
        raise LimitNotAvailable(f"no theory or simulator of {type(optimizer).__name__} on the quadratic "
                                "model; available: GD, SGD, SAM")
    raise ValueError(f"optimizer must be hd.GD, hd.SGD or hd.SAM, got {optimizer!r}")


def predict_quadratic(model: QuadraticModel, optimizer, steps, method: str = "mean-ntk",
                      sampling: str = "without_replacement") -> SharpnessCurve:
    """Mean-NTK theory of GD / SGD / full-batch SAM on the wide quadratic model (module docstring).

    ``method``: ``"mean-ntk"`` (the matrix recursion; eigenvalues of E Θ_t), ``"first-order"`` (the
    per-eigenvalue form), ``"closed-form"`` (GD only). Observables over steps 0..steps: ``loss``
    (½ tr M_t), ``sharpness`` (λ_max of E Θ_t), ``min_ntk_eigenvalue``, ``ntk_eigenvalues``
    (ascending), ``param_norm`` (h_t). ``state["mean_ntk"]`` holds E Θ_t. Raises LimitNotAvailable for
    SAM with minibatches or normalised SAM (they still simulate)."""
    from hdlimits.core import validation as v
    if not isinstance(model, QuadraticModel):
        raise ValueError(f"model must be a QuadraticModel, got {type(model).__name__}")
    steps = v.integer("steps", steps, low=0)
    check_sampling(sampling)
    eta, batch, rho, normalized = optimizer_setting(model, optimizer)
    if rho > 0 and normalized:
        raise LimitNotAvailable("no mean-NTK theory of normalised SAM (its ascent step is not small "
                                "in the residual); hs.simulate runs it")
    if rho > 0 and batch is not None and batch < model.D:
        raise LimitNotAvailable(f"no mean-NTK theory of SAM with minibatches (batch = {batch} < D = "
                                f"{model.D}); the theory is for full batch. hs.simulate runs it")
    if rho > 0:
        batch = None
    if batch is not None and batch == model.D and sampling == "without_replacement":
        batch = None
    if method not in ("mean-ntk", "first-order", "closed-form"):
        raise ValueError(f"method must be 'mean-ntk', 'first-order' or 'closed-form', got {method!r}")
    if method == "closed-form" and (batch is not None or rho > 0):
        raise ValueError("method 'closed-form' is for GD (full batch, ρ = 0) only")
    rec = mean_ntk_recursion(model, eta, steps, batch, sampling, rho)
    info = {"s_Q": q_second_moment(model.sigma2, model.P), "lr": eta, "batch": batch, "rho": rho,
            "sampling": sampling}
    if method == "closed-form":
        cf = gd_closed_form(model, eta, steps)
        ntk, h = cf["ntk"], cf["h"]
    else:
        ntk, h = rec["ntk"], rec["h"]
    if method == "first-order":
        eig = np.sort(first_order_eigenvalues(model, ntk), axis=1)
    else:
        eig = np.full((steps + 1, model.D), np.nan)
        ok = np.all(np.isfinite(ntk), axis=(1, 2))
        eig[ok] = np.linalg.eigvalsh(ntk[ok])
    loss = rec["loss"]
    status = Status.ok()
    warnings = []
    bad = ~np.isfinite(loss) | (loss > DIVERGENCE_LOSS * max(loss[0], 1e-300))
    if np.any(bad):
        k = int(np.argmax(bad))
        status = Status.diverged(float(k), "the linear residual dynamics grow without bound")
        for arr in (loss, h, eig):
            arr[k:] = np.inf
    if status == "ok" and steps >= 2 and loss[-1] > loss[0]:
        warnings.append("the residual second moment grows: the optimizer is past the (stochastic) edge "
                        "of stability, where the first-order theory does not hold")
    lift = info["s_Q"] * np.nanmax(np.where(np.isfinite(h), h, np.nan)) if np.any(np.isfinite(h)) else 0.0
    lam_min = model.ntk_eigenvalues.min()
    if lam_min > 0 and lift > 0.25 * lam_min:
        warnings.append(f"σ²h = {lift:.3g} is not small against λ_min(Θ₀) = {lam_min:.3g}: the "
                        "leading-order theory overestimates the sharpening")
    obs = {"loss": loss, "sharpness": eig[:, -1], "min_ntk_eigenvalue": eig[:, 0],
           "ntk_eigenvalues": eig, "param_norm": h}
    return SharpnessCurve(np.arange(steps + 1, dtype=np.float64), observables=obs, status=status,
                          problem=model, optimizer=optimizer, method=method, info=info,
                          state={"mean_ntk": ntk}, warnings=warnings)
