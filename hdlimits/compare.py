"""``compare``: how far a simulated curve is from its predicted one, with a verdict.

Both curves follow docs/conventions.md: ``t`` is time in units of d steps (``t = k/d``); any observable
both results hold can be compared (the vocabulary is :mod:`hdlimits.core.observables`; for least squares
``risk = ½ E[r²] = ½(eᵀKe + E ε²)``, noise floor included, and ``excess_risk = ½ eᵀKe``). The comparison
is a subtraction at the common times: ``gap = sim − theory``, ``rel_gap = gap / |theory|`` and
``z = gap / stderr``, with ``stderr`` the standard error of the simulation mean over its runs; the
verdict is a Bonferroni–Student-t test of the z-scores (docs/results.md, "Verdict").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import jsonfmt
from hdlimits.core import observables as obs
from hdlimits.core.results_io import columns_csv
from hdlimits.core.status import Status

__all__ = ["Comparison", "compare", "z_threshold", "QUANTITIES", "T_TOLERANCE", "DEFAULT_LEVEL"]

#: two time grids are the same when they differ by at most this, relative to max(1, |t|)
T_TOLERANCE = 1e-12
#: at most this many rows in the table printed by ``str(comparison)``
TABLE_ROWS = 15
#: a standard error below this fraction of the mean counts as zero (rounding, not spread)
_ROUNDING = 1e-12
#: default family-wise false-alarm probability of the verdict
DEFAULT_LEVEL = 0.01


def __getattr__(name):
    # ``QUANTITIES``: kept importable, now the registered observables (hdlimits.core.observables)
    if name == "QUANTITIES":
        return obs.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _max_abs(a):
    """max |a| over the finite entries (nan when there is none), with its index (or -1)."""
    a = np.asarray(a, dtype=np.float64)
    ok = np.isfinite(a)
    if not ok.any():
        return math.nan, -1
    idx = np.flatnonzero(ok)
    j = idx[np.argmax(np.abs(a[idx]))]
    return float(abs(a[j])), int(j)


def _mean_abs(a):
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.mean(np.abs(a))) if a.size else math.nan


def _rms(a):
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.sqrt(np.mean(a * a))) if a.size else math.nan


def _divergence_t(curve, t, values):
    """The time of the status's event (diverged or failed) — None for an ok status; a curve without a
    Status falls back to its first non-finite time."""
    status = getattr(curve, "status", None)
    if isinstance(status, Status):
        return status.t_event
    bad = np.flatnonzero(~np.isfinite(values))
    return float(t[bad[0]]) if bad.size else None


def _describe(curve, fallback):
    desc = getattr(curve, "optimizer_description", None)
    if desc:
        return desc
    opt = getattr(curve, "optimizer", None)
    if opt is None:
        return fallback
    return getattr(opt, "describe", lambda: str(opt))()


def z_threshold(n: int, runs: int, level: float = DEFAULT_LEVEL) -> float:
    """The Bonferroni–Student-t bound on ``max |z|``: the two-sided Student-t quantile with
    ``runs − 1`` degrees of freedom at family-wise level ``level`` spread over ``n`` times,
    ``t_{runs−1}^{-1}(1 − level/(2n))``."""
    from scipy import stats
    return float(stats.t.ppf(1.0 - level / (2.0 * n), runs - 1))


def _common_names(theory, sim):
    """1-D observables held by both curves, in the theory's order."""
    names = getattr(theory, "names", ("risk", "excess_risk"))
    out = []
    for n in names:
        a, b = getattr(theory, n, None), getattr(sim, n, None)
        if a is not None and b is not None and np.ndim(a) == 1 and np.ndim(b) == 1:
            out.append(n)
    return out


