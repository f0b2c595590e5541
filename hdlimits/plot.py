"""Figures of risk curves: the theory line over the simulation mean ± standard-error bands.

Conventions (docs/conventions.md): the x axis is time ``t = steps/d``; ``risk = ½ E[r²] = ½(eᵀKe + E ε²)``
includes the noise floor ``½ E ε²`` (drawn as a dotted line), ``excess_risk = ½ eᵀKe`` does not.

The figures are built as plain :class:`matplotlib.figure.Figure` objects rendered by the Agg backend:
nothing opens a window, ``pyplot``'s global state is not touched and no display is needed. Pass
``path`` to save a PNG (or any format matplotlib knows from the suffix), or ``ax`` to draw into an
existing axes. matplotlib is imported on first use only.
"""
from __future__ import annotations

import math

import numpy as np

from hdlimits.core import observables
from hdlimits.core.status import Status

__all__ = ["risk_curves", "risk_curves_many"]

def _check_quantity(quantity):
    """The quantity if it is a registered observable (:mod:`hdlimits.core.observables`)."""
    return observables.check_name(quantity)


def _ylabel(quantity):
    return observables.get(quantity).label


def _values(curve, quantity):
    vals = getattr(curve, quantity, None) if curve is not None else None
    return None if vals is None else np.asarray(vals, dtype=np.float64)


def _auto_quantity(curves, quantity):
    """``"excess_risk"`` in place of ``"risk"`` when the risk is infinite at every time of every
    curve while the excess risk is finite somewhere (noise without a second moment: the risk is
    infinite by definition, not divergent); else ``quantity``. Returns (quantity, switched)."""
    if quantity != "risk":
        return quantity, False
    curves = [c for c in curves if c is not None]
    risks = [_values(c, "risk") for c in curves]
    excess = [_values(c, "excess_risk") for c in curves]
    if (curves and all(r is not None and r.size and np.isinf(r).all() for r in risks)
            and all(e is not None for e in excess) and any(np.isfinite(e).any() for e in excess)):
        return "excess_risk", True
    return quantity, False


SWITCH_NOTE = "risk = inf (noise without a finite second moment): excess risk shown"


def _new_figure(figsize=(7.5, 4.8)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _divergence_t(curve, values):
    """The time of divergence (or failure): the status's ``t_event`` — None for an ok status, whatever
    the values (an infinite risk under an ok status is not a divergence). Only a curve without a
    Status falls back to its first non-finite value."""
    status = getattr(curve, "status", None)
    if isinstance(status, Status):
        return status.t_event
    bad = np.flatnonzero(~np.isfinite(values))
    return float(np.asarray(curve.t)[bad[0]]) if bad.size else None


def _status_text(curve):
    return str(getattr(curve, "status", "ok"))


def _method_text(curve):
    m = getattr(curve, "method", None)
    if m == "recursion" and hasattr(getattr(curve, "problem", None), "gaussian"):
        return "data-moment recursion"     # a dataset problem: a closure, not the exact recursion
    return {"ode": "ODE limit", "recursion": "exact recursion",
            "propagator": "data-moment limit"}.get(m, m or "theory")


def _darker(color, amount=0.4):
    """The colour mixed with ``amount`` of black (the theory line, so it stands out of its band)."""
    from matplotlib.colors import to_rgb
    return tuple(c * (1.0 - amount) for c in to_rgb(color))


def _default_label(theory, sim):
    curve = theory if theory is not None else sim
    opt = getattr(curve, "optimizer", None)
    if opt is None:
        return ""
    return getattr(opt, "describe", lambda: str(opt))()


def _problem_title(curve):
    prob = getattr(curve, "problem", None)
    if prob is None:
        return None
    if getattr(prob, "noise", None) is None:        # families without label noise (sharpness)
        return getattr(prob, "label", type(prob).__name__)
    noise = getattr(getattr(prob, "noise", None), "spec", lambda: "?")()
    return f"{getattr(prob, 'label', 'problem')}, noise {noise}"


def _floor(curve, quantity):
    """½ E ε² of the curve's problem when it is finite and > 0 (only drawn for the risk)."""
    if quantity != "risk":
        return None
    prob = getattr(curve, "problem", None)
    m2 = getattr(prob, "noise_second_moment", None)
    if m2 is None or not math.isfinite(m2) or m2 <= 0:
        return None
    return 0.5 * float(m2)


def _mark_divergence(ax, t_div, color, ls, text):
    """A vertical line at the time of divergence, with a small rotated caption at its top."""
    from matplotlib.transforms import blended_transform_factory
    ax.axvline(t_div, color=color, ls=ls, lw=1.3, alpha=0.9, zorder=2)
    ax.text(t_div, 0.03, f"{text} (t={t_div:.4g})", transform=blended_transform_factory(
        ax.transData, ax.transAxes), rotation=90, ha="right", va="bottom", fontsize=7, color=color,
        zorder=6, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))


