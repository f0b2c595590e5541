"""What the phase diagrams share: their result type, the default problem, the figure canvas, the tail
laws of the heavy-tail diagrams and the writing of the figure and data."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hdlimits.core import noise as noise_mod
from hdlimits.core import validation as v
from hdlimits.models.least_squares.problem import Problem
from hdlimits.sweeps import SweepResult

__all__ = ["PhaseResult", "write"]


@dataclass(eq=False)
class PhaseResult:
    """A phase diagram: the sweep, the boundary curves drawn on it and the files written.

    ``problem``: the problem swept (None for diagrams that sweep a family of problems)."""

    name: str
    sweep: SweepResult
    boundaries: dict = field(default_factory=dict)
    figure: str | None = None
    data: dict = field(default_factory=dict)
    problem: Problem | None = None

    def __repr__(self):
        return f"PhaseResult({self.name}, {self.sweep!r}, figure={self.figure})"


def same(problem):
    """Problem factory that returns a fixed problem (picklable)."""
    return problem


def check_problem(problem, d, alpha, beta, noise):
    """``problem``, or ``Problem.power_law(d, alpha, beta, noise, seed=0)`` when it is None."""
    if problem is None:
        if isinstance(noise, str):
            noise = noise_mod.parse(noise)
        return Problem.power_law(d=v.integer("d", d, low=2), alpha=alpha, beta=beta, noise=noise, seed=0)
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a hdlimits Problem, got {type(problem).__name__}")
    return problem


def sweep_kwargs(backend, workers, client, progress):
    return dict(backend=backend, workers=workers, client=client, progress=progress)


def tail_law(df, scale):
    """Student-t(df, scale), or the Gaussian N(0, scale²) (its df → ∞ limit) for df = inf."""
    return noise_mod.gaussian(scale) if math.isinf(df) else noise_mod.student_t(df, scale)


def check_dfs(dfs):
    """Student-t degrees of freedom in (2, inf], sorted."""
    dfs = np.sort(np.array(dfs, dtype=np.float64))
    if dfs.ndim != 1 or dfs.size == 0 or np.any(~(dfs > 2)):
        raise ValueError(f"dfs must be Student-t degrees of freedom in (2, inf] (inf: Gaussian), got {dfs}")
    return dfs


# ------------------------------------------------------------------------------ drawing helpers
def figure(width=6.4, height=4.8):
    """A matplotlib Figure on an Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def edges(x, log=True):
    """Cell edges for pcolormesh around (log-)spaced centres."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 1:
        return np.array([x[0] / 1.5, x[0] * 1.5]) if log else np.array([x[0] - 0.5, x[0] + 0.5])
    y = np.log(x) if log else x
    mid = 0.5 * (y[1:] + y[:-1])
    e = np.concatenate([[y[0] - (mid[0] - y[0])], mid, [y[-1] + (y[-1] - mid[-1])]])
    return np.exp(e) if log else e


def batch_lr_axes(ax, batches, lrs, ylabel):
    """The (batch size × learning rate) plane of the stability diagrams: log₂ batch axis, log learning-rate
    axis, limits at the grid cells' edges."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(edges(batches)[[0, -1]])
    ax.set_ylim(edges(lrs)[[0, -1]])
    ax.set_xlabel("batch size B")
    ax.set_ylabel(ylabel)


def tail_ticks(ax, dfs):
    """Label the rows of a df axis (at most ~10 ticks, the last one always), 'Gauss' for df = inf."""
    rows = np.arange(dfs.size)
    step = max(1, dfs.size // 10)
    ticks = rows[::step] if rows[-1] in rows[::step] else np.append(rows[::step], rows[-1])
    ax.set_yticks(ticks, ["Gauss" if math.isinf(dfs[i]) else f"{dfs[i]:.3g}" for i in ticks])


def write(result, fig, out):
    """Save the figure and the data under the stem ``out`` (``None``: nothing); fill
    ``result.figure``/``result.data``."""
    if out is None:
        return result
    stem = Path(out)
    if stem.suffix == ".png":
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = str(stem) + ".png"
    fig.savefig(png, bbox_inches="tight")
    result.figure = png
    result.data = result.sweep.save(stem)
    return result
