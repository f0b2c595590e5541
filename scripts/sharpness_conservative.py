"""Figure: conservative sharpening in the wide quadratic model (docs/sharpness_quadratic.md).

Top and bottom NTK eigenvalues vs step for GD, SGD at two batch sizes and full-batch SAM on the
canonical example (D = 8, λ⁰ = 1.6 … 0.5, P = 1000, σ² = 0.01, z₀ = 𝟙, η = 0.5): mean-NTK theory as lines,
Monte Carlo (common Q draws) as bands of ±2 standard errors over the draws.

    python scripts/sharpness_conservative.py [--out sharpness_conservative.png] [--P 1000] [--draws 8]
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import hdlimits as hd  # noqa: E402
from hdlimits import sharpness as hs  # noqa: E402

LAM = [1.6, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="sharpness_conservative.png")
    ap.add_argument("--P", type=int, default=1000)
    ap.add_argument("--sigma2", type=float, default=0.01)
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    w = hs.QuadraticModel.wide(LAM, P=a.P, sigma2=a.sigma2, residual0=1.0, seed=0)
    opts = [hd.GD(0.5), hd.SGD(0.5, 6), hd.SGD(0.5, 4), hd.SAM(0.5, 0.5)]
    labels = ["GD", "SGD B=6", "SGD B=4", "SAM ρ=0.5"]
    colors = ["k", "tab:blue", "tab:orange", "tab:green"]
    sims = hs.simulate_paired(w, opts, a.steps, draws=a.draws, runs=a.runs, seed=a.seed, antithetic=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for opt, sim, lab, col in zip(opts, sims, labels, colors):
        th = hs.predict(w, opt, a.steps)
        for ax, name in zip(axes, ("sharpness", "min_ntk_eigenvalue")):
            m, se = sim[name], sim.stderr(name)
            ax.fill_between(sim.step, m - 2 * se, m + 2 * se, color=col, alpha=0.25, lw=0)
            ax.plot(th.step, th[name], color=col, lw=1.6, label=f"{lab} (theory)")
    axes[0].set_title("top NTK eigenvalue λ_max")
    axes[1].set_title("bottom NTK eigenvalue λ_min")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(title="lines: mean-NTK theory\nbands: MC ±2 SE", fontsize=8)
    fig.suptitle(f"Conservative sharpening, wide quadratic model (D=8, P={a.P}, σ²={a.sigma2:g}, η=0.5; "
                 f"{a.draws} Q draws (±Q pairs) × {a.runs} batch sequences)", fontsize=10)
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