def _draw(ax, theory, sim, quantity, label, color, logx, prefix_label):
    """Draw the lines of one (theory, sim) pair; return the values drawn (for the y-range), the
    error bands, which :func:`_finish` draws once the y-range is known, and the range of times."""
    drawn = []
    bands = []
    times = [np.asarray(c.t, dtype=np.float64) for c in (theory, sim) if c is not None]
    times = np.concatenate([tc[tc > 0] if logx else tc for tc in times])
    xrange = (float(times.min()), float(times.max())) if times.size else None
    tag = f"{label}: " if (prefix_label and label) else ""
    who = f"{label} " if (prefix_label and label) else ""
    if theory is not None:
        t = np.asarray(theory.t, dtype=np.float64)
        y = np.asarray(getattr(theory, quantity), dtype=np.float64)
        keep = t > 0 if logx else np.ones(t.shape, bool)
        yp = np.where(np.isfinite(y), y, np.nan)
        ax.plot(t[keep], yp[keep], color=_darker(color), lw=2.0, zorder=5,
                label=f"{tag}theory ({_method_text(theory)}) — {_status_text(theory)}")
        drawn.append(yp[keep])
        td = _divergence_t(theory, y)
        if td is not None:
            _mark_divergence(ax, td, _darker(color), "--", f"{who}theory diverges")
    if sim is not None:
        t = np.asarray(sim.t, dtype=np.float64)
        m = np.asarray(getattr(sim, quantity), dtype=np.float64)
        se = getattr(sim, f"{quantity}_stderr", None)
        se = np.full(t.shape, np.nan) if se is None else np.asarray(se, dtype=np.float64)
        keep = t > 0 if logx else np.ones(t.shape, bool)
        fin = np.isfinite(m)
        mp = np.where(fin, m, np.nan)
        have_se = bool(np.isfinite(se[fin]).any())
        details = []
        if getattr(sim, "data", None) and not hasattr(type(sim), "step"):   # step-time families: no data law
            details.append(f"{sim.data} data")
        runs = getattr(sim, "runs", None)
        if runs:
            details.append(f"{runs} run{'s' if runs != 1 else ''}")
        what = "simulation mean ± 1, 2 s.e." if have_se else "simulation mean"
        if details:
            what += f" ({', '.join(details)})"
        ax.plot(t[keep], mp[keep], color=color, lw=0.8, ls="-", marker="o", ms=2.5, alpha=0.75,
                zorder=4, label=f"{tag}{what} — {_status_text(sim)}")
        drawn.append(mp[keep])
        if have_se:
            ok = keep & fin & np.isfinite(se)
            mo, so = np.where(ok, m, np.nan), np.where(ok, se, np.nan)
            for k, alpha in ((2.0, 0.12), (1.0, 0.28)):
                lo, hi = mo - k * so, mo + k * so
                bands.append((t, lo, hi, ok, color, alpha))   # drawn in _finish, once the y-range is set
                drawn.append(hi[ok])
        sd = _divergence_t(sim, m)
        if sd is not None:
            _mark_divergence(ax, sd, color, ":", f"{who}simulation diverges")
            last = np.flatnonzero(fin & keep)
            if last.size:
                i = last[-1]
                ax.plot([t[i]], [m[i]], marker="x", ms=8, mew=2, color=color, zorder=5)
    return drawn, bands, xrange


