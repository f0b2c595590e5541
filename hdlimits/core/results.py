"""Result objects shared by the limiting equations and the simulator (CONVENTIONS.md, "Results").

Both carry ``t`` (time in units of d steps), ``risk`` (``½ E r²``, noise floor included),
``excess_risk`` (``½ eᵀKe``) and ``status`` (a :class:`~hdlimits.core.status.Status`). After a divergence the
curves hold ``inf`` — never NaN — and ``status`` says when it happened.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core.status import Status, StatusCode

__all__ = ["RiskCurve", "SimulationResult", "columns_csv"]


def columns_csv(comments, cols: dict, path=None) -> str:
    """CSV text of named columns (one row per time) after ``# comment`` lines; written to ``path`` if
    given. Numbers keep full precision (``repr``)."""
    buf = io.StringIO()
    for line in comments:
        buf.write(f"# {line}\n")
    w = csv.writer(buf)
    w.writerow(list(cols))
    for row in zip(*(np.asarray(c, dtype=np.float64) for c in cols.values())):
        w.writerow([repr(float(x)) for x in row])
    text = buf.getvalue()
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text)
    return text


@dataclass(eq=False)
class RiskCurve:
    """A predicted risk curve.

    Attributes: ``t``, ``risk``, ``excess_risk``, ``status``, ``problem``, ``optimizer``, ``method``
    (``"ode"`` or ``"recursion"``), ``modes`` (times × modes array of ``D_i`` or None), ``kappa`` (the
    drift eigenvalues the modes refer to), ``info`` (integrator statistics).
    """

    t: np.ndarray
    risk: np.ndarray
    excess_risk: np.ndarray
    status: Status
    problem: object = None
    optimizer: object = None
    method: str = "ode"
    modes: np.ndarray | None = None
    kappa: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.status, str):
            if self.status != "ok":
                raise ValueError("status must be a hdlimits.core.status.Status (or the string 'ok'), "
                                 f"got {self.status!r}")
            self.status = Status.ok()
        elif not isinstance(self.status, Status):
            raise ValueError(f"status must be a hdlimits.core.status.Status, got {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status.success

    @property
    def diverged(self) -> bool:
        return self.status.code is StatusCode.DIVERGED

    def columns(self) -> dict:
        return {"t": self.t, "risk": self.risk, "excess_risk": self.excess_risk}

    def metadata(self) -> dict:
        meta = {"status": str(self.status), "method": self.method,
                "optimizer": getattr(self.optimizer, "describe", lambda: str(self.optimizer))()}
        if self.problem is not None and hasattr(self.problem, "describe"):
            meta["problem"] = self.problem.describe()
        meta.update({k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool))})
        return meta

    def to_csv(self, path=None) -> str:
        """Write (or return) a CSV with one row per time; the status goes in a comment line."""
        return columns_csv([f"status: {self.status}"], self.columns(), path)

    def to_json(self, path=None) -> str:
        def enc(a):
            return [None if not np.isfinite(x) else float(x) for x in np.asarray(a)]
        data = {"metadata": self.metadata(), **{k: enc(a) for k, a in self.columns().items()}}
        text = json.dumps(data, indent=1)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text


@dataclass(eq=False)
class SimulationResult(RiskCurve):
    """A Monte Carlo result: the mean over runs plus the runs themselves.

    Adds ``risk_runs`` and ``excess_risk_runs`` (runs × times), ``risk_stderr`` and
    ``excess_risk_stderr`` (standard error of the mean over runs), ``runs``, ``seed``, ``data``
    (``"gaussian"`` or ``"rademacher"``) and ``diverged_runs``.
    """

    risk_runs: np.ndarray | None = None
    excess_risk_runs: np.ndarray | None = None
    risk_stderr: np.ndarray | None = None
    excess_risk_stderr: np.ndarray | None = None
    runs: int = 0
    seed: object = None
    data: str = "gaussian"
    diverged_runs: int = 0

    def columns(self) -> dict:
        cols = super().columns()
        cols["risk_stderr"] = self.risk_stderr
        cols["excess_risk_stderr"] = self.excess_risk_stderr
        return cols

    def metadata(self) -> dict:
        meta = super().metadata()
        meta.update({"runs": self.runs, "seed": str(self.seed), "data": self.data,
                     "diverged_runs": self.diverged_runs})
        return meta
