"""The sharpness-dynamics figure of the second-order models (docs/sharpness_second_order.md §6):
sharpness vs step with the edge line (2/η for GD, λ_SAM for SAM), the loss on a log axis and, for
learning-rate tuners, η_t·λ_max with the edge 2. Matplotlib with the Agg canvas (no display needed)."""
from __future__ import annotations

import numpy as np

__all__ = ["sharpness_figure", "edge_of"]


def edge_of(optimizer):
    """(value, label) of the edge line of ``optimizer``: 2/η (GD, SGD), λ_SAM (unnormalised SAM), None
    for tuners and normalised SAM (its edge moves with ‖g‖)."""
    from hdlimits.models.sharpness.second_order import sam_edge
    from hdlimits.optimizers.tuners import Tuner
    lr = getattr(optimizer, "lr", None)
    if isinstance(lr, Tuner) or lr is None:
        return None
    if type(optimizer).__name__ == "SAM":
        if optimizer.normalized:
            return None
        return sam_edge(optimizer.lr, optimizer.rho), f"λ_SAM = {sam_edge(optimizer.lr, optimizer.rho):.4g}"
    return 2.0 / float(lr), f"2/η = {2.0 / float(lr):.4g}"


def sharpness_figure(results, path=None, title=None):
    """Draw results (one or a list; SharpnessCurve or SharpnessSimulation with ``loss``, ``sharpness``
    and optionally ``hessian_sharpness`` and ``lr``) in 2 panels (sharpness, loss) or 3 (plus η_t·λ_max
    when the step varies). Returns the matplotlib Figure; saved to ``path`` when given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    if not isinstance(results, (list, tuple)):
        results = [results]
    tuned = any("lr" in r and np.ptp(np.asarray(r["lr"])[np.isfinite(r["lr"])]) > 0 for r in results)
    n = 3 if tuned else 2
    fig = Figure(figsize=(4.6 * n, 3.6))
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, n, i + 1) for i in range(n)]
    for k, r in enumerate(results):
        col = f"C{k}"
        lab = r.optimizer.describe() if hasattr(r.optimizer, "describe") else str(r.optimizer)
        ok = np.isfinite(r.sharpness)
        axes[0].plot(r.step[ok], r.sharpness[ok], color=col, lw=1.4, label=f"λ_max(Θ), {lab}")
        if "hessian_sharpness" in r:
            h = np.isfinite(r.hessian_sharpness)
            axes[0].plot(r.step[h], r.hessian_sharpness[h], color=col, lw=1.0, ls=":", label="λ_max(H)")
        edge = edge_of(r.optimizer)
        if edge is not None:
            axes[0].axhline(edge[0], color=col, ls="--", lw=1.0, label=edge[1])
        loss = np.asarray(r.loss)
        good = np.isfinite(loss) & (loss > 0)
        axes[1].semilogy(r.step[good], loss[good], color=col, lw=1.4, label=lab)
        if tuned and "lr" in r:
            e = np.asarray(r.lr) * np.asarray(r.sharpness)
            g = np.isfinite(e)
            axes[2].plot(r.step[g], e[g], color=col, lw=1.4, label=lab)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("sharpness")
    axes[0].set_title("sharpness (NTK solid, Hessian dotted)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("loss ½‖z‖²")
    axes[1].set_title("loss")
    if tuned:
        axes[2].axhline(2.0, color="k", ls="--", lw=1.0, label="edge ηλ = 2")
        axes[2].set_xlabel("step")
        axes[2].set_ylabel("η_t · λ_max")
        axes[2].set_title("tuned step × sharpness")
        axes[2].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
