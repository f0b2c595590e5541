"""Phase diagram ``stochastic-eos``: step η × batch size B → does minibatch SGD on the linear
(constant-NTK) model converge, or grow past the stochastic edge of stability?

Agarwala & Pennington, *High dimensional analysis reveals conservative sharpening and a stochastic edge
of stability*, arXiv 2404.19261; docs/sharpness.md §4. Conventions (docs/conventions.md §9): D data
points, sum loss ``L = ½‖z‖²``, NTK ``Θ = JJᵀ``; ``lr`` is the step η itself (not the streaming γ/d) and
time is the step count.

Drawn: simulated divergence on a coarse (η, B) grid at small D, the stochastic edge ``𝒦(η, B) = 1``
(``η_S(B)`` = :func:`hdlimits.sharpness.critical_lr`), the edge of stability ``η λ_max = 2`` and the
critical batch ``B_c = tr Θ / λ_max`` (:func:`hdlimits.sharpness.critical_batch`): for ``B ≪ B_c`` the
stochastic edge binds far below the EOS, for ``B ≳ B_c`` the two meet.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.status import Status
from hdlimits.optimizers import SGD
from hdlimits.phase.common import PhaseResult, batch_lr_axes, edges, figure, same, sweep_kwargs, write
from hdlimits.sweeps import sweep

__all__ = ["stochastic_eos", "compute", "draw", "power_law_ntk", "SimulatedGrowth", "DEFAULT_D", "MODELS"]

NAME = "stochastic-eos"
#: number of data points D of the default models
DEFAULT_D = 80
#: the built-in NTK ensembles
MODELS = ("mp", "power-law")
#: a run counts as diverging when its loss grew by this factor over the horizon (or diverged)
GROWTH_FACTOR = 10.0


def power_law_ntk(D, alpha=1.0):
    """NTK eigenvalues ``(1+i)^-alpha``, i = 0..D−1, scaled to mean 1 (``tr Θ = D``)."""
    D = v.integer("D", D, low=2)
    alpha = v.nonnegative("alpha", alpha)
    lam = (1.0 + np.arange(D)) ** -alpha
    return lam * (D / lam.sum())


def build_model(model, D, alpha=1.0, seed=0):
    """A :class:`~hdlimits.sharpness.LinearModel`: ``"mp"`` — ``marchenko_pastur(D, P=2D, seed)``
    (D/P = ½); ``"power-law"`` — ``from_ntk(power_law_ntk(D, alpha), basis="haar", seed)``; a
    LinearModel is returned as it is."""
    from hdlimits import sharpness as hs
    if isinstance(model, hs.LinearModel):
        return model
    if model == "mp":
        return hs.LinearModel.marchenko_pastur(D, 2 * D, seed=seed)
    if model == "power-law":
        return hs.LinearModel.from_ntk(power_law_ntk(D, alpha), basis="haar", seed=seed)
    raise ValueError(f"model must be 'mp', 'power-law' or a hdlimits.sharpness.LinearModel, got {model!r}")


@dataclass(frozen=True)
class SimulatedGrowth:
    """Sweep metric: ``runs`` Monte Carlo runs of ``steps`` steps (:func:`hdlimits.sharpness.simulate`);
    a run *grows* when it diverged (loss > 1e10 × initial) or its loss ended above ``factor`` × its
    initial value. Values: ``grew_fraction`` (fraction of growing runs), ``diverged`` (1.0 when at least
    half the runs grow, else 0.0) and ``median_growth`` (median over runs of L_T / L_0, ``inf`` for
    diverged runs). The point's status is diverged (at the first divergence step, or at ``steps``) when
    ``diverged`` is 1. Seeds: ``SeedSequence(seed, spawn_key=(grid index,))``."""

    steps: int
    runs: int
    seed: int = 0
    sampling: str = "without_replacement"
    factor: float = GROWTH_FACTOR

    names = ("diverged", "grew_fraction", "median_growth")
    extra = {}

    def evaluate(self, problem, optimizer, index):
        from hdlimits import sharpness as hs
        ss = np.random.SeedSequence(self.seed, spawn_key=(int(index),))
        sim = hs.simulate(problem, optimizer, self.steps, runs=self.runs, seed=ss, sampling=self.sampling)
        L = sim.runs_of("loss")
        with np.errstate(invalid="ignore", over="ignore"):
            growth = L[:, -1] / L[:, 0]
        grew = ~np.isfinite(growth) | (growth > self.factor)
        frac = float(grew.mean())
        diverged = frac >= 0.5
        vals = {"diverged": float(diverged), "grew_fraction": frac, "median_growth": float(np.median(growth))}
        if not diverged:
            return vals, Status.ok()
        t = sim.status.t_event if sim.status.t_event is not None else float(self.steps)
        return vals, Status.diverged(float(t), f"{int(grew.sum())} of {self.runs} runs grew ×"
                                               f"{self.factor:g} or diverged")

    def describe(self) -> dict:
        return {"metric": "SimulatedGrowth", "steps": self.steps, "runs": self.runs, "seed": self.seed,
                "sampling": self.sampling, "factor": self.factor}


def _default_batches(D):
    b = [1 << k for k in range(int(math.log2(D)) + 1)]
    return b if b[-1] == D else b + [D]


def compute(model="mp", lrs=None, batches=None, steps=400, runs=8, *, d=DEFAULT_D, D=None, alpha=1.0,
            seed=0, sampling="without_replacement", backend="local", workers=None, client=None,
            progress=None) -> PhaseResult:
    """The data of :func:`stochastic_eos` (same arguments, no ``out``): the sweep and the boundaries,
    no figure."""
    from hdlimits import sharpness as hs
    D = v.integer("D", d if D is None else D, low=2)
    lin = build_model(model, D, alpha, seed)
    D = lin.D
    if batches is None:
        batches = _default_batches(D)
    batches = np.array(sorted({v.integer("batches", b, low=1) for b in batches}), dtype=np.int64)
    if batches[-1] > D:
        raise ValueError(f"batches must be integers in [1, {D}] (at most D = {D} data points), "
                         f"got {int(batches[-1])}")
    steps = v.integer("steps", steps, low=1)
    runs = v.integer("runs", runs, low=1)
    eos = 2.0 / lin.lambda_max
    if lrs is None or np.ndim(lrs) == 0:       # a number: that many points of the default range
        lo = 0.3 * float(hs.critical_lr(lin, int(batches[0]), sampling))
        lrs = np.geomspace(lo, 2.5 * eos, 16 if lrs is None else v.integer("lrs", lrs, low=2))
    lrs = np.asarray(v.vector("lrs", lrs, positive=True))
    metric = SimulatedGrowth(steps, runs, seed, sampling)
    res = sweep(functools.partial(same, lin), SGD, {"lr": lrs, "batch": batches}, metric,
                **sweep_kwargs(backend, workers, client, progress))
    b_fine = np.unique(np.round(np.geomspace(batches.min(), batches.max(), 60)).astype(np.int64))
    bounds = {"batch": b_fine,
              "eta_s": np.array([float(hs.critical_lr(lin, int(b), sampling)) for b in b_fine]),
              "eos": eos, "B_c": float(hs.critical_batch(lin)), "lambda_max": lin.lambda_max,
              "trace": lin.trace}
    if isinstance(model, str) and model == "mp":
        label = f"Marchenko–Pastur NTK (D/P = {lin.alpha:g})"
    elif isinstance(model, str):
        label = rf"power-law NTK $\lambda_i \propto (1+i)^{{-{alpha:g}}}$, Haar eigenvectors"
    else:
        label = lin.ensemble
    res.metadata.update({"phase": NAME, "model": lin.describe(), "label": label, "D": D,
                         "steps": steps, "runs": runs, "seed": seed, "sampling": sampling,
                         "growth_factor": GROWTH_FACTOR, "eos": eos, "B_c": bounds["B_c"],
                         "convention": "lr is the step η itself; time is the step count"})
    return PhaseResult(NAME, res, bounds, problem=None)


def draw(result: PhaseResult):
    """The figure of a :func:`compute` result: simulated converges/grows cells and the edges."""
    from matplotlib.colors import ListedColormap
    res, bounds = result.sweep, result.boundaries
    lrs, batches = res.axes["lr"], res.axes["batch"]
    meta = res.metadata
    fig = figure(6.8, 4.8)
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(edges(batches), edges(lrs), res["diverged"],
                         cmap=ListedColormap(["#9ecae1", "#ef6548"]), vmin=-0.5, vmax=1.5, shading="flat")
    cb = fig.colorbar(mesh, ax=ax, ticks=[0, 1])
    cb.ax.set_yticklabels(["converges", "grows"])
    cb.set_label(f"simulation: ≥ half of {meta['runs']} runs grew ×{meta['growth_factor']:g}\n"
                 f"or diverged within {meta['steps']} steps", fontsize=8)
    ax.plot(bounds["batch"], bounds["eta_s"], "k-", lw=2, label=r"stochastic EOS $\mathcal{K}(\eta,B)=1$")
    ax.axhline(bounds["eos"], color="0.15", ls=":", lw=1.8,
               label=rf"EOS $\eta\lambda_{{max}}=2$ ($\eta$ = {bounds['eos']:.3g})")
    ax.axvline(bounds["B_c"], color="purple", ls="-.", lw=1.2,
               label=rf"$B_c=\mathrm{{tr}}\Theta/\lambda_{{max}}$ = {bounds['B_c']:.3g}")
    batch_lr_axes(ax, batches, lrs, r"step $\eta$ (lr = η itself)")
    keep = [0] + [i for i in range(1, batches.size) if batches[i] >= 1.5 * batches[i - 1]]
    ax.set_xticks(batches[keep], [str(int(b)) for b in batches[keep]])
    ax.minorticks_off()
    ax.set_title(f"SGD stochastic edge of stability — {meta['label']}\n"
                 f"D = {meta['D']}, batches drawn {meta['sampling'].replace('_', ' ')}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return fig


def stochastic_eos(model="mp", lrs=None, batches=None, steps=400, runs=8, out="phase_stochastic_eos", *,
                   d=DEFAULT_D, D=None, alpha=1.0, seed=0, sampling="without_replacement",
                   backend="local", workers=None, client=None, progress=None) -> PhaseResult:
    """Step η × batch size B → does minibatch SGD on the linear model converge or grow (the stochastic
    edge of stability, arXiv 2404.19261; docs/sharpness.md §4)? ``lr`` is η itself, time the step count.

    ``model``: ``"mp"`` (Marchenko–Pastur NTK, ``LinearModel.marchenko_pastur(D, P=2D, seed)``),
    ``"power-law"`` (``λ_i ∝ (1+i)^-alpha`` with ``tr Θ = D``, Haar eigenvectors) or a LinearModel.
    ``D`` (alias ``d``; default :data:`DEFAULT_D` = 80 — small, the grid is simulated) data points.
    Each grid point simulates ``runs`` batch sequences for ``steps`` steps and is marked *grows* when at
    least half of them diverged or ended with a loss above 10 × the initial one
    (:class:`SimulatedGrowth`). Drawn on top: ``𝒦(η, B) = 1`` (``hs.critical_lr`` at each batch), the
    EOS ``ηλ_max = 2`` and ``B_c = tr Θ/λ_max``. ``lrs`` (an array, or a number of points): default 16
    log-spaced values from 0.3 η_S(B_min) to 2.5 × 2/λ_max; ``batches``: 1, 2, 4, …, D.
    Writes ``out.png`` and the data (see :mod:`hdlimits.phase`); :func:`compute` and :func:`draw` do
    the two halves. Marks near the curve are within the finite-D shift of the edge (a few % at D ≈ 100).
    """
    result = compute(model, lrs, batches, steps, runs, d=d, D=D, alpha=alpha, seed=seed, sampling=sampling,
                     backend=backend, workers=workers, client=client, progress=progress)
    return write(result, draw(result), out)
