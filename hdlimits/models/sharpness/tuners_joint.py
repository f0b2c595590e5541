"""The reduced joint model of the step size and the sharpness under a learning-rate tuner
(docs/sharpness_second_order.md §5; a Damian-type self-stabilisation model used to read Roulet et al.,
arXiv 2407.06183, and Roulet, Agarwala, Pedregosa, arXiv 2312.00209):

    x_{t+1} = (1 − η_t S_t) x_t,      S_{t+1} = S_t + η_t (α_ps − β_ss x_t²),

x the displacement along the top eigenvector (loss ½S x²), S the sharpness, α_ps the progressive-
sharpening rate and β_ss the self-stabilisation strength. The tuner sees the 1-D quadratic: f = ½Sx²,
g = Sx, Hv = Sv, f(x − ηg) = ½S(1 − ηS)²x².

Predictions. A constant η: ηS_t circles the edge 2 (x_t ↦ −x_t, x² ≈ α_ps/β_ss); in this discrete map
the orbit spirals out slowly (α = 10⁻⁴, β = 1, η = 0.4 from S₀ = 4.99: |ηS − 2| ≤ 0.0053 over 20 000
steps, growing), and started far below the edge x underflows before S arrives, so S overshoots. A curvature-greedy tuner η_t = σ/S_t (CDAT without EMA;
Polyak SPS with σ = 1/(2c)) gives x_{t+1} = (1 − σ)x_t, so for σ < 2 x → 0 and S_{t+1} = S_t + σα_ps/S_t:

    S_t ≈ √(S₀² + 2σα_ps t),     η_t = σ/S_t ∝ t^{−1/2},

ever-increasing sharpness and a vanishing step; σ = 2 is marginal. Armijo accepts ηS ∈ ((1−c)·β_bt·2,
2(1 − c)] (β_bt the backtracking factor), so S_t² grows between the σ = 2β_bt(1−c) and σ = 2(1−c) laws.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.status import Status
from hdlimits.models.sharpness.results import SharpnessCurve
from hdlimits.core import observables as obs
from hdlimits.optimizers.tuners import CDAT, Armijo, Oracle, Polyak, Tuner

__all__ = ["joint_model", "greedy_sigma"]

obs.register(obs.Observable("sharpness_prediction", "S_t ≈ √(S₀² + 2σα t)",
                            "the greedy-tuner prediction of the sharpness in the reduced joint model"))


def greedy_sigma(tuner) -> float | None:
    """σ = η_tS_t of a curvature-greedy tuner on the 1-D quadratic: CDAT's σ, Polyak's 1/(2c); None for
    Armijo and constant steps."""
    if isinstance(tuner, CDAT):
        return tuner.sigma
    if isinstance(tuner, Polyak):
        return 1.0 / (2.0 * tuner.c)
    return None


def joint_model(alpha_ps, beta_ss, tuner, S0=1.0, x0=0.1, steps=1000) -> SharpnessCurve:
    """Iterate the reduced (η, S) model (module docstring) for ``steps`` steps with ``tuner`` (a
    ``hd.tuners`` object, or a number: a constant step η > 0). ``alpha_ps ≥ 0``, ``beta_ss ≥ 0``,
    ``S0 > 0``, ``x0``. Observables: ``sharpness`` S_t, ``lr`` η_t, ``residual`` x_t, ``loss`` ½S_tx_t²
    and, for greedy tuners (CDAT, Polyak), ``sharpness_prediction`` √(S₀² + 2σα_ps t). ``info["edge"]``
    is 2/η for a constant step. A blow-up (|x| > 10⁶) is a diverged status at its step."""
    alpha = v.nonnegative("alpha_ps", alpha_ps)
    beta = v.nonnegative("beta_ss", beta_ss)
    S = v.positive("S0", S0)
    x = v.real("x0", x0)
    steps = v.integer("steps", steps, low=1)
    if not isinstance(tuner, Tuner):
        tuner = v.positive("tuner", tuner)
    n = steps + 1
    out = {k: np.full(n, np.inf) for k in ("sharpness", "lr", "residual", "loss")}
    state = tuner.start() if isinstance(tuner, Tuner) else None
    status = Status.ok()
    for t in range(n):
        if isinstance(tuner, Tuner):
            # the tuner's rules are homogeneous of degree 0 in x; probe at |x| ≥ 1e-100 so that a
            # residual that has vanished (σ = 1 zeroes x in one step) still shows the curvature S
            Sx, xx = S, (x if abs(x) > 1e-100 else 1e-100)
            orc = Oracle(0.5 * Sx * xx * xx, np.array([Sx * xx]), lambda u, Sx=Sx: Sx * u,
                         lambda e, Sx=Sx, xx=xx: 0.5 * Sx * ((1.0 - e * Sx) * xx) ** 2)
            eta = float(tuner.step_size(orc, state))
        else:
            eta = tuner
        out["sharpness"][t], out["lr"][t], out["residual"][t], out["loss"][t] = S, eta, x, 0.5 * S * x * x
        if t == steps:
            break
        x, S = (1.0 - eta * S) * x, S + eta * (alpha - beta * x * x)
        if not (abs(x) <= 1e6 and np.isfinite(S)):
            status = Status.diverged(float(t + 1), "|x| > 1e6")
            break
    info = {"alpha_ps": alpha, "beta_ss": beta, "S0": float(out["sharpness"][0]), "x0": float(x0)}
    sigma = greedy_sigma(tuner)
    steps_arr = np.arange(n, dtype=np.float64)
    if sigma is not None:
        out["sharpness_prediction"] = np.sqrt(info["S0"] ** 2 + 2.0 * sigma * alpha * steps_arr)
        info["sigma"] = sigma
    elif isinstance(tuner, Armijo):
        info["sigma_range"] = (2.0 * tuner.backtrack * (1.0 - tuner.c), 2.0 * (1.0 - tuner.c))
    else:
        info["edge"] = 2.0 / tuner
    return SharpnessCurve(steps_arr, observables=out, status=status, problem="joint (η, S) model",
                          optimizer=tuner, method="joint-model", info=info)