@dataclass(eq=False)
class Comparison:
    """The gap between a predicted and a simulated curve of the same ``quantity`` (any observable both
    hold), and a verdict.

    Per-time arrays (all of the length of ``t``):

    - ``theory`` — the predicted values; ``sim_mean`` — the simulation mean over runs;
      ``sim_stderr`` — its standard error (nan for a single run);
    - ``gap = sim_mean − theory``; ``rel_gap = gap / |theory|``;
    - ``z = gap / sim_stderr`` — nan where the standard error is 0 (e.g. at t = 0, where every run
      starts from the same ``e_0``), nan or infinite, and wherever a curve is not finite.

    Summary numbers, over the times where both curves are finite (nan when there is none):
    ``max_rel_gap`` (with ``t_max_rel_gap``), ``mean_rel_gap``, ``max_abs_z`` (with ``t_max_abs_z``),
    ``rms_z``. For a correct theory, ``z`` at each time is a Student-t with ``runs − 1`` degrees of
    freedom, so ``rms_z ≈ 1``.

    Verdict (``verdict``, ``level``, ``z_threshold``): with ``n`` times where z is defined,
    ``"consistent"`` when ``max_abs_z ≤ z_threshold = t_{runs−1}^{-1}(1 − level/(2n))`` (Bonferroni over
    the times, so a correct theory is called inconsistent with probability at most ``level``),
    ``"inconsistent"`` otherwise, ``"undetermined"`` with fewer than 2 runs or no time with a defined z.

    ``theory_status`` and ``sim_status`` are the curves' :class:`~hdlimits.core.status.Status`;
    ``theory_divergence_t`` / ``sim_divergence_t`` are their ``t_event``; ``notes`` lists what was
    excluded and why (divergence, undefined z, zero theory values, ...).
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
    theory_status: Status
    sim_status: Status
    runs: int | None = None
    theory_label: str = "theory"
    sim_label: str = "simulation"
    theory_divergence_t: float | None = None
    sim_divergence_t: float | None = None
    notes: list = field(default_factory=list)
    theory_curve: object = field(default=None, repr=False)
    sim_curve: object = field(default=None, repr=False)
    verdict: str = "undetermined"
    level: float = DEFAULT_LEVEL
    z_threshold: float = math.nan
    n_z: int = 0

    # ------------------------------------------------------------------ convenience
    @property
    def ok(self) -> bool:
        """Both curves have status ``"ok"`` (says nothing about the size of the gap)."""
        return self.theory_status == "ok" and self.sim_status == "ok"

    @property
    def consistent(self) -> bool:
        return self.verdict == "consistent"

    def verdict_text(self) -> str:
        """One sentence, e.g. "consistent at family-wise level 0.01 (max |z| = 5.34 ≤ 5.6 for 101
        times, 8 runs)"."""
        if self.verdict == "undetermined":
            if self.runs is None or self.runs < 2:
                why = "fewer than 2 runs: no standard error"
            else:
                why = "no time where z is defined"
            return f"undetermined ({why})"
        rel = "≤" if self.verdict == "consistent" else ">"
        return (f"{self.verdict} at family-wise level {self.level:g} (max |z| = {self.max_abs_z:.3g} "
                f"{rel} {self.z_threshold:.3g} for {self.n_z} times, {self.runs} runs)")

    def summary_dict(self) -> dict:
        """The summary numbers, statuses and verdict (``theory_status``/``sim_status`` as messages;
        ``status`` holds both as :meth:`Status.to_dict`)."""
        return {
            "quantity": self.quantity,
            "verdict": self.verdict, "level": self.level, "z_threshold": self.z_threshold,
            "n_z": self.n_z, "verdict_text": self.verdict_text(),
            "theory_status": str(self.theory_status), "sim_status": str(self.sim_status),
            "status": {"theory": self.theory_status.to_dict(), "sim": self.sim_status.to_dict()},
            "theory_label": self.theory_label, "sim_label": self.sim_label,
            "runs": self.runs, "n_times": int(self.t.size), "n_compared": self.n_compared,
            "max_rel_gap": self.max_rel_gap, "t_max_rel_gap": self.t_max_rel_gap,
            "mean_rel_gap": self.mean_rel_gap, "max_abs_z": self.max_abs_z,
            "t_max_abs_z": self.t_max_abs_z, "rms_z": self.rms_z,
            "theory_divergence_t": self.theory_divergence_t,
            "sim_divergence_t": self.sim_divergence_t,
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict:
        """Summary plus per-time arrays (``t``, ``theory``, ``sim_mean``, ``sim_stderr``, ``gap``,
        ``rel_gap``, ``z``) of the compared quantity, both full curves (``curves``: every observable
        both hold, with the simulation's standard errors) and their metadata."""
        out = {"summary": self.summary_dict()}
        for name in ("t", "theory", "sim_mean", "sim_stderr", "gap", "rel_gap", "z"):
            out[name] = getattr(self, name)
        th, sm = self.theory_curve, self.sim_curve
        if th is not None and sm is not None:
            names = _common_names(th, sm)
            sim = {}
            for n in names:
                sim[n] = getattr(sm, n)
                sim[n + "_stderr"] = _stderr_of(sm, n)
            out["curves"] = {"theory": {n: getattr(th, n) for n in names}, "sim": sim}
        for key, curve in (("theory_metadata", th), ("sim_metadata", sm)):
            if curve is not None and hasattr(curve, "metadata"):
                out[key] = curve.metadata()
        return out

    def to_json(self, path=None) -> str:
        """:meth:`to_dict` as strict JSON text, written to ``path`` if given. Non-finite numbers (inf
        after a divergence, nan where undefined) are the strings ``"inf"``, ``"-inf"``, ``"nan"``
        (:mod:`hdlimits.core.jsonfmt`, docs/results.md)."""
        return jsonfmt.write(jsonfmt.dumps(self.to_dict()), path)

    def to_csv(self, path=None) -> str:
        """Both curves side by side, one row per time.

        Columns: ``t``, ``theory_<name>`` for every observable both curves hold, then ``sim_<name>``,
        ``sim_<name>_stderr`` (least squares: ``theory_risk``, ``theory_excess_risk``, ``sim_risk``,
        ``sim_risk_stderr``, ``sim_excess_risk``, ``sim_excess_risk_stderr``), then ``gap``,
        ``rel_gap``, ``z`` for the compared quantity. Comment lines (``#``) at the top give the
        quantity, the statuses, the verdict and the summary numbers. Non-finite values are written as
        ``inf``/``nan``.
        """
        cols = {"t": self.t}
        th, sm = self.theory_curve, self.sim_curve
        names = _common_names(th, sm) if th is not None and sm is not None else []
        if names:
            for n in names:
                cols["theory_" + n] = getattr(th, n)
            for n in names:
                cols["sim_" + n] = getattr(sm, n)
                cols["sim_" + n + "_stderr"] = _stderr_of(sm, n)
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
                    f"verdict: {self.verdict_text()}",
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
            + (" t = step count)" if hasattr(type(self.sim_curve), "step") else " t = steps/d)"),
            f"  max |relative gap| = {pct(self.max_rel_gap)}"
            + (f" at t={self.t_max_rel_gap:g}" if math.isfinite(self.t_max_rel_gap) else "")
            + f";  mean |relative gap| = {pct(self.mean_rel_gap)}",
            f"  max |z| = {num(self.max_abs_z)}"
            + (f" at t={self.t_max_abs_z:g}" if math.isfinite(self.t_max_abs_z) else "")
            + f";  rms z = {num(self.rms_z)}   (z = gap / stderr of the simulation mean)",
        ]
        lines.append(f"  verdict: {self.verdict_text()}")
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
        names = getattr(curve, "names", None)
        have = f"; it holds {', '.join(map(repr, names))}" if names else ""
        raise ValueError(f"{role} has no {quantity!r} values{have}")
    vals = np.asarray(vals, dtype=np.float64)
    if vals.shape != np.shape(curve.t):
        raise ValueError(f"{role}.{quantity} has shape {vals.shape}, expected that of {role}.t "
                         f"{np.shape(curve.t)}")
    return vals


