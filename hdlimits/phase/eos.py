"""Phase diagram ``eos``: step η → the final η·λ_max(H) of GD on the single-output second-order model,
with the gradient-flow value η·λ_GF (progressive sharpening to the edge of stability; Agarwala,
Pedregosa, Pennington, arXiv 2210.04860; docs/sharpness_second_order.md §3). Where η·λ_GF > 2 GD
self-stabilises just below the edge ηλ = 2. ``lr`` is η itself; time is the step count.
"""
from __future__ import annotations

import functools

import numpy as np

from hdlimits.core import validation as v
from hdlimits.optimizers import GD
from hdlimits.phase.common import PhaseResult, figure, same, sweep_kwargs, write
from hdlimits.phase.sam_edge import FinalSharpness, canonical_model
from hdlimits.sweeps import sweep

__all__ = ["eos", "compute", "draw", "gradient_flow_sharpness", "DEFAULT_D"]

NAME = "eos"
DEFAULT_D = 2


def gradient_flow_sharpness(model, t_max=None) -> float:
    """λ_GF: the NTK at the end of gradient flow dz/dt = −z m₀, dm_k/dt = −2z m_{k+1} (the moment
    hierarchy closed by Q's minimal polynomial), integrated until z has decayed (scipy, rtol 1e-11)."""
    from scipy.integrate import solve_ivp
    r, c = model.order, model.closure

    def rhs(_, x):
        z, m = x[0], x[1:]
        nxt = np.append(m[1:], c @ m)
        return np.concatenate([[-z * m[0]], -2.0 * z * nxt])

    x0 = np.concatenate([[model.residual0], model.moments0])
    T = 60.0 / max(model.moments0[0], 1e-12) if t_max is None else t_max
    sol = solve_ivp(rhs, (0.0, T), x0, method="DOP853", rtol=1e-11, atol=1e-13)
    return float(sol.y[1, -1])


def compute(lrs=None, steps=3000, *, model=None, d=DEFAULT_D, backend="local", workers=None, client=None,
            progress=None) -> PhaseResult:
    model = canonical_model() if model is None else model
    steps = v.integer("steps", steps, low=1)
    if lrs is None or np.ndim(lrs) == 0:
        lrs = np.linspace(0.1, 0.8, 29 if lrs is None else v.integer("lrs", lrs, low=2))
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    res = sweep(functools.partial(same, model), GD, {"lr": lrs}, FinalSharpness(steps),
                **sweep_kwargs(backend, workers, client, progress))
    lam_gf = gradient_flow_sharpness(model)
    res.metadata.update({"phase": NAME, "model": model.describe(), "steps": steps, "lambda_gf": lam_gf,
                         "convention": "lr is the step η itself; time is the step count"})
    return PhaseResult(NAME, res, {"lambda_gf": lam_gf}, problem=None)


def draw(result: PhaseResult):
    res = result.sweep
    lrs = res.axes["lr"]
    lam_gf = result.boundaries["lambda_gf"]
    fig = figure(6.4, 4.4)
    ax = fig.add_subplot()
    e = np.asarray(res["edge_product"])
    ok = np.isfinite(e)
    ax.plot(lrs[ok], e[ok], "o-", ms=4, label=r"GD: final $\eta\lambda_{max}(H)$")
    ax.plot(lrs, lrs * lam_gf, "k--", lw=1.2, label=rf"gradient flow $\eta\lambda_{{GF}}$ ($\lambda_{{GF}}$ = {lam_gf:.4f})")
    ax.axhline(2.0, color="r", ls=":", lw=1.5, label=r"edge $\eta\lambda = 2$")
    if np.any(~ok):
        ax.plot(lrs[~ok], np.full((~ok).sum(), 0.2), "rx", label="diverged")
    ax.set_xlabel("step η (lr = η itself)")
    ax.set_ylabel(r"$\eta\,\lambda_{max}$ at the end")
    ax.set_title("progressive sharpening to the edge of stability\n" + res.metadata["model"], fontsize=8)
    ax.legend(fontsize=8)
    return fig


def eos(lrs=None, steps=3000, out="phase_eos", *, model=None, d=DEFAULT_D, backend="local", workers=None,
        client=None, progress=None) -> PhaseResult:
    """Step η → final ηλ_max(H) of GD on the single-output model (default the canonical P = 2 instance),
    with the gradient-flow value ηλ_GF and the edge 2 (arXiv 2210.04860). Writes ``out.png`` and data."""
    result = compute(lrs, steps, model=model, d=d, backend=backend, workers=workers, client=client,
                     progress=progress)
    return write(result, draw(result), out)
