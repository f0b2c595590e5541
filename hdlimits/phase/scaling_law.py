"""The (α, β) plane of power-law random features: phase regions and the compute-optimal exponent
(docs/scaling.md §5; Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074).

:func:`scaling_law` colours the plane by the heuristic exponent ``ξ`` of ``d* ∝ f^ξ`` (phases Ia, II, III;
grey where none is derived here), draws the phase boundaries ``2β = 1``, ``2α = 1``, ``α = ¼``,
``α = β`` (for ``2α, 2β > 1``) and ``2(α+β) = 1`` with the phase names, and optionally overlays fitted
exponents (``fits = [(α, β, ξ, se), …]`` from :func:`hdlimits.scaling.compute_optimal`) as annotated
points. It is a drawing of closed forms, not a sweep.
"""
from __future__ import annotations

import numpy as np

from hdlimits.scaling import phase, theory_exponents

__all__ = ["scaling_law", "compute"]


def compute(alpha=(0.05, 2.0), beta=(0.0, 2.0), n=241):
    """Grids and the heuristic exponent ξ (nan where no exponent is derived)."""
    a = np.linspace(*alpha, n)
    b = np.linspace(*beta, n)
    xi = np.full((n, n), np.nan)
    names = np.empty((n, n), dtype=object)
    for i, bb in enumerate(b):
        for j, aa in enumerate(a):
            names[i, j] = phase(aa, bb)
            x = theory_exponents(aa, bb)[0]
            xi[i, j] = np.nan if x is None else x
    return a, b, xi, names


def scaling_law(out=None, fits=None, alpha=(0.05, 2.0), beta=(0.0, 2.0), n=241):
    """Draw the diagram; ``out`` a path (``.png`` appended if missing) or None. Returns the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    a, b, xi, names = compute(alpha, beta, n)
    fig = Figure(figsize=(7, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("0.85")
    im = ax.pcolormesh(a, b, xi, shading="auto", cmap="viridis", vmin=0.2, vmax=0.55)
    fig.colorbar(im, ax=ax, label="heuristic exponent ξ of d* ∝ f^ξ")
    kw = dict(color="k", lw=1.2)
    ax.axhline(0.5, **kw)
    ax.plot([0.5, 0.5], [0.5, beta[1]], **kw)
    ax.plot([0.25, 0.25], [0.25, beta[1]], **kw)
    ax.plot([0.5, min(alpha[1], beta[1])], [0.5, min(alpha[1], beta[1])], **kw)
    aa = np.linspace(alpha[0], 0.5, 50)
    ax.plot(aa, np.clip(0.5 - aa, beta[0], None), "k--", lw=1.0)
    for label, (x, y) in {"Ia": (1.3, 0.25), "Ib": (0.37, 0.32), "Ic": (0.13, 1.2), "IV": (0.37, 1.2),
                          "II": (1.5, 0.85), "III": (1.0, 1.6), "no learning": (0.12, 0.1)}.items():
        if alpha[0] <= x <= alpha[1] and beta[0] <= y <= beta[1]:
            ax.text(x, y, label, ha="center", va="center", fontsize=11, color="w" if label != "no learning"
                    else "k", weight="bold")
    for f in fits or []:
        x, y, val, se = f
        ax.plot([x], [y], "o", color="red", ms=5)
        ax.annotate(f"{val:.2f}±{se:.2f}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8,
                    color="red")
    ax.set_xlabel("α (data spectrum exponent, D_j = j^(−2α))")
    ax.set_ylabel("β (target exponent, b_j = j^(−β))")
    ax.set_title("PLRF compute-optimal phases (arXiv 2405.15074); grey: no exponent derived here", fontsize=9)
    ax.set_xlim(*alpha)
    ax.set_ylim(*beta)
    fig.tight_layout()
    if out is not None:
        path = str(out) if str(out).endswith(".png") else f"{out}.png"
        fig.savefig(path)
    return fig