def _is_simulation(curve) -> bool:
    return hasattr(curve, "runs_of") or getattr(curve, "method", None) == "simulation"


def _check_roles(theory, sim):
    for role, curve in (("theory", theory), ("sim", sim)):
        if not hasattr(curve, "t"):
            raise ValueError(f"{role} must be a RiskCurve (from predict_risk or simulate), "
                             f"got {type(curve).__name__}")
    if _is_simulation(theory):
        raise ValueError("compare(theory, sim): the first argument, theory, is a simulation result "
                         f"({type(theory).__name__}, method={getattr(theory, 'method', '?')!r}); pass "
                         "the predicted curve first and the simulation second (arguments swapped?)")
    if not _is_simulation(sim) or not (getattr(sim, "runs", 0) or 0) >= 1:
        raise ValueError("compare(theory, sim): the second argument, sim, must be a simulation result "
                         "with runs ≥ 1 (from hdlimits.simulate), got "
                         f"{type(sim).__name__} (method={getattr(sim, 'method', '?')!r})")


def _grid_mismatch(t1, t2):
    """None when the two time grids agree (tolerance :data:`T_TOLERANCE`), else how they differ."""
    if t1.size != t2.size:
        return f"theory has {t1.size} times, sim has {t2.size}"
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(t1 - t2) <= T_TOLERANCE * np.maximum(1.0, np.abs(t1)))
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad)[0])
    return f"they differ first at index {i}: {float(t1[i]):.10g} vs {float(t2[i]):.10g}"