def _finish(ax, fig, drawn, bands, xranges, floors, quantity, logy, logx, title,
            outside_legend=False):
    """Axes scales and range, error bands, labels, noise floor and legend (below the axes when it is
    long and the figure is ours)."""
    vals = np.concatenate([np.ravel(a) for a in drawn] + [np.array(list(floors))]) \
        if drawn or floors else np.empty(0)
    vals = vals[np.isfinite(vals)]
    pos = vals[vals > 0]
    use_log = logy and pos.size > 0
    for value in sorted(floors):
        ax.axhline(value, color="0.35", ls=":", lw=1.2, zorder=0,
                   label=f"noise floor ½E[ε²] = {value:.3g}")
    if use_log:
        ax.set_yscale("log")
        lo_lim = pos.min() / 1.6
        hi_lim = pos.max() * 1.6
        ax.set_ylim(lo_lim, hi_lim)
    # the bands: on a log axis a lower edge below a tenth of the mean (or below 0) is cut there
    for t, lo, hi, ok, color, alpha in bands:
        lo_d = np.maximum(lo, np.maximum(lo_lim, 0.1 * (lo + hi) / 2)) if use_log else lo
        ax.fill_between(t, lo_d, hi, where=ok, color=color, alpha=alpha, lw=0, zorder=1)
    if use_log:
        ax.set_ylim(lo_lim, hi_lim)
    if logx:
        ax.set_xscale("log")
    xr = [r for r in xranges if r is not None]
    xr = (min(r[0] for r in xr), max(r[1] for r in xr)) if xr else None
    if xr is not None and xr[1] > xr[0]:
        # the whole requested horizon, also when a curve stops early at a divergence
        if logx:
            ax.set_xlim(xr[0] / 1.1, xr[1] * 1.1)
        else:
            pad = 0.02 * (xr[1] - xr[0])
            ax.set_xlim(xr[0] - pad, xr[1] + pad)
    ax.set_xlabel("time  t = steps / d")
    ax.set_ylabel(_ylabel(quantity))
    ax.grid(True, which="major", alpha=0.35)
    if use_log or logx:
        ax.grid(True, which="minor", alpha=0.12)
    if title:
        ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    if outside_legend and len(labels) > 4:
        # one column (the labels are long), the figure grows to make room for it
        fig.set_figheight(fig.get_figheight() + 0.16 * len(labels))
        fig.legend(handles, labels, loc="outside lower center", ncols=1, fontsize=7.5, frameon=False)
    else:
        ax.legend(fontsize=7.5, loc="best", framealpha=0.85)
    return fig


def _save(fig, path, dpi):
    if path is not None:
        fig.savefig(path, dpi=dpi)


