"""``compare``: how far a simulated risk curve is from its predicted one.

Both curves follow CONVENTIONS.md: ``t`` is time in units of d steps (``t = k/d``), ``risk`` is
``½ E[r²] = ½(eᵀKe + E ε²)`` (noise floor included) and ``excess_risk`` is ``½ eᵀKe``. The comparison is a
subtraction at the common times: ``gap = sim − theory``, ``rel_gap = gap / |theory|`` and
``z = gap / stderr``, with ``stderr`` the standard error of the simulation mean over its runs.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core.results import columns_csv

__all__ = ["Comparison", "compare", "QUANTITIES", "T_TOLERANCE"]

#: the quantities a comparison can be made on
QUANTITIES = ("risk", "excess_risk")
#: two time grids are the same when they differ by at most this, relative to max(1, |t|)
T_TOLERANCE = 1e-12
#: at most this many rows in the table printed by ``str(comparison)``
TABLE_ROWS = 15


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _list(a):
    return [_finite_or_none(x) for x in np.asarray(a, dtype=np.float64)]


def _max_abs(a):
    """max |a| over the finite entries (nan when there is none), with its index (or -1)."""
    a = np.asarray(a, dtype=np.float64)
    ok = np.isfinite(a)
    if not ok.any():
        return math.nan, -1
    idx = np.flatnonzero(ok)
    j = idx[np.argmax(np.abs(a[idx]))]
    return float(abs(a[j])), int(j)


def _json_safe(obj):
    """Recursively turn numpy scalars into Python ones and non-finite floats into None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _finite_or_none(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def _mean_abs(a):
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.mean(np.abs(a))) if a.size else math.nan


def _rms(a):
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.sqrt(np.mean(a * a))) if a.size else math.nan


def _first_nonfinite_t(t, values):
    bad = np.flatnonzero(~np.isfinite(values))
    return float(t[bad[0]]) if bad.size else None


def _describe(curve, fallback):
    opt = getattr(curve, "optimizer", None)
    if opt is None:
        return fallback
    return getattr(opt, "describe", lambda: str(opt))()