def _has_dense_output(theory) -> bool:
    return (callable(getattr(type(theory), "sol", None)) and getattr(theory, "method", "") in ("ode", "recursion")
            and getattr(theory, "problem", None) is not None and getattr(theory, "optimizer", None) is not None)


def compare(theory, sim, quantity: str | None = None, level: float = DEFAULT_LEVEL) -> Comparison:
    """Compare a predicted curve with a simulated one at their common times, and state a verdict.

    Parameters
    ----------
    theory : the predicted result, e.g. a RiskCurve from :func:`hdlimits.predict_risk` (not a
        simulation: swapped arguments raise ValueError).
    sim : a simulation result with runs (:class:`~hdlimits.core.results.SimulationResult` from
        :func:`hdlimits.simulate`).
    quantity : any observable both results hold (:mod:`hdlimits.core.observables`). For least squares
        ``"excess_risk"`` (the default when both hold it) — ``½ eᵀKe`` — or ``"risk"`` —
        ``½(eᵀKe + E ε²)``, noise floor included; GLM results (docs/glm.md) hold ``"risk"`` (their
        default). The default is the excess risk because the noise floor ``½ E ε²`` is the same
        constant in both curves: added to both, it hides the relative gap (the absolute gap and z are
        unchanged), and for noise without a second moment the risk is infinite.
    level : family-wise false-alarm probability of the verdict, in (0, 1) (default 0.01).

    Times: when the two grids agree (same length, ``|t_theory − t_sim| ≤ 1e-12·max(1, |t|)``) the curves
    are compared as they are. Otherwise — e.g. ``simulate`` reported times off the ``1/d`` grid at the
    steps it ran, ``round(t·d)/d`` — a theory result with dense output (``sol``: a ``predict_risk``
    result that still holds its problem and optimizer) is evaluated at the simulation's times, with a
    note; anything else raises ``ValueError``.

    Verdict: with ``n`` times where z is defined and ``runs`` runs, the theory is ``"consistent"`` when
    ``max |z| ≤ t_{runs−1}^{-1}(1 − level/(2n))`` (Student-t quantile, Bonferroni over the times), else
    ``"inconsistent"``; ``"undetermined"`` with fewer than 2 runs or no time with a defined z. The test
    is of the *mean over runs at this d*: the d → ∞ limit (``method="ode"``) differs from the finite-d
    mean by O(1/d), so with many runs (small standard errors) a correct limit can be called
    inconsistent — the finite-d recursion (``method="recursion"``) is the exact reference for SGD.

    Divergence is not an error: times where either curve is not finite (``inf`` after a divergence)
    are excluded from the summary numbers and reported in ``notes``; ``*_divergence_t`` are the
    statuses' ``t_event``. A single run (``stderr`` nan) or a zero standard error gives ``z = nan``,
    also with a note. No NumPy warning is emitted.

    Returns a :class:`Comparison`; ``print()`` it for a summary, the verdict and a per-time table.
    """
    _check_roles(theory, sim)
    if quantity is None:
        both = set(getattr(theory, "names", ())) & set(getattr(sim, "names", ()))
        quantity = "excess_risk" if "excess_risk" in both or not both else "risk"
    obs.check_name(quantity)
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1) (a family-wise probability), got {level:g}")
    t1 = np.asarray(theory.t, dtype=np.float64).reshape(-1)
    t2 = np.asarray(sim.t, dtype=np.float64).reshape(-1)
    if t2.size == 0:
        raise ValueError("theory and sim have no times to compare")
    notes = []
    mismatch = _grid_mismatch(t1, t2)
    if mismatch is None:
        th = _values(theory, quantity, "theory")
    elif _has_dense_output(theory):
        # e.g. simulate() moved times off the 1/d grid to the steps it ran: the theory is evaluated at
        # the simulation's own times by dense output (same method and rtol)
        th = np.asarray(theory.sol(t2, quantity), dtype=np.float64)
        notes.append(f"theory evaluated at the simulation's {t2.size} times by dense output (the grids "
                     f"differ: {mismatch})")
    else:
        raise ValueError(f"theory and sim must share the time grid t (tolerance {T_TOLERANCE:g}): "
                         f"{mismatch}; predict at the simulation's times (t=sim.t)")
    t = t2
    sm = _values(sim, quantity, "sim")
    se = _stderr_of(sim, quantity)
    runs = getattr(sim, "runs", None)
    runs = int(runs) if runs else None

    both = np.isfinite(th) & np.isfinite(sm)
    gap = np.full(t.shape, np.nan)
    rel = np.full(t.shape, np.nan)
    z = np.full(t.shape, np.nan)
    gap[both] = sm[both] - th[both]
    nz = both & (th != 0)
    rel[nz] = gap[nz] / np.abs(th[nz])
    # a standard error at the rounding level of the mean (every run at the same value, summed in another
    # order) is a zero standard error: z there would be rounding noise divided by rounding noise
    se = np.where(np.abs(se) <= _ROUNDING * np.abs(sm), 0.0, se)
    good_se = both & np.isfinite(se) & (se > 0)
    z[good_se] = gap[good_se] / se[good_se]

    th_div = _divergence_t(theory, t, th)
    sm_div = _divergence_t(sim, t, sm)
    n_bad = int((~both).sum())
    if n_bad:
        what = []
        for who, vals in (("theory", th), ("simulation", sm)):
            badi = np.flatnonzero(~np.isfinite(vals))
            if badi.size:
                what.append(f"{who} from t={t[badi[0]]:g}")
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
            where = ("at t=0, where every run starts at the same point" if zero_t.size == 1 and zero_t[0] == 0
                     else f"at {n_zero_se} times")
            notes.append(f"z undefined where the standard error is 0 ({where})")

    max_rel, j_rel = _max_abs(rel)
    max_z, j_z = _max_abs(z)
    n_z = int(np.isfinite(z).sum())
    if runs is None or runs < 2 or n_z == 0:
        verdict, thr = "undetermined", math.nan
    else:
        thr = z_threshold(n_z, runs, level)
        verdict = "consistent" if max_z <= thr else "inconsistent"
    th_status = getattr(theory, "status", None)
    sm_status = getattr(sim, "status", None)
    return Comparison(
        quantity=quantity, t=t, theory=th, sim_mean=sm, sim_stderr=se, gap=gap, rel_gap=rel, z=z,
        max_rel_gap=max_rel, t_max_rel_gap=float(t[j_rel]) if j_rel >= 0 else math.nan,
        mean_rel_gap=_mean_abs(rel), max_abs_z=max_z,
        t_max_abs_z=float(t[j_z]) if j_z >= 0 else math.nan, rms_z=_rms(z),
        n_compared=int(both.sum()),
        theory_status=th_status if isinstance(th_status, Status) else Status.ok(),
        sim_status=sm_status if isinstance(sm_status, Status) else Status.ok(), runs=runs,
        theory_label=_describe(theory, "theory") + f", {getattr(theory, 'method', '?')}",
        sim_label=_describe(sim, "simulation") + (f", data={sim.data}" if hasattr(sim, "data") else ""),
        theory_divergence_t=th_div, sim_divergence_t=sm_div, notes=notes,
        theory_curve=theory, sim_curve=sim, verdict=verdict, level=level, z_threshold=thr, n_z=n_z)
