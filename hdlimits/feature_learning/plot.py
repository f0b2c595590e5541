"""The method-comparison figure (a Fig.-1-style panel of Zhang et al., ICML 2025, arXiv 2502.01763):
subspace distance, training loss and transfer loss per step, Monte Carlo mean ± standard error per method
(docs/feature_learning.md §6)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot", "COLORS"]

COLORS = {"sgd": "tab:blue", "kfac": "tab:red", "adam": "tab:green", "batchnorm": "tab:orange",
          "ngd": "tab:purple"}
_PANELS = (("subspace_distance", "subspace distance ‖(I − G*ᵀG*)Q_G‖"),
           ("train_loss", "training (batch) loss"),
           ("transfer_loss", "transfer loss (excess)"))


def plot(results, path=None, title=None, fig=None, log=True):
    """Draw ``{method: TrainResult}`` (from :func:`compare_methods`) as three panels; save to ``path``
    (PNG, PDF, … by extension) if given. Returns the matplotlib Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    if not isinstance(results, dict) or not results:
        raise ValueError("results must be a non-empty dict {method: TrainResult} (fl.compare_methods)")
    if fig is None:
        fig = Figure(figsize=(15, 4.3), dpi=100)
        FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    for ax, (name, label) in zip(axes, _PANELS):
        for method, res in results.items():
            c = getattr(res, name)
            s = res.steps
            col = COLORS.get(method)
            lo = np.maximum(c.mean - c.stderr, 1e-300) if log else c.mean - c.stderr
            ax.plot(s, c.mean, color=col, lw=1.6, label=f"{method} (lr {res.lr:g})")
            ax.fill_between(s, lo, c.mean + c.stderr, color=col, alpha=0.25, lw=0)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    any_res = next(iter(results.values()))
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(title or f"layer-wise preconditioning, batch {any_res.batch}, "
                          f"{any_res.n_runs} runs (mean ± s.e.)", fontsize=11)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