def risk_curves(theory, sim=None, path=None, quantity: str = "risk", logy: bool = True,
                logx: bool = False, ax=None, title: str | None = None, label: str | None = None,
                color: str = "C0", dpi: int = 150):
    """Plot a predicted curve and, optionally, a simulated one on the same axes.

    Parameters
    ----------
    theory : RiskCurve from :func:`hdlimits.predict_risk` (or None to plot a simulation alone).
    sim : SimulationResult from :func:`hdlimits.simulate`, or None.
    path : where to save the figure (the suffix picks the format, e.g. ``.png``); None: do not save.
    quantity : any registered observable (:mod:`hdlimits.core.observables`; its label is the y label):
        ``"risk"`` (default; ``½(eᵀKe + E ε²)``, the noise floor ``½E ε²`` is drawn dotted) or
        ``"excess_risk"`` (``½ eᵀKe``, which shows gaps hidden under the floor). When the risk is
        infinite at every time (noise without a finite second moment, e.g. Student-t with df ≤ 2)
        while the excess risk is finite, the excess risk is drawn instead and the title says so.
    logy, logx : logarithmic axes. With ``logx`` the point ``t = 0`` is left out. With ``logy`` an
        error band whose lower edge falls below a tenth of the mean (in particular below 0) is cut
        there; ``logy`` falls back to a linear axis when no value is > 0.
    ax : an existing matplotlib Axes to draw into (its figure is returned); default: a new figure.
    title : default: the problem's label and noise law. label : the legend prefix (default: none).

    Draws the theory as a solid (darker) line, the simulation mean as a thin line with dots and its
    ±1 and ±2 standard-error bands (lighter for ±2). The legend gives each curve's status; a divergence
    is marked by a captioned vertical line at its time (dashed for the theory, dotted for the
    simulation) and an ``×`` at the last finite simulated point.

    Returns the :class:`matplotlib.figure.Figure`.
    """
    _check_quantity(quantity)
    if theory is None and sim is None:
        raise ValueError("risk_curves needs a theory curve, a simulation, or both (got neither)")
    quantity, switched = _auto_quantity((theory, sim), quantity)
    fig = ax.figure if ax is not None else _new_figure()
    if ax is None:
        ax = fig.add_subplot()
    drawn, bands, xrange = _draw(ax, theory, sim, quantity, label or "", color, logx,
                                 prefix_label=bool(label))
    floor = _floor(theory if theory is not None else sim, quantity)
    if title is None:
        title = _problem_title(theory if theory is not None else sim)
        opt = _default_label(theory, sim)
        if title and opt:
            title = f"{opt}\n{title}"
    if switched:
        title = f"{title}\n{SWITCH_NOTE}" if title else SWITCH_NOTE
    _finish(ax, fig, drawn, bands, [xrange], {floor} if floor is not None else set(), quantity, logy,
            logx, title)
    if any(hasattr(c, "step") for c in (theory, sim) if c is not None):
        ax.set_xlabel("step")   # families whose time is the step count (docs/sharpness.md)
    _save(fig, path, dpi)
    return fig


def risk_curves_many(items, path=None, quantity: str = "risk", logy: bool = True, logx: bool = False,
                     ax=None, title: str | None = None, dpi: int = 150):
    """Several (theory, sim) pairs on one axes, e.g. several optimizers on the same problem.

    ``items``: a sequence of ``(theory, sim, label)`` (or ``(theory, sim)``, labelled by the optimizer's
    description); ``theory`` or ``sim`` may be None. Each pair gets its own colour; the other arguments
    are those of :func:`risk_curves`. The noise floor is drawn once per distinct value of ``½ E ε²``.
    Returns the Figure.
    """
    _check_quantity(quantity)
    items = list(items)
    if not items:
        raise ValueError("items must hold at least one (theory, sim, label) tuple")
    quantity, switched = _auto_quantity(
        [c for it in items if isinstance(it, (tuple, list)) for c in it[:2]], quantity)
    own = ax is None
    fig = ax.figure if ax is not None else _new_figure(figsize=(8.0, 5.0))
    if ax is None:
        ax = fig.add_subplot()
    drawn, bands, xranges, floors = [], [], [], set()
    problems = set()
    for k, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError(f"items[{k}] must be a (theory, sim, label) tuple, got {item!r:.80}")
        theory, sim = item[0], item[1]
        if theory is None and sim is None:
            raise ValueError(f"items[{k}] has neither a theory curve nor a simulation")
        label = item[2] if len(item) == 3 and item[2] else _default_label(theory, sim) or f"curve {k}"
        d, b, xr = _draw(ax, theory, sim, quantity, label, f"C{k % 10}", logx, prefix_label=True)
        drawn += d
        bands += b
        xranges.append(xr)
        ref = theory if theory is not None else sim
        f = _floor(ref, quantity)
        if f is not None:
            floors.add(round(f, 12))
        pt = _problem_title(ref)
        if pt:
            problems.add(pt)
    if title is None and len(problems) == 1:
        title = problems.pop()
    if switched:
        title = f"{title}\n{SWITCH_NOTE}" if title else SWITCH_NOTE
    _finish(ax, fig, drawn, bands, xranges, floors, quantity, logy, logx, title, outside_legend=own)
    if any(hasattr(c, "step") for it in items for c in it[:2] if c is not None):
        ax.set_xlabel("step")   # families whose time is the step count (docs/sharpness.md)
    _save(fig, path, dpi)
    return fig