@dataclass(eq=False)
class Comparison:
    """The gap between a predicted and a simulated curve of the same ``quantity``.

    Per-time arrays (all of the length of ``t``):

    - ``theory`` — the predicted values; ``sim_mean`` — the simulation mean over runs;
      ``sim_stderr`` — its standard error (nan for a single run);
    - ``gap = sim_mean − theory``; ``rel_gap = gap / |theory|``;
    - ``z = gap / sim_stderr`` — nan where the standard error is 0 (e.g. at t = 0, where every run
      starts from the same ``e_0``), nan or infinite, and wherever a curve is not finite.

    Summary numbers, over the times where both curves are finite (nan when there is none):
    ``max_rel_gap`` (with ``t_max_rel_gap``), ``mean_rel_gap``, ``max_abs_z`` (with ``t_max_abs_z``),
    ``rms_z``. For a correct theory and enough runs, ``z`` at each time is close to a standard normal
    (a Student-t with ``runs − 1`` degrees of freedom), so ``rms_z ≈ 1`` and ``max_abs_z`` grows only
    like ``√(2 log n_times)``; the times are correlated, so read these as diagnostics, not as a test.

    ``theory_status`` and ``sim_status`` are copied from the curves; ``notes`` lists what was excluded
    and why (divergence, undefined z, zero theory values, ...).
    """

    quantity: str
    t: np.ndarray
    theory: np.ndarray
    sim_mean: np.ndarray
    sim_stderr: np.ndarray
    gap: np.ndarray
    rel_gap: np.ndarray
    z: np.ndarray
    max_rel_gap: float
    t_max_rel_gap: float
    mean_rel_gap: float
    max_abs_z: float
    t_max_abs_z: float
    rms_z: float
    n_compared: int
    theory_status: str
    sim_status: str
    runs: int | None = None
    theory_label: str = "theory"
    sim_label: str = "simulation"
    theory_divergence_t: float | None = None
    sim_divergence_t: float | None = None
    notes: list = field(default_factory=list)
    theory_curve: object = field(default=None, repr=False)
    sim_curve: object = field(default=None, repr=False)

    # ------------------------------------------------------------------ convenience
    @property
    def ok(self) -> bool:
        """Both curves have status ``"ok"`` (says nothing about the size of the gap)."""
        return self.theory_status == "ok" and self.sim_status == "ok"

    def summary_dict(self) -> dict:
        """The summary numbers and statuses (JSON-safe: non-finite numbers become None)."""
        return {
            "quantity": self.quantity,
            "theory_status": self.theory_status, "sim_status": self.sim_status,
            "theory_label": self.theory_label, "sim_label": self.sim_label,
            "runs": self.runs, "n_times": int(self.t.size), "n_compared": self.n_compared,
            "max_rel_gap": _finite_or_none(self.max_rel_gap),
            "t_max_rel_gap": _finite_or_none(self.t_max_rel_gap),
            "mean_rel_gap": _finite_or_none(self.mean_rel_gap),
            "max_abs_z": _finite_or_none(self.max_abs_z),
            "t_max_abs_z": _finite_or_none(self.t_max_abs_z),
            "rms_z": _finite_or_none(self.rms_z),
            "theory_divergence_t": self.theory_divergence_t,
            "sim_divergence_t": self.sim_divergence_t,
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict:
        """Summary plus per-time arrays (``t``, ``theory``, ``sim_mean``, ``sim_stderr``, ``gap``,
        ``rel_gap``, ``z``) of the compared quantity, both full curves (``curves``: risk and excess risk
        of each, with the simulation's standard errors) and their metadata. Non-finite numbers (inf after
        a divergence, nan where undefined) become None."""
        out = {"summary": self.summary_dict()}
        for name in ("t", "theory", "sim_mean", "sim_stderr", "gap", "rel_gap", "z"):
            out[name] = _list(getattr(self, name))
        th, sm = self.theory_curve, self.sim_curve
        if th is not None and sm is not None:
            out["curves"] = {
                "theory": {"risk": _list(th.risk), "excess_risk": _list(th.excess_risk)},
                "sim": {"risk": _list(sm.risk), "risk_stderr": _list(_stderr_of(sm, "risk")),
                        "excess_risk": _list(sm.excess_risk),
                        "excess_risk_stderr": _list(_stderr_of(sm, "excess_risk"))},
            }
        for key, curve in (("theory_metadata", th), ("sim_metadata", sm)):
            if curve is not None and hasattr(curve, "metadata"):
                out[key] = curve.metadata()
        return out

    def to_json(self, path=None) -> str:
        """:meth:`to_dict` as JSON text (strict JSON: no NaN/Infinity); written to ``path`` if given."""
        text = json.dumps(_json_safe(self.to_dict()), indent=1, allow_nan=False)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def to_csv(self, path=None) -> str:
        """Both curves side by side, one row per time.

        Columns: ``t``, ``theory_risk``, ``theory_excess_risk``, ``sim_risk``, ``sim_risk_stderr``,
        ``sim_excess_risk``, ``sim_excess_risk_stderr`` (when the curves are available), then
        ``gap``, ``rel_gap``, ``z`` for the compared quantity. Comment lines (``#``) at the top give the
        quantity, the statuses and the summary numbers. Non-finite values are written as ``inf``/``nan``.
        """
        cols = {"t": self.t}
        th, sm = self.theory_curve, self.sim_curve
        if th is not None and sm is not None:
            cols["theory_risk"] = th.risk
            cols["theory_excess_risk"] = th.excess_risk
            cols["sim_risk"] = sm.risk
            cols["sim_risk_stderr"] = _stderr_of(sm, "risk")
            cols["sim_excess_risk"] = sm.excess_risk
            cols["sim_excess_risk_stderr"] = _stderr_of(sm, "excess_risk")
        else:
            cols["theory_" + self.quantity] = self.theory
            cols["sim_" + self.quantity] = self.sim_mean
            cols["sim_" + self.quantity + "_stderr"] = self.sim_stderr
        cols["gap"] = self.gap
        cols["rel_gap"] = self.rel_gap
        cols["z"] = self.z
        s = self.summary_dict()
        comments = [f"quantity: {self.quantity} (gap = sim - theory, rel_gap = gap/|theory|, z = gap/stderr)",
                    f"theory status: {self.theory_status}", f"sim status: {self.sim_status}",
                    ", ".join(f"{k}={s[k]}" for k in ("max_rel_gap", "mean_rel_gap", "max_abs_z", "rms_z",
                                                      "n_compared"))]
        comments += [f"note: {note}" for note in self.notes]
        return columns_csv(comments, cols, path)

    # ------------------------------------------------------------------ printing
    def table_rows(self, max_rows: int = TABLE_ROWS) -> np.ndarray:
        """Indices of the rows printed by ``str()``: evenly spread, first and last time included,
        plus the time of the largest relative gap."""
        n = self.t.size
        if n <= max_rows:
            return np.arange(n)
        idx = set(np.unique(np.round(np.linspace(0, n - 1, max_rows - 1)).astype(int)).tolist())
        _, j = _max_abs(self.rel_gap)
        if j >= 0:
            idx.add(j)
        return np.array(sorted(idx))

    def __str__(self) -> str:
        def pct(x):
            if not math.isfinite(x):
                return "n/a"
            return "0%" if abs(x) < 1e-12 else f"{100 * x:.3g}%"

        def num(x, fmt=".3g"):
            if math.isinf(x):
                return "inf" if x > 0 else "-inf"
            return "n/a" if math.isnan(x) else format(x, fmt)

        runs = "" if self.runs is None else f" ({self.runs} run{'s' if self.runs != 1 else ''})"
        lines = [
            f"compare {self.quantity}: theory [{self.theory_label}] vs simulation [{self.sim_label}]",
            f"  theory status: {self.theory_status};  simulation status: {self.sim_status}{runs}",
            f"  times compared: {self.n_compared} of {self.t.size} (t in [{self.t[0]:g}, {self.t[-1]:g}],"
            " t = steps/d)",
            f"  max |relative gap| = {pct(self.max_rel_gap)}"
            + (f" at t={self.t_max_rel_gap:g}" if math.isfinite(self.t_max_rel_gap) else "")
            + f";  mean |relative gap| = {pct(self.mean_rel_gap)}",
            f"  max |z| = {num(self.max_abs_z)}"
            + (f" at t={self.t_max_abs_z:g}" if math.isfinite(self.t_max_abs_z) else "")
            + f";  rms z = {num(self.rms_z)}   (z = gap / stderr of the simulation mean)",
        ]
        for note in self.notes:
            lines.append(f"  note: {note}")
        header = (f"{'t':>10} {'theory':>12} {'sim mean':>12} {'± stderr':>11} {'gap':>11} "
                  f"{'rel gap':>9} {'z':>7}")
        lines.append(header)
        for i in self.table_rows():
            lines.append(f"{self.t[i]:>10.4g} {num(self.theory[i], '.6g'):>12} "
                         f"{num(self.sim_mean[i], '.6g'):>12} {num(self.sim_stderr[i], '.3g'):>11} "
                         f"{num(self.gap[i], '.3g'):>11} {pct(self.rel_gap[i]):>9} "
                         f"{num(self.z[i], '.2f'):>7}")
        if self.t.size > TABLE_ROWS:
            lines.append(f"  ({self.t.size} times in all; to_csv() and to_json() hold every row)")
        return "\n".join(lines)


def _stderr_of(curve, quantity: str) -> np.ndarray:
    se = getattr(curve, f"{quantity}_stderr", None)
    if se is None:
        return np.full(np.shape(curve.t), np.nan)
    return np.asarray(se, dtype=np.float64)


def _values(curve, quantity: str, role: str) -> np.ndarray:
    vals = getattr(curve, quantity, None)
    if vals is None:
        raise ValueError(f"{role} has no {quantity!r} values")
    vals = np.asarray(vals, dtype=np.float64)
    if vals.shape != np.shape(curve.t):
        raise ValueError(f"{role}.{quantity} has shape {vals.shape}, expected that of {role}.t "
                         f"{np.shape(curve.t)}")
    return vals


def compare(theory, sim, quantity: str = "excess_risk") -> Comparison:
    """Compare a predicted curve with a simulated one at their common times.

    Parameters
    ----------
    theory : RiskCurve, e.g. from :func:`hdlimits.predict_risk`.
    sim : SimulationResult from :func:`hdlimits.simulate` (any RiskCurve is accepted; without a
        standard error the z-scores are nan).
    quantity : ``"excess_risk"`` (default) — ``½ eᵀKe`` — or ``"risk"`` — ``½(eᵀKe + E ε²)``, noise
        floor included. The default is the excess risk because the noise floor ``½ E ε²`` is the same
        constant in both curves: added to both, it hides the relative gap (the absolute gap and z are
        unchanged), and for noise without a second moment the risk is infinite.

    The two curves must be given on the same time grid (``t = steps/d``): same length and
    ``|t_theory − t_sim| ≤ 1e-12·max(1, |t|)``, else ``ValueError``. The simulator records the risk after
    step ``round(t·d)``, so pass times that are multiples of ``1/d`` when exactness at ``O(1/d)`` matters.

    Divergence is not an error: times where either curve is not finite (``inf`` after a divergence)
    are excluded from the summary numbers and reported in ``notes`` and ``*_divergence_t``. A single
    run (``stderr`` nan) or a zero standard error gives ``z = nan``, also with a note. No NumPy
    warning is emitted.

    Returns a :class:`Comparison`; ``print()`` it for a summary and a per-time table.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {list(QUANTITIES)}, got {quantity!r}")
    for role, curve in (("theory", theory), ("sim", sim)):
        if not hasattr(curve, "t"):
            raise ValueError(f"{role} must be a RiskCurve (from predict_risk or simulate), "
                             f"got {type(curve).__name__}")
    t1 = np.asarray(theory.t, dtype=np.float64).reshape(-1)
    t2 = np.asarray(sim.t, dtype=np.float64).reshape(-1)
    if t1.size != t2.size:
        raise ValueError(f"theory and sim must share the time grid t: theory has {t1.size} times, "
                         f"sim has {t2.size}")
    if t1.size == 0:
        raise ValueError("theory and sim have no times to compare")
    with np.errstate(invalid="ignore"):
        dt = np.abs(t1 - t2)
        bad = ~(dt <= T_TOLERANCE * np.maximum(1.0, np.abs(t1)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"theory and sim must share the time grid t (tolerance {T_TOLERANCE:g}); "
                         f"they differ first at index {i}: {t1[i]!r} vs {t2[i]!r}")
    t = t1
    th = _values(theory, quantity, "theory")
    sm = _values(sim, quantity, "sim")
    se = _stderr_of(sim, quantity)
    runs = getattr(sim, "runs", None)
    runs = int(runs) if runs else None
    notes = []

    both = np.isfinite(th) & np.isfinite(sm)
    gap = np.full(t.shape, np.nan)
    rel = np.full(t.shape, np.nan)
    z = np.full(t.shape, np.nan)
    gap[both] = sm[both] - th[both]
    nz = both & (th != 0)
    rel[nz] = gap[nz] / np.abs(th[nz])
    good_se = both & np.isfinite(se) & (se > 0)
    z[good_se] = gap[good_se] / se[good_se]

    th_div = _first_nonfinite_t(t, th)
    sm_div = _first_nonfinite_t(t, sm)
    n_bad = int((~both).sum())
    if n_bad:
        what = []
        if th_div is not None:
            what.append(f"theory from t={th_div:g}")
        if sm_div is not None:
            what.append(f"simulation from t={sm_div:g}")
        if quantity == "risk" and (np.isinf(th).all() or np.isinf(sm).all()):
            notes.append("the risk is infinite (the noise has no finite second moment): compare "
                         "quantity='excess_risk'")
        notes.append(f"{n_bad} of {t.size} times excluded: curve not finite ({'; '.join(what)})")
    n_zero = int((both & (th == 0)).sum())
    if n_zero:
        notes.append(f"relative gap undefined at {n_zero} times where the theory value is 0")
    if runs is not None and runs < 2:
        notes.append("z undefined: a single run has no standard error (use runs ≥ 2)")
    elif not np.isfinite(se[both]).any() and both.any():
        notes.append("z undefined: the simulation has no standard error")
    else:
        n_zero_se = int((both & (se == 0)).sum())
        if n_zero_se:
            zero_t = t[both & (se == 0)]
            where = ("at t=0, where every run starts from e_0" if zero_t.size == 1 and zero_t[0] == 0
                     else f"at {n_zero_se} times")
            notes.append(f"z undefined where the standard error is 0 ({where})")

    max_rel, j_rel = _max_abs(rel)
    max_z, j_z = _max_abs(z)
    return Comparison(
        quantity=quantity, t=t, theory=th, sim_mean=sm, sim_stderr=se, gap=gap, rel_gap=rel, z=z,
        max_rel_gap=max_rel, t_max_rel_gap=float(t[j_rel]) if j_rel >= 0 else math.nan,
        mean_rel_gap=_mean_abs(rel), max_abs_z=max_z,
        t_max_abs_z=float(t[j_z]) if j_z >= 0 else math.nan, rms_z=_rms(z),
        n_compared=int(both.sum()), theory_status=str(getattr(theory, "status", "?")),
        sim_status=str(getattr(sim, "status", "?")), runs=runs,
        theory_label=_describe(theory, "theory") + f", {getattr(theory, 'method', '?')}",
        sim_label=_describe(sim, "simulation") + (f", data={sim.data}" if hasattr(sim, "data") else ""),
        theory_divergence_t=th_div, sim_divergence_t=sm_div, notes=notes,
        theory_curve=theory, sim_curve=sim)
