"""Phase diagram ``sam-edge``: step η × SAM radius ρ → the final sharpness of unnormalised SAM on the
single-output second-order model, over the SAM edge λ_SAM = (√(1 + 8ρ/η) − 1)/(2ρ) (Agarwala & Dauphin,
arXiv 2302.08692; docs/sharpness_second_order.md §3). ``lr`` is the step η itself; time is the step
count. Each point iterates the exact sympy-derived map (:func:`hdlimits.sharpness.predict`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.status import Status
from hdlimits.optimizers import SAM
from hdlimits.phase.common import PhaseResult, edges, figure, same, sweep_kwargs, write
from hdlimits.sweeps import sweep

__all__ = ["sam_edge", "compute", "draw", "FinalSharpness", "canonical_model", "DEFAULT_D"]

NAME = "sam-edge"
#: parameters of the single-output model (P = 2)
DEFAULT_D = 2


def canonical_model():
    """The P = 2 instance of docs/sharpness_second_order.md: J₀ = (0.3, 0.4), Q = diag(1, 0.2), z₀ = −3."""
    from hdlimits import sharpness as hs
    return hs.QuadraticModel.single_output(J0=[0.3, 0.4], Q=np.diag([1.0, 0.2]), residual0=-3.0)


@dataclass(frozen=True)
class FinalSharpness:
    """Sweep metric: the exact map for ``steps`` steps; values ``final_sharpness`` (λ_max(H) at the
    end), ``edge`` (λ_SAM, or 2/η for GD), ``ratio`` (their quotient), ``edge_product`` (η·λ_max(H))
    and ``final_loss``. A diverged run gives inf values and its diverged status."""

    steps: int

    names = ("final_sharpness", "edge", "ratio", "edge_product", "final_loss")
    extra = {}

    def evaluate(self, problem, optimizer, index):
        from hdlimits import sharpness as hs
        r = hs.predict(problem, optimizer, self.steps)
        rho = getattr(optimizer, "rho", 0.0)
        edge = hs.sam_edge(optimizer.lr, rho)
        lam = float(r.hessian_sharpness[-1])
        vals = {"final_sharpness": lam, "edge": edge, "ratio": lam / edge, "edge_product": optimizer.lr * lam,
                "final_loss": float(r.loss[-1])}
        return vals, r.status

    def describe(self) -> dict:
        return {"metric": "FinalSharpness", "steps": self.steps}


def compute(lrs=None, rhos=None, steps=3000, *, model=None, d=DEFAULT_D, backend="local", workers=None,
            client=None, progress=None) -> PhaseResult:
    """The data of :func:`sam_edge` (no figure)."""
    model = canonical_model() if model is None else model
    steps = v.integer("steps", steps, low=1)
    if lrs is None or np.ndim(lrs) == 0:
        lrs = np.geomspace(0.2, 0.8, 12 if lrs is None else v.integer("lrs", lrs, low=2))
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    rhos = np.asarray(v.vector("rhos", np.geomspace(0.005, 0.5, 12) if rhos is None else rhos, positive=True))
    res = sweep(functools.partial(same, model), SAM, {"lr": lrs, "rho": rhos}, FinalSharpness(steps),
                **sweep_kwargs(backend, workers, client, progress))
    res.metadata.update({"phase": NAME, "model": model.describe(), "steps": steps,
                         "convention": "lr is the step η itself; time is the step count"})
    return PhaseResult(NAME, res, {}, problem=None)


def draw(result: PhaseResult):
    """Heatmap of λ_final/λ_SAM over (ρ, η)."""
    res = result.sweep
    lrs, rhos = res.axes["lr"], res.axes["rho"]
    ratio = np.where(np.isfinite(res["ratio"]), res["ratio"], np.nan)
    fig = figure(6.6, 4.8)
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(edges(rhos), edges(lrs), ratio, cmap="viridis", vmin=0.8, vmax=1.05, shading="flat")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("final λ_max(H) / λ_SAM   (grey: diverged)")
    ax.set_facecolor("0.75")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SAM radius ρ")
    ax.set_ylabel("step η (lr = η itself)")
    ax.set_title("SAM edge of stability, single-output model\n"
                 r"$\lambda_{SAM}=(\sqrt{1+8\rho/\eta}-1)/(2\rho)$, " + res.metadata["model"], fontsize=8)
    return fig


def sam_edge(lrs=None, rhos=None, steps=3000, out="phase_sam_edge", *, model=None, d=DEFAULT_D, backend="local",
             workers=None, client=None, progress=None) -> PhaseResult:
    """Step η × radius ρ → final λ_max(H)/λ_SAM of unnormalised SAM on the single-output model (default
    the canonical P = 2 instance), ``steps`` exact-map steps per point (arXiv 2302.08692;
    docs/sharpness_second_order.md §3). Writes ``out.png`` and the data."""
    result = compute(lrs, rhos, steps, model=model, d=d, backend=backend, workers=workers, client=client,
                     progress=progress)
    return write(result, draw(result), out)
